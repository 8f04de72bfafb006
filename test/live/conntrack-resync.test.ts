/**
 * The conntrack cache repairs what an overrun lost. With a receive buffer far too small for a
 * burst of 3000 new UDP flows, the kernel drops notifications (ENOBUFS); with
 * `caching.conntrack_cache` on, nlmon dumps the table once the burst is over and emits what its
 * cache lacks as `resync: true` events. Checked against the kernel's own table (`conntrack -L`):
 * the entries nlmon's events say exist (new/update add one, destroy removes it, resync events
 * included) are exactly the entries conntrack lists.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { BACKENDS, delNs, ensureBinary, ensureLibnl, ensureTool, ip, type Lines, must, nsName, parseEvents, startNlmon, tempDir, writeConfig } from "./lib.ts";

const dir = tempDir("ctresync");
const made: string[] = [];
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
  ensureTool("conntrack", "conntrack");
  ensureTool("nft", "nftables");
}, 600_000);
afterAll(() => {
  for (const ns of made) delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});

const CFG = writeConfig(dir, "resync.yaml", [
  "netlink:",
  "  protocols: { route: false, netfilter: true }",
  "  netfilter: { nftables: false }",
  "  buffer_size: { receive: 4096 }",
  "  caching: { conntrack_cache: true }",
].join("\n") + "\n");

/** 3000 UDP datagrams to as many ports: a new conntrack entry each, as fast as python sends */
const BURST = [
  "import socket",
  "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
  "for p in range(20000, 23000):",
  "    s.sendto(b'x', ('127.0.0.1', p))",
].join("\n");

const MARK_PORT = 24000;

/** a datagram to MARK_PORT + k until nlmon prints its new entry (the entry stays: the kernel's table has it too) */
async function marked(ns: string, out: Lines, k: number): Promise<void> {
  const port = MARK_PORT + k;
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    must(["ip", "netns", "exec", ns, "bash", "-c", `echo mark > /dev/udp/127.0.0.1/${port}`]);
    if ((await out.waitLine((l) => l.includes(`"dport":${port}`), 1000)) >= 0) return;
  }
  throw new Error(`nlmon did not print the marker flow to port ${port} within 15 s`);
}

describe("the conntrack cache after an overrun", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: events and resync events leave nlmon with the kernel's table`, async () => {
      const ns = nsName(`ctr${b.name}`);
      made.push(ns);
      must(["ip", "netns", "add", ns]);
      ip(ns, "link", "set", "lo", "up");
      must(["ip", "netns", "exec", ns, "nft", "add", "table", "inet", "t"]);
      must(["ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "t", "o", "{ type filter hook output priority 0; }"]);
      must(["ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "t", "o", "ct", "state", "new", "counter"]);
      const mon = startNlmon({ ns, args: ["--config", CFG], env: b.env });
      let table: Set<number>;
      let flushed: ReturnType<typeof parseEvents> = [];
      let after = -1;
      let from = 0;
      try {
        expect(await mon.err.waitLine((l) => l.includes("conntrack table at start"), 15_000)).toBeGreaterThanOrEqual(0);
        must(["ip", "netns", "exec", ns, "python3", "-c", BURST]);
        expect(await mon.err.waitLine((l) => l.includes("conntrack resync:"), 15_000)).toBeGreaterThanOrEqual(0);
        // a flow made after the repair: once nlmon has printed it, everything before is out too
        await marked(ns, mon.out, 1);
        const listed = must(["ip", "netns", "exec", ns, "conntrack", "-L", "-o", "id"]);
        table = new Set([...listed.matchAll(/ id=(\d+)/g)].map((m) => Number(m[1])));
        // then the other way: the whole table deleted at once overruns the buffer again, and the
        // repair re-emits the destroys that were lost
        from = mon.out.lines.length;
        must(["ip", "netns", "exec", ns, "conntrack", "-F"]);
        const second = await mon.err.waitLine((l) => l.includes("conntrack resync:"), 15_000,
          mon.err.lines.findIndex((l) => l.includes("conntrack resync:")) + 1);
        expect(second).toBeGreaterThanOrEqual(0);
        await marked(ns, mon.out, 2);
        flushed = parseEvents(mon.out.lines.slice(from)).filter((e) => e.type === "conntrack" && e.netlink.conntrack!.original?.dport !== MARK_PORT + 2);
        after = must(["ip", "netns", "exec", ns, "conntrack", "-L", "-o", "id"]).split("\n").filter((l) => l.includes("id=") && !l.includes(`dport=${MARK_PORT + 2} `)).length;
      } finally {
        await mon.stop();
      }
      expect(table.size).toBeGreaterThanOrEqual(3000);
      // the burst's events (before the flush)
      const events = parseEvents(mon.out.lines.slice(0, from)).filter((e) => e.type === "conntrack");
      const resynced = events.filter((e) => e.resync);
      // the burst overran the buffer: some notifications were lost and given back by the repair
      // the overrun report says the repair gave them back
      const report = mon.err.lines.find((l) => l.includes("receive queue overrun on NETLINK_NETFILTER"));
      // (one report may cover both bursts: they can fall within a second of each other)
      expect(report).toContain("Re-dumped conntrack");
      expect(report).toContain("Nothing is lost for good");
      expect(resynced.length).toBeGreaterThan(0);
      expect(events.length - resynced.length).toBeLessThan(3000);
      // never twice: each entry is announced new once, by the kernel or by the repair
      const news = new Map<number, number>();
      for (const e of events) if (e.netlink.conntrack!.event === "new") news.set(e.netlink.conntrack!.id!, (news.get(e.netlink.conntrack!.id!) ?? 0) + 1);
      expect([...news].filter(([, n]) => n > 1).length).toBe(0);
      // and a repair re-emits only what was lost: nothing it reports was already reported
      expect(resynced.filter((e) => e.netlink.conntrack!.event !== "new").length).toBe(0);
      const held = new Set<number>();
      for (const e of events) {
        const c = e.netlink.conntrack!;
        if (c.event === "destroy") held.delete(c.id!);
        else held.add(c.id!);
      }
      expect([...held].filter((id) => !table.has(id))).toEqual([]);
      expect([...table].filter((id) => !held.has(id))).toEqual([]);
      // after the flush: every entry destroyed once, by the kernel's event or by the repair
      expect(after).toBe(0);
      const destroyed = new Map<number, number>();
      for (const e of flushed) {
        const c = e.netlink.conntrack!;
        expect(c.event).toBe("destroy");
        destroyed.set(c.id!, (destroyed.get(c.id!) ?? 0) + 1);
      }
      expect(flushed.some((e) => e.resync)).toBe(true);
      expect([...destroyed].filter(([, k]) => k > 1)).toEqual([]);
      expect([...table].filter((id) => !destroyed.has(id))).toEqual([]);
    }, 60_000);
  }
});
