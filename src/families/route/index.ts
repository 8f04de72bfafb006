/**
 * NETLINK_ROUTE: which message types carry which object, and the dump requests that list them.
 */
import {
  AF_INET, AF_INET6, AF_UNSPEC, NAMES, NETCONFA_IFINDEX_ALL, NETCONFA_IFINDEX_DEFAULT, NETLINK_ROUTE,
  OFFSETOF, RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_DELNETCONF, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_DELRULE,
  RTM_GETADDR, RTM_GETLINK, RTM_GETNEIGH, RTM_GETNETCONF, RTM_GETNEXTHOP, RTM_GETROUTE, RTM_GETRULE,
  RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWNETCONF, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE,
  RTM_DELNSID, RTM_NEWNSID, RTM_NEWPREFIX,
  RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_MROUTE, RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV4_RULE,
  RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_MROUTE, RTNLGRP_IPV6_NETCONF, RTNLGRP_IPV6_PREFIX, RTNLGRP_IPV6_ROUTE,
  RTNLGRP_IPV6_RULE, RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_NEXTHOP, RTNLGRP_NSID, SIZEOF,
} from "../../uapi/linux.gen.ts";
import { dumpRequest } from "../../codec/request.ts";
import type { EventType } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { DumpRequest, Family, ObjectTypes } from "../../decode/family.ts";
import { decodeAddr } from "./addr.ts";
import { decodeLink } from "./link.ts";
import { decodeNeigh } from "./neigh.ts";
import { decodeNetconf } from "./netconf.ts";
import { decodeNexthop } from "./nexthop.ts";
import { decodeRoute } from "./route.ts";
import { routeBodyWriter } from "./route-line.ts";
import { decodeRule } from "./rule.ts";
import { decodeNsid } from "./nsid.ts";
import { decodePrefix } from "./prefix.ts";

type Decode = (dv: DataView, off: number, end: number, ctx: DecodeContext, isDelete: boolean) => object | undefined;

const OBJECTS: [number[], EventType, Decode][] = [
  [[RTM_NEWLINK, RTM_DELLINK], "link", decodeLink],
  [[RTM_NEWADDR, RTM_DELADDR], "addr", decodeAddr],
  [[RTM_NEWROUTE, RTM_DELROUTE], "route", decodeRoute],
  [[RTM_NEWNEIGH, RTM_DELNEIGH], "neigh", decodeNeigh],
  [[RTM_NEWRULE, RTM_DELRULE], "rule", decodeRule],
  [[RTM_NEWNEXTHOP, RTM_DELNEXTHOP], "nexthop", decodeNexthop],
  [[RTM_NEWNETCONF, RTM_DELNETCONF], "netconf", (dv, o, e, c) => {
    const b = decodeNetconf(dv, o, e, c);
    if (b && b.dev === undefined) {
      if (b.ifindex === NETCONFA_IFINDEX_ALL) b.dev = "all";
      else if (b.ifindex === NETCONFA_IFINDEX_DEFAULT) b.dev = "default";
    }
    return b;
  }],
];

OBJECTS.push([[RTM_NEWNSID, RTM_DELNSID], "nsid", decodeNsid]);

const BY_TYPE = new Map<number, { type: EventType; decode: Decode; isDelete: boolean }>();
const PAIRS: ObjectTypes[] = [];
for (const [[add, del], type, decode] of OBJECTS) {
  BY_TYPE.set(add!, { type, decode, isDelete: false });
  BY_TYPE.set(del!, { type, decode, isDelete: true });
  PAIRS.push({ type, add: add!, del: del! });
}

// the kernel never deletes a prefix by message: an expired one is not announced
BY_TYPE.set(RTM_NEWPREFIX, { type: "prefix", decode: decodePrefix, isDelete: false });
PAIRS.push({ type: "prefix", add: RTM_NEWPREFIX });

