/** RTM_NEWNETCONF / RTM_DELNETCONF: struct netconfmsg + NETCONFA_* attributes. */
import {
  NETCONFA_FORWARDING, NETCONFA_IFINDEX, NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN, NETCONFA_INPUT,
  NETCONFA_MC_FORWARDING, NETCONFA_PROXY_NEIGH, NETCONFA_RP_FILTER, NLMSG_ALIGNTO, OFFSETOF, SIZEOF,
} from "../../uapi/linux.gen.ts";
import type { NetconfBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { compileSet } from "../../decode/compile.ts";
import { pick, routeSet } from "./common.ts";

const NETCONF_ATTRS = routeSet("netconf", "netconfa", {
  [NETCONFA_IFINDEX]: { name: "ifindex", type: "s32" },
  [NETCONFA_FORWARDING]: { name: "forwarding", type: "s32" },
  [NETCONFA_RP_FILTER]: { name: "rp_filter", type: "s32" },
  [NETCONFA_MC_FORWARDING]: { name: "mc_forwarding", type: "s32" },
  [NETCONFA_PROXY_NEIGH]: { name: "proxy_neigh", type: "s32" },
  [NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN]: { name: "ignore_routes_with_linkdown", type: "s32" },
  [NETCONFA_INPUT]: { name: "input", type: "s32" },
});
const decodeNetconfAttrs = compileSet(NETCONF_ATTRS);

/** netconfmsg is one byte; its attributes start at the next alignment boundary */
const HDR = (SIZEOF.netconfmsg + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);

export function decodeNetconf(dv: DataView, off: number, end: number, ctx: DecodeContext): NetconfBody | undefined {
  if (end - off < SIZEOF.netconfmsg) {
    ctx.error("truncated", `netconf: empty body`);
    return undefined;
  }
  const a = decodeNetconfAttrs(dv, off + Math.min(HDR, end - off), end, ctx);
  const ifindex = typeof a.ifindex === "number" ? a.ifindex : 0;
  const body: NetconfBody = { family: ctx.names.family(dv.getUint8(off + OFFSETOF["netconfmsg.ncm_family"])), ifindex };
  const dev = ctx.ifname(ifindex);
  if (dev !== undefined) body.dev = dev;
  pick(body, a, ["forwarding", "rp_filter", "mc_forwarding", "proxy_neigh", "ignore_routes_with_linkdown", "input"]);
  return body;
}
