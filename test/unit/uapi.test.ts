// The generated UAPI table must match what the headers on this machine say.
// Regenerates into a temp file (byte-identical check) and spot-checks a few
// values against a freshly compiled C program. Needs a C compiler.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as U from "../../src/uapi/linux.gen.ts";

const ROOT = resolve(import.meta.dir, "../..");
const CC = ["cc", "gcc", "clang"].map((c) => Bun.which(c)).find((p) => p !== null) ?? undefined;
const NO_CC = CC === undefined;
if (NO_CC) console.warn("uapi.test: no C compiler (cc/gcc/clang) found; skipping regeneration and spot checks");

/** Compile and run a C snippet printing `printf` lines; returns stdout. */
function runC(includes: string[], body: string): string {
  const dir = mkdtempSync(join(tmpdir(), "uapi-test-"));
  try {
    const src = join(dir, "t.c");
    writeFileSync(src, [...includes.map((h) => `#include <${h}>`), "int main(void) {", body, "return 0; }", ""].join("\n"));
    const cc = Bun.spawnSync([CC!, "-o", join(dir, "t"), src], { stderr: "pipe" });
    if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
    return Bun.spawnSync([join(dir, "t")], { stdout: "pipe" }).stdout.toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("src/uapi/linux.gen.ts", () => {
  test.skipIf(NO_CC)("regenerating gives a byte-identical file", () => {
    const dir = mkdtempSync(join(tmpdir(), "uapi-gen-"));
    try {
      const out = join(dir, "linux.gen.ts");
      const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts/gen-uapi.ts"), out], { cwd: ROOT, stderr: "pipe" });
      expect(r.exitCode, r.stderr.toString()).toBe(0);
      // linux.gen.ts and the modules beside it (a family's numbers that only it uses)
      const made = readdirSync(dir).filter((f) => f.endsWith(".gen.ts")).sort();
      expect(made).toEqual(readdirSync(join(ROOT, "src/uapi")).filter((f) => f.endsWith(".gen.ts")).sort());
      for (const f of made) {
        if (readFileSync(join(dir, f), "utf8") !== readFileSync(join(ROOT, "src/uapi", f), "utf8")) {
          throw new Error(`src/uapi/${f} is stale; run: node_modules/.bin/bun scripts/gen-uapi.ts`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test.skipIf(NO_CC)("spot checks agree with a fresh compile", () => {
    const names = ["RTM_NEWROUTE", "RTM_GETLINK", "NLMSG_ERROR", "NLM_F_DUMP", "IFF_LOWER_UP", "RTA_TABLE", "IFLA_IFNAME", "ENOBUFS", "AF_NETLINK", "SOL_NETLINK", "RTNLGRP_IPV4_ROUTE"] as const;
    const out = runC(
      ["stdio.h", "stddef.h", "errno.h", "sys/socket.h", "linux/netlink.h", "linux/rtnetlink.h", "linux/if_link.h", "linux/if.h"],
      [
        ...names.map((n) => `printf("${n} %lld\\n", (long long)(${n}));`),
        `printf("sizeof_nlmsghdr %lld\\n", (long long)sizeof(struct nlmsghdr));`,
        `printf("off_rtmsg_rtm_type %lld\\n", (long long)offsetof(struct rtmsg, rtm_type));`,
      ].join("\n"),
    );
    const got = new Map(out.trim().split("\n").map((l) => { const [k, v] = l.split(" "); return [k!, Number(v)] as const; }));
    for (const n of names) expect(`${n}=${(U as unknown as Record<string, number>)[n]}`).toBe(`${n}=${got.get(n)}`);
    expect<number>(U.SIZEOF.nlmsghdr).toBe(got.get("sizeof_nlmsghdr")!);
    expect<number>(U.OFFSETOF["rtmsg.rtm_type"]).toBe(got.get("off_rtmsg_rtm_type")!);
  }, 60_000);
});

describe("tables", () => {
  test("NAMES maps values back to canonical names", () => {
    expect(U.NAMES.rtm_type[U.RTM_NEWROUTE]).toBe("RTM_NEWROUTE");
    expect(U.NAMES.errno[U.ENOBUFS]).toBe("ENOBUFS");
    expect(U.NAMES.errno[U.EAGAIN]).toBe("EAGAIN"); // not the alias EWOULDBLOCK
    expect(U.NAMES.netlink_protocol[U.NETLINK_SOCK_DIAG]).toBe("NETLINK_SOCK_DIAG"); // not NETLINK_INET_DIAG
    expect(U.NAMES.rtn_type[U.RTN_XRESOLVE]).toBe("RTN_XRESOLVE"); // not RTN_MAX
    expect(U.NAMES.netconfa_ifindex[U.NETCONFA_IFINDEX_ALL]).toBe("NETCONFA_IFINDEX_ALL");
    for (const table of Object.values(U.NAMES))
      for (const name of Object.values(table)) expect(name.startsWith("__")).toBe(false);
  });

  test("FLAGS are single bits, ascending", () => {
    for (const [group, flags] of Object.entries(U.FLAGS)) {
      let prev = 0;
      for (const [bit, name] of flags) {
        expect(`${group}:${name}:${bit > prev && (bit & (bit - 1)) === 0}`).toBe(`${group}:${name}:true`);
        prev = bit;
      }
    }
    expect(U.FLAGS.iff.map(([, n]) => n)).toContain("IFF_LOWER_UP");
  });

  test("every group is non-empty", () => {
    for (const [group, table] of Object.entries(U.NAMES)) expect(`${group}:${Object.keys(table).length > 0}`).toBe(`${group}:true`);
  });
});
