/**
 * Route bodies as JSON bytes straight from struct rtmsg and its attributes: the shape decodeRoute
 * gives the common routes of a full table (a destination, a gateway or a device, a table, a
 * metric, a preferred source). Anything else — multipath, metrics, encapsulation, a source
 * prefix, tos, attributes with odd lengths or flags — is declined and decoded in full.
 */
import {
  AF_INET, AF_INET6, NLA_ALIGNTO, NLA_TYPE_MASK, OFFSETOF, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREF,
  RTA_PREFSRC, RTA_PRIORITY, RTA_TABLE, RTM_DELROUTE, RTM_NEWROUTE, SIZEOF,
} from "../../uapi/linux.gen.ts";
import { ipv6 } from "../../codec/format.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { BodyWriter } from "../../decode/family.ts";
import { flagsToNames } from "../../decode/names.ts";
import { Fragments, put, putAscii, putIPv4 } from "../../event/json-bytes.ts";
import { ROUTE_ATTRS, PREF_NAMES, RTNH_MASK } from "./route.ts";

const HDR = SIZEOF.nlattr;
const RTM = SIZEOF.rtmsg;
const O_FAMILY = OFFSETOF["rtmsg.rtm_family"];
const O_DST_LEN = OFFSETOF["rtmsg.rtm_dst_len"];
const O_SRC_LEN = OFFSETOF["rtmsg.rtm_src_len"];
const O_TOS = OFFSETOF["rtmsg.rtm_tos"];
const O_TABLE = OFFSETOF["rtmsg.rtm_table"];
const O_PROTOCOL = OFFSETOF["rtmsg.rtm_protocol"];
const O_SCOPE = OFFSETOF["rtmsg.rtm_scope"];
const O_TYPE = OFFSETOF["rtmsg.rtm_type"];
const O_FLAGS = OFFSETOF["rtmsg.rtm_flags"];


const enc = new TextEncoder();
/**
 * Trails and device names kept at most, each: the cache is for the next few thousand routes, and a
 * writer the live pipeline keeps for the life of the process must not grow with every device and
 * gateway it ever saw (a cleared entry is only made again; identity decides nothing else).
 */
const MAX_PIECES = 4096;

