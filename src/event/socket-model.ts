/**
 * One socket as NETLINK_SOCK_DIAG describes it (struct inet_diag_msg or unix_diag_msg and their
 * attributes), in the words `ss -tuanie` / `ss -xae` print: state names, ms for times, bits per
 * second for rates. Plain JSON: 64-bit counters are numbers while exact and decimal text beyond
 * 2^53; the socket cookie is hex text, as ss prints `sk:`.
 */

/** idiag_timer: which timer is pending, as ss's `timer:(…)` shows it */
export interface SocketTimer {
  /**
   * the kernel's timer number. ss names them (on, keepalive, timewait, persist, delack) from the
   * IDIAG_TIMER_* enum, which is newer than the UAPI headers nlmon is generated from: no name yet
   */
  num: number;
  /** ms until it fires */
  expires_ms: number;
  /** idiag_retrans: retransmissions (or keepalive probes) so far */
  retrans: number;
}

/** INET_DIAG_SKMEMINFO / UNIX_DIAG_MEMINFO, ss's `skmem:(r…,rb…,t…,tb…,f…,w…,o…,bl…,d…)` (bytes) */
export interface SkMemInfo {
  /** receive queue memory (SK_MEMINFO_RMEM_ALLOC) */
  r?: number;
  /** receive buffer size (SK_MEMINFO_RCVBUF) */
  rb?: number;
  /** transmit queue memory (SK_MEMINFO_WMEM_ALLOC) */
  t?: number;
  /** send buffer size (SK_MEMINFO_SNDBUF) */
  tb?: number;
  /** forward-allocated memory (SK_MEMINFO_FWD_ALLOC) */
  f?: number;
  /** queued for transmit (SK_MEMINFO_WMEM_QUEUED) */
  w?: number;
  /** option memory (SK_MEMINFO_OPTMEM) */
  o?: number;
  /** backlog (SK_MEMINFO_BACKLOG) */
  bl?: number;
  /** packets dropped (SK_MEMINFO_DROPS) */
  d?: number;
}

/** INET_DIAG_MEMINFO (struct inet_diag_meminfo), ss's older `mem:(r…,w…,f…,t…)` */
export interface InetMemInfo {
  r: number;
  w: number;
  f: number;
  t: number;
}

/**
 * struct tcp_info (INET_DIAG_INFO of a TCP socket), named as ss prints each value. A field is
 * present when the kernel's struct reached it; "none" values the kernel uses (an infinite
 * ssthresh, an unlimited pacing rate, no min_rtt sample) leave it out, as ss does.
 */
export interface TcpInfoModel {
  /** tcpi_state: the socket's own TCP state number */
  state_num?: number;
  /** congestion-avoidance state: open, disorder, cwr, recovery, loss */
  ca_state?: string;
  ca_state_num?: number;
  /** tcpi_retransmits: unrecovered retransmissions of the current timeout */
  retransmits?: number;
  probes?: number;
  backoff?: number;
  /** negotiated options as ss names them: ts, sack, wscale, ecn, ecnseen, fastopen (unnamed bits in hex) */
  options?: string[];
  options_raw?: number;
  /** window scales, when the wscale option was negotiated */
  snd_wscale?: number;
  rcv_wscale?: number;
  /** the last delivery_rate sample was application-limited (ss: app_limited) */
  app_limited?: boolean;
  fastopen_client_fail?: number;
  /** ms */
  rto?: number;
  /** ms */
  ato?: number;
  /** tcpi_snd_mss */
  mss?: number;
  rcvmss?: number;
  unacked?: number;
  sacked?: number;
  lost?: number;
  /** tcpi_retrans: segments retransmitted and not yet acknowledged */
  retrans?: number;
  fackets?: number;
  /** ms since the last data sent, data received, ack received */
  lastsnd?: number;
  lastrcv?: number;
  lastack?: number;
  pmtu?: number;
  rcv_ssthresh?: number;
  /** smoothed round-trip time and its variation, ms */
  rtt?: number;
  rttvar?: number;
  ssthresh?: number;
  /** tcpi_snd_cwnd, segments */
  cwnd?: number;
  advmss?: number;
  reordering?: number;
  /** ms */
  rcv_rtt?: number;
  rcv_space?: number;
  total_retrans?: number;
  /** bits per second */
  pacing_rate?: number | string;
  max_pacing_rate?: number | string;
  bytes_acked?: number | string;
  bytes_received?: number | string;
  segs_out?: number;
  segs_in?: number;
  notsent?: number;
  /** ms */
  minrtt?: number;
  data_segs_in?: number;
  data_segs_out?: number;
  /** bits per second */
  delivery_rate?: number | string;
  /** time busy sending, limited by the receive window, by the send buffer: ms */
  busy?: number | string;
  rwnd_limited?: number | string;
  sndbuf_limited?: number | string;
  delivered?: number;
  delivered_ce?: number;
  bytes_sent?: number | string;
  bytes_retrans?: number | string;
  dsack_dups?: number;
  reord_seen?: number;
  rcv_ooopack?: number;
  snd_wnd?: number;
  /** ss's `send`: cwnd × mss / rtt, bits per second */
  send?: number;
  /** bytes of a newer struct than the headers nlmon was built with */
  unknown_tail_bytes?: number;
}

