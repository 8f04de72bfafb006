/** RTM_NEWLINK / RTM_DELLINK: struct ifinfomsg + IFLA_* attributes. */
import {
  IFLA_ADDRESS, IFLA_BROADCAST, IFLA_CARRIER, IFLA_CARRIER_CHANGES, IFLA_GROUP, IFLA_IFALIAS, IFLA_IFNAME,
  IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_INFO_SLAVE_KIND, IFLA_LINK, IFLA_LINKINFO, IFLA_LINKMODE, IFLA_LINK_NETNSID,
  IFLA_MASTER, IFLA_MAX_MTU, IFLA_MIN_MTU, IFLA_MTU, IFLA_OPERSTATE, IFLA_PERM_ADDRESS, IFLA_PROTO_DOWN, IFLA_QDISC,
  IFLA_TXQLEN, IFLA_VRF_TABLE, OFFSETOF, SIZEOF,
} from "../../uapi/linux.gen.ts";
import type { LinkBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { flagsToNames } from "../../decode/names.ts";
import { decodeAttrs } from "../../decode/table.ts";
import { knownTable, pick } from "./common.ts";

const VRF_ATTRS = knownTable("ifla_vrf", [[IFLA_VRF_TABLE, "vrf_table", "u32"]]);

const LINKINFO_ATTRS = knownTable("ifla_info", [
  [IFLA_INFO_KIND, "kind", "string"],
  [IFLA_INFO_SLAVE_KIND, "slave_kind", "string"],
  // decoded once the kind is known: its layout depends on it
  [IFLA_INFO_DATA, "data", "binary", { parse: (_dv, off, len) => ({ off, len }) }],
]);

const LINK_ATTRS = knownTable("ifla", [
  [IFLA_IFNAME, "ifname", "string"],
  [IFLA_MTU, "mtu", "u32"],
  [IFLA_MIN_MTU, "min_mtu", "u32"],
  [IFLA_MAX_MTU, "max_mtu", "u32"],
  [IFLA_OPERSTATE, "operstate", "u8"],
  [IFLA_LINKMODE, "linkmode", "u8"],
  [IFLA_GROUP, "group", "u32"],
  [IFLA_TXQLEN, "txqlen", "u32"],
  [IFLA_QDISC, "qdisc", "string"],
  [IFLA_ADDRESS, "address", "lladdr"],
  [IFLA_BROADCAST, "broadcast", "lladdr"],
  [IFLA_PERM_ADDRESS, "perm_address", "lladdr"],
  [IFLA_LINK, "link", "u32"],
  [IFLA_LINK_NETNSID, "link_netnsid", "s32"],
  [IFLA_MASTER, "master", "u32"],
  [IFLA_IFALIAS, "ifalias", "string"],
  [IFLA_CARRIER, "carrier", "u8"],
  [IFLA_CARRIER_CHANGES, "carrier_changes", "u32"],
  [IFLA_PROTO_DOWN, "proto_down", "u8"],
  [IFLA_LINKINFO, "linkinfo", "nested", { table: LINKINFO_ATTRS }],
]);

const F = {
  family: OFFSETOF["ifinfomsg.ifi_family"],
  type: OFFSETOF["ifinfomsg.ifi_type"],
  index: OFFSETOF["ifinfomsg.ifi_index"],
  flags: OFFSETOF["ifinfomsg.ifi_flags"],
  change: OFFSETOF["ifinfomsg.ifi_change"],
};

export function decodeLink(dv: DataView, off: number, end: number, ctx: DecodeContext, isDelete: boolean): LinkBody | undefined {
  if (end - off < SIZEOF.ifinfomsg) {
    ctx.error("truncated", `link: ${end - off} bytes, ifinfomsg needs ${SIZEOF.ifinfomsg}`);
    return undefined;
  }
  const flags = dv.getUint32(off + F.flags, true);
  const type = dv.getUint16(off + F.type, true);
  const a = decodeAttrs(dv, off + SIZEOF.ifinfomsg, end, LINK_ATTRS, ctx, "link");
  const body: LinkBody = {
    ifindex: dv.getInt32(off + F.index, true),
    flags: flagsToNames(flags, ctx.names.iff),
    flags_raw: flags,
    link_type: type,
    link_type_name: ctx.names.arphrd.get(type) ?? String(type),
  };
  pick(body, a, ["ifname", "mtu", "min_mtu", "max_mtu"]);
  if (typeof a.operstate === "number") body.operstate = ctx.names.operstate.get(a.operstate) ?? String(a.operstate);
  pick(body, a, ["linkmode", "group", "txqlen", "qdisc", "address", "broadcast", "perm_address", "link", "link_netnsid", "master"]);
  if (body.master !== undefined) {
    const m = ctx.ifname(body.master);
    if (m !== undefined) body.master_name = m;
  }
  const info = a.linkinfo as Record<string, unknown> | undefined;
  if (info) {
    if (typeof info.kind === "string") body.kind = info.kind;
    if (typeof info.slave_kind === "string") body.slave_kind = info.slave_kind;
    const data = info.data as { off: number; len: number } | undefined;
    if (data && body.kind === "vrf") {
      const v = decodeAttrs(dv, data.off, data.off + data.len, VRF_ATTRS, ctx, "link.linkinfo.vrf");
      if (typeof v.vrf_table === "number") body.vrf_table = v.vrf_table;
    }
  }
  pick(body, a, ["ifalias", "carrier", "carrier_changes", "proto_down"]);
  if (isDelete) ctx.setIfname(body.ifindex, undefined);
  else if (body.ifname !== undefined) ctx.setIfname(body.ifindex, body.ifname);
  return body;
}
