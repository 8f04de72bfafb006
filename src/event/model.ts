/**
 * The one event model every backend, decoder and export shares.
 * Field names follow the migration guide's "New Structure" (netlink.protocol, netlink.msg_type, ...)
 * and, inside bodies, the keys `ip -j` prints, so operators can compare nlmon with iproute2 by eye.
 * Enumerations keep the kernel number beside its name (`table` + `table_name`), so nothing is lost
 * when a name is unknown or user-defined.
 */
import type { ConntrackBody, ConntrackExpectBody } from "./conntrack-model.ts";
import type { NftBody } from "./nft-model.ts";
import type { SocketBody } from "./socket-model.ts";

export type { ConntrackBody, ConntrackExpectBody, NftBody, SocketBody };

export type EventType =
  | "link" | "addr" | "route" | "neigh" | "rule" | "nexthop" | "netconf"
  | "prefix" | "nsid" | "genl" | "nl80211" | "taskstats" | "conntrack" | "conntrack_exp" | "nftables" | "diag"
  | "error" | "unknown" | "alert";

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
  /**
   * families without a table of their own: every attribute with its number and size, typed by the
   * kernel's policy for the command where the bytes fit it (`kind` says the policy's type), else by
   * shape (a nest's attributes, or the bytes in hex, and no `kind`)
   */
  attrs?: GenlAttrModel[];
}

/**
 * One attribute of a family typed by policy or shape: its value is a number, a string (text, or
 * the bytes in hex), true for a flag, {value, selector} for a bitfield32, or for a nest the list
 * of the attributes inside. The model spells out four levels of nesting (what the filter language
 * can name); decoders go deeper where the kernel does.
 */
export interface GenlAttrModel extends GenlAttrHead {
  value?: GenlScalar | GenlAttr2[];
}
interface GenlAttrHead {
  type: number;
  /** the UAPI header's name for it, where the family's header names its notifications' attributes */
  name?: string;
  len: number;
  nested: boolean;
  kind?: string;
}
type GenlScalar = number | string | boolean | { value: number; selector: number };
interface GenlAttr2 extends GenlAttrHead {
  value?: GenlScalar | GenlAttr3[];
}
interface GenlAttr3 extends GenlAttrHead {
  value?: GenlScalar | GenlAttr4[];
}
interface GenlAttr4 extends GenlAttrHead {
  value?: GenlScalar;
}

/** IEEE 802.11 management frame carried by an MLME event */
export interface Nl80211Frame {
  subtype: string | number;
  da: string;
  sa: string;
  bssid: string;
  status_code?: number;
  status?: string;
  reason_code?: number;
  reason?: string;
  ssid?: string;
}

export interface Nl80211RateInfo {
  bitrate?: number;
  bitrate32?: number;
  mcs?: number;
  width_40?: boolean;
  width_80?: boolean;
  width_80p80?: boolean;
  width_160?: boolean;
  short_gi?: boolean;
  vht_mcs?: number;
  vht_nss?: number;
  he_mcs?: number;
  he_nss?: number;
  he_gi?: number;
}

export interface Nl80211StaInfo {
  inactive_time?: number;
  rx_bytes?: number;
  tx_bytes?: number;
  rx_bytes64?: number | string;
  tx_bytes64?: number | string;
  signal?: number;
  signal_avg?: number;
  beacon_signal_avg?: number;
  ack_signal?: number;
  tx_bitrate?: Nl80211RateInfo;
  rx_bitrate?: Nl80211RateInfo;
  rx_packets?: number;
  tx_packets?: number;
  tx_retries?: number;
  tx_failed?: number;
  bss_param?: { cts_prot?: boolean; short_preamble?: boolean; short_slot_time?: boolean; dtim_period?: number; beacon_interval?: number };
  connected_time?: number;
  sta_flags?: { mask: string[]; set: string[] };
  beacon_loss?: number;
  beacon_rx?: number | string;
  rx_drop_misc?: number | string;
  expected_throughput?: number;
  rx_duration?: number | string;
  tx_duration?: number | string;
  assoc_at_boottime?: number | string;
}

export interface Nl80211Freq {
  freq?: number;
  disabled?: boolean;
  no_ir?: boolean;
  radar?: boolean;
}

export interface VendorInfoModel {
  oui: number;
  oui_hex: string;
  vendor?: string;
  subcmd: number;
  subcmd_name?: string;
  /** the subcommand's attributes, decoded (the model spells out two levels of nesting) */
  data?: Record<string, VendorValue | VendorValue[] | Record<string, VendorValue | VendorValue[]> | Record<string, VendorValue | VendorValue[]>[]>;
  data_hex?: string;
}
type VendorValue = number | string | boolean;

