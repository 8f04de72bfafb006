/**
 * Captures byte-exact NETLINK_ROUTE messages from the running kernel into test/fixtures/rtnl/.
 *
 *   sudo node_modules/.bin/bun scripts/capture-fixtures.ts
 *
 * The outer process makes a scratch network namespace and re-runs this script inside it
 * (`ip netns exec NS bun capture-fixtures.ts --inner`); the namespace is deleted at the end, even
 * on error. Inside, a monitor socket joins every rtnetlink group *before* any change is made, then
 * `ip` builds a small world (veth pair, bridge, addresses, routes of many shapes, neighbours, a rule,
 * nexthop objects) and tears part of it down. Each notification picked by a step is written as hex
 * (one message per file, unpadded) together with iproute2's numeric JSON view of the same object
 * (`ip -N -j ...`), so tests compare the decoder with iproute2 rather than with itself.
 * Dumps add what notifications rarely carry (netconf), a multi-message datagram and NLMSG_DONE,
 * and one invalid request is sent to capture an NLMSG_ERROR with extended ack.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AttrWriter, walkAttrs } from "../src/codec/attr.ts";
import { hex, ipAddr, cstring } from "../src/codec/format.ts";
import { buildMessage, NLMSG_HDRLEN, nlmsgAlign, readHeader } from "../src/codec/nlmsg.ts";
import { legacyDriver } from "../src/backend/legacy/socket.ts";
import { ROUTE_GROUPS, routeDumpRequests } from "../src/families/route/index.ts";
import {
  AF_INET, FRA_SRC, IFA_ADDRESS, IFLA_IFNAME, NDA_DST, NETCONFA_IFINDEX, NETLINK_ROUTE, NHA_ID, NLM_F_ACK,
  NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, OFFSETOF, RTA_DST, RTA_GATEWAY,
  RTA_TABLE, RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_DELRULE, RTM_NEWADDR,
  RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWNETCONF, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE, RTN_UNICAST,
  RT_SCOPE_UNIVERSE, RTPROT_BOOT, SIZEOF,
} from "../src/uapi/linux.gen.ts";

const ROOT = resolve(import.meta.dir, "..");
const OUT = join(ROOT, "test/fixtures/rtnl");

// ---------------------------------------------------------------- outer: namespace lifecycle

function sh(cmd: string[], opts: { allowFail?: boolean } = {}): { ok: boolean; stdout: string; stderr: string } {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  const res = { ok: r.exitCode === 0, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  if (!res.ok && !opts.allowFail) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${res.stderr.trim()}`);
  return res;
}

function outer(): number {
  if (process.getuid?.() !== 0) {
    console.error("capture-fixtures: needs root (network namespaces)");
    return 1;
  }
  const ns = `nlmon-fx-${process.pid}`;
  sh(["ip", "netns", "add", ns]);
  try {
    const r = Bun.spawnSync(["ip", "netns", "exec", ns, process.execPath, import.meta.path, "--inner"], {
      stdout: "inherit", stderr: "inherit", cwd: ROOT,
    });
    return r.exitCode ?? 1;
  } finally {
    sh(["ip", "netns", "del", ns], { allowFail: true });
  }
}

// ---------------------------------------------------------------- inner: capture

interface Msg {
  type: number;
  bytes: Uint8Array; // exactly nlmsg_len bytes
}

/** body attributes of a message whose fixed header is `hdrSize` bytes */
function attrs(m: Msg, hdrSize: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const start = NLMSG_HDRLEN + nlmsgAlign(hdrSize);
  walkAttrs(dv, start, m.bytes.length, (type, off, len) => {
    if (!out.has(type)) out.set(type, m.bytes.slice(off, off + len));
  });
  return out;
}
function dvOf(b: Uint8Array) { return new DataView(b.buffer, b.byteOffset, b.byteLength); }
function strAttr(b: Uint8Array | undefined) { return b ? cstring(dvOf(b), 0, b.length) : undefined; }
function addrAttr(b: Uint8Array | undefined) { return b ? ipAddr(dvOf(b), 0, b.length) : undefined; }
function u32Attr(b: Uint8Array | undefined) { return b && b.length >= 4 ? dvOf(b).getUint32(0, true) : undefined; }
function bodyU8(m: Msg, off: number) { return m.bytes[NLMSG_HDRLEN + off]!; }

