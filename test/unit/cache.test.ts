/**
 * Cache identity and repair rules. Routes are built as the bytes the kernel sends (rtmsg and
 * attributes), decoded by the real decoder, and fed to the cache as the pipeline does. The live
 * tests (test/live/*) check the same against the kernel; these pin the rules themselves.
 */
import { describe, expect, test } from "bun:test";
import { ObjectCache } from "../../src/cache/caches.ts";
import { cachedEvent } from "../../src/cache/change.ts";
import { RouteCache } from "../../src/cache/route-cache.ts";
import { AttrWriter } from "../../src/codec/attr.ts";
import { buildMessage, walkMessages } from "../../src/codec/nlmsg.ts";
import { BasicContext } from "../../src/decode/context.ts";
import { decodeMessage } from "../../src/decode/message.ts";
import { Names } from "../../src/decode/names.ts";
import type { NlEvent } from "../../src/event/model.ts";
import {
  AF_INET, AF_INET6, NETLINK_ROUTE, NLM_F_CREATE, NLM_F_REPLACE, OFFSETOF, RTA_CACHEINFO, RTA_DST, RTA_GATEWAY,
  RTA_MULTIPATH, RTA_OIF, RTA_PRIORITY, RTA_TABLE, RTNH_F_LINKDOWN, RTM_DELADDR, RTM_DELROUTE, RTM_NEWADDR, RTM_NEWROUTE, SIZEOF,
} from "../../src/uapi/linux.gen.ts";

function ipBytes(ip: string): Uint8Array {
  if (!ip.includes(":")) return Uint8Array.from(ip.split(".").map(Number));
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const words = (s: string | undefined) => (s ? s.split(":").map((w) => parseInt(w, 16)) : []);
  const h = words(head), t = words(tail);
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 255; });
  return out;
}

interface R {
  dst?: string; len?: number; table?: number; metric?: number; gateway?: string; oif?: number; v6?: boolean;
  nexthops?: { gateway: string; oif: number }[]; flags?: number; cacheinfo?: number;
}

/** A route message body as the kernel builds it. */
function routeBody(r: R): Uint8Array {
  const fam = r.v6 ? AF_INET6 : AF_INET;
  const rtm = new Uint8Array(SIZEOF.rtmsg);
  rtm[OFFSETOF["rtmsg.rtm_family"]] = fam;
  rtm[OFFSETOF["rtmsg.rtm_dst_len"]] = r.len ?? (r.v6 ? 64 : 24);
  rtm[OFFSETOF["rtmsg.rtm_table"]] = 252;
  rtm[OFFSETOF["rtmsg.rtm_protocol"]] = 201;
  rtm[OFFSETOF["rtmsg.rtm_type"]] = 1;
  new DataView(rtm.buffer).setUint32(OFFSETOF["rtmsg.rtm_flags"], r.flags ?? 0, true);
  const a = new AttrWriter().u32(RTA_TABLE, r.table ?? 10).bytes(RTA_DST, ipBytes(r.dst ?? (r.v6 ? "2001:db8:9::" : "10.9.0.0")));
  a.u32(RTA_PRIORITY, r.metric ?? 5);
  if (r.gateway) a.bytes(RTA_GATEWAY, ipBytes(r.gateway));
  if (r.oif !== undefined) a.u32(RTA_OIF, r.oif);
  if (r.cacheinfo !== undefined) a.bytes(RTA_CACHEINFO, new Uint8Array(32).fill(r.cacheinfo));
  if (r.nexthops) {
    const parts = r.nexthops.map((nh) => {
      const gw = new AttrWriter().bytes(RTA_GATEWAY, ipBytes(nh.gateway)).finish();
      const b = new Uint8Array(SIZEOF.rtnexthop + gw.length);
      const dv = new DataView(b.buffer);
      dv.setUint16(OFFSETOF["rtnexthop.rtnh_len"], b.length, true);
      dv.setInt32(OFFSETOF["rtnexthop.rtnh_ifindex"], nh.oif, true);
      b.set(gw, SIZEOF.rtnexthop);
      return b;
    });
    const mp = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { mp.set(p, o); o += p.length; }
    a.bytes(RTA_MULTIPATH, mp);
  }
  const attrs = a.finish();
  const out = new Uint8Array(rtm.length + attrs.length);
  out.set(rtm);
  out.set(attrs, rtm.length);
  return out;
}