/** taskstats: one exit record (struct taskstats) of a task (pid) or a whole thread group (tgid) */
export interface TaskstatsBody {
  cmd: number;
  version: number;
  cmd_name?: string;
  pid?: number;
  tgid?: number;
  /** the struct's fields (named as linux/taskstats.h names them) that the received version holds */
  stats?: Record<string, number | string>;
  /** the whole thread group's record, sent beside the last task's when a process ends */
  tgid_stats?: Record<string, number | string>;
  /** bytes of a newer struct version than the header nlmon was built with */
  unknown_tail_bytes?: number;
}

/** nl80211 (cfg80211): the attributes its events carry, named as nl80211.h names them */
export interface Nl80211Body {
  cmd: number;
  version: number;
  cmd_name?: string;
  wiphy?: number;
  wiphy_name?: string;
  /** --dump-events: each band's usable frequencies (MHz) */
  bands?: Record<string, number[]>;
  ifindex?: number;
  ifname?: string;
  iftype?: string | number;
  wdev?: number | string;
  mac?: string;
  generation?: number;
  wiphy_freq?: number;
  wiphy_freq_offset?: number;
  channel_type?: string | number;
  channel_width?: string | number;
  center_freq1?: number;
  center_freq2?: number;
  ch_switch_count?: number;
  ssid?: string;
  sta_info?: Nl80211StaInfo;
  reason_code?: number;
  reason?: string;
  status_code?: number;
  status?: string;
  disconnected_by_ap?: boolean;
  timed_out?: boolean;
  timeout_reason?: string | number;
  auth_type?: string | number;
  reg_initiator?: string | number;
  reg_type?: string | number;
  reg_alpha2?: string;
  user_reg_hint_type?: number;
  scan_frequencies?: number[];
  scan_ssids?: string[];
  cookie?: number | string;
  ack?: boolean;
  cqm?: { rssi_thold?: number; rssi_hyst?: number; rssi_threshold_event?: string | number; pkt_loss_event?: number; txe_rate?: number; txe_pkts?: number; txe_intvl?: number; beacon_loss_event?: boolean; rssi_level?: number };
  key_type?: number;
  key_idx?: number;
  key_seq?: string;
  port_authorized?: boolean;
  mlo_link_id?: number;
  rx_signal_dbm?: number;
  frame?: Nl80211Frame;
  /** size of a control port (EAPOL) frame, whose content is key material */
  frame_len?: number;
  freq_before?: Nl80211Freq;
  freq_after?: Nl80211Freq;
  vendor?: VendorInfoModel;
}

/**
 * An alert rule's notification (src/alerts/), put into the stream beside what the kernel reports.
 * No netlink message carried it: its netlink block says protocol -1, "nlmon", msg_type_name
 * "NLMON_ALERT" (docs/ALERT_SYSTEM.md).
 */
export interface AlertBody {
  /** the rule's name */
  name: string;
  state: "firing" | "resolved";
  severity: "info" | "warning" | "critical";
  /** the rule's group_by path and this group's value there ("" for an event without it) */
  group_by?: string;
  group?: string;
  /** matching events in the window when it fired (counted up to the threshold) */
  count: number;
  threshold: number;
  window_s: number;
  /** when the alert became active */
  since: string;
  /** matching events since it became active */
  matches: number;
  /** firings suppressed (min_interval_s) since the previous notification */
  suppressed: number;
  summary: string;
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
  nl80211?: Nl80211Body;
  taskstats?: TaskstatsBody;
  conntrack?: ConntrackBody;
  conntrack_exp?: ConntrackExpectBody;
  nftables?: NftBody;
  /** a socket (NETLINK_SOCK_DIAG), named as the guide's `struct nlmon_diag_info diag` */
  diag?: SocketBody;
  alert?: AlertBody;
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
  /**
   * not a kernel notification: nlmon compared two dumps (sockets, which the kernel announces only
   * when they are destroyed) and this is a difference; the body's `change` says which
   */
  derived?: true;
  /** what the decoder could not make sense of; the event still carries what it could */
  decode_error?: string;
  /**
   * netlink.namespaces: all — the named namespace the notification came from: its name under
   * /run/netns and its inode (a name can be reused by a later namespace; the inode tells them apart)
   */
  namespace?: { name: string; inode: number };
}

/** An event on its way through the pipeline: the serialisable part plus what exports need beside it. */
export interface PipelineEvent {
  event: NlEvent;
  /** receive time, ns since the epoch (CLOCK_REALTIME), as read by the backend */
  tsNs: bigint;
  /** monotonic ms (performance.now()) when the backend handed the bytes over; for latency */
  recvMono: number;
}
