/** RTM_NEWNEIGH / RTM_DELNEIGH: struct ndmsg + NDA_* attributes. */
import {
  NDA_DST, NDA_FLAGS_EXT, NDA_IFINDEX, NDA_LLADDR, NDA_MASTER, NDA_PROBES, NDA_PROTOCOL, NDA_VLAN, NDA_VNI,
  OFFSETOF, SIZEOF,
} from "../../uapi/linux.gen.ts";
import type { NeighBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { flagsToNames } from "../../decode/names.ts";
import { decodeAttrs } from "../../decode/table.ts";
import { knownTable, pick } from "./common.ts";

const NEIGH_ATTRS = knownTable("nda", [
  [NDA_DST, "dst", "addr"],
  [NDA_LLADDR, "lladdr", "lladdr"],
  [NDA_PROBES, "probes", "u32"],
  [NDA_VLAN, "vlan", "u16"],
  [NDA_VNI, "vni", "u32"],
  [NDA_IFINDEX, "ifindex", "u32"],
  [NDA_MASTER, "master", "u32"],
  [NDA_PROTOCOL, "protocol", "u8"],
  [NDA_FLAGS_EXT, "flags_ext", "u32"],
]);

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
  const a = decodeAttrs(dv, off + SIZEOF.ndmsg, end, NEIGH_ATTRS, ctx, "neigh");
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