export function routeBodyWriter(ctx: DecodeContext): BodyWriter {
  const f = new Fragments();
  const names = ctx.names;
  // per value, the JSON text of what it names: `"family":"inet","type":1,"type_name":"unicast","dst":"`
  const head = new Map<number, Uint8Array>();
  const table = new Map<number, Uint8Array>();
  const proto = new Map<number, Uint8Array>();
  const flagText = new Map<number, Uint8Array>();
  const dev = new Map<number, { name: string; text: Uint8Array }>();
  const key = (k: string, v: unknown) => `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  // made on a miss only: a closure per message would be garbage a full table's worth
  const headOf = (family: number, type: number) => {
    const b = f.get(`{${key("family", names.family(family))},${key("type", type)},${key("type_name", names.routeType(type))},"dst":"`);
    head.set(family << 8 | type, b);
    return b;
  };
  const tableOf = (tbl: number) => {
    const b = f.get(`,${key("table_name", names.table(tbl))}`);
    table.set(tbl, b);
    return b;
  };
  const protoOf = (protocol: number, scope: number) => {
    const b = f.get(`,${key("protocol", protocol)},${key("protocol_name", names.protocol(protocol))},${key("scope", scope)},${key("scope_name", names.scopeName(scope))}`);
    proto.set(protocol << 8 | scope, b);
    return b;
  };
  const flagsOf = (flags: number) => {
    const b = f.get(`,${key("flags", [...flagsToNames(flags & RTNH_MASK, names.rtnhF), ...flagsToNames(flags & ~RTNH_MASK, names.rtmF)])},${key("flags_raw", flags)}`);
    flagText.set(flags, b);
    return b;
  };
  const PREFIX_END = f.get("/");
  const TABLE = f.get(`","table":`);
  const GATEWAY = f.get(`,"gateway":"`);
  const PREFSRC = f.get(`,"prefsrc":"`);
  const METRIC = f.get(`,"metric":`);
  const OIF = f.get(`"oif":`);
  const ANY4 = f.get("0.0.0.0");
  const ANY6 = f.get("::");

  /** what follows a route's destination, by what it is made of */
  interface Rest {
    dstLen: number; tbl: number; tf: Uint8Array; pf: Uint8Array; ff: Uint8Array; gw: number | string; oif: number;
    df: Uint8Array | undefined; metric: number; ps: number | string; pref: number; alen: number; trail: Uint8Array;
  }
  const text = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");
  const addrText = (k: number | string) => (typeof k === "string" ? k : `${k >>> 24}.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}`);
  const rests = new Map<string, Uint8Array>();
  const rest = (x: Rest): Uint8Array => {
    let t = `/${x.dstLen}${text(TABLE)}${x.tbl}${text(x.tf)}${text(x.pf)}${text(x.ff)}`;
    if (x.gw !== -1) t += `${text(GATEWAY)}${addrText(x.gw)}"`;
    if (x.oif >= 0) t += `,${x.df ? text(x.df) : ""}${text(OIF)}${x.oif}`;
    if (x.metric >= 0) t += `${text(METRIC)}${x.metric}`;
    if (x.ps !== -1) t += `${text(PREFSRC)}${addrText(x.ps)}"`;
    if (x.pref >= 0) t += `,${key("pref", PREF_NAMES.get(x.pref) ?? String(x.pref))}`;
    t += "}";
    let b = rests.get(t);
    if (!b) {
      // bounded: a daemon lives for months of routes whose gateways, devices and metrics come and go
      if (rests.size >= MAX_PIECES) rests.clear();
      rests.set(t, (b = enc.encode(t)));
    }
    return b;
  };
  let r: Rest = { dstLen: -1, tbl: -1, tf: PREFIX_END, pf: PREFIX_END, ff: PREFIX_END, gw: -2, oif: -2, df: undefined, metric: -2, ps: -2, pref: -2, alen: 0, trail: PREFIX_END };

  /** an address's text: IPv4 straight into the buffer, IPv6 through its string */
  const addr = (b: Uint8Array, p: number, u: Uint8Array, dv: DataView, at: number, len: number) =>
    len === 4 ? putIPv4(b, p, u, at) : putAscii(b, p, ipv6(dv, at));

  // the previous message's pieces: a dump's routes come table by table, mostly alike
  let hk = -1, hf = PREFIX_END, tk = -1, tf = PREFIX_END, pk = -1, pf = PREFIX_END, fk = -1, ff = PREFIX_END;
  let dk = -1, dn = "", df: Uint8Array | undefined;
  const unknown: number[] = [];
  const recent: Rest[] = [];
  const RECENT = 16;

  return {
    typeOf: (t) => (t === RTM_NEWROUTE || t === RTM_DELROUTE ? "route" : undefined),
    write(_hdr, u, dv, off, end, out) {
      if (end - off < RTM) return false;
      const family = u[off + O_FAMILY]!;
      const alen = family === AF_INET ? 4 : family === AF_INET6 ? 16 : 0;
      if (!alen || u[off + O_TOS] !== 0 || u[off + O_SRC_LEN] !== 0) return false;
      let dst = -1, gw = -1, prefsrc = -1, oif = -1, metric = -1, tableAttr = -1, pref = -1;
      if (unknown.length) unknown.length = 0;
      for (let p = off + RTM; p < end;) {
        if (end - p < HDR) return false;
        const len = dv.getUint16(p, true);
        const t = dv.getUint16(p + 2, true);
        if (len < HDR || len > end - p || (t & ~NLA_TYPE_MASK) !== 0) return false;
        const v = p + HDR;
        const n = len - HDR;
        // the attributes the writer covers; any other one the decoder knows sends the message to it
        switch (t) {
          case RTA_DST: if (n !== alen) return false; dst = v; break;
          case RTA_GATEWAY: if (n !== alen) return false; gw = v; break;
          case RTA_PREFSRC: if (n !== alen) return false; prefsrc = v; break;
          case RTA_OIF: if (n !== 4) return false; oif = dv.getUint32(v, true); break;
          case RTA_PRIORITY: if (n !== 4) return false; metric = dv.getUint32(v, true); break;
          case RTA_TABLE: if (n !== 4) return false; tableAttr = dv.getUint32(v, true); break;
          case RTA_PREF: if (n !== 1) return false; pref = u[v]!; break;
          default: {
            const def = ROUTE_ATTRS.attrs[t];
            // counted once the message is taken: declined, the decoder counts it
            if (def === undefined) unknown.push(t);
            else if (def.type !== "unused") return false;
          }
        }
        p += (len + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
      }
      for (let i = 0; i < unknown.length; i++) ctx.unknownAttr(ROUTE_ATTRS.name, unknown[i]!);
      const type = u[off + O_TYPE]!;
      const tbl = tableAttr >= 0 ? tableAttr : u[off + O_TABLE]!;
      const protocol = u[off + O_PROTOCOL]!;
      const scope = u[off + O_SCOPE]!;
      const flags = dv.getUint32(off + O_FLAGS, true);
      if ((family << 8 | type) !== hk) hf = head.get((hk = family << 8 | type)) ?? headOf(family, type);
      if (tbl !== tk) tf = table.get((tk = tbl)) ?? tableOf(tbl);
      if ((protocol << 8 | scope) !== pk) pf = proto.get((pk = protocol << 8 | scope)) ?? protoOf(protocol, scope);
      if (flags !== fk) ff = flagText.get((fk = flags)) ?? flagsOf(flags);
      if (oif >= 0) {
        // links come and go (and are renamed) between messages: the name is asked for each time
        const name = ctx.ifname(oif);
        if (name === undefined) df = undefined;
        else if (oif !== dk || name !== dn) {
          let d = dev.get(oif);
          if (!d || d.name !== name) {
            if (dev.size >= MAX_PIECES) dev.clear();
            dev.set(oif, (d = { name, text: enc.encode(`${key("dev", name)},`) }));
          }
          df = d.text;
        }
        dk = name === undefined ? -1 : oif;
        dn = name ?? "";
      }
      // The line: the head by reference (out's lead), the destination written, and the rest by
      // reference (out's trail): one piece per distinct rest, and a table's routes share theirs.
      out.leadWith(hf);
      out.room(48);
      const b = out.buf;
      let p = out.pos;
      p = dst >= 0 ? addr(b, p, u, dv, dst, alen) : put(b, p, alen === 4 ? ANY4 : ANY6);
      out.pos = p;
      const dstLen = u[off + O_DST_LEN]!;
      const gwKey = gw < 0 ? -1 : alen === 4 ? dv.getUint32(gw, false) : ipv6(dv, gw);
      const psKey = prefsrc < 0 ? -1 : alen === 4 ? dv.getUint32(prefsrc, false) : ipv6(dv, prefsrc);
      if (dstLen !== r.dstLen || tbl !== r.tbl || tf !== r.tf || pf !== r.pf || ff !== r.ff || gwKey !== r.gw || oif !== r.oif || df !== r.df ||
        metric !== r.metric || psKey !== r.ps || pref !== r.pref || alen !== r.alen) {
        // live bursts interleave tables (a BGP daemon's VRFs): the last few rests, before building one
        let hit: Rest | undefined;
        for (let i = 0; i < recent.length; i++) {
          const x = recent[i]!;
          if (dstLen === x.dstLen && tbl === x.tbl && tf === x.tf && pf === x.pf && ff === x.ff && gwKey === x.gw && oif === x.oif &&
            df === x.df && metric === x.metric && psKey === x.ps && pref === x.pref && alen === x.alen) {
            hit = x;
            break;
          }
        }
        if (!hit) {
          hit = { dstLen, tbl, tf, pf, ff, gw: gwKey, oif, df, metric, ps: psKey, pref, alen, trail: PREFIX_END };
          hit.trail = rest(hit);
          if (recent.length >= RECENT) recent.pop();
          recent.unshift(hit);
        }
        r = hit;
      }
      out.trailWith(r.trail);
      return true;
    },
  };
}
