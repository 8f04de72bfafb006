/**
 * dist/nlmon copied alone into an empty directory (no node_modules, no config/, no src/ beside it)
 * must still do everything: help, version, usage and config errors that say what was meant, the
 * libnl error that names the file and the package, and live monitoring in a namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import {
  BIN, EventStream, delNs, ensureBinary, ensureLibnl, ip, makeNs, nlmonMark, nsName, run, startNlmon, syncMark, tempDir, writeConfig,
} from "./lib.ts";

let dir = "";
let bin = "";
const ns = nsName("alone");

beforeAll(() => {
  ensureBinary();
  ensureLibnl();
  dir = tempDir("alone");
  bin = join(dir, "nlmon");
  copyFileSync(BIN, bin);
  run(["chmod", "755", bin]);
}, 600_000);

afterAll(() => {
  delNs(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** run the copy with cwd = its own directory and a clean PATH-only environment */
function alone(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([bin, ...args], {
    cwd: dir, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore",
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("dist/nlmon alone in an empty directory", () => {
  test("the directory holds nothing but the binary", () => {
    expect(readdirSync(dir)).toEqual(["nlmon"]);
  });

  test("--help exits 0 and documents --dump-events", () => {
    const r = alone(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("--dump-events");
    expect(r.out).toContain("--config");
    expect(r.out).toMatch(/^usage: nlmon/);
    const h = alone(["-h"]);
    expect(h.code).toBe(0);
    expect(h.out).toBe(r.out);
  }, 30_000);

  test("--version prints the package version and exits 0", () => {
    const r = alone(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`nlmon ${pkg.version}`);
    expect(r.err).toBe("");
  }, 30_000);

  test("a misspelled flag exits 2, names the flag and suggests the right one", () => {
    const r = alone(["--dump-evnts"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toContain("'--dump-evnts'");
    expect(r.err).toContain("did you mean '--dump-events'");
    const u = alone(["--no-such-flag"]);
    expect(u.code).toBe(2);
    expect(u.err).toContain("--no-such-flag");
    const v = alone(["--config"]);
    expect(v.code).toBe(2);
    expect(v.err).toContain("--config");
  }, 30_000);

  test("a misspelled config key exits 2 with file:line:col, the key path and a suggestion", () => {
    const f = writeConfig(dir, "bad.yaml", "netlink:\n  use_libnl: false\n  protocls:\n    route: true\n");
    const r = alone(["--config", f]);
    rmSync(f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}:3:3`);
    expect(r.err).toContain("netlink.protocls");
    expect(r.err).toContain("'protocols'");
  }, 30_000);

  test("a misspelled nested key deeper down is located too", () => {
    const f = writeConfig(dir, "bad2.yaml", "netlink:\n  use_libnl: false\nexport:\n  json:\n    enabled: true\n    rotate:\n      max_sise: 10\n");
    const r = alone(["--config", f]);
    rmSync(f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}:7:7`);
    expect(r.err).toContain("export.json.rotate.max_sise");
    expect(r.err).toContain("'max_size'");
  }, 30_000);

  test("a YAML syntax error exits 2 and names the file", () => {
    const f = writeConfig(dir, "syntax.yaml", "netlink:\n  use_libnl: [false\n  protocols: {route: true\n");
    const r = alone(["--config", f]);
    rmSync(f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(f);
    expect(r.out).toBe("");
  }, 30_000);

  test("a missing config file exits 2 and names it", () => {
    const r = alone(["--config", join(dir, "nope.yaml")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("nope.yaml");
  }, 30_000);

  test("use_libnl with NLMON_LIBNL_PATH pointing nowhere exits 2 naming the file and the package", () => {
    const f = writeConfig(dir, "libnl.yaml", "netlink:\n  use_libnl: true\n");
    const r = alone(["--config", f], { NLMON_LIBNL_PATH: "/nonexistent/libnl.so" });
    rmSync(f);
    expect(r.code).toBe(2);
    expect(r.err).toContain("/nonexistent/libnl.so");
    expect(r.err).toContain("libnl-3-200");
    expect(r.out).toBe("");
  }, 30_000);

  test("monitors a namespace: a route added there comes out as an event", async () => {
    await makeNs(ns);
    const child = startNlmon({ ns, bin, cwd: dir });
    const ev = new EventStream(child);
    try {
      await syncMark(ns, [{ lines: child.out, match: nlmonMark }]);
      const from = ev.cursor();
      ip(ns, "route", "add", "172.30.1.0/24", "via", "10.9.0.2", "table", "15", "proto", "201");
      const e = await ev.waitFor("route 172.30.1.0/24", (x) => x.netlink.route?.dst === "172.30.1.0/24", from);
      expect(e.type).toBe("route");
      expect(e.netlink.msg_type_name).toBe("RTM_NEWROUTE");
      expect(e.netlink.route).toMatchObject({ table: 15, protocol: 201, gateway: "10.9.0.2", dev: "v0", family: "inet" });
      expect(typeof e.timestamp).toBe("string");
    } finally {
      const code = await child.stop();
      expect(code).toBe(0);
    }
    // nothing written to the directory the binary runs from
    expect(readdirSync(dir)).toEqual(["nlmon"]);
  }, 60_000);
});
