/**
 * docs/NETLINK_API.md's example, run as written (both backends) in a namespace of its own, and the
 * deprecated names' one-time warning.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const NS = `nlmonapi${process.pid}`;
const BUN = join(ROOT, "node_modules/.bin/bun");
const sh = (...cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
};

function exampleSource(): string {
  const doc = readFileSync(join(ROOT, "docs/NETLINK_API.md"), "utf8");
  const m = /```ts example\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error("docs/NETLINK_API.md has no ```ts example block");
  return m[1]!;
}

// inside the repo, so "nlmon" resolves to this package as it would for a user
const file = join(ROOT, "test", `.api-example-${process.pid}.ts`);

beforeAll(() => {
  sh("ip", "netns", "add", NS);
  sh("ip", "-n", NS, "link", "set", "lo", "up");
  writeFileSync(file, exampleSource());
});
afterAll(() => {
  rmSync(file, { force: true });
  Bun.spawnSync(["ip", "netns", "del", NS]);
});

describe("docs/NETLINK_API.md example", () => {
  for (const libnl of ["true", "false"]) {
    test(`runs and sees its route (NLMON_USE_LIBNL=${libnl})`, () => {
      Bun.spawnSync(["ip", "-n", NS, "route", "flush", "table", "10"]);
      const r = Bun.spawnSync(["ip", "netns", "exec", NS, BUN, file], {
        env: { ...process.env, NLMON_USE_LIBNL: libnl }, stdout: "pipe", stderr: "pipe", timeout: 30000,
      });
      const out = r.stdout.toString();
      expect(r.exitCode, r.stderr.toString()).toBe(0);
      expect(out).toMatch(/^route socket fd \d+$/m);
      expect(out).toContain("example RTM_NEWROUTE table 10 192.0.2.0/24 proto 201");
    }, 40000);
  }
});

describe("deprecated API", () => {
  test("nlmon_multi_protocol_* work and warn once each", () => {
    const src = `
      import * as api from "nlmon";
      const ctx = api.nlmon_multi_protocol_init();
      await api.nlmon_multi_protocol_enable(ctx, api.NLMON_PROTO_ROUTE);
      const fd1 = api.nlmon_multi_protocol_get_fd(ctx, api.NLMON_PROTO_ROUTE);
      const fd2 = api.nlmon_multi_protocol_get_fd(ctx, api.NLMON_PROTO_ROUTE);
      console.log("fds", fd1 === fd2 && fd1 > 0);
      await api.nlmon_multi_protocol_destroy(ctx);
    `;
    const f = join(ROOT, "test", `.api-deprecated-${process.pid}.ts`);
    writeFileSync(f, src);
    try {
      const r = Bun.spawnSync(["ip", "netns", "exec", NS, BUN, f], { stdout: "pipe", stderr: "pipe", timeout: 30000 });
      const err = r.stderr.toString();
      expect(r.exitCode, err).toBe(0);
      expect(r.stdout.toString()).toContain("fds true");
      expect(err.match(/nlmon_multi_protocol_get_fd\(\) is deprecated/g)?.length).toBe(1);
      expect(err).toContain("nlmon_multi_protocol_init() is deprecated");
    } finally {
      rmSync(f, { force: true });
    }
  }, 40000);
});
