/**
 * A monitoring socket that fails is replaced: gdb closes nlmon's netlink socket from outside (a
 * real fault, not a hook in nlmon), nlmon notices, reconnects with the same groups, and repairs
 * what it missed with a resync.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { delNs, ensureBinary, ensureLibnl, ensureTool, ip, makeNs, nsName, run, startNlmon, textOf, until } from "./lib.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-reconnect-"));
const made: string[] = [];
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
  ensureTool("gdb", "gdb");
}, 600_000);
afterAll(() => {
  for (const ns of made) delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});

/** fds of the process's netlink sockets that joined multicast groups (the monitoring ones) */
function monitorSocketFds(ns: string, pid: number): number[] {
  const table = run(["ip", "netns", "exec", ns, "cat", `/proc/${pid}/net/netlink`]).out.trim().split("\n").slice(1);
  const inodes = new Set(table.map((l) => l.trim().split(/\s+/)).filter((f) => f[3] !== "00000000").map((f) => f[f.length - 1]));
  const fds: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) fds.push(Number(fd));
    } catch { /* gone meanwhile */ }
  }
  return fds;
}

for (const libnl of ["false", "true"]) {
  describe(`socket failure (NLMON_USE_LIBNL=${libnl})`, () => {
    test("nlmon reconnects, rejoins its groups and resyncs what it missed", async () => {
      const ns = nsName(`reconn${libnl}`);
      made.push(ns);
      await makeNs(ns);
      const events = join(dir, `ev-${libnl}.json`);
      const cfg = join(dir, `cfg-${libnl}.yaml`);
      writeFileSync(cfg, `netlink:\n  caching: { enabled: true, route_cache: true }\nexport:\n  json: { enabled: true, file: ${events} }\n`);
      const mon = startNlmon({ ns, args: ["--config", cfg], env: { NLMON_USE_LIBNL: libnl } });
      try {
        await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000);
        const fds = monitorSocketFds(ns, mon.proc.pid);
        expect(fds.length).toBe(1);
        const g = run(["gdb", "-p", String(mon.proc.pid), "-batch", "-ex", `call (int)close(${fds[0]})`]);
        expect(g.out + g.err).toContain("detached");
        expect(await mon.err.waitLine((l) => l.includes("socket failed"), 10_000)).toBeGreaterThanOrEqual(0);
        // made while no socket listened: must come back through the resync
        ip(ns, "route", "add", "10.77.0.0/24", "via", "10.9.0.2", "table", "13", "proto", "201");
        expect(await mon.err.waitLine((l) => l.includes("reconnected"), 15_000)).toBeGreaterThanOrEqual(0);
        expect(await mon.err.waitLine((l) => l.includes("resync:"), 10_000)).toBeGreaterThanOrEqual(0);
        // and after the reconnect, live again
        ip(ns, "route", "add", "10.78.0.0/24", "via", "10.9.0.2", "table", "13", "proto", "201");
        await until(() => textOf(events), (t) => t.includes('"10.78.0.0/24"'), 15_000, 50);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
      const evs = readFileSync(events, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const of = (dst: string) => evs.filter((e) => e.type === "route" && e.netlink.route.dst === dst);
      expect(of("10.77.0.0/24").some((e) => e.resync === true && e.netlink.msg_type_name === "RTM_NEWROUTE")).toBe(true);
      expect(of("10.78.0.0/24").some((e) => !e.resync && e.netlink.msg_type_name === "RTM_NEWROUTE")).toBe(true);
      expect(mon.err.lines.join("\n")).toContain("reconnecting in");
    }, 90_000);
  });
}
