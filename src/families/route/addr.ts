/** RTM_NEWADDR / RTM_DELADDR: struct ifaddrmsg + IFA_* attributes. */
import {
  IFA_ADDRESS, IFA_ANYCAST, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, IFA_PROTO,
  IFA_RT_PRIORITY, OFFSETOF, SIZEOF,
} from "../../uapi/linux.gen.ts";
import type { AddrBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { flagsToNames } from "../../decode/names.ts";
import { compileSet } from "../../decode/compile.ts";
import { pick, routeSet } from "./common.ts";

/** ifa_cacheinfo's lifetimes; all-ones means the address never expires */
const INFINITY = 0xffffffff;

export const ADDR_ATTRS = routeSet("addr", "ifa", {
  [IFA_ADDRESS]: { name: "address", type: "binary", display: "ip" },
  [IFA_LOCAL]: { name: "local", type: "binary", display: "ip" },
  [IFA_LABEL]: { name: "label", type: "string" },
  [IFA_BROADCAST]: { name: "broadcast", type: "binary", display: "ip" },
  [IFA_ANYCAST]: { name: "anycast", type: "binary", display: "ip" },
  [IFA_FLAGS]: { name: "flags", type: "u32" },
  [IFA_RT_PRIORITY]: { name: "rt_priority", type: "u32" },
  [IFA_PROTO]: { name: "proto", type: "u8" },
  [IFA_CACHEINFO]: { name: "cacheinfo", type: "binary", parse: (dv, off, len) => len >= SIZEOF.ifa_cacheinfo
      ? { preferred: dv.getUint32(off + OFFSETOF["ifa_cacheinfo.ifa_prefered"], true), valid: dv.getUint32(off + OFFSETOF["ifa_cacheinfo.ifa_valid"], true) }
      : undefined },
});
const decodeAddrAttrs = compileSet(ADDR_ATTRS);

const F = {
  family: OFFSETOF["ifaddrmsg.ifa_family"],
  prefixlen: OFFSETOF["ifaddrmsg.ifa_prefixlen"],
  flags: OFFSETOF["ifaddrmsg.ifa_flags"],
  scope: OFFSETOF["ifaddrmsg.ifa_scope"],
  index: OFFSETOF["ifaddrmsg.ifa_index"],
};

export function decodeAddr(dv: DataView, off: number, end: number, ctx: DecodeContext): AddrBody | undefined {
  if (end - off < SIZEOF.ifaddrmsg) {
    ctx.error("truncated", `addr: ${end - off} bytes, ifaddrmsg needs ${SIZEOF.ifaddrmsg}`);
    return undefined;
  }
  const a = decodeAddrAttrs(dv, off + SIZEOF.ifaddrmsg, end, ctx);
  // IFA_FLAGS carries the full 32 bits; the header byte only the low eight
  const flags = typeof a.flags === "number" ? a.flags : dv.getUint8(off + F.flags);
  const scope = dv.getUint8(off + F.scope);
  const ifindex = dv.getUint32(off + F.index, true);
  const body: AddrBody = {
    family: ctx.names.family(dv.getUint8(off + F.family)),
    ifindex,
    prefixlen: dv.getUint8(off + F.prefixlen),
    scope,
    scope_name: ctx.names.scopeName(scope),
    flags: flagsToNames(flags, ctx.names.ifaF),
    flags_raw: flags,
  };
  const dev = ctx.ifname(ifindex);
  if (dev !== undefined) body.dev = dev;
  pick(body, a, ["local", "address", "label", "broadcast", "anycast"]);
  const ci = a.cacheinfo as { preferred: number; valid: number } | undefined;
  if (ci) {
    body.valid_life_time = ci.valid === INFINITY ? "forever" : ci.valid;
    body.preferred_life_time = ci.preferred === INFINITY ? "forever" : ci.preferred;
  }
  pick(body, a, ["proto", "rt_priority"]);
  return body;
}
