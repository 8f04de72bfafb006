/**
 * Bodies of ctnetlink messages (NETLINK_NETFILTER, subsystems CTNETLINK and CTNETLINK_EXP):
 * connection tracking entries and expectations, from events and from dump replies.
 *
 * Keys are the words `conntrack -o extended` prints (src, dst, sport, dport, type, code, id, mark,
 * zone, use, timeout, packets, bytes, helper, ...), so a body can be read beside conntrack's line
 * for the same entry. A number the kernel names keeps its name beside it (`proto` + `protonum`,
 * `status` + `status_raw`). 64-bit values are numbers while exact and decimal strings beyond 2^53,
 * as everywhere in nlmon: nanosecond timestamps are therefore strings.
 */

/** "new" and "update" are both IPCTNL_MSG_CT_NEW, told apart by NLM_F_CREATE|NLM_F_EXCL, as conntrack -E does */
export type ConntrackEvent = "new" | "update" | "destroy";

/** One direction of a connection (CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_TUPLE_MASTER, expectation tuples). */
export interface ConntrackTuple {
  src?: string;
  dst?: string;
  /**
   * Only where the tuple's protocol may differ from the body's: a master tuple (an FTP data
   * connection's master is the control connection; a SIP master's expectations can be of another protocol).
   */
  proto?: string;
  protonum?: number;
  /** TCP, UDP, SCTP, DCCP, UDP-Lite; GRE's keys come in the same attributes */
  sport?: number;
  dport?: number;
  /** ICMP and ICMPv6 */
  type?: number;
  code?: number;
  id?: number;
  /** CTA_TUPLE_ZONE: a zone that applies to this direction only */
  zone?: number;
  /** CTA_COUNTERS_ORIG/REPLY of this direction, printed by conntrack after the tuple (nf_conntrack_acct=1) */
  packets?: number | string;
  bytes?: number | string;
}

/** CTA_PROTOINFO_TCP; flag words are IP_CT_TCP_FLAG_* without the prefix, lower case */
export interface ConntrackTcpInfo {
  wscale_original?: number;
  wscale_reply?: number;
  flags_original?: string[];
  flags_original_raw?: number;
  flags_reply?: string[];
  flags_reply_raw?: number;
}

/** CTA_PROTOINFO_SCTP beyond the state (which is the body's state_num) */
export interface ConntrackSctpInfo {
  vtag_original?: number;
  vtag_reply?: number;
}

/** CTA_PROTOINFO_DCCP beyond the state */
export interface ConntrackDccpInfo {
  role?: number;
  handshake_seq?: number | string;
}

/** CTA_SEQ_ADJ_ORIG/REPLY (a.k.a. CTA_NAT_SEQ_ADJ_*): the TCP sequence shift a helper or NAT applies */
export interface ConntrackSeqAdj {
  correction_pos?: number;
  offset_before?: number;
  offset_after?: number;
}

export interface ConntrackBody {
  /** left out in dump replies (NLM_F_MULTI), which report a state rather than a change */
  event?: ConntrackEvent;
  /** nfgenmsg's family as conntrack prints it ("ipv4", "ipv6"), and the number */
  family: string;
  family_num: number;
  /** the original tuple's layer-4 protocol ("tcp", "udp", "icmp", "icmpv6", "sctp", ...) */
  proto?: string;
  protonum?: number;
  /** seconds left (CTA_TIMEOUT) */
  timeout?: number;
  /** TCP: the word conntrack prints (SYN_SENT, ESTABLISHED, TIME_WAIT, ...); other protocols: state_num only */
  state?: string;
  state_num?: number;
  original?: ConntrackTuple;
  reply?: ConntrackTuple;
  /**
   * Set IPS_* bits without IPS_ and _BIT (ASSURED, SEEN_REPLY, CONFIRMED, SRC_NAT, DST_NAT_DONE, ...),
   * bits the headers do not name as hex, plus "UNREPLIED" when SEEN_REPLY is clear, the word
   * conntrack prints for that. status_raw is the word as sent.
   */
  status?: string[];
  status_raw?: number;
  mark?: number;
  /** CTA_ZONE: the zone of both directions */
  zone?: number;
  use?: number;
  /** CTA_ID, conntrack's id= */
  id?: number;
  /** CTA_LABELS, the label bitmap as sent, hex */
  labels?: string;
  secmark?: number;
  secctx?: string;
  /** CTA_HELP's helper name ("ftp", "sip", ...) */
  helper?: string;
  helper_info?: string;
  /** CTA_TIMESTAMP, nanoseconds since the epoch (nf_conntrack_timestamp=1) */
  timestamp?: { start?: number | string; stop?: number | string };
  /** conntrack's delta-time: stop's whole seconds less start's; only when both are present (destroy events) */
  delta_time?: number;
  tcp?: ConntrackTcpInfo;
  sctp?: ConntrackSctpInfo;
  dccp?: ConntrackDccpInfo;
  /** CTA_TUPLE_MASTER: the connection this one was expected by (an FTP data connection's control connection) */
  master?: ConntrackTuple;
  seq_adj?: { original?: ConntrackSeqAdj; reply?: ConntrackSeqAdj };
  synproxy?: { isn?: number; its?: number; tsoff?: number };
}

/** An expectation (NFNL_SUBSYS_CTNETLINK_EXP): a connection a helper waits for. */
export interface ConntrackExpectBody {
  event?: ConntrackEvent;
  family: string;
  family_num: number;
  /** the expected tuple's protocol */
  proto?: string;
  protonum?: number;
  timeout?: number;
  /** CTA_EXPECT_TUPLE: the connection expected */
  tuple?: ConntrackTuple;
  /** CTA_EXPECT_MASK: which bits of the tuple must match (conntrack's mask-src, mask-dst, ...) */
  mask?: ConntrackTuple;
  /** CTA_EXPECT_MASTER: the connection whose helper set this up */
  master?: ConntrackTuple;
  id?: number;
  zone?: number;
  /** NF_CT_EXPECT_* bits as sent */
  flags?: number;
  class?: number;
  helper?: string;
  /** CTA_EXPECT_FN: the helper's callback for the expected connection ("nat-follow-master", ...) */
  fn?: string;
  /** CTA_EXPECT_NAT: where the expected connection is mapped (dir is enum ip_conntrack_dir) */
  nat?: { dir?: number; tuple?: ConntrackTuple };
}
