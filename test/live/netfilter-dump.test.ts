/**
 * `--dump-events` with protocols.netfilter: the nf_tables ruleset and the conntrack table, checked
 * against the tools' own listings of the same namespace: every table, chain, set and rule
 * `nft -j list ruleset` shows (by family, table, name or chain, handle) and every entry
 * `conntrack -L` shows (by id, protocol and original tuple), nothing more, on both backends.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { BACKENDS, delNs, ensureBinary, ensureLibnl, ensureTool, ip, must, nsName, parseEvents, runNlmon, tempDir, writeConfig } from "./lib.ts";

const dir = tempDir("nfdump");
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

const CFG = writeConfig(dir, "nf.yaml", "netlink:\n  protocols: { route: false, netfilter: true }\n");

const RULESET = `
table inet filt {
  set blocked { type ipv4_addr; elements = { 10.1.1.1, 10.1.1.2 } }
  chain in { type filter hook input priority 0; policy accept; ip saddr @blocked drop; tcp dport 22 counter accept; }
  chain out { type filter hook output priority 0; ct state new counter; }
  chain helper { meta mark 0x1 return; }
}
table ip nat {
  chain pre { type nat hook prerouting priority -100; tcp dport 8080 dnat to 10.1.1.9:80; }
}
`;

describe("--dump-events: ruleset and conntrack table", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: equal to nft -j list ruleset and conntrack -L`, () => {
      const ns = nsName(`nfd${b.name}`);
      made.push(ns);
      must(["ip", "netns", "add", ns]);
      ip(ns, "link", "set", "lo", "up");
      must(["ip", "netns", "exec", ns, "nft", "-f", "-"], { stdin: RULESET });
      // a few entries: UDP to closed ports (each a conntrack entry of its own) and one mark
      must(["ip", "netns", "exec", ns, "python3", "-c",
        "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor p in range(9000,9010): s.sendto(b'x',('127.0.0.1',p))"]);
      const r = runNlmon({ ns, args: ["--config", CFG, "--dump-events"], env: b.env });
      expect(r.code).toBe(0);
      const evs = parseEvents(r.out.split("\n"));
      const nftEvents = evs.filter((e) => e.type === "nftables").map((e) => e.netlink.nftables!);
      const ct = evs.filter((e) => e.type === "conntrack").map((e) => e.netlink.conntrack!);

      // the tool's view of the ruleset (anonymous sets are the ruleset's own: nft lists none)
      const listing = JSON.parse(must(["ip", "netns", "exec", ns, "nft", "-j", "list", "ruleset"])) as { nftables: Record<string, Record<string, unknown>>[] };
      const want: string[] = [];
      for (const item of listing.nftables) {
        const [kind, o] = Object.entries(item)[0]!;
        if (kind === "metainfo") continue;
        const name = kind === "rule" ? o.chain : o.name;
        want.push(`${kind} ${o.family} ${kind === "table" ? o.name : o.table} ${name} ${o.handle}`);
      }
      const got = nftEvents.filter((n) => !(n.object === "set" && String(n.name).startsWith("__")))
        .map((n) => `${n.object} ${n.family} ${n.table} ${n.object === "rule" ? n.chain : n.name} ${n.handle}`);
      expect(got.sort()).toEqual(want.sort());
      expect(nftEvents.every((n) => n.action === "add")).toBe(true);

      const listed = must(["ip", "netns", "exec", ns, "conntrack", "-L", "-o", "id"]).split("\n").filter((l) => l.includes("id="));
      const toolCt = listed.map((l) => {
        const id = Number(/ id=(\d+)/.exec(l)![1]);
        // conntrack -L: "udp      17 29 src=..." (no layer-3 column)
        const proto = l.trim().split(/\s+/)[0];
        const dport = /dport=(\d+)/.exec(l)?.[1];
        return `${id} ${proto} ${dport}`;
      });
      expect(toolCt.length).toBeGreaterThanOrEqual(10);
      expect(ct.map((c) => `${c.id} ${c.proto} ${c.original?.dport}`).sort()).toEqual(toolCt.sort());
      // state, not changes: no event word on dumped entries
      expect(ct.every((c) => c.event === undefined)).toBe(true);
    }, 60_000);
  }
});
