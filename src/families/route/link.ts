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
import { compileSet } from "../../decode/compile.ts";
import { pick, routeSet } from "./common.ts";

const VRF_ATTRS = routeSet("link.linkinfo.vrf", "ifla_vrf", { [IFLA_VRF_TABLE]: { name: "vrf_table", type: "u32" } });

const LINKINFO_ATTRS = routeSet("link.linkinfo", "ifla_info", {
  [IFLA_INFO_KIND]: { name: "kind", type: "string" },
  [IFLA_INFO_SLAVE_KIND]: { name: "slave_kind", type: "string" },
  // its layout depends on the kind, which the kernel may send after it
  [IFLA_INFO_DATA]: { name: "data", type: "sub-message", selector: "kind", formats: { vrf: VRF_ATTRS } },
});

export const LINK_ATTRS = routeSet("link", "ifla", {
  [IFLA_IFNAME]: { name: "ifname", type: "string" },
  [IFLA_MTU]: { name: "mtu", type: "u32" },
  [IFLA_MIN_MTU]: { name: "min_mtu", type: "u32" },
  [IFLA_MAX_MTU]: { name: "max_mtu", type: "u32" },
  [IFLA_OPERSTATE]: { name: "operstate", type: "u8" },
  [IFLA_LINKMODE]: { name: "linkmode", type: "u8" },
  [IFLA_GROUP]: { name: "group", type: "u32" },
  [IFLA_TXQLEN]: { name: "txqlen", type: "u32" },
  [IFLA_QDISC]: { name: "qdisc", type: "string" },
  [IFLA_ADDRESS]: { name: "address", type: "binary", display: "mac" },
  [IFLA_BROADCAST]: { name: "broadcast", type: "binary", display: "mac" },
  [IFLA_PERM_ADDRESS]: { name: "perm_address", type: "binary", display: "mac" },
  [IFLA_LINK]: { name: "link", type: "u32" },
  [IFLA_LINK_NETNSID]: { name: "link_netnsid", type: "s32" },
  [IFLA_MASTER]: { name: "master", type: "u32" },
  [IFLA_IFALIAS]: { name: "ifalias", type: "string" },
  [IFLA_CARRIER]: { name: "carrier", type: "u8" },
  [IFLA_CARRIER_CHANGES]: { name: "carrier_changes", type: "u32" },
  [IFLA_PROTO_DOWN]: { name: "proto_down", type: "u8" },
  [IFLA_LINKINFO]: { name: "linkinfo", type: "nest", nested: LINKINFO_ATTRS },
});
const decodeLinkAttrs = compileSet(LINK_ATTRS);

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
  const a = decodeLinkAttrs(dv, off + SIZEOF.ifinfomsg, end, ctx);
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
    const data = info.data as Record<string, unknown> | string | undefined;
    if (body.kind === "vrf" && typeof data === "object" && typeof data.vrf_table === "number") body.vrf_table = data.vrf_table;
  }
  pick(body, a, ["ifalias", "carrier", "carrier_changes", "proto_down"]);
  if (isDelete) ctx.setIfname(body.ifindex, undefined);
  else if (body.ifname !== undefined) ctx.setIfname(body.ifindex, body.ifname);
  return body;
}
