/**
 * nlmon against iproute2, event for event: `ip -t -o monitor all` and nlmon run side by side in a
 * namespace through the same churn; between two mark routes both saw, the sequences of
 * (kind, add/del, key) for links, addresses, routes, neighbours, rules and nexthop objects must be
 * identical — same events, same order. Once per backend.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NlEvent } from "../../src/event/model.ts";
import {
  BACKENDS, type Child, type Mark, delNs, ensureBinary, ensureLibnl, ip, ipMonMark, makeNs, nlmonMark, nsName, parseEvents, sleep,
  startIpMonitor, startNlmon, syncMark,
} from "./lib.ts";

/** iproute2's table names (rt_tables and rt_tables.d), read here independently of nlmon */
function tableNumbers(): Map<string, number> {
  const m = new Map<string, number>([["unspec", 0], ["default", 253], ["main", 254], ["local", 255]]);
  const files: string[] = [];
  for (const base of ["/usr/share/iproute2", "/etc/iproute2"]) {
    if (existsSync(join(base, "rt_tables"))) files.push(join(base, "rt_tables"));
    const d = join(base, "rt_tables.d");
    if (existsSync(d)) for (const f of readdirSync(d)) if (f.endsWith(".conf")) files.push(join(d, f));
  }
  for (const f of files) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      const m2 = /^\s*(0x[0-9a-f]+|\d+)\s+(\S+)/i.exec(line);
      if (m2) m.set(m2[2]!, Number(m2[1]));
    }
  }
  return m;
}
const TABLES = tableNumbers();
const table = (s: string) => TABLES.get(s) ?? Number(s);

