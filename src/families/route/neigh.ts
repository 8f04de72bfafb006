/** RTM_NEWNEIGH / RTM_DELNEIGH: struct ndmsg + NDA_* attributes. */
import {
  NDA_DST, NDA_FLAGS_EXT, NDA_IFINDEX, NDA_LLADDR, NDA_MASTER, NDA_PROBES, NDA_PROTOCOL, NDA_VLAN, NDA_VNI,
  OFFSETOF, SIZEOF,
} from "../../uapi/linux.gen.ts";
import type { NeighBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { flagsToNames } from "../../decode/names.ts";
import { compileSet } from "../../decode/compile.ts";
import { pick, routeSet } from "./common.ts";

const NEIGH_ATTRS = routeSet("neigh", "nda", {
  [NDA_DST]: { name: "dst", type: "binary", display: "ip" },
  [NDA_LLADDR]: { name: "lladdr", type: "binary", display: "mac" },
  [NDA_PROBES]: { name: "probes", type: "u32" },
  [NDA_VLAN]: { name: "vlan", type: "u16" },
  [NDA_VNI]: { name: "vni", type: "u32" },
  [NDA_IFINDEX]: { name: "ifindex", type: "u32" },
  [NDA_MASTER]: { name: "master", type: "u32" },
  [NDA_PROTOCOL]: { name: "protocol", type: "u8" },
  [NDA_FLAGS_EXT]: { name: "flags_ext", type: "u32" },
});
const decodeNeighAttrs = compileSet(NEIGH_ATTRS);

const F = {
  family: OFFSETOF["ndmsg.ndm_family"],
  ifindex: OFFSETOF["ndmsg.ndm_ifindex"],
  state: OFFSETOF["ndmsg.ndm_state"],
  flags: OFFSETOF["ndmsg.ndm_flags"],
  type: OFFSETOF["ndmsg.ndm_type"],
};

export function decodeNeigh(dv: DataView, off: number, end: number, ctx: DecodeContext): NeighBody | undefined {
  if (end - off < SIZEOF.ndmsg) {
    ctx.error("truncated", `neigh: ${end - off} bytes, ndmsg needs ${SIZEOF.ndmsg}`);
    return undefined;
  }
  const a = decodeNeighAttrs(dv, off + SIZEOF.ndmsg, end, ctx);
  const ifindex = dv.getInt32(off + F.ifindex, true);
  const state = dv.getUint16(off + F.state, true);
  const flags = dv.getUint8(off + F.flags);
  const body: NeighBody = {
    family: ctx.names.family(dv.getUint8(off + F.family)),
    ifindex,
    state: flagsToNames(state, ctx.names.nud),
    state_raw: state,
    flags: flagsToNames(flags, ctx.names.ntf),
    flags_raw: flags,
    type: dv.getUint8(off + F.type),
  };
  const dev = ctx.ifname(ifindex);
  if (dev !== undefined) body.dev = dev;
  pick(body, a, ["dst", "lladdr", "vlan", "vni", "master", "probes", "protocol"]);
  return body;
}