/** Predicates that select a message by what the kernel put in it, not by what our decoder says. */
const is = {
  link: (ifname: string) => (m: Msg) => strAttr(attrs(m, SIZEOF.ifinfomsg).get(IFLA_IFNAME)) === ifname,
  addr: (address: string) => (m: Msg) => addrAttr(attrs(m, SIZEOF.ifaddrmsg).get(IFA_ADDRESS)) === address,
  route: (dst: string, table?: number) => (m: Msg) => {
    const a = attrs(m, SIZEOF.rtmsg);
    if (addrAttr(a.get(RTA_DST)) !== dst) return false;
    return table === undefined || (u32Attr(a.get(RTA_TABLE)) ?? bodyU8(m, OFFSETOF["rtmsg.rtm_table"])) === table;
  },
  neigh: (dst: string) => (m: Msg) => addrAttr(attrs(m, SIZEOF.ndmsg).get(NDA_DST)) === dst,
  ruleFrom: (src: string) => (m: Msg) => addrAttr(attrs(m, SIZEOF.fib_rule_hdr).get(FRA_SRC)) === src,
  nexthop: (id: number) => (m: Msg) => u32Attr(attrs(m, SIZEOF.nhmsg).get(NHA_ID)) === id,
  netconf: (ifindex: number) => (m: Msg) => {
    const a = attrs(m, SIZEOF.netconfmsg);
    const b = a.get(NETCONFA_IFINDEX);
    return b !== undefined && dvOf(b).getInt32(0, true) === ifindex;
  },
};

interface Save {
  name: string;
  type: number;
  where: (m: Msg) => boolean;
  /** iproute2's numeric JSON of the object, run right after the step */
  ip?: string[];
  /** iproute2's text instead (for objects `ip -j` cannot print as JSON, e.g. netconf) */
  ipText?: string[];
}

interface Step {
  cmds: string[][];
  save?: Save[];
  /** commands that may fail on older kernels; the step is skipped with a note */
  optional?: boolean;
}

function splitDatagram(d: Uint8Array): Msg[] {
  const out: Msg[] = [];
  const dv = dvOf(d);
  let off = 0;
  while (d.length - off >= NLMSG_HDRLEN) {
    const h = readHeader(dv, off);
    if (h.len < NLMSG_HDRLEN || h.len > d.length - off) break;
    out.push({ type: h.type, bytes: d.slice(off, off + h.len) });
    off += nlmsgAlign(h.len);
  }
  return out;
}