const ROUTE_TYPES = new Set(["unicast", "local", "broadcast", "multicast", "anycast", "unreachable", "prohibit", "blackhole", "throw", "nat", "xresolve"]);
const NUD = new Set(["INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "NOARP", "PERMANENT", "NONE"]);
const COMPARED = new Set(["LINK", "ADDR", "ROUTE", "NEIGH", "RULE", "NEXTHOP"]);

const hostCidr = (d: string) => (d === "default" || d.includes("/") ? d : d + (d.includes(":") ? "/128" : "/32"));

/**
 * One `ip -t -o monitor all` line ("[KIND]..." after its "Timestamp:" line) as a key, or undefined
 * for kinds not compared (NETCONF, NSID, PREFIX, ...) and timestamp lines.
 */
export function ipKey(line: string): string | undefined {
  const m = /^\[([A-Z]+)\](.*)$/.exec(line);
  if (!m || !COMPARED.has(m[1]!)) return undefined;
  let body = m[2]!;
  let op = "add";
  if (body.startsWith("Deleted ")) { op = "del"; body = body.slice(8); }
  const tok = body.trim().split(/\s+/);
  const after = (w: string) => { const i = tok.indexOf(w); return i >= 0 ? tok[i + 1] : undefined; };
  switch (m[1]) {
    case "ROUTE": {
      let i = 0;
      const type = ROUTE_TYPES.has(tok[0]!) ? tok[i++]! : "unicast";
      const dst = hostCidr(tok[i]!);
      return `route ${op} ${type} t${table(after("table") ?? "main")} ${dst} m${after("metric") ?? 0}`;
    }
    case "ADDR": {
      const a = /^\d+: (\S+)\s+(inet6?) (\S+)/.exec(body);
      if (!a) throw new Error(`unparsed ip monitor ADDR line: ${line}`);
      return `addr ${op} ${a[1]} ${a[3]}`;
    }
    case "LINK": {
      const l = /^\d+: ([^:@\s]+)(@\S+)?: <([^>]*)>/.exec(body);
      if (!l) throw new Error(`unparsed ip monitor LINK line: ${line}`);
      const flags = l[3]!.split(",");
      return `link ${op} ${l[1]} up=${flags.includes("UP")} lower=${flags.includes("LOWER_UP")} mtu=${after("mtu")} ${after("state") ?? "-"}`;
    }
    case "NEIGH": {
      const states = tok.filter((t) => NUD.has(t)).sort().join(",");
      return `neigh ${op} ${tok[0]} ${after("dev")} ${states}`;
    }
    case "RULE": {
      const prio = /^(\d+):/.exec(tok[0]!)?.[1];
      return `rule ${op} ${prio} from=${after("from")} t${table(after("lookup") ?? "main")}`;
    }
    case "NEXTHOP":
      return `nexthop ${op} ${after("id")}`;
  }
  return undefined;
}

/** The same key for one of nlmon's events, or undefined for types not compared. */
export function nlmonKey(e: NlEvent): string | undefined {
  const n = e.netlink;
  const op = /^RTM_DEL/.test(n.msg_type_name) ? "del" : "add";
  if (n.route) {
    const r = n.route;
    const dst = r.dst === "0.0.0.0/0" || r.dst === "::/0" ? "default" : r.dst;
    return `route ${op} ${r.type_name} t${r.table} ${dst} m${r.metric ?? 0}`;
  }
  if (n.addr) return `addr ${op} ${n.addr.dev} ${n.addr.local ?? n.addr.address}/${n.addr.prefixlen}`;
  if (n.link) {
    const l = n.link;
    return `link ${op} ${l.ifname} up=${l.flags.includes("UP")} lower=${l.flags.includes("LOWER_UP")} mtu=${l.mtu} ${l.operstate ?? "-"}`;
  }
  if (n.neigh) return `neigh ${op} ${n.neigh.dst} ${n.neigh.dev} ${[...n.neigh.state].sort().join(",")}`;
  if (n.rule) return `rule ${op} ${n.rule.priority ?? 0} from=${n.rule.src ?? "all"} t${n.rule.table}`;
  if (n.nexthop) return `nexthop ${op} ${n.nexthop.id}`;
  return undefined;
}

/** The churn: every kind of change the issue names, as plain iproute2 commands. */
const CHURN: string[][] = [
  ["link", "set", "v1", "down"],
  ["link", "set", "v1", "up"],
  ["link", "set", "v1", "mtu", "1400"],
  ["link", "add", "v2", "type", "veth", "peer", "name", "v3"],
  ["link", "set", "v2", "up"],
  ["link", "del", "v2"],
  ["addr", "add", "10.9.1.1/24", "dev", "v0", "label", "v0:x"],
  ["-6", "addr", "add", "2001:db8:a::1/64", "dev", "v0", "nodad"],
  ["addr", "add", "169.254.9.1/16", "dev", "v1", "scope", "link"],
  ["addr", "del", "10.9.1.1/24", "dev", "v0"],
  ["-6", "addr", "del", "2001:db8:a::1/64", "dev", "v0"],
  ["addr", "del", "169.254.9.1/16", "dev", "v1"],
  ...[13, 14, 15, 16, 17, 18, 19].map((t) => ["route", "add", `172.24.${t}.0/24`, "via", "10.9.0.2", "table", `${t}`, "proto", t % 2 ? "186" : "201"]),
  ["route", "add", "10.50.0.1", "via", "10.9.0.2", "table", "12", "proto", "186"],
  ["route", "add", "default", "via", "10.9.0.2", "table", "17", "proto", "201"],
  ["-6", "route", "add", "default", "via", "2001:db8:9::2", "table", "17", "proto", "201"],
  ["route", "replace", "172.20.10.0/24", "via", "10.9.0.3", "table", "10", "proto", "201"],
  ["route", "del", "172.20.11.0/24", "table", "11"],
  ["route", "add", "172.21.15.0/24", "via", "10.9.9.9", "dev", "v0", "onlink", "table", "15", "proto", "186", "metric", "50"],
  ["-6", "route", "add", "2001:db8:15::/48", "via", "2001:db8:9::2", "table", "15", "proto", "186"],
  ["-6", "route", "add", "2001:db8:16::5", "via", "2001:db8:9::2", "table", "16", "proto", "201", "metric", "5"],
  ["route", "replace", "172.21.10.0/24", "via", "10.9.9.9", "dev", "v0", "onlink", "table", "10", "proto", "186", "metric", "60"],
  ["route", "del", "172.21.10.0/24", "table", "10", "metric", "50"],
  ["-6", "route", "add", "2001:db8:10::/48", "via", "2001:db8:9::2", "table", "10", "proto", "201", "metric", "10"],
  ["route", "add", "172.22.0.0/16", "table", "14", "proto", "201", "nexthop", "via", "10.9.0.2", "weight", "1", "nexthop", "via", "10.9.0.3", "weight", "2"],
  ["-6", "route", "add", "2001:db8:77::/48", "table", "16", "proto", "186", "nexthop", "via", "2001:db8:9::2", "dev", "v0", "nexthop", "via", "2001:db8:9::3", "dev", "v0"],
  ["route", "add", "unreachable", "172.25.0.0/16", "table", "18", "proto", "201"],
  ["neigh", "add", "10.9.0.77", "lladdr", "02:00:00:00:00:77", "dev", "v0", "nud", "permanent"],
  ["-6", "neigh", "add", "2001:db8:9::77", "lladdr", "02:00:00:00:00:78", "dev", "v0", "nud", "permanent"],
  ["neigh", "del", "10.9.0.77", "dev", "v0"],
  ["-6", "neigh", "del", "2001:db8:9::77", "dev", "v0"],
  ["rule", "add", "from", "10.9.0.0/24", "table", "10", "priority", "1000"],
  ["-6", "rule", "add", "from", "2001:db8:9::/64", "table", "11", "priority", "1001"],
  ["rule", "del", "priority", "1000"],
  ["-6", "rule", "del", "priority", "1001"],
  ["nexthop", "add", "id", "42", "via", "10.9.0.2", "dev", "v0", "proto", "201"],
  ["nexthop", "add", "id", "43", "via", "10.9.0.3", "dev", "v0", "proto", "201"],
  ["nexthop", "add", "id", "44", "group", "42/43,3", "proto", "186"],
  ["route", "add", "172.23.0.0/24", "nhid", "44", "table", "17", "proto", "186"],
  ["route", "del", "172.23.0.0/24", "table", "17"],
  ["nexthop", "del", "id", "44"],
  ["nexthop", "del", "id", "42"],
  ["nexthop", "del", "id", "43"],
  ...[13, 14, 15, 16, 17, 18, 19].map((t) => ["route", "del", `172.24.${t}.0/24`, "table", `${t}`]),
  ["-6", "route", "del", "2001:db8:77::/48", "table", "16"],
  ["route", "del", "172.22.0.0/16", "table", "14"],
  ["route", "del", "default", "table", "17"],
  ["-6", "route", "del", "default", "table", "17"],
  ["route", "flush", "table", "18"],
];

describe("parsers", () => {
  test("ip monitor lines become keys", () => {
    expect(ipKey("[ROUTE]Deleted default via 10.9.0.2 dev v0 table 13 proto 201 ")).toBe("route del unicast t13 default m0");
    expect(ipKey("[ROUTE]local 10.9.1.1 dev v0 table local proto kernel scope host src 10.9.1.1 ")).toBe("route add local t255 10.9.1.1/32 m0");
    expect(ipKey("[ROUTE]2001:db8:10::/48 via 2001:db8:9::2 dev v0 table 10 proto 201 metric 1024 pref medium")).toBe("route add unicast t10 2001:db8:10::/48 m1024");
    expect(ipKey("[ADDR]Deleted 3: v0    inet 10.9.1.1/24 scope global v0:x\\       valid_lft forever preferred_lft forever")).toBe("addr del v0 10.9.1.1/24");
    expect(ipKey("[LINK]2: v1@v0: <NO-CARRIER,BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default \\    link/ether 6e:f4:94:37:4d:69 brd ff:ff:ff:ff:ff:ff"))
      .toBe("link add v1 up=true lower=true mtu=1500 LOWERLAYERDOWN");
    expect(ipKey("[NEIGH]Deleted 10.9.0.77 dev v0 FAILED ")).toBe("neigh del 10.9.0.77 v0 FAILED");
    expect(ipKey("[RULE]1000:\tfrom 10.9.0.0/24 lookup 10")).toBe("rule add 1000 from=10.9.0.0/24 t10");
    expect(ipKey("[NEXTHOP]Deleted id 42 via 10.9.0.2 dev v0 scope link proto 201 ")).toBe("nexthop del 42");
    expect(ipKey("[NETCONF]ipv4 dev v0 forwarding off")).toBeUndefined();
    expect(ipKey("Timestamp: Sun Nov 22 04:35:50 2026 613177 usec")).toBeUndefined();
  });
});

for (const backend of BACKENDS) {
  describe(`nlmon agrees with ip monitor, ${backend.name} backend`, () => {
    const ns = nsName(`ipmon-${backend.name}`);
    let nl: Child | undefined;
    let mon: Child | undefined;
    let start: Mark;
    let end: Mark;

    beforeAll(async () => {
      ensureBinary();
      ensureLibnl();
      await makeNs(ns);
      nl = startNlmon({ ns, env: backend.env });
      mon = startIpMonitor(ns, ["all"]);
      const watchers = [{ lines: nl.out, match: nlmonMark }, { lines: mon.out, match: ipMonMark }];
      start = await syncMark(ns, watchers);
      for (const c of CHURN) ip(ns, ...c);
      // let the kernel's follow-ups (DAD on the re-enabled link, neighbour timers) settle a little
      await sleep(300);
      end = await syncMark(ns, watchers);
      await Promise.all([nl.stop(), mon.stop()]);
    }, 600_000);

    afterAll(async () => {
      try {
        await Promise.all([nl?.stop(), mon?.stop()]);
      } finally {
        delNs(ns);
      }
    }, 60_000);

    test("same events in the same order between the marks", () => {
      const ipLines = mon!.out.lines.slice(start.at[1]! + 1, end.at[1]!);
      const nlLines = nl!.out.lines.slice(start.at[0]! + 1, end.at[0]!);
      const theirs = ipLines.map(ipKey).filter((k): k is string => k !== undefined);
      // events nlmon makes itself (a resync after an overrun; removals the kernel implies but
      // never sends, e.g. routes through a link that went down) have no kernel message behind
      // them, so ip monitor cannot show them: the one documented exception, left out here
      const evs = parseEvents(nlLines);
      const mine = evs.filter((e) => !e.resync && !e.implicit).map(nlmonKey).filter((k): k is string => k !== undefined);
      if (process.env.NLMON_TEST_VERBOSE) console.log(theirs.join("\n"));
      const own = evs.filter((e) => e.resync || e.implicit).length;
      console.log(`${backend.name}: ip monitor ${theirs.length} events, nlmon ${mine.length} between the marks (+${own} implicit/resync events of its own)`);
      expect(theirs.length).toBeGreaterThan(CHURN.length);
      expect(mine).toEqual(theirs);
    });

    test("the churn is all there: every change made is in both streams", () => {
      const nlKeys = new Set(parseEvents(nl!.out.lines.slice(start.at[0]! + 1, end.at[0]!)).map(nlmonKey));
      for (const k of [
        "route add unicast t13 172.24.13.0/24 m0", "route del unicast t11 172.20.11.0/24 m0", "route add unicast t10 172.21.10.0/24 m60",
        "route del unicast t10 172.21.10.0/24 m50", "route add unicast t16 2001:db8:16::5/128 m5", "route add unicast t17 default m1024",
        "route add unreachable t18 172.25.0.0/16 m0", "addr add v0 10.9.1.1/24", "addr del v0 2001:db8:a::1/64",
        "neigh add 10.9.0.77 v0 PERMANENT", "rule add 1001 from=2001:db8:9::/64 t11", "rule del 1000 from=10.9.0.0/24 t10",
        "nexthop add 44", "nexthop del 43", "link add v1 up=false lower=false mtu=1500 DOWN", "link del v2 up=false lower=false mtu=1500 DOWN", "link add v1 up=true lower=true mtu=1400 UP",
      ]) expect(nlKeys.has(k) ? k : `missing: ${k}`).toBe(k);
    });

    test("all of nlmon's output is JSON events without decode errors", () => {
      const evs = parseEvents(nl!.out.lines);
      expect(evs.filter((e) => e.decode_error !== undefined)).toEqual([]);
    });
  });
}
