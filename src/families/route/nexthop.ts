/** RTM_NEWNEXTHOP / RTM_DELNEXTHOP: struct nhmsg + NHA_* attributes (nexthop objects). */
import {
  NHA_BLACKHOLE, NHA_FDB, NHA_GATEWAY, NHA_GROUP, NHA_GROUP_TYPE, NHA_ID, NHA_OIF, OFFSETOF, SIZEOF,
} from "../../uapi/linux.gen.ts";
import type { NexthopObjBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { flagsToNames } from "../../decode/names.ts";
import { compileSet } from "../../decode/compile.ts";
import { pick, routeSet } from "./common.ts";

function group(dv: DataView, off: number, len: number) {
  const out: { id: number; weight: number }[] = [];
  const S = SIZEOF.nexthop_grp;
  for (let o = off; o + S <= off + len; o += S) {
    // the kernel stores weight - 1, as in rtnexthop's hops
    out.push({ id: dv.getUint32(o + OFFSETOF["nexthop_grp.id"], true), weight: dv.getUint8(o + OFFSETOF["nexthop_grp.weight"]) + 1 });
  }
  return out;
}

const NH_ATTRS = routeSet("nexthop", "nha", {
  [NHA_ID]: { name: "id", type: "u32" },
  [NHA_GROUP]: { name: "group", type: "binary", parse: group },
  [NHA_GROUP_TYPE]: { name: "group_type", type: "u16" },
  [NHA_BLACKHOLE]: { name: "blackhole", type: "flag" },
  [NHA_OIF]: { name: "oif", type: "u32" },
  [NHA_GATEWAY]: { name: "gateway", type: "binary", display: "ip" },
  [NHA_FDB]: { name: "fdb", type: "flag" },
});
const decodeNhAttrs = compileSet(NH_ATTRS);

const F = {
  family: OFFSETOF["nhmsg.nh_family"],
  scope: OFFSETOF["nhmsg.nh_scope"],
  protocol: OFFSETOF["nhmsg.nh_protocol"],
  flags: OFFSETOF["nhmsg.nh_flags"],
};

export function decodeNexthop(dv: DataView, off: number, end: number, ctx: DecodeContext): NexthopObjBody | undefined {
  if (end - off < SIZEOF.nhmsg) {
    ctx.error("truncated", `nexthop: ${end - off} bytes, nhmsg needs ${SIZEOF.nhmsg}`);
    return undefined;
  }
  const a = decodeNhAttrs(dv, off + SIZEOF.nhmsg, end, ctx);
  const protocol = dv.getUint8(off + F.protocol);
  const flags = dv.getUint32(off + F.flags, true);
  const body: NexthopObjBody = {
    family: ctx.names.family(dv.getUint8(off + F.family)),
    protocol,
    protocol_name: ctx.names.protocol(protocol),
    scope: dv.getUint8(off + F.scope),
    flags: flagsToNames(flags, ctx.names.rtnhF),
    flags_raw: flags,
  };
  pick(body, a, ["id", "gateway"]);
  if (typeof a.oif === "number") {
    const dev = ctx.ifname(a.oif);
    if (dev !== undefined) body.dev = dev;
    body.oif = a.oif;
  }
  pick(body, a, ["blackhole", "fdb", "group", "group_type"]);
  return body;
}