const ctx = new BasicContext(new Names([]));
ctx.setIfname(3, "v3");
ctx.setIfname(4, "v4");

/** What the pipeline hands the cache: the decoded event and the message body's bytes. */
function msg(r: R, type = RTM_NEWROUTE, flags = NLM_F_CREATE): { ev: NlEvent; b: Uint8Array; off: number; end: number } {
  const m = buildMessage(type, flags, 1, routeBody(r));
  let out: { ev: NlEvent; b: Uint8Array; off: number; end: number } | undefined;
  walkMessages(new DataView(m.buffer), 0, m.length, {
    message: (hdr, dv, off, end) => { out = { ev: decodeMessage(NETLINK_ROUTE, hdr, dv, off, end, ctx, { deterministic: true })!, b: m, off, end }; },
    framingError: () => { throw new Error("framing"); },
  });
  return out!;
}

function apply(c: RouteCache, r: R, type = RTM_NEWROUTE, flags = NLM_F_CREATE) {
  const m = msg(r, type, flags);
  return c.apply(m.ev, m.b, m.off, m.end);
}

const gateways = (c: RouteCache) => c.values().map((e) => e.netlink.route!.gateway).sort();

describe("route cache", () => {
  test("IPv4 routes appended to the same prefix are kept apart, and a delete removes only its own", () => {
    const c = new RouteCache(ctx);
    apply(c, { gateway: "10.1.0.2", oif: 3 });
    apply(c, { gateway: "10.2.0.2", oif: 4 });
    expect(c.size).toBe(2);
    const del = apply(c, { gateway: "10.1.0.2", oif: 3 }, RTM_DELROUTE, 0);
    expect(JSON.parse(del!.before!).gateway).toBe("10.1.0.2");
    expect(gateways(c)).toEqual(["10.2.0.2"]);
  });
  test("the same route again is no change; a changed attribute is, with both states", () => {
    const c = new RouteCache(ctx);
    expect(apply(c, { gateway: "10.1.0.2", oif: 3 })?.op).toBe("add");
    expect(apply(c, { gateway: "10.1.0.2", oif: 3 })).toBeUndefined();
    const ch = apply(c, { gateway: "10.1.0.2", oif: 3, flags: RTNH_F_LINKDOWN });
    expect(ch?.op).toBe("change");
    expect(JSON.parse(ch!.before!).flags).toEqual([]);
    expect(JSON.parse(ch!.after!).flags).toEqual(["linkdown"]);
  });
  test("bytes that differ only where the event does not look (IPv6 cache info) are no change", () => {
    const c = new RouteCache(ctx);
    apply(c, { v6: true, oif: 3, cacheinfo: 1 });
    expect(apply(c, { v6: true, oif: 3, cacheinfo: 2 })).toBeUndefined();
    const p = routeBody({ v6: true, oif: 3, cacheinfo: 9 });
    expect(c.replace([p])).toEqual([]);
  });
  test("a replace drops every route it replaced, whatever its nexthop", () => {
    const c = new RouteCache(ctx);
    apply(c, { gateway: "10.1.0.2", oif: 3 });
    apply(c, { gateway: "10.2.0.2", oif: 4 });
    apply(c, { gateway: "10.3.0.2", oif: 4 });
    apply(c, { dst: "10.8.0.0", gateway: "10.3.0.2", oif: 4 });
    apply(c, { gateway: "10.4.0.2", oif: 4 }, RTM_NEWROUTE, NLM_F_REPLACE);
    expect(gateways(c)).toEqual(["10.3.0.2", "10.4.0.2"]);
    expect(c.size).toBe(2);
  });
  test("an IPv6 gateway route merges with its siblings; device routes per link stay apart", () => {
    const c = new RouteCache(ctx);
    const v6 = { v6: true, metric: 7 };
    apply(c, { ...v6, gateway: "fe80::1", oif: 3 });
    apply(c, { ...v6, nexthops: [{ gateway: "fe80::1", oif: 3 }, { gateway: "fe80::2", oif: 4 }] });
    expect(c.size).toBe(1);
    expect(c.values()[0]!.netlink.route!.nexthops!.map((n) => n.dev)).toEqual(["v3", "v4"]);
    const c2 = new RouteCache(ctx);
    apply(c2, { v6: true, dst: "fe80::", metric: 256, oif: 3 });
    apply(c2, { v6: true, dst: "fe80::", metric: 256, oif: 4 });
    expect(c2.size).toBe(2);
  });
  test("a delete the cache cannot place is reported as a miss", () => {
    const c = new RouteCache(ctx);
    expect(apply(c, { gateway: "10.1.0.2", oif: 3 }, RTM_DELROUTE, 0)?.miss).toBe(true);
  });
  test("replace() reports adds, changes and deletes against a dump, and keeps route counts", () => {
    const c = new RouteCache(ctx);
    apply(c, { gateway: "10.1.0.2", oif: 3 });
    apply(c, { dst: "10.8.0.0", gateway: "10.1.0.2", oif: 3 });
    const changes = c.replace([routeBody({ gateway: "10.1.0.2", oif: 3, flags: RTNH_F_LINKDOWN }), routeBody({ dst: "10.7.0.0", oif: 3 })]);
    expect(changes.map((x) => x.op).sort()).toEqual(["add", "change", "del"]);
    expect(JSON.parse(changes.find((x) => x.op === "del")!.before!).dst).toBe("10.8.0.0/24");
    expect([...c.routeCounts.values()]).toEqual([{ family: "inet", table: 10, protocol: 201, protocol_name: "201", n: 2 }]);
  });
  test("a route that leaves after its link still names the link", () => {
    const local = new BasicContext(new Names([]));
    local.setIfname(7, "gone0");
    const c = new RouteCache(local);
    const m = msg({ gateway: "10.1.0.2", oif: 7 });
    c.apply(m.ev, m.b, m.off, m.end);
    local.setIfname(7, undefined);
    const [del] = c.replace([]);
    expect(JSON.parse(del!.before!).dev).toBe("gone0");
  });
  test("tens of thousands of routes: growth, deletes, compaction and rehash keep exactly the live set", () => {
    const c = new RouteCache(ctx);
    const N = 30000;
    const dst = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0`;
    for (let i = 0; i < N; i++) apply(c, { dst: dst(i), table: 10 + (i % 10), gateway: "10.1.0.2", oif: 3 });
    expect(c.size).toBe(N);
    for (let i = 0; i < N; i++) if (i % 4 !== 0) expect(apply(c, { dst: dst(i), table: 10 + (i % 10), gateway: "10.1.0.2", oif: 3 }, RTM_DELROUTE, 0)?.op).toBe("del");
    expect(c.size).toBe(N / 4);
    // the deletes freed most of the arena: it was compacted (everything after must still be found)
    for (let i = 0; i < N; i += 4) expect(apply(c, { dst: dst(i), table: 10 + (i % 10), gateway: "10.1.0.2", oif: 3 })).toBeUndefined();
    const left = c.values().map((e) => `${e.netlink.route!.table} ${e.netlink.route!.dst}`).sort();
    const want: string[] = [];
    for (let i = 0; i < N; i += 4) want.push(`${10 + (i % 10)} ${dst(i)}/24`);
    expect(left).toEqual(want.sort());
    expect(c.bytes).toBeLessThan(N * 100);
    const counts = [...c.routeCounts.values()].reduce((n, x) => n + x.n, 0);
    expect(counts).toBe(N / 4);
  });
});

describe("address cache", () => {
  const addr = (valid: number, msgType = RTM_NEWADDR) => cachedEvent("addr", JSON.stringify({
    family: "inet6", ifindex: 3, prefixlen: 64, scope: 0, scope_name: "global", flags: [], flags_raw: 0,
    address: "2001:db8::5", valid_life_time: valid, preferred_life_time: valid,
  }), msgType, 0);
  test("lifetimes counting down are not a change; a real change is", () => {
    const c = new ObjectCache("addr");
    c.apply(addr(100));
    expect(c.replace([addr(97)])).toEqual([]);
    c.apply(addr(97, RTM_DELADDR));
    expect(c.size).toBe(0);
  });
});

/**
 * The route cache against a plain model of the same rules, kept in a Map by decoded identity
 * (the way the cache worked before it stored bytes): random adds, replaces, IPv6 merges and
 * deletes over a small universe, so identities collide often, chains grow and shrink, and the
 * arena is compacted along the way.
 */
describe("route cache against a model", () => {
  function modelKeys(ev: NlEvent) {
    const r = ev.netlink.route!;
    const prefix = `${r.family}|${r.table}|${r.dst}|${r.src ?? ""}|${r.tos ?? 0}|${r.metric ?? 0}`;
    return { prefix, key: `${prefix}|${r.oif ?? ""}|${r.gateway ?? ""}|${r.nexthops ? "mp" : ""}` };
  }
  function modelApply(m: Map<string, string>, ev: NlEvent, flags: number) {
    const { prefix, key } = modelKeys(ev);
    const r = ev.netlink.route!;
    if (ev.msg_type === RTM_DELROUTE) {
      m.delete(key);
      return;
    }
    if (!m.has(key)) {
      const replace = (flags & NLM_F_REPLACE) !== 0;
      if (replace || (r.family === "inet6" && (r.gateway !== undefined || r.nexthops !== undefined))) {
        for (const [k, v] of [...m]) {
          if (k.startsWith(prefix + "|") && (replace || v.includes('"gateway":') || v.includes('"nexthops":'))) m.delete(k);
        }
      }
    }
    m.set(key, JSON.stringify(r));
  }

  test("3,000 random changes: after each, the cache holds exactly the model's routes", () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const c = new RouteCache(ctx);
    const model = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const v6 = rnd(4) === 0;
      const r: R = v6
        ? { v6: true, dst: `2001:db8:${rnd(6)}::`, table: 10 + rnd(2), metric: 1024, ...(rnd(3) === 0
          ? { nexthops: [{ gateway: "fe80::1", oif: 3 }, { gateway: "fe80::2", oif: 4 }] }
          : rnd(2) ? { gateway: `fe80::${1 + rnd(2)}`, oif: 3 + rnd(2) } : { oif: 3 + rnd(2) }) }
        : { dst: `10.0.${rnd(8)}.0`, table: 10 + rnd(3), metric: rnd(2) * 5, oif: 3 + rnd(2), ...(rnd(3) ? { gateway: `10.${1 + rnd(2)}.0.2` } : {}) };
      const del = rnd(10) < 3;
      const flags = del ? 0 : rnd(10) === 0 ? NLM_F_REPLACE : NLM_F_CREATE;
      const m = msg(r, del ? RTM_DELROUTE : RTM_NEWROUTE, flags);
      c.apply(m.ev, m.b, m.off, m.end);
      modelApply(model, m.ev, flags);
      const got = c.values().map((e) => JSON.stringify(e.netlink.route)).sort();
      expect(got).toEqual([...model.values()].sort());
    }
    // the same state again, as a dump would bring it: no difference
    expect(c.replace(c.values().map((e) => routeBodyOf(e)))).toEqual([]);
  });
});

/** A cached route's bytes again, rebuilt from its event through the same builder. */
function routeBodyOf(e: NlEvent): Uint8Array {
  const r = e.netlink.route!;
  const [dst, len] = r.dst.split("/") as [string, string];
  return routeBody({
    v6: r.family === "inet6", dst, len: Number(len), table: r.table, metric: r.metric, gateway: r.gateway, oif: r.oif,
    nexthops: r.nexthops?.map((n) => ({ gateway: n.gateway!, oif: n.oif! })), flags: r.flags_raw,
  });
}
