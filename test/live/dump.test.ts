/**
 * `nlmon --dump-events` against iproute2: the routes it lists are exactly those of
 * `ip -j -4 route show table all` plus `ip -j -6 route show table all` (table, dst as CIDR, type,
 * dev, protocol, metric, gateway, multipath nexthops); its output is byte-identical between two
 * runs and between the libnl and legacy backends; all of that still holds with 1,000 more routes
 * spread over tables 10-19.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NlEvent } from "../../src/event/model.ts";
import { delNs, ensureBinary, ensureLibnl, ip, ipBatch, makeNs, nsName, parseEvents, runNlmon } from "./lib.ts";

/** iproute2's name files (e.g. rt_tables, rt_protos), read here independently of nlmon: name -> number */
function iprouteNames(file: string, builtin: [string, number][]): Map<string, number> {
  const m = new Map<string, number>(builtin);
  const files: string[] = [];
  for (const base of ["/usr/share/iproute2", "/etc/iproute2"]) {
    if (existsSync(join(base, file))) files.push(join(base, file));
    const d = join(base, `${file}.d`);
    if (existsSync(d)) for (const f of readdirSync(d).sort()) if (f.endsWith(".conf")) files.push(join(d, f));
  }
  for (const f of files) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      const x = /^\s*(0x[0-9a-f]+|\d+)\s+(\S+)/i.exec(line);
      if (x) m.set(x[2]!, Number(x[1]));
    }
  }
  return m;
}
const TABLES = iprouteNames("rt_tables", [["unspec", 0], ["default", 253], ["main", 254], ["local", 255]]);
const PROTOS = iprouteNames("rt_protos", [["unspec", 0], ["redirect", 1], ["kernel", 2], ["boot", 3], ["static", 4]]);
const num = (names: Map<string, number>, s: string) => {
  const n = names.get(s) ?? Number(s);
  if (!Number.isInteger(n)) throw new Error(`unknown iproute2 name '${s}'`);
  return n;
};

interface IpRoute {
  type?: string; dst: string; gateway?: string; dev?: string; table?: string; protocol?: string; metric?: number;
  nexthops?: { gateway?: string; dev?: string; weight?: number }[];
}

/** one comparable line per route */
function line(r: { table: number; dst: string; type: string; dev?: string; protocol: number; metric?: number; gateway?: string; nexthops?: { gateway?: string; dev?: string; weight?: number }[] }): string {
  const nh = r.nexthops?.map((n) => `${n.gateway ?? "-"}@${n.dev ?? "-"}*${n.weight ?? 1}`).join(",") ?? "-";
  return `table=${r.table} dst=${r.dst} type=${r.type} dev=${r.dev ?? "-"} proto=${r.protocol} metric=${r.metric ?? "-"} gw=${r.gateway ?? "-"} nh=${nh}`;
}

/** iproute2's routes, all tables, both families, normalised: table and protocol as numbers, dst as CIDR */
function ipRoutes(ns: string): string[] {
  const out: string[] = [];
  for (const fam of ["-4", "-6"] as const) {
    const v6 = fam === "-6";
    for (const r of JSON.parse(ip(ns, "-j", fam, "route", "show", "table", "all")) as IpRoute[]) {
      const dst = r.dst === "default" ? (v6 ? "::/0" : "0.0.0.0/0") : r.dst.includes("/") ? r.dst : `${r.dst}/${v6 ? 128 : 32}`;
      out.push(line({
        table: num(TABLES, r.table ?? "main"), dst, type: r.type ?? "unicast", dev: r.dev,
        // iproute2 leaves out "proto boot" (the protocol of a route added without one)
        protocol: num(PROTOS, r.protocol ?? "boot"), metric: r.metric, gateway: r.gateway, nexthops: r.nexthops,
      }));
    }
  }
  return out.sort();
}

function nlmonRoutes(events: NlEvent[]): string[] {
  return events.filter((e) => e.type === "route").map((e) => {
    const r = e.netlink.route!;
    return line({ table: r.table, dst: r.dst, type: r.type_name, dev: r.dev, protocol: r.protocol, metric: r.metric, gateway: r.gateway, nexthops: r.nexthops });
  }).sort();
}

function dump(ns: string, useLibnl: boolean): string {
  const r = runNlmon({ ns, args: ["--dump-events"], env: { NLMON_USE_LIBNL: String(useLibnl) } });
  if (r.code !== 0) throw new Error(`--dump-events (libnl=${useLibnl}) exited ${r.code}: ${r.err.trim()}`);
  expect(r.err.split("\n").filter((l) => /warn|error/i.test(l))).toEqual([]);
  return r.out;
}

/** show where two sorted lists differ, briefly */
function diff(mine: string[], theirs: string[]): { missing: string[]; extra: string[] } {
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const a = count(mine), b = count(theirs);
  const missing = [...b].filter(([k, n]) => (a.get(k) ?? 0) < n).map(([k]) => k);
  const extra = [...a].filter(([k, n]) => (b.get(k) ?? 0) < n).map(([k]) => k);
  return { missing: missing.slice(0, 10), extra: extra.slice(0, 10) };
}