/** Groups for "everything `ip monitor all` shows", by the names config's multicast_groups uses. */
export const ROUTE_GROUPS: Record<string, number> = {
  link: RTNLGRP_LINK,
  ipv4_ifaddr: RTNLGRP_IPV4_IFADDR,
  ipv6_ifaddr: RTNLGRP_IPV6_IFADDR,
  ipv4_route: RTNLGRP_IPV4_ROUTE,
  ipv6_route: RTNLGRP_IPV6_ROUTE,
  ipv4_mroute: RTNLGRP_IPV4_MROUTE,
  ipv6_mroute: RTNLGRP_IPV6_MROUTE,
  ipv6_prefix: RTNLGRP_IPV6_PREFIX,
  neigh: RTNLGRP_NEIGH,
  ipv4_rule: RTNLGRP_IPV4_RULE,
  ipv6_rule: RTNLGRP_IPV6_RULE,
  nexthop: RTNLGRP_NEXTHOP,
  ipv4_netconf: RTNLGRP_IPV4_NETCONF,
  ipv6_netconf: RTNLGRP_IPV6_NETCONF,
  nsid: RTNLGRP_NSID,
};

function familyHeader(size: number, familyOffset: number, family: number): Uint8Array {
  const b = new Uint8Array(size);
  b[familyOffset] = family;
  return b;
}

/** Dump requests in the order a snapshot is taken: links first, so later objects can name devices. */
export function routeDumpRequests(): DumpRequest[] {
  const out: DumpRequest[] = [];
  out.push({ type: "link", request: dumpRequest(RTM_GETLINK, familyHeader(SIZEOF.ifinfomsg, OFFSETOF["ifinfomsg.ifi_family"], AF_UNSPEC)) });
  for (const fam of [AF_INET, AF_INET6]) {
    out.push({ type: "addr", request: dumpRequest(RTM_GETADDR, familyHeader(SIZEOF.ifaddrmsg, OFFSETOF["ifaddrmsg.ifa_family"], fam)) });
  }
  for (const fam of [AF_INET, AF_INET6]) {
    out.push({ type: "route", request: dumpRequest(RTM_GETROUTE, familyHeader(SIZEOF.rtmsg, OFFSETOF["rtmsg.rtm_family"], fam)) });
  }
  for (const fam of [AF_INET, AF_INET6]) {
    out.push({ type: "neigh", request: dumpRequest(RTM_GETNEIGH, familyHeader(SIZEOF.ndmsg, OFFSETOF["ndmsg.ndm_family"], fam)) });
  }
  for (const fam of [AF_INET, AF_INET6]) {
    out.push({ type: "rule", request: dumpRequest(RTM_GETRULE, familyHeader(SIZEOF.fib_rule_hdr, OFFSETOF["fib_rule_hdr.family"], fam)) });
  }
  out.push({ type: "nexthop", request: dumpRequest(RTM_GETNEXTHOP, familyHeader(SIZEOF.nhmsg, OFFSETOF["nhmsg.nh_family"], AF_UNSPEC)) });
  for (const fam of [AF_INET, AF_INET6]) {
    out.push({ type: "netconf", request: dumpRequest(RTM_GETNETCONF, familyHeader(4, OFFSETOF["netconfmsg.ncm_family"], fam)) });
  }
  return out;
}

const RTM_NAMES = NAMES.rtm_type as Record<number, string>;

export const routeFamily: Family = {
  name: "route",
  protocol: NETLINK_ROUTE,
  objects: PAIRS,
  groups: ROUTE_GROUPS,
  dumpRequests: routeDumpRequests,
  // as the dump requests go: links first, then what refers to them
  dumpOrder: ["link", "addr", "route", "neigh", "rule", "nexthop", "netconf"],
  msgTypeName: (t) => RTM_NAMES[t],
  bodyWriter: routeBodyWriter,
  decode(hdr, dv, off, end, ctx) {
    const d = BY_TYPE.get(hdr.type);
    if (!d) return undefined;
    const body = d.decode(dv, off, end, ctx, d.isDelete);
    return { type: d.type, body };
  },
};