export interface SocketBody {
  /** "inet", "inet6", "unix" (the number's text for another family) */
  family: string;
  family_num: number;
  /**
   * "tcp", "udp", …: from INET_DIAG_PROTOCOL, which the kernel adds to destroy notifications.
   * A dump reply does not carry it (the request chose the protocol); the decoder takes it from
   * its caller then, and leaves it out when the caller does not say.
   */
  protocol?: string;
  protocol_num?: number;
  /** as ss prints it: ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, UNCONN, CLOSE-WAIT, LAST-ACK, LISTEN, CLOSING */
  state: string;
  state_num: number;
  /**
   * "destroy": the kernel's announcement that the socket was freed (SKNLGRP_*_DESTROY). The
   * monitor sets the others on events it derives by comparing dumps.
   */
  change?: "open" | "close" | "state" | "destroy";
  /** the state before a derived "state" change */
  old_state?: string;

  // ---- inet (struct inet_diag_msg) ----
  /** local address and port; IPv4-mapped IPv6 as ::ffff:a.b.c.d */
  src?: string;
  sport?: number;
  dst?: string;
  dport?: number;
  /** the device the socket is bound to (ss: addr%dev) */
  ifindex?: number;
  dev?: string;
  timer?: SocketTimer;
  /** INET_DIAG_MARK (fwmark; the kernel sends it to CAP_NET_ADMIN) */
  mark?: number;
  tos?: number;
  tclass?: number;
  class_id?: number;
  cgroup_id?: number | string;
  /** INET_DIAG_SKV6ONLY */
  v6only?: boolean;
  /** INET_DIAG_SOCKOPT: the socket options set, as ss --inet-sockopt names them (recverr, freebind, transparent, …) */
  sockopt?: string[];
  meminfo?: InetMemInfo;
  /** INET_DIAG_CONG: the congestion control algorithm */
  cong?: string;
  tcp_info?: TcpInfoModel;
  /** INET_DIAG_INFO of a protocol whose struct nlmon does not decode (or of an unknown one): its size */
  info_len?: number;
  /** congestion-control data nlmon has no layout for (vegasinfo, dctcpinfo, bbrinfo), as hex */
  cc_info?: Record<string, string>;

  // ---- both ----
  uid?: number;
  /** 0 for sockets without a file: TIME-WAIT, connections not yet accepted */
  inode: number;
  /** the kernel's socket cookie in hex, as ss's `sk:` */
  cookie?: string;
  /** Recv-Q and Send-Q as ss shows them (for a listener: pending connections and the backlog) */
  rqueue?: number;
  wqueue?: number;
  /** sk_shutdown: 1 receive shut down, 2 send shut down, 3 both (ss: <->, -->, <--, ---) */
  shutdown?: number;
  skmem?: SkMemInfo;

  // ---- unix (struct unix_diag_msg) ----
  /** stream, dgram, seqpacket (the number's text when the headers do not name it) */
  type?: string;
  type_num?: number;
  /** the bound path; an abstract name starts with @, as ss prints it */
  name?: string;
  /** the connected peer's inode */
  peer_inode?: number;
  /** inode and device of a path name's file (the device number as the kernel encodes it) */
  vfs_inode?: number;
  vfs_dev?: number;
  /** a listener's connections waiting to be accepted, by inode */
  icons?: number[];
}