describe("--dump-events against iproute2", () => {
  const ns = nsName("dump");

  beforeAll(async () => {
    ensureBinary();
    ensureLibnl();
    await makeNs(ns);
    // more shapes of route than make_ns has: multipath v4/v6, nexthop objects, special types, host routes
    ip(ns, "route", "add", "172.22.0.0/16", "table", "14", "proto", "201", "nexthop", "via", "10.9.0.2", "weight", "1", "nexthop", "via", "10.9.0.3", "weight", "2");
    ip(ns, "-6", "route", "add", "2001:db8:77::/48", "table", "16", "proto", "186", "nexthop", "via", "2001:db8:9::2", "dev", "v0", "nexthop", "via", "2001:db8:9::3", "dev", "v0");
    ip(ns, "nexthop", "add", "id", "42", "via", "10.9.0.2", "dev", "v0", "proto", "201");
    ip(ns, "nexthop", "add", "id", "43", "via", "10.9.0.3", "dev", "v0", "proto", "201");
    ip(ns, "nexthop", "add", "id", "44", "group", "42/43,3", "proto", "186");
    ip(ns, "route", "add", "172.23.0.0/24", "nhid", "44", "table", "17", "proto", "186");
    ip(ns, "route", "add", "172.23.1.0/24", "nhid", "42", "table", "17", "proto", "186");
    ip(ns, "route", "add", "unreachable", "172.25.0.0/16", "table", "18", "proto", "201");
    ip(ns, "route", "add", "blackhole", "172.26.0.0/16", "table", "18");
    ip(ns, "route", "add", "prohibit", "172.27.0.0/16", "table", "19", "proto", "186", "metric", "9");
    ip(ns, "route", "add", "10.50.0.1", "via", "10.9.0.2", "table", "12", "proto", "186");
    ip(ns, "-6", "route", "add", "2001:db8:16::5", "via", "2001:db8:9::2", "table", "16", "proto", "201", "metric", "5");
    ip(ns, "-6", "route", "add", "default", "via", "2001:db8:9::2", "table", "17", "proto", "201");
    ip(ns, "route", "add", "172.21.10.0/24", "via", "10.9.9.9", "dev", "v0", "onlink", "table", "10", "proto", "186", "metric", "60");
    ip(ns, "rule", "add", "from", "10.9.0.0/24", "table", "10", "priority", "1000");
    ip(ns, "-6", "rule", "add", "from", "2001:db8:9::/64", "table", "11", "priority", "1001");
  }, 600_000);

  afterAll(() => delNs(ns));

  test("the routes are exactly iproute2's (table, dst, type, dev, protocol, metric, gateway, nexthops)", () => {
    const mine = nlmonRoutes(parseEvents(dump(ns, true).split("\n")));
    const theirs = ipRoutes(ns);
    expect(theirs.length).toBeGreaterThan(30);
    expect(diff(mine, theirs)).toEqual({ missing: [], extra: [] });
    expect(mine).toEqual(theirs);
    // the ones this test made are among them, decoded as written
    expect(theirs).toContain("table=10 dst=172.21.10.0/24 type=unicast dev=v0 proto=186 metric=50 gw=10.9.9.9 nh=-");
    expect(theirs).toContain("table=12 dst=10.50.0.1/32 type=unicast dev=v0 proto=186 metric=- gw=10.9.0.2 nh=-");
    expect(theirs).toContain("table=17 dst=::/0 type=unicast dev=v0 proto=201 metric=1024 gw=2001:db8:9::2 nh=-");
    expect(theirs).toContain("table=14 dst=172.22.0.0/16 type=unicast dev=- proto=201 metric=- gw=- nh=10.9.0.2@v0*1,10.9.0.3@v0*2");
  }, 60_000);

  test("route flags and nexthop ids match iproute2 too", () => {
    const evs = parseEvents(dump(ns, false).split("\n")).filter((e) => e.type === "route" && e.netlink.route!.table >= 10 && e.netlink.route!.table <= 19);
    const onlink = evs.filter((e) => e.netlink.route!.flags.includes("onlink")).map((e) => `${e.netlink.route!.table} ${e.netlink.route!.dst}`).sort();
    const ipOnlink: string[] = [];
    const ipNhid: string[] = [];
    for (const fam of ["-4", "-6"]) {
      for (const r of JSON.parse(ip(ns, "-j", fam, "route", "show", "table", "all")) as (IpRoute & { flags: string[]; nhid?: number })[]) {
        const t = num(TABLES, r.table ?? "main");
        if (t < 10 || t > 19) continue;
        const dst = r.dst.includes("/") ? r.dst : r.dst === "default" ? (fam === "-6" ? "::/0" : "0.0.0.0/0") : `${r.dst}/${fam === "-6" ? 128 : 32}`;
        if (r.flags.includes("onlink")) ipOnlink.push(`${t} ${dst}`);
        if (r.nhid !== undefined) ipNhid.push(`${t} ${dst} ${r.nhid}`);
      }
    }
    expect(onlink).toEqual(ipOnlink.sort());
    expect(onlink.length).toBe(4);
    expect(evs.filter((e) => e.netlink.route!.nhid !== undefined).map((e) => `${e.netlink.route!.table} ${e.netlink.route!.dst} ${e.netlink.route!.nhid}`).sort())
      .toEqual(ipNhid.sort());
    expect(ipNhid.length).toBe(2);
  }, 60_000);

  test("rules and addresses are iproute2's too", () => {
    const evs = parseEvents(dump(ns, true).split("\n"));
    const mineRules = evs.filter((e) => e.type === "rule").map((e) => {
      const r = e.netlink.rule!;
      return `${r.family} ${r.priority ?? 0} ${r.src ?? "all"} ${r.table}`;
    }).sort();
    const theirRules: string[] = [];
    for (const [fam, name] of [["-4", "inet"], ["-6", "inet6"]] as const) {
      for (const r of JSON.parse(ip(ns, "-j", fam, "rule", "show")) as { priority: number; src: string; srclen?: number; table: string }[]) {
        theirRules.push(`${name} ${r.priority} ${r.src === "all" ? "all" : `${r.src}/${r.srclen ?? (name === "inet" ? 32 : 128)}`} ${num(TABLES, r.table)}`);
      }
    }
    expect(mineRules).toEqual(theirRules.sort());
    expect(mineRules).toContain("inet 1000 10.9.0.0/24 10");

    const mineAddrs = evs.filter((e) => e.type === "addr").map((e) => {
      const a = e.netlink.addr!;
      return `${a.dev} ${a.local ?? a.address}/${a.prefixlen} ${a.scope_name}`;
    }).sort();
    const theirAddrs: string[] = [];
    for (const l of JSON.parse(ip(ns, "-j", "addr", "show")) as { ifname: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[]) {
      for (const a of l.addr_info) theirAddrs.push(`${l.ifname} ${a.local}/${a.prefixlen} ${a.scope}`);
    }
    expect(mineAddrs).toEqual(theirAddrs.sort());
  }, 60_000);

  test("two runs are byte-identical", () => {
    const a = dump(ns, true);
    const b = dump(ns, true);
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toBe(a);
    // and carry nothing run-specific
    for (const e of parseEvents(a.split("\n"))) {
      expect(e.timestamp).toBeUndefined();
      expect(e.netlink.seq).toBeUndefined();
      expect(e.netlink.pid).toBeUndefined();
    }
  }, 60_000);

  test("libnl and legacy backends are byte-identical", () => {
    const libnl = dump(ns, true);
    const legacy = dump(ns, false);
    expect(legacy.split("\n").length).toBe(libnl.split("\n").length);
    expect(legacy).toBe(libnl);
  }, 60_000);

  test("after 1,000 more routes across tables 10-19: still exact, deterministic and the same on both backends", () => {
    const cmds: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = 10 + (i % 10);
      const proto = i % 3 === 0 ? "186" : "201";
      if (i % 4 === 3) {
        cmds.push(`route add 2001:db8:1${t}:${(i >> 8).toString(16)}${(i & 255).toString(16).padStart(2, "0")}::/64 via 2001:db8:9::2 table ${t} proto ${proto}${i % 8 === 7 ? " metric 300" : ""}`);
      } else if (i % 10 === 5) {
        cmds.push(`route add 10.${100 + t}.${i >> 8}.${i & 255}/32 via 10.9.9.9 dev v0 onlink table ${t} proto ${proto} metric ${i % 50}`);
      } else {
        cmds.push(`route add 10.${100 + t}.${i >> 8}.${i & 255}/32 via 10.9.0.2 table ${t} proto ${proto}`);
      }
    }
    const before = ipRoutes(ns).length;
    ipBatch(ns, cmds);
    const theirs = ipRoutes(ns);
    expect(theirs.length).toBe(before + 1000);
    const a = dump(ns, true);
    const mine = nlmonRoutes(parseEvents(a.split("\n")));
    expect(diff(mine, theirs)).toEqual({ missing: [], extra: [] });
    expect(mine).toEqual(theirs);
    expect(dump(ns, true)).toBe(a);
    expect(dump(ns, false)).toBe(a);
    // per table: as many as iproute2 counts
    for (let t = 10; t <= 19; t++) {
      const n = mine.filter((l) => l.startsWith(`table=${t} `)).length;
      expect(n).toBe(theirs.filter((l) => l.startsWith(`table=${t} `)).length);
      expect(n).toBeGreaterThanOrEqual(100);
    }
  }, 120_000);
});
