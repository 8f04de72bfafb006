/** RTM_NEWROUTE / RTM_DELROUTE: struct rtmsg + RTA_* attributes, shaped like `ip -j route`. */
import {
  AF_INET, AF_INET6, ICMPV6_ROUTER_PREF_HIGH, ICMPV6_ROUTER_PREF_LOW, ICMPV6_ROUTER_PREF_MEDIUM,
  FLAGS, NAMES, OFFSETOF, RTA_DST, RTA_ENCAP_TYPE, RTA_FLOW, RTA_GATEWAY, RTA_IIF, RTA_MARK, RTA_METRICS,
  RTA_MULTIPATH, RTA_NH_ID, RTA_OIF, RTA_PREF, RTA_PREFSRC, RTA_PRIORITY, RTA_SRC, RTA_TABLE,
  RTA_TTL_PROPAGATE, RTA_VIA, RTAX_CC_ALGO, RTAX_FEATURES, RTAX_LOCK, SIZEOF,
} from "../../uapi/linux.gen.ts";
import { walkAttrs } from "../../codec/attr.ts";
import { cstring, ipAddr } from "../../codec/format.ts";
import type { NexthopEntry, RouteBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { flagsToNames } from "../../decode/names.ts";
import { pick, routeSet } from "./common.ts";
import { compileSet } from "../../decode/compile.ts";

function via(dv: DataView, off: number, len: number, ctx: DecodeContext) {
  if (len < SIZEOF.rtvia) return undefined;
  const fam = dv.getUint16(off + OFFSETOF["rtvia.rtvia_family"], true);
  const a = off + OFFSETOF["rtvia.rtvia_addr"];
  const alen = off + len - a;
  // an IP family must carry a whole address; other families (MPLS) carry what they carry
  if ((fam === AF_INET && alen < 4) || (fam === AF_INET6 && alen < 16) || alen <= 0) return undefined;
  return { family: ctx.names.family(fam), host: ipAddr(dv, a, fam === AF_INET ? 4 : fam === AF_INET6 ? 16 : alen) };
}

const RTAX_NAMES = NAMES.rtax as Record<number, string>;

/** RTA_METRICS: one u32 per RTAX_* (the congestion-control name is a string), named as ip does. */
function metrics(dv: DataView, off: number, len: number, ctx: DecodeContext) {
  const out: Record<string, number | string[]> = {};
  walkAttrs(dv, off, off + len, (type, o, l) => {
    const name = (RTAX_NAMES[type] ?? `rtax_${type}`).replace(/^RTAX_/, "").toLowerCase();
    if (type === RTAX_CC_ALGO) { (out as Record<string, unknown>).congctl = cstring(dv, o, l); return; }
    if (l < 4) { ctx.error("bad_attr_len", `route.metrics: ${name} has ${l} bytes`); return; }
    const v = dv.getUint32(o, true);
    if (type === RTAX_LOCK) {
      const locked: string[] = [];
      for (const [n, nm] of Object.entries(RTAX_NAMES)) if (Number(n) > 0 && (v & (1 << Number(n)))) locked.push(nm.replace(/^RTAX_/, "").toLowerCase());
      out.lock = locked;
    } else if (type === RTAX_FEATURES) out.features = v;
    else out[name] = v;
  });
  return out;
}

export const NEXTHOP_ATTRS = routeSet("route.multipath", "rta", {
  [RTA_GATEWAY]: { name: "gateway", type: "binary", display: "ip" },
  [RTA_VIA]: { name: "via", type: "binary", parse: via },
  [RTA_FLOW]: { name: "realms", type: "u32" },
});
const decodeNexthopAttrs = compileSet(NEXTHOP_ATTRS);

/** RTA_MULTIPATH: a run of struct rtnexthop, each followed by its own attributes. */
function multipath(dv: DataView, off: number, len: number, ctx: DecodeContext): NexthopEntry[] {
  const out: NexthopEntry[] = [];
  const end = off + len;
  let o = off;
  const H = SIZEOF.rtnexthop;
  while (end - o >= H) {
    const nlen = dv.getUint16(o + OFFSETOF["rtnexthop.rtnh_len"], true);
    if (nlen < H || nlen > end - o) {
      ctx.error("bad_attr_len", `route.multipath: nexthop length ${nlen} at byte ${o - off}`);
      break;
    }
    const flags = dv.getUint8(o + OFFSETOF["rtnexthop.rtnh_flags"]);
    const oif = dv.getInt32(o + OFFSETOF["rtnexthop.rtnh_ifindex"], true);
    const a = decodeNexthopAttrs(dv, o + H, o + nlen, ctx);
    const nh: NexthopEntry = { flags: flagsToNames(flags, ctx.names.rtnhF) };
    pick(nh, a, ["gateway", "via"]);
    const dev = ctx.ifname(oif);
    if (dev !== undefined) nh.dev = dev;
    nh.oif = oif;
    // iproute2 prints hops + 1 as the weight
    nh.weight = dv.getUint8(o + OFFSETOF["rtnexthop.rtnh_hops"]) + 1;
    pick(nh, a, ["realms"]);
    out.push(nh);
    o += (nlen + 3) & ~3;
  }
  return out;
}

export const ROUTE_ATTRS = routeSet("route", "rta", {
  [RTA_DST]: { name: "dst", type: "binary", display: "ip" },
  [RTA_SRC]: { name: "src", type: "binary", display: "ip" },
  [RTA_IIF]: { name: "iif", type: "u32" },
  [RTA_OIF]: { name: "oif", type: "u32" },
  [RTA_GATEWAY]: { name: "gateway", type: "binary", display: "ip" },
  [RTA_PRIORITY]: { name: "metric", type: "u32" },
  [RTA_PREFSRC]: { name: "prefsrc", type: "binary", display: "ip" },
  [RTA_METRICS]: { name: "metrics", type: "nest", parse: metrics },
  [RTA_MULTIPATH]: { name: "nexthops", type: "binary", parse: multipath },
  [RTA_FLOW]: { name: "realms", type: "u32" },
  [RTA_TABLE]: { name: "table", type: "u32" },
  [RTA_MARK]: { name: "mark", type: "u32" },
  [RTA_VIA]: { name: "via", type: "binary", parse: via },
  [RTA_PREF]: { name: "pref", type: "u8" },
  [RTA_ENCAP_TYPE]: { name: "encap_type", type: "u16" },
  [RTA_TTL_PROPAGATE]: { name: "ttl_propagate", type: "u8" },
  [RTA_NH_ID]: { name: "nhid", type: "u32" },
});
const decodeRouteAttrs = compileSet(ROUTE_ATTRS);

/** rtm_flags carries the nexthop flags (RTNH_F_*) in its low bits and RTM_F_* above them */
export const RTNH_MASK = FLAGS.rtnh_f.reduce((m, [bit]) => m | bit, 0);

export const PREF_NAMES = new Map<number, string>([
  [ICMPV6_ROUTER_PREF_LOW, "low"], [ICMPV6_ROUTER_PREF_MEDIUM, "medium"], [ICMPV6_ROUTER_PREF_HIGH, "high"],
]);

const F = {
  family: OFFSETOF["rtmsg.rtm_family"],
  dstLen: OFFSETOF["rtmsg.rtm_dst_len"],
  srcLen: OFFSETOF["rtmsg.rtm_src_len"],
  tos: OFFSETOF["rtmsg.rtm_tos"],
  table: OFFSETOF["rtmsg.rtm_table"],
  protocol: OFFSETOF["rtmsg.rtm_protocol"],
  scope: OFFSETOF["rtmsg.rtm_scope"],
  type: OFFSETOF["rtmsg.rtm_type"],
  flags: OFFSETOF["rtmsg.rtm_flags"],
};

function anyAddr(family: number): string {
  return family === AF_INET6 ? "::" : "0.0.0.0";
}

export function decodeRoute(dv: DataView, off: number, end: number, ctx: DecodeContext): RouteBody | undefined {
  if (end - off < SIZEOF.rtmsg) {
    ctx.error("truncated", `route: ${end - off} bytes, rtmsg needs ${SIZEOF.rtmsg}`);
    return undefined;
  }
  const family = dv.getUint8(off + F.family);
  const a = decodeRouteAttrs(dv, off + SIZEOF.rtmsg, end, ctx);
  const dstLen = dv.getUint8(off + F.dstLen);
  const srcLen = dv.getUint8(off + F.srcLen);
  const type = dv.getUint8(off + F.type);
  const protocol = dv.getUint8(off + F.protocol);
  const scope = dv.getUint8(off + F.scope);
  const flags = dv.getUint32(off + F.flags, true);
  // RTA_TABLE holds ids above 255; rtm_table then only says RT_TABLE_COMPAT
  const table = typeof a.table === "number" ? a.table : dv.getUint8(off + F.table);
  const body: RouteBody = {
    family: ctx.names.family(family),
    type,
    type_name: ctx.names.routeType(type),
    dst: `${typeof a.dst === "string" ? a.dst : anyAddr(family === AF_INET || family === AF_INET6 ? family : AF_INET)}/${dstLen}`,
    table,
    table_name: ctx.names.table(table),
    protocol,
    protocol_name: ctx.names.protocol(protocol),
    scope,
    scope_name: ctx.names.scopeName(scope),
    flags: flags === 0 ? [] : [...flagsToNames(flags & RTNH_MASK, ctx.names.rtnhF), ...flagsToNames(flags & ~RTNH_MASK, ctx.names.rtmF)],
    flags_raw: flags,
  };
  if (typeof a.src === "string") body.src = `${a.src}/${srcLen}`;
  const tos = dv.getUint8(off + F.tos);
  if (tos) body.tos = tos;
  // one site per key, not pick()'s loop: a site that sees every key and shape made the JIT
  // recompile this function over and over in a burst
  if (a.gateway !== undefined) body.gateway = a.gateway as string;
  if (a.via !== undefined) body.via = a.via as RouteBody["via"];
  if (typeof a.oif === "number") {
    const dev = ctx.ifname(a.oif);
    if (dev !== undefined) body.dev = dev;
    body.oif = a.oif;
  }
  if (typeof a.iif === "number") body.iif = ctx.ifname(a.iif) ?? String(a.iif);
  if (a.metric !== undefined) body.metric = a.metric as number;
  if (a.prefsrc !== undefined) body.prefsrc = a.prefsrc as string;
  if (typeof a.pref === "number") body.pref = PREF_NAMES.get(a.pref) ?? String(a.pref);
  if (a.mark !== undefined) body.mark = a.mark as number;
  if (a.nhid !== undefined) body.nhid = a.nhid as number;
  if (a.realms !== undefined) body.realms = a.realms as number;
  if (a.metrics !== undefined) body.metrics = a.metrics as RouteBody["metrics"];
  if (a.nexthops !== undefined) body.nexthops = a.nexthops as RouteBody["nexthops"];
  if (a.encap_type !== undefined) body.encap_type = a.encap_type as number;
  if (a.ttl_propagate !== undefined) body.ttl_propagate = a.ttl_propagate as number;
  return body;
}
