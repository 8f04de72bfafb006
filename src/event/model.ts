/**
 * The one event model every backend, decoder and export shares.
 * Field names follow the migration guide's "New Structure" (netlink.protocol, netlink.msg_type, ...)
 * and, inside bodies, the keys `ip -j` prints, so operators can compare nlmon with iproute2 by eye.
 * Enumerations keep the kernel number beside its name (`table` + `table_name`), so nothing is lost
 * when a name is unknown or user-defined.
 */

export type EventType =
  | "link" | "addr" | "route" | "neigh" | "rule" | "nexthop" | "netconf"
  | "prefix" | "nsid" | "genl" | "error" | "unknown";

export interface LinkBody {
  ifindex: number;
  ifname?: string;
  flags: string[];
  flags_raw: number;
  link_type?: number;
  link_type_name?: string;
  mtu?: number;
  min_mtu?: number;
  max_mtu?: number;
  operstate?: string;
  linkmode?: number;
  group?: number;
  txqlen?: number;
  qdisc?: string;
  address?: string;
  broadcast?: string;
  perm_address?: string;
  link?: number;
  link_netnsid?: number;
  master?: number;
  master_name?: string;
  kind?: string;
  slave_kind?: string;
  vrf_table?: number;
  carrier?: number;
  carrier_changes?: number;
  proto_down?: number;
  ifalias?: string;
}

export interface AddrBody {
  family: string;
  ifindex: number;
  dev?: string;
  local?: string;
  address?: string;
  prefixlen: number;
  scope: number;
  scope_name: string;
  flags: string[];
  flags_raw: number;
  label?: string;
  broadcast?: string;
  anycast?: string;
  valid_life_time?: number | "forever";
  preferred_life_time?: number | "forever";
  proto?: number;
  rt_priority?: number;
}

export interface NexthopEntry {
  gateway?: string;
  via?: { family: string; host: string };
  dev?: string;
  oif?: number;
  weight?: number;
  flags: string[];
  realms?: number;
}

export interface RouteBody {
  family: string;
  type: number;
  type_name: string;
  dst: string;
  src?: string;
  tos?: number;
  table: number;
  table_name: string;
  protocol: number;
  protocol_name: string;
  scope: number;
  scope_name: string;
  flags: string[];
  flags_raw: number;
  gateway?: string;
  via?: { family: string; host: string };
  dev?: string;
  oif?: number;
  iif?: string;
  metric?: number;
  prefsrc?: string;
  pref?: string;
  mark?: number;
  nhid?: number;
  realms?: number;
  /** RTAX_* by name; congctl is text, lock the list of locked metrics */
  metrics?: Record<string, number | string | string[]>;
  nexthops?: NexthopEntry[];
  encap_type?: number;
  ttl_propagate?: number;
}

export interface NeighBody {
  family: string;
  ifindex: number;
  dev?: string;
  dst?: string;
  lladdr?: string;
  state: string[];
  state_raw: number;
  flags: string[];
  flags_raw: number;
  type: number;
  vlan?: number;
  vni?: number;
  master?: number;
  probes?: number;
  protocol?: number;
}

export interface RuleBody {
  family: string;
  priority?: number;
  table: number;
  table_name: string;
  action: number;
  action_name: string;
  src?: string;
  dst?: string;
  iif?: string;
  oif?: string;
  fwmark?: number;
  fwmask?: number;
  tos?: number;
  goto?: number;
  flow?: number;
  suppress_prefixlen?: number;
  suppress_ifgroup?: number;
  l3mdev?: number;
  uid_range?: { start: number; end: number };
  ip_proto?: number;
  sport_range?: { start: number; end: number };
  dport_range?: { start: number; end: number };
  protocol?: number;
  protocol_name?: string;
  flags: string[];
  flags_raw: number;
}

export interface NexthopObjBody {
  family: string;
  id?: number;
  gateway?: string;
  dev?: string;
  oif?: number;
  blackhole?: boolean;
  fdb?: boolean;
  group?: { id: number; weight: number }[];
  group_type?: number;
  protocol: number;
  protocol_name: string;
  scope: number;
  flags: string[];
  flags_raw: number;
}

export interface NetconfBody {
  family: string;
  ifindex: number;
  dev?: string;
  forwarding?: number;
  rp_filter?: number;
  mc_forwarding?: number;
  proxy_neigh?: number;
  ignore_routes_with_linkdown?: number;
  input?: number;
}

export interface NsidBody {
  family: string;
  nsid?: number;
  pid?: number;
  fd?: number;
  target_nsid?: number;
  current_nsid?: number;
}

export interface PrefixBody {
  family: string;
  ifindex: number;
  dev?: string;
  prefix?: string;
  type: number;
  flags_raw: number;
  preferred_life_time?: number;
  valid_life_time?: number;
}

export interface ErrorBody {
  error: number;
  error_name: string;
  message?: string;
  offset?: number;
  orig_msg_type?: number;
  orig_seq?: number;
}

export interface GenlBody {
  cmd: number;
  version: number;
  cmd_name?: string;
  /** nlctrl messages: the family they describe */
  family?: { id?: number; name?: string; version?: number; mcast_groups?: Record<string, number> };
  /** other families: attribute numbers and sizes, until the family has a decoder table */
  attrs?: { type: number; len: number; nested: boolean }[];
}

/** The guide's `netlink` block. Optional ids (seq, pid) are absent in deterministic dumps. */
export interface NetlinkInfo {
  protocol: number;
  protocol_name: string;
  msg_type: number;
  msg_type_name: string;
  msg_flags: number;
  seq?: number;
  pid?: number;
  genl_cmd?: number;
  genl_version?: number;
  genl_family_id?: number;
  genl_family_name?: string;
  link?: LinkBody;
  addr?: AddrBody;
  route?: RouteBody;
  neigh?: NeighBody;
  rule?: RuleBody;
  nexthop?: NexthopObjBody;
  netconf?: NetconfBody;
  nsid?: NsidBody;
  prefix?: PrefixBody;
  error?: ErrorBody;
  genl?: GenlBody;
  raw?: string;
}

/** What is serialised: one of these per line of NDJSON. */
export interface NlEvent {
  timestamp?: string;
  type: EventType;
  /** compatibility fields from the guide's "Old Structure" */
  protocol: number;
  msg_type: number;
  netlink: NetlinkInfo;
  /** emitted by a resync after an overrun, not by a kernel notification */
  resync?: true;
  /** a removal the kernel implies (link down, address removed) but never sends */
  implicit?: true;
  /** replayed from a dump reply in a capture (NLM_F_MULTI): state nlmon started from, not a change */
  snapshot?: true;
  /** what the decoder could not make sense of; the event still carries what it could */
  decode_error?: string;
}

/** An event on its way through the pipeline: the serialisable part plus what exports need beside it. */
export interface PipelineEvent {
  event: NlEvent;
  /** receive time, ns since the epoch (CLOCK_REALTIME), as read by the backend */
  tsNs: bigint;
  /** monotonic ms (performance.now()) when the backend handed the bytes over; for latency */
  recvMono: number;
}