function inner(): number {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const written: string[] = [];
  const write = (file: string, text: string) => {
    writeFileSync(join(OUT, file), text);
    written.push(file);
  };

  const mon = legacyDriver.openMonitor({
    protocol: NETLINK_ROUTE, groups: Object.values(ROUTE_GROUPS), rcvbuf: 4 << 20, sndbuf: 1 << 20, maxMessageSize: 1 << 16,
  });
  const buf = new Uint8Array(1 << 17);
  const drain = (): Msg[] => {
    const out: Msg[] = [];
    for (let idle = 0; idle < 3;) {
      const n = mon.recvInto(buf);
      if (n < 0) throw new Error(`recv on monitor socket: errno ${-n}`);
      if (n === 0) { idle++; Bun.sleepSync(30); continue; }
      out.push(...splitDatagram(buf.slice(0, n)));
    }
    return out;
  };

  const ipJson = (cmd: string[]): unknown => JSON.parse(sh(["ip", "-N", "-j", ...cmd]).stdout || "[]");

  const steps: Step[] = [
    { cmds: [["ip", "link", "set", "lo", "up"]] },
    {
      cmds: [["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"]],
      save: [
        { name: "link-new-veth-v0", type: RTM_NEWLINK, where: is.link("v0"), ip: ["-d", "link", "show", "dev", "v0"] },
        { name: "link-new-veth-v1", type: RTM_NEWLINK, where: is.link("v1"), ip: ["-d", "link", "show", "dev", "v1"] },
      ],
    },
    {
      cmds: [["ip", "link", "add", "br0", "type", "bridge"]],
      save: [{ name: "link-new-bridge-br0", type: RTM_NEWLINK, where: is.link("br0"), ip: ["-d", "link", "show", "dev", "br0"] }],
    },
    {
      cmds: [["ip", "link", "set", "v1", "master", "br0"]],
      save: [{ name: "link-new-v1-master-br0", type: RTM_NEWLINK, where: is.link("v1"), ip: ["-d", "link", "show", "dev", "v1"] }],
    },
    { cmds: [["ip", "link", "set", "br0", "up"], ["ip", "link", "set", "v1", "up"], ["ip", "link", "set", "v0", "up"]] },
    {
      cmds: [["ip", "addr", "add", "10.1.0.1/24", "dev", "v0"]],
      save: [{ name: "addr-new-v4", type: RTM_NEWADDR, where: is.addr("10.1.0.1"), ip: ["-4", "addr", "show", "dev", "v0"] }],
    },
    {
      cmds: [["ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", "v0", "nodad"]],
      save: [{ name: "addr-new-v6-nodad", type: RTM_NEWADDR, where: is.addr("2001:db8:1::1"), ip: ["-6", "addr", "show", "dev", "v0"] }],
    },
    {
      cmds: [["ip", "route", "add", "10.10.0.0/24", "via", "10.1.0.2", "dev", "v0", "table", "10", "proto", "186"]],
      save: [{ name: "route-new-v4-gw-table10-proto186", type: RTM_NEWROUTE, where: is.route("10.10.0.0", 10), ip: ["-d", "route", "show", "table", "all", "10.10.0.0/24"] }],
    },
    {
      cmds: [["ip", "route", "add", "10.11.0.0/24", "via", "10.1.0.2", "dev", "v0", "table", "11", "proto", "201", "metric", "50"]],
      save: [{ name: "route-new-v4-metric50-table11-proto201", type: RTM_NEWROUTE, where: is.route("10.11.0.0", 11), ip: ["-d", "route", "show", "table", "all", "10.11.0.0/24"] }],
    },
    {
      cmds: [["ip", "route", "add", "10.12.0.0/24", "via", "192.0.2.1", "dev", "v0", "onlink", "table", "12"]],
      save: [{ name: "route-new-v4-onlink-table12", type: RTM_NEWROUTE, where: is.route("10.12.0.0", 12), ip: ["-d", "route", "show", "table", "all", "10.12.0.0/24"] }],
    },
    {
      cmds: [["ip", "route", "add", "10.13.0.0/24", "via", "10.1.0.2", "dev", "v0", "table", "13", "mtu", "1400"]],
      save: [{ name: "route-new-v4-mtu1400-table13", type: RTM_NEWROUTE, where: is.route("10.13.0.0", 13), ip: ["-d", "route", "show", "table", "all", "10.13.0.0/24"] }],
    },
    {
      cmds: [["ip", "-6", "route", "add", "2001:db8:14::/64", "table", "14", "proto", "186",
        "nexthop", "via", "2001:db8:1::2", "dev", "v0", "nexthop", "via", "2001:db8:1::3", "dev", "v0"]],
      save: [{ name: "route-new-v6-multipath-table14", type: RTM_NEWROUTE, where: is.route("2001:db8:14::", 14), ip: ["-6", "-d", "route", "show", "table", "all", "2001:db8:14::/64"] }],
    },
    {
      cmds: [["ip", "route", "add", "10.15.0.0/24", "table", "15", "proto", "201",
        "nexthop", "via", "10.1.0.2", "dev", "v0", "weight", "1", "nexthop", "via", "10.1.0.3", "dev", "v0", "weight", "3"]],
      save: [{ name: "route-new-v4-multipath-weights-table15", type: RTM_NEWROUTE, where: is.route("10.15.0.0", 15), ip: ["-d", "route", "show", "table", "all", "10.15.0.0/24"] }],
    },
    {
      cmds: [["ip", "route", "add", "10.55.0.0/24", "via", "inet6", "2001:db8:1::2", "dev", "v0", "table", "16"]],
      optional: true,
      save: [{ name: "route-new-v4-via-inet6-table16", type: RTM_NEWROUTE, where: is.route("10.55.0.0", 16), ip: ["-d", "route", "show", "table", "all", "10.55.0.0/24"] }],
    },
    {
      cmds: [["ip", "route", "add", "blackhole", "10.17.0.0/24", "table", "17"]],
      save: [{ name: "route-new-v4-blackhole-table17", type: RTM_NEWROUTE, where: is.route("10.17.0.0", 17), ip: ["-d", "route", "show", "table", "all", "10.17.0.0/24"] }],
    },
    {
      cmds: [["ip", "-6", "route", "add", "unreachable", "2001:db8:18::/64", "table", "18", "metric", "7"]],
      save: [{ name: "route-new-v6-unreachable-table18", type: RTM_NEWROUTE, where: is.route("2001:db8:18::", 18), ip: ["-6", "-d", "route", "show", "table", "all", "2001:db8:18::/64"] }],
    },
    {
      cmds: [["ip", "-6", "route", "add", "2001:db8:19::/64", "via", "2001:db8:1::2", "dev", "v0", "table", "19", "proto", "186"]],
      save: [{ name: "route-new-v6-gw-table19-proto186", type: RTM_NEWROUTE, where: is.route("2001:db8:19::", 19), ip: ["-6", "-d", "route", "show", "table", "all", "2001:db8:19::/64"] }],
    },
    {
      cmds: [["ip", "neigh", "add", "10.1.0.9", "lladdr", "02:00:5e:00:53:09", "dev", "v0", "nud", "permanent"]],
      save: [{ name: "neigh-new-v4-permanent", type: RTM_NEWNEIGH, where: is.neigh("10.1.0.9"), ip: ["neigh", "show", "10.1.0.9", "dev", "v0"] }],
    },
    {
      cmds: [["ip", "-6", "neigh", "add", "2001:db8:1::9", "lladdr", "02:00:5e:00:53:19", "dev", "v0", "nud", "permanent"]],
      save: [{ name: "neigh-new-v6-permanent", type: RTM_NEWNEIGH, where: is.neigh("2001:db8:1::9"), ip: ["-6", "neigh", "show", "2001:db8:1::9", "dev", "v0"] }],
    },
    {
      cmds: [["ip", "rule", "add", "from", "10.1.0.0/16", "table", "12", "pref", "1000"]],
      save: [{ name: "rule-new-v4-from-table12-pref1000", type: RTM_NEWRULE, where: is.ruleFrom("10.1.0.0"), ip: ["rule", "show", "pref", "1000"] }],
    },
    {
      cmds: [["ip", "-6", "rule", "add", "from", "2001:db8::/32", "table", "13", "pref", "1001"]],
      save: [{ name: "rule-new-v6-from-table13-pref1001", type: RTM_NEWRULE, where: is.ruleFrom("2001:db8::"), ip: ["-6", "rule", "show", "pref", "1001"] }],
    },
    {
      cmds: [["ip", "nexthop", "add", "id", "1", "via", "10.1.0.2", "dev", "v0"], ["ip", "nexthop", "add", "id", "2", "via", "10.1.0.3", "dev", "v0"]],
      save: [
        { name: "nexthop-new-id1-gw", type: RTM_NEWNEXTHOP, where: is.nexthop(1), ip: ["nexthop", "show", "id", "1"] },
        { name: "nexthop-new-id2-gw", type: RTM_NEWNEXTHOP, where: is.nexthop(2), ip: ["nexthop", "show", "id", "2"] },
      ],
    },
    {
      cmds: [["ip", "nexthop", "add", "id", "10", "group", "1/2,3"]],
      save: [{ name: "nexthop-new-id10-group", type: RTM_NEWNEXTHOP, where: is.nexthop(10), ip: ["nexthop", "show", "id", "10"] }],
    },
    {
      cmds: [["ip", "nexthop", "add", "id", "3", "blackhole"]],
      save: [{ name: "nexthop-new-id3-blackhole", type: RTM_NEWNEXTHOP, where: is.nexthop(3), ip: ["nexthop", "show", "id", "3"] }],
    },
    {
      cmds: [["ip", "route", "add", "10.19.0.0/24", "nhid", "10", "table", "19"]],
      save: [{ name: "route-new-v4-nhid10-table19", type: RTM_NEWROUTE, where: is.route("10.19.0.0", 19), ip: ["-d", "route", "show", "table", "all", "10.19.0.0/24"] }],
    },
  ];

  // removals run after the dumps, so those still see every object; the ip view of each object was
  // saved with its creation
  const teardown = [
    {
      cmds: [["ip", "route", "del", "10.10.0.0/24", "table", "10"]],
      save: [{ name: "route-del-v4-gw-table10-proto186", type: RTM_DELROUTE, where: is.route("10.10.0.0", 10) }],
    },
    {
      cmds: [["ip", "neigh", "del", "10.1.0.9", "dev", "v0"]],
      save: [{ name: "neigh-del-v4", type: RTM_DELNEIGH, where: is.neigh("10.1.0.9") }],
    },
    {
      cmds: [["ip", "rule", "del", "pref", "1000"]],
      save: [{ name: "rule-del-v4-pref1000", type: RTM_DELRULE, where: is.ruleFrom("10.1.0.0") }],
    },
    {
      cmds: [["ip", "nexthop", "del", "id", "3"]],
      save: [{ name: "nexthop-del-id3", type: RTM_DELNEXTHOP, where: is.nexthop(3) }],
    },
    {
      cmds: [["ip", "-6", "addr", "del", "2001:db8:1::1/64", "dev", "v0"]],
      save: [{ name: "addr-del-v6", type: RTM_DELADDR, where: is.addr("2001:db8:1::1") }],
    },
    {
      cmds: [["ip", "link", "del", "br0"]],
      save: [{ name: "link-del-bridge-br0", type: RTM_DELLINK, where: is.link("br0") }],
    },
  ] satisfies Step[];

  const runStep = (st: Step) => {
    drain(); // anything late from the previous step belongs to it, not to this one
    for (const c of st.cmds) {
      const r = sh(c, { allowFail: st.optional });
      if (!r.ok) {
        console.warn(`skipped (kernel said no): ${c.join(" ")}: ${r.stderr.trim()}`);
        return;
      }
    }
    const msgs = drain();
    for (const s of st.save ?? []) {
      const m = msgs.find((x) => x.type === s.type && s.where(x));
      if (!m) throw new Error(`${s.name}: no matching notification among ${msgs.length} messages`);
      write(`${s.name}.hex`, hex(m.bytes, Infinity) + "\n");
      if (s.ip) write(`${s.name}.ip.json`, JSON.stringify(ipJson(s.ip), null, 2) + "\n");
      if (s.ipText) write(`${s.name}.ip.txt`, sh(["ip", ...s.ipText]).stdout);
    }
  };

  try {
    for (const st of steps) runStep(st);

    // dumps: every kind once, in the order nlmon snapshots
    const dumpSock = legacyDriver.openDump(NETLINK_ROUTE, 4 << 20);
    try {
      const dump = (req: Uint8Array): Uint8Array[] => {
        dumpSock.request(req);
        const dgrams: Uint8Array[] = [];
        for (let tries = 0; tries < 200; tries++) {
          const n = dumpSock.recvInto(buf);
          if (n < 0) throw new Error(`recv on dump socket: errno ${-n}`);
          if (n === 0) { Bun.sleepSync(10); continue; }
          const d = buf.slice(0, n);
          dgrams.push(d);
          if (splitDatagram(d).some((m) => m.type === NLMSG_DONE || m.type === NLMSG_ERROR)) return dgrams;
        }
        throw new Error("dump did not finish");
      };
      const reqs = routeDumpRequests();
      const all = new Map<string, Uint8Array[]>();
      for (const [i, r] of reqs.entries()) all.set(`${r.type}-${i}`, dump(r.request));
      const msgsOf = (prefix: string) => [...all].filter(([k]) => k.startsWith(prefix + "-")).flatMap(([, d]) => d.flatMap(splitDatagram));

      const ifindexV0 = Number((ipJson(["link", "show", "dev", "v0"]) as { ifindex: number }[])[0]!.ifindex);
      const dumpSaves: (Save & { from: string })[] = [
        { from: "link", name: "link-dump-lo", type: RTM_NEWLINK, where: is.link("lo"), ip: ["-d", "link", "show", "dev", "lo"] },
        { from: "link", name: "link-dump-v0", type: RTM_NEWLINK, where: is.link("v0"), ip: ["-d", "link", "show", "dev", "v0"] },
        { from: "addr", name: "addr-dump-v4-lo", type: RTM_NEWADDR, where: is.addr("127.0.0.1"), ip: ["-4", "addr", "show", "dev", "lo"] },
        { from: "route", name: "route-dump-v4-local-10.1.0.1", type: RTM_NEWROUTE, where: is.route("10.1.0.1", 255), ip: ["-d", "route", "show", "table", "all", "10.1.0.1"] },
        { from: "route", name: "route-dump-v4-main-connected", type: RTM_NEWROUTE, where: is.route("10.1.0.0", 254), ip: ["-d", "route", "show", "table", "all", "10.1.0.0/24"] },
        { from: "route", name: "route-dump-v6-multipath-table14", type: RTM_NEWROUTE, where: is.route("2001:db8:14::", 14), ip: ["-6", "-d", "route", "show", "table", "all", "2001:db8:14::/64"] },
        { from: "neigh", name: "neigh-dump-v6-permanent", type: RTM_NEWNEIGH, where: is.neigh("2001:db8:1::9"), ip: ["-6", "neigh", "show", "2001:db8:1::9", "dev", "v0"] },
        { from: "rule", name: "rule-dump-v4-from-table12", type: RTM_NEWRULE, where: is.ruleFrom("10.1.0.0"), ip: ["rule", "show", "pref", "1000"] },
        { from: "nexthop", name: "nexthop-dump-id10-group", type: RTM_NEWNEXTHOP, where: is.nexthop(10), ip: ["nexthop", "show", "id", "10"] },
        { from: "netconf", name: "netconf-dump-v4-v0", type: RTM_NEWNETCONF, where: is.netconf(ifindexV0), ipText: ["-4", "netconf", "show", "dev", "v0"] },
        { from: "netconf", name: "netconf-dump-v6-v0", type: RTM_NEWNETCONF, where: (m) => bodyU8(m, 0) !== AF_INET && is.netconf(ifindexV0)(m), ipText: ["-6", "netconf", "show", "dev", "v0"] },
      ];
      for (const s of dumpSaves) {
        const m = msgsOf(s.from).find((x) => x.type === s.type && s.where(x));
        if (!m) throw new Error(`${s.name}: not in the ${s.from} dump`);
        write(`${s.name}.hex`, hex(m.bytes, Infinity) + "\n");
        if (s.ip) write(`${s.name}.ip.json`, JSON.stringify(ipJson(s.ip), null, 2) + "\n");
        if (s.ipText) write(`${s.name}.ip.txt`, sh(["ip", ...s.ipText]).stdout);
      }
      // a datagram holding several messages, as the kernel packed it, and the NLMSG_DONE ending a dump
      const linkDump = all.get(`link-0`)!;
      const multi = [...all.values()].flat().find((d) => splitDatagram(d).length >= 3);
      if (!multi) throw new Error("no dump datagram with three or more messages");
      write("datagram-dump-multi.hex", hex(multi, Infinity) + "\n");
      const done = linkDump.flatMap(splitDatagram).find((m) => m.type === NLMSG_DONE);
      if (!done) throw new Error("link dump had no NLMSG_DONE");
      write("done-dump-link.hex", hex(done.bytes, Infinity) + "\n");

      // NLMSG_ERROR with extended ack: a route through a gateway no interface reaches. The same
      // request through ip gives iproute2's rendering of the kernel's text.
      const rtm = new Uint8Array(nlmsgAlign(SIZEOF.rtmsg));
      rtm[OFFSETOF["rtmsg.rtm_family"]] = AF_INET;
      rtm[OFFSETOF["rtmsg.rtm_dst_len"]] = 24;
      rtm[OFFSETOF["rtmsg.rtm_protocol"]] = RTPROT_BOOT;
      rtm[OFFSETOF["rtmsg.rtm_scope"]] = RT_SCOPE_UNIVERSE;
      rtm[OFFSETOF["rtmsg.rtm_type"]] = RTN_UNICAST;
      const attrsW = new AttrWriter()
        .bytes(RTA_DST, Uint8Array.of(10, 20, 0, 0))
        .bytes(RTA_GATEWAY, Uint8Array.of(10, 99, 99, 1))
        .u32(RTA_TABLE, 10);
      const body = new Uint8Array([...rtm, ...attrsW.finish()]);
      const req = buildMessage(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 4242, body);
      const reply = dump(req).flatMap(splitDatagram).find((m) => m.type === NLMSG_ERROR);
      if (!reply) throw new Error("no NLMSG_ERROR for the invalid route");
      write("error-newroute-bad-gateway.hex", hex(reply.bytes, Infinity) + "\n");
      write("error-newroute-bad-gateway.request.hex", hex(req, Infinity) + "\n");
      const ipErr = sh(["ip", "route", "add", "10.20.0.0/24", "via", "10.99.99.1", "table", "10"], { allowFail: true });
      write("error-newroute-bad-gateway.ip.txt", ipErr.stderr);
    } finally {
      dumpSock.close();
    }

    for (const st of teardown) runStep(st);
  } finally {
    mon.close();
  }
  console.log(`wrote ${written.length} files to ${OUT}:`);
  for (const f of readdirSync(OUT).sort()) console.log(`  ${f}`);
  return 0;
}

process.exit(process.argv.includes("--inner") ? inner() : outer());
