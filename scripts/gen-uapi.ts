/**
 * gen-uapi.ts — generate src/uapi/linux.gen.ts from the Linux UAPI headers.
 *
 * Usage: node_modules/.bin/bun scripts/gen-uapi.ts [outfile]
 *        (default outfile: src/uapi/linux.gen.ts)
 *
 * Project rule: no kernel UAPI number is ever typed by hand. This script only
 * decides *which names* belong to which group (by scanning the headers for
 * enum members and object-like #defines); every *value* comes from the C
 * compiler: we write a temporary C file that includes the headers and prints
 * `(long long)NAME` (and sizeof/offsetof of the structs), compile it, run it
 * and turn the output into TypeScript.
 *
 * Names the compiler rejects (not an integer constant, hidden by an #if, ...)
 * are dropped: we compile once, collect the line numbers of the errors (one
 * entry per line in the C file), remove those entries and compile again.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const INCLUDE_DIR = "/usr/include";

// ---------------------------------------------------------------------------
// Group table
// ---------------------------------------------------------------------------

interface GroupSpec {
  /** Group key used in NAMES / FLAGS. */
  name: string;
  /** Headers (relative to /usr/include) that are scanned and #included. */
  headers: string[];
  /** true: bit-flag group (emits FLAGS). A RegExp restricts FLAGS to matching names. */
  flags?: boolean | RegExp;
  /** false: do not emit a NAMES reverse table (mixed bags such as `socket`). */
  reverse?: boolean;
  /** Explicit list of names (no scanning; order is the declaration order). */
  names?: string[];
  /** Names must match this (scanned groups). */
  match?: RegExp;
  /** ...and must not match this. */
  exclude?: RegExp;
  /** Only members of the enum whose first member is this name. */
  enumFirst?: string;
  /** Only members of `enum <tag> { ... }`. */
  enumTag?: string;
  /** Only #define'd names (ignore enum members). */
  definesOnly?: boolean;
  /** Only names declared at/after (inclusive) this name, in the same header. */
  from?: string;
  /** Only names declared strictly before this name, in the same header. */
  before?: string;
  /**
   * The generated module it goes to: src/uapi/MODULE.gen.ts (default "linux"). A family whose
   * numbers only it uses gets a module of its own, loaded with the family: every module's tables
   * are built when it loads, and nl80211's alone cost an idle monitor of routes 1 MiB.
   */
  module?: string;
  /**
   * Evaluated by a C program of its own that includes only its headers: linux/mptcp.h includes
   * linux/in.h, which clashes with glibc's netinet/in.h that the main program needs.
   */
  alone?: boolean;
}

const GROUPS: GroupSpec[] = [
  // linux/netlink.h
  { name: "netlink_protocol", headers: ["linux/netlink.h"], match: /^NETLINK_/, definesOnly: true, before: "NETLINK_ADD_MEMBERSHIP" },
  { name: "netlink_sockopt", headers: ["linux/netlink.h"], match: /^NETLINK_/, definesOnly: true, from: "NETLINK_ADD_MEMBERSHIP" },
  { name: "nlmsg_type", headers: ["linux/netlink.h"], match: /^NLMSG_(NOOP|ERROR|DONE|OVERRUN|MIN_TYPE)$/ },
  { name: "nlm_f", headers: ["linux/netlink.h"], match: /^NLM_F_/, flags: true },
  { name: "nlmsgerr_attr", headers: ["linux/netlink.h"], enumTag: "nlmsgerr_attrs" },
  { name: "nla_f", headers: ["linux/netlink.h"], match: /^(NLA_F_NESTED|NLA_F_NET_BYTEORDER|NLA_TYPE_MASK|NLA_ALIGNTO|NLMSG_ALIGNTO)$/, flags: /^NLA_F_/ },

  // linux/rtnetlink.h
  { name: "rtm_type", headers: ["linux/rtnetlink.h"], enumFirst: "RTM_BASE", match: /^RTM_(NEW|DEL|GET|SET)/ },
  { name: "rtn_type", headers: ["linux/rtnetlink.h"], match: /^RTN_/ },
  { name: "rt_scope", headers: ["linux/rtnetlink.h"], enumTag: "rt_scope_t" },
  { name: "rtprot", headers: ["linux/rtnetlink.h"], match: /^RTPROT_/ },
  { name: "rt_table", headers: ["linux/rtnetlink.h"], enumTag: "rt_class_t" },
  { name: "rtm_f", headers: ["linux/rtnetlink.h"], match: /^RTM_F_/, flags: true },
  { name: "rtnh_f", headers: ["linux/rtnetlink.h"], match: /^RTNH_F_/, flags: true },
  { name: "rta", headers: ["linux/rtnetlink.h"], enumTag: "rtattr_type_t" },
  { name: "rtax", headers: ["linux/rtnetlink.h"], enumFirst: "RTAX_UNSPEC" },
  { name: "rtax_feature", headers: ["linux/rtnetlink.h"], match: /^RTAX_FEATURE_/, flags: true },
  { name: "rtnlgrp", headers: ["linux/rtnetlink.h"], enumTag: "rtnetlink_groups" },
  { name: "rtmgrp", headers: ["linux/rtnetlink.h"], match: /^RTMGRP_/, flags: true },

  // links
  { name: "ifla", headers: ["linux/if_link.h"], enumFirst: "IFLA_UNSPEC" },
  { name: "ifla_info", headers: ["linux/if_link.h"], enumFirst: "IFLA_INFO_UNSPEC" },
  { name: "ifla_vrf", headers: ["linux/if_link.h"], enumFirst: "IFLA_VRF_UNSPEC" },
  { name: "if_oper", headers: ["linux/if.h"], match: /^IF_OPER_/ },
  { name: "iff", headers: ["linux/if.h"], enumTag: "net_device_flags", flags: true },
  { name: "arphrd", headers: ["linux/if_arp.h"], match: /^ARPHRD_/ },

  // addresses
  { name: "ifa", headers: ["linux/if_addr.h"], enumFirst: "IFA_UNSPEC" },
  { name: "ifa_f", headers: ["linux/if_addr.h"], match: /^IFA_F_/, flags: true },

  // neighbours
  { name: "nda", headers: ["linux/neighbour.h"], enumFirst: "NDA_UNSPEC" },
  { name: "nud", headers: ["linux/neighbour.h"], match: /^NUD_/, flags: true },
  // NTF_EXT_LEARNED is an ndm_flags bit; the NDA_FLAGS_EXT bits start at NTF_EXT_MANAGED.
  { name: "ntf", headers: ["linux/neighbour.h"], match: /^NTF_/, definesOnly: true, before: "NTF_EXT_MANAGED", flags: true },
  { name: "ntf_ext", headers: ["linux/neighbour.h"], match: /^NTF_EXT_/, definesOnly: true, from: "NTF_EXT_MANAGED", flags: true },

  // rules
  { name: "fra", headers: ["linux/fib_rules.h"], enumFirst: "FRA_UNSPEC" },
  { name: "fr_act", headers: ["linux/fib_rules.h"], enumFirst: "FR_ACT_UNSPEC" },
  { name: "fib_rule_f", headers: ["linux/fib_rules.h"], match: /^FIB_RULE_/, flags: true },

  // nexthops
  { name: "nha", headers: ["linux/nexthop.h"], enumFirst: "NHA_UNSPEC" },
  { name: "nexthop_grp_type", headers: ["linux/nexthop.h"], enumFirst: "NEXTHOP_GRP_TYPE_MPATH" },

  // netconf
  { name: "netconfa", headers: ["linux/netconf.h"], enumFirst: "NETCONFA_UNSPEC" },
  { name: "netconfa_ifindex", headers: ["linux/netconf.h"], match: /^NETCONFA_IFINDEX_/, definesOnly: true },

  // network namespace ids (RTM_NEWNSID) and IPv6 prefixes (RTM_NEWPREFIX)
  { name: "netnsa", headers: ["linux/net_namespace.h"], enumFirst: "NETNSA_NONE" },
  { name: "prefix", headers: ["linux/rtnetlink.h"], enumFirst: "PREFIX_UNSPEC" },

  // misc route-related
  { name: "lwtunnel_encap", headers: ["linux/lwtunnel.h"], enumTag: "lwtunnel_encap_types" },
  { name: "icmpv6_router_pref", headers: ["linux/icmpv6.h"], match: /^ICMPV6_ROUTER_PREF_/ },

  // generic netlink
  { name: "genl", headers: ["linux/genetlink.h"], match: /^GENL_(ID_\w+|HDRLEN)$/ },
  { name: "ctrl_cmd", headers: ["linux/genetlink.h"], enumFirst: "CTRL_CMD_UNSPEC" },
  { name: "ctrl_attr", headers: ["linux/genetlink.h"], enumFirst: "CTRL_ATTR_UNSPEC" },
  { name: "ctrl_attr_mcast_grp", headers: ["linux/genetlink.h"], enumFirst: "CTRL_ATTR_MCAST_GRP_UNSPEC" },
  { name: "ctrl_attr_op", headers: ["linux/genetlink.h"], enumFirst: "CTRL_ATTR_OP_UNSPEC" },

  // what nlctrl says of a family's attribute policies (CTRL_CMD_GETPOLICY): the policy-typed decoder
  { name: "ctrl_attr_policy", headers: ["linux/genetlink.h"], enumFirst: "CTRL_ATTR_POLICY_UNSPEC" },
  { name: "nl_attr_type", headers: ["linux/netlink.h"], enumTag: "netlink_attribute_type" },
  { name: "nl_policy_type_attr", headers: ["linux/netlink.h"], enumTag: "netlink_policy_type_attr" },

  // nl80211 (cfg80211's generic netlink family)
  { name: "nl80211_cmd", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_commands" },
  { name: "nl80211_attr", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_attrs" },
  { name: "nl80211_iftype", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_iftype" },
  { name: "nl80211_sta_flag", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_sta_flags" },
  { name: "nl80211_sta_info", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_sta_info" },
  { name: "nl80211_rate_info", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_rate_info" },
  { name: "nl80211_sta_bss_param", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_sta_bss_param" },
  { name: "nl80211_band", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_band" },
  { name: "nl80211_band_attr", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_band_attr" },
  { name: "nl80211_frequency_attr", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_frequency_attr" },
  { name: "nl80211_chan_width", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_chan_width" },
  { name: "nl80211_channel_type", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_channel_type" },
  { name: "nl80211_reg_initiator", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_reg_initiator" },
  { name: "nl80211_reg_type", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_reg_type" },
  { name: "nl80211_attr_cqm", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_attr_cqm" },
  { name: "nl80211_cqm_rssi_threshold_event", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_cqm_rssi_threshold_event" },
  { name: "nl80211_auth_type", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_auth_type" },
  { name: "nl80211_bss", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_bss" },
  { name: "nl80211_timeout_reason", module: "nl80211", headers: ["linux/nl80211.h"], enumTag: "nl80211_timeout_reason" },

  // names for families typed by the kernel's policies (src/families/genl/names.ts): what their
  // notifications' commands and attributes are called where the header says
  { name: "ethtool_msg_kernel", module: "genl-names", headers: ["linux/ethtool_netlink.h"], enumFirst: "ETHTOOL_MSG_KERNEL_NONE" },
  { name: "mptcp_event_type", module: "genl-names", headers: ["linux/mptcp.h"], enumTag: "mptcp_event_type", alone: true },
  { name: "mptcp_event_attr", module: "genl-names", headers: ["linux/mptcp.h"], enumTag: "mptcp_event_attr", alone: true },
  { name: "thermal_genl_event", module: "genl-names", headers: ["linux/thermal.h"], enumTag: "thermal_genl_event" },
  { name: "thermal_genl_attr", module: "genl-names", headers: ["linux/thermal.h"], enumTag: "thermal_genl_attr" },

  // taskstats: per-task and per-process exit records
  { name: "taskstats_cmd", module: "taskstats", headers: ["linux/taskstats.h"], enumFirst: "TASKSTATS_CMD_UNSPEC" },
  { name: "taskstats_type", module: "taskstats", headers: ["linux/taskstats.h"], enumFirst: "TASKSTATS_TYPE_UNSPEC" },
  { name: "taskstats_cmd_attr", module: "taskstats", headers: ["linux/taskstats.h"], enumFirst: "TASKSTATS_CMD_ATTR_UNSPEC" },
  { name: "taskstats_const", module: "taskstats", headers: ["linux/taskstats.h"], names: ["TASKSTATS_VERSION", "TS_COMM_LEN", "TASKSTATS_GENL_VERSION"], reverse: false },

  // a socket's memory counters (SO_MEMINFO), among them the notifications the kernel dropped
  { name: "sk_meminfo", headers: ["linux/sock_diag.h"], enumFirst: "SK_MEMINFO_RMEM_ALLOC" },

  // NETLINK_NETFILTER: nfnetlink's subsystems and groups, ctnetlink (conntrack), nf_tables
  { name: "nfnl_subsys", module: "netfilter", headers: ["linux/netfilter/nfnetlink.h"], match: /^NFNL_SUBSYS_(?!COUNT)/, definesOnly: true },
  { name: "nfnlgrp", module: "netfilter", headers: ["linux/netfilter/nfnetlink.h"], enumTag: "nfnetlink_groups" },
  { name: "nfnetlink_const", module: "netfilter", headers: ["linux/netfilter/nfnetlink.h"], names: ["NFNETLINK_V0"], reverse: false },
  { name: "nfproto", module: "netfilter", headers: ["linux/netfilter.h"], match: /^NFPROTO_/ },
  { name: "nf_inet_hooks", module: "netfilter", headers: ["linux/netfilter.h"], enumTag: "nf_inet_hooks" },
  { name: "nf_dev_hooks", module: "netfilter", headers: ["linux/netfilter.h"], enumTag: "nf_dev_hooks" },
  { name: "nf_verdict", module: "netfilter", headers: ["linux/netfilter.h"], match: /^NF_(DROP|ACCEPT|STOLEN|QUEUE|REPEAT|STOP)$/, definesOnly: true },
  { name: "ctnl_msg", module: "netfilter", headers: ["linux/netfilter/nfnetlink_conntrack.h"], enumTag: "cntl_msg_types" },
  { name: "ctnl_exp_msg", module: "netfilter", headers: ["linux/netfilter/nfnetlink_conntrack.h"], enumTag: "ctnl_exp_msg_types" },
  ...[
    "ctattr_type", "ctattr_tuple", "ctattr_ip", "ctattr_l4proto", "ctattr_protoinfo", "ctattr_protoinfo_tcp",
    "ctattr_protoinfo_dccp", "ctattr_protoinfo_sctp", "ctattr_counters", "ctattr_tstamp", "ctattr_nat", "ctattr_protonat",
    "ctattr_seqadj", "ctattr_natseq", "ctattr_synproxy", "ctattr_expect", "ctattr_expect_nat", "ctattr_help", "ctattr_secctx",
  ].map((tag): GroupSpec => ({ name: tag, module: "netfilter", headers: ["linux/netfilter/nfnetlink_conntrack.h"], enumTag: tag })),
  { name: "ips", module: "netfilter", headers: ["linux/netfilter/nf_conntrack_common.h"], enumTag: "ip_conntrack_status", match: /^IPS_\w+_BIT$/ },
  { name: "sctp_conntrack", module: "netfilter", headers: ["linux/netfilter/nf_conntrack_sctp.h"], enumTag: "sctp_conntrack" },
  { name: "nf_ct_expect_f", module: "netfilter", headers: ["linux/netfilter/nf_conntrack_common.h"], match: /^NF_CT_EXPECT_/, definesOnly: true, flags: true },
  { name: "ip_conntrack_dir", module: "netfilter", headers: ["linux/netfilter/nf_conntrack_tuple_common.h"], enumTag: "ip_conntrack_dir" },
  { name: "tcp_conntrack", module: "netfilter", headers: ["linux/netfilter/nf_conntrack_tcp.h"], enumTag: "tcp_conntrack" },
  { name: "ip_ct_tcp_flag", module: "netfilter", headers: ["linux/netfilter/nf_conntrack_tcp.h"], match: /^IP_CT_TCP_FLAG_/, definesOnly: true, flags: true },
  ...[
    "nf_tables_msg_types", "nft_registers", "nft_verdicts", "nft_list_attributes", "nft_hook_attributes", "nft_table_flags",
    "nft_table_attributes", "nft_chain_flags", "nft_chain_attributes", "nft_rule_attributes", "nft_set_flags",
    "nft_set_attributes", "nft_set_elem_flags", "nft_set_elem_attributes", "nft_set_elem_list_attributes",
    "nft_data_types", "nft_data_attributes", "nft_verdict_attributes", "nft_expr_attributes", "nft_immediate_attributes",
    "nft_bitwise_attributes", "nft_cmp_ops", "nft_cmp_attributes", "nft_range_attributes", "nft_lookup_flags",
    "nft_lookup_attributes", "nft_payload_bases", "nft_payload_attributes", "nft_meta_keys", "nft_meta_attributes",
    "nft_ct_keys", "nft_ct_attributes", "nft_counter_attributes", "nft_log_attributes", "nft_limit_attributes",
    "nft_reject_types", "nft_reject_attributes", "nft_nat_types", "nft_nat_attributes", "nft_masq_attributes",
    "nft_redir_attributes", "nft_objref_attributes", "nft_gen_attributes", "nft_object_attributes", "nft_flowtable_attributes",
  ].map((tag): GroupSpec => ({ name: tag, module: "netfilter", headers: ["linux/netfilter/nf_tables.h"], enumTag: tag })),
  { name: "nft_const", module: "netfilter", headers: ["linux/netfilter/nf_tables.h"], names: ["NFT_TABLE_MAXNAMELEN", "NFT_CHAIN_MAXNAMELEN", "NFT_SET_MAXNAMELEN", "NFT_REG_SIZE", "NFT_REG32_SIZE"], reverse: false },

  // NETLINK_SOCK_DIAG: inet_diag (TCP, UDP), unix_diag, tcp_info
  { name: "sock_diag_msg", module: "sock_diag", headers: ["linux/sock_diag.h"], match: /^SOCK_(DIAG_BY_FAMILY|DESTROY)$/, definesOnly: true },
  { name: "sknlgrp", module: "sock_diag", headers: ["linux/sock_diag.h"], enumTag: "sknetlink_groups" },
  { name: "inet_diag_req", module: "sock_diag", headers: ["linux/inet_diag.h"], enumFirst: "INET_DIAG_REQ_NONE" },
  { name: "inet_diag_bc", module: "sock_diag", headers: ["linux/inet_diag.h"], enumFirst: "INET_DIAG_BC_NOP" },
  { name: "inet_diag_attr", module: "sock_diag", headers: ["linux/inet_diag.h"], enumFirst: "INET_DIAG_NONE" },
  { name: "inet_diag_const", module: "sock_diag", headers: ["linux/inet_diag.h"], names: ["TCPDIAG_GETSOCK", "DCCPDIAG_GETSOCK", "INET_DIAG_NOCOOKIE"], reverse: false },
  { name: "unix_diag_attr", module: "sock_diag", headers: ["linux/unix_diag.h"], enumFirst: "UNIX_DIAG_NAME" },
  { name: "udiag_show", module: "sock_diag", headers: ["linux/unix_diag.h"], match: /^UDIAG_SHOW_/, definesOnly: true, flags: true },
  { name: "tcp_ca_state", module: "sock_diag", headers: ["linux/tcp.h"], enumTag: "tcp_ca_state", match: /^TCP_CA_/ },
  { name: "tcpi_opt", module: "sock_diag", headers: ["linux/tcp.h"], match: /^TCPI_OPT_/, definesOnly: true, flags: true },
  // the socket states ss names: the kernel keeps them in include/net/tcp_states.h, which is not
  // UAPI; BPF's copy is (the kernel holds the two equal with BUILD_BUG_ONs in net/core/filter.c)
  { name: "bpf_tcp_state", module: "sock_diag", headers: ["linux/bpf.h"], match: /^BPF_TCP_(?!MAX_STATES)/, enumFirst: "BPF_TCP_ESTABLISHED" },
  { name: "ipproto", module: "sock_diag", headers: ["linux/in.h"], reverse: true, names: ["IPPROTO_TCP", "IPPROTO_UDP", "IPPROTO_ICMP", "IPPROTO_ICMPV6", "IPPROTO_SCTP", "IPPROTO_DCCP", "IPPROTO_UDPLITE", "IPPROTO_MPTCP", "IPPROTO_GRE"] },

  // libc
  {
    name: "af",
    headers: ["sys/socket.h"],
    names: ["AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "AF_BRIDGE", "AF_MPLS"],
  },
  {
    name: "socket",
    headers: ["sys/socket.h", "poll.h", "time.h"],
    reverse: false,
    names: [
      "SOCK_RAW", "SOCK_DGRAM", "SOCK_STREAM", "SOCK_CLOEXEC", "SOCK_NONBLOCK",
      "SOL_SOCKET", "SOL_NETLINK",
      "SO_RCVBUF", "SO_SNDBUF", "SO_RCVBUFFORCE", "SO_SNDBUFFORCE", "SO_TIMESTAMPNS", "SO_RCVTIMEO", "SO_SNDTIMEO",
      "SO_MEMINFO",
      "MSG_DONTWAIT", "MSG_TRUNC", "MSG_PEEK", "MSG_NOSIGNAL",
      "POLLIN", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL",
      "CLOCK_REALTIME", "CLOCK_MONOTONIC",
    ],
  },
  { name: "errno", headers: ["asm-generic/errno-base.h", "asm-generic/errno.h"], match: /^E[A-Z0-9]+$/, definesOnly: true },
  // the pseudo-header's packet type: nlmon's own export writes PACKET_HOST (received), an nlmon
  // device PACKET_OUTGOING for every message it taps (cli/replay.ts tells the captures apart by it)
  { name: "packet_type", headers: ["linux/if_packet.h"], reverse: false, names: ["PACKET_HOST", "PACKET_OUTGOING"] },
  // pages only start-up touched are handed back once the monitor is idle (src/ffi/footprint.ts)
  { name: "mman", headers: ["linux/mman.h"], reverse: false, names: ["MADV_PAGEOUT"] },
  // netlink.namespace: sockets made inside another network namespace (src/backend/netns.ts)
  { name: "netns", headers: ["sched.h", "fcntl.h"], reverse: false, names: ["CLONE_NEWNET", "O_RDONLY", "O_CLOEXEC", "O_DIRECTORY"] },
  // netlink.namespaces: all follows /run/netns as names come and go (src/backend/netns-watch.ts)
  {
    name: "inotify", headers: ["sys/inotify.h"], reverse: false,
    names: ["IN_CREATE", "IN_DELETE", "IN_MOVED_FROM", "IN_MOVED_TO", "IN_DELETE_SELF", "IN_MOVE_SELF", "IN_Q_OVERFLOW", "IN_IGNORED", "IN_ONLYDIR", "IN_NONBLOCK", "IN_CLOEXEC"],
  },
];

/** Headers that must be #included for the values to be right (the errno scan headers are reached via errno.h). */
const EXTRA_INCLUDES = ["errno.h", "stddef.h", "stdio.h", "sys/uio.h"];

/**
 * libc's own structs, which the receive thread lays out in memory for recvmmsg() and poll(). Their
 * headers nest declarations the scanner does not follow, so the fields are named here; sizes and
 * offsets still come from the compiler. (struct mmsghdr is a GNU extension: the C file defines
 * _GNU_SOURCE.)
 */
const LIBC_STRUCTS: [name: string, fields: string[]][] = [
  ["iovec", ["iov_base", "iov_len"]],
  ["msghdr", ["msg_name", "msg_namelen", "msg_iov", "msg_iovlen", "msg_control", "msg_controllen", "msg_flags"]],
  ["mmsghdr", ["msg_hdr", "msg_len"]],
  ["pollfd", ["fd", "events", "revents"]],
  ["inotify_event", ["wd", "mask", "cookie", "len", "name"]],
];

/**
 * Structs whose fields' sizes are emitted too (FIELDSIZE): ones read field by field as records that
 * grow by version (struct taskstats), where a field is decoded only if the received record holds it.
 */
const FIELD_SIZES = new Set(["taskstats", "tcp_info"]);

/** structs that belong to a module of their own (see GroupSpec.module) */
const STRUCT_MODULE: Record<string, string> = {
  taskstats: "taskstats", nl80211_sta_flag_update: "nl80211",
  nfgenmsg: "netfilter",
  inet_diag_sockid: "sock_diag", inet_diag_req_v2: "sock_diag", inet_diag_msg: "sock_diag", inet_diag_bc_op: "sock_diag",
  inet_diag_meminfo: "sock_diag", unix_diag_req: "sock_diag", unix_diag_msg: "sock_diag", unix_diag_rqlen: "sock_diag",
  unix_diag_vfs: "sock_diag", tcp_info: "sock_diag", sock_diag_req: "sock_diag",
};

/** Structs for SIZEOF / OFFSETOF; located by scanning the group headers for `struct NAME {`. */
const STRUCTS = [
  "nlmsghdr", "nlmsgerr", "nlattr", "sockaddr_nl",
  "rtgenmsg", "ifinfomsg", "ifaddrmsg", "ifa_cacheinfo", "rtmsg", "rtnexthop", "rtvia", "rta_cacheinfo",
  "ndmsg", "nda_cacheinfo", "fib_rule_hdr", "fib_rule_uid_range", "fib_rule_port_range",
  "nhmsg", "nexthop_grp", "netconfmsg", "genlmsghdr", "prefixmsg", "prefix_cacheinfo",
  "taskstats", "nl80211_sta_flag_update",
  "nfgenmsg",
  "sock_diag_req", "inet_diag_sockid", "inet_diag_req_v2", "inet_diag_msg", "inet_diag_bc_op", "inet_diag_meminfo",
  "unix_diag_req", "unix_diag_msg", "unix_diag_rqlen", "unix_diag_vfs", "tcp_info",
];

// ---------------------------------------------------------------------------
// Header scanning
// ---------------------------------------------------------------------------

interface Decl {
  name: string;
  header: string;
  /** Offset in the comment-stripped header text: declaration order. */
  pos: number;
  kind: "enum" | "define";
  /** Enum index in the header (enum members only). */
  enumIndex?: number;
  /** Identifier this is defined as, if its definition is just another identifier. */
  aliasOf?: string;
}

interface ScannedHeader {
  decls: Decl[];
  enums: { tag: string | undefined; members: Decl[] }[];
  /** struct name -> field names in order */
  structs: Map<string, string[]>;
}

/** Replace comments with spaces (keeping offsets and newlines) and join line continuations. */
function stripComments(src: string): string {
  const noComments = src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.replace(/[^\n]/g, " "));
  return noComments.replace(/\\\n/g, "  ");
}

/** Blank out preprocessor lines (same length) so enum/struct bodies only hold C tokens. */
function blankPreprocessor(text: string): string {
  return text.replace(/^[ \t]*#[^\n]*/gm, (m) => " ".repeat(m.length));
}

const IDENT = /^[A-Za-z_]\w*$/;

function scanHeader(header: string): ScannedHeader {
  const text = stripComments(readFileSync(join(INCLUDE_DIR, header), "utf8"));
  const decls: Decl[] = [];
  const enums: ScannedHeader["enums"] = [];

  // Object-like #defines (function-like ones have '(' right after the name).
  for (const m of text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(\(?)([^\n]*)/gm)) {
    if (m[2] === "(") continue;
    const name = m[1]!;
    const body = m[3]!.trim().replace(/^\((.*)\)$/, "$1").trim();
    const d: Decl = { name, header, pos: m.index!, kind: "define" };
    if (IDENT.test(body) && body !== name) d.aliasOf = body;
    decls.push(d);
  }

  // enum [tag] { ... }
  const code = blankPreprocessor(text);
  for (const m of code.matchAll(/\benum\s+(?:([A-Za-z_]\w*)\s*)?\{([^}]*)\}/g)) {
    const bodyStart = m.index! + m[0].indexOf("{") + 1;
    const members: Decl[] = [];
    let offset = 0;
    for (const part of m[2]!.split(",")) {
      const mm = /^(\s*)([A-Za-z_]\w*)\s*(?:=\s*([\s\S]*?))?\s*$/.exec(part);
      if (mm) {
        const d: Decl = { name: mm[2]!, header, pos: bodyStart + offset + mm[1]!.length, kind: "enum", enumIndex: enums.length };
        const value = mm[3]?.trim().replace(/^\((.*)\)$/, "$1").trim();
        if (value && IDENT.test(value)) d.aliasOf = value;
        members.push(d);
      }
      offset += part.length + 1;
    }
    enums.push({ tag: m[1], members });
    decls.push(...members);
  }

  // struct NAME { fields };  (flat structs only; nested braces are skipped)
  const structs = new Map<string, string[]>();
  for (const m of code.matchAll(/\bstruct\s+([A-Za-z_]\w*)\s*\{([^{}]*)\}/g)) {
    const fields: string[] = [];
    for (const raw of m[2]!.split(";")) {
      // `__u64 cpu_count __attribute__((aligned(8)))` (struct taskstats): the name is before the attribute
      const decl = raw.replace(/__attribute__\s*\(\(.*?\)\)\s*$/, "").trim();
      const fm = /([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*(?::\s*\w+\s*)?$/.exec(decl);
      if (fm && decl.split(/\s+/).length > 1) fields.push(fm[1]!);
    }
    structs.set(m[1]!, fields);
  }

  decls.sort((a, b) => a.pos - b.pos);
  return { decls, enums, structs };
}

// ---------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------

interface Candidate {
  name: string;
  order: number;
  aliasOf?: string;
}

function selectGroup(g: GroupSpec, scan: (h: string) => ScannedHeader): Candidate[] {
  if (g.names) return g.names.map((name, order) => ({ name, order }));
  const out: Candidate[] = [];
  const seen = new Set<string>();
  g.headers.forEach((header, hi) => {
    const sh = scan(header);
    let pool: Decl[] = sh.decls;
    if (g.enumFirst !== undefined || g.enumTag !== undefined) {
      const e = sh.enums.find((en) =>
        g.enumTag !== undefined ? en.tag === g.enumTag : en.members[0]?.name === g.enumFirst);
      pool = e ? e.members : [];
    }
    if (g.definesOnly) pool = pool.filter((d) => d.kind === "define");
    const posOf = (n: string) => sh.decls.find((d) => d.name === n)?.pos;
    const fromPos = g.from !== undefined ? posOf(g.from) ?? Infinity : -Infinity;
    const beforePos = g.before !== undefined ? posOf(g.before) ?? Infinity : Infinity;
    for (const d of pool) {
      if (d.name.startsWith("__")) continue; // kernel-internal sentinels (__FOO_MAX)
      if (g.match && !g.match.test(d.name)) continue;
      if (g.exclude && g.exclude.test(d.name)) continue;
      if (d.pos < fromPos || d.pos >= beforePos) continue;
      if (seen.has(d.name)) continue; // `#define X X` after the enum member X
      seen.add(d.name);
      out.push({ name: d.name, order: hi * 1e9 + d.pos, ...(d.aliasOf ? { aliasOf: d.aliasOf } : {}) });
    }
  });
  return out;
}

// ---------------------------------------------------------------------------
// Compile & run
// ---------------------------------------------------------------------------

function findCompiler(): string | undefined {
  for (const cc of ["cc", "gcc", "clang"]) {
    const p = Bun.which(cc);
    if (p) return p;
  }
  return undefined;
}

/** Evaluate C expressions; returns key -> value and the keys the compiler rejected. */
function evaluate(cc: string, includes: string[], entries: [key: string, expr: string][]): { values: Map<string, bigint>; dropped: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "gen-uapi-"));
  try {
    let live = entries.slice();
    const dropped: string[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      const head = [
        "#define _GNU_SOURCE",
        ...includes.map((h) => `#include <${h}>`),
        "struct uapi_ent { const char *key; long long value; };",
        "static const struct uapi_ent uapi_ents[] = {",
      ];
      const firstLine = head.length + 1;
      const lines = [
        ...head,
        ...live.map(([key, expr]) => `\t{ "${key}", (long long)(${expr}) },`),
        "};",
        "int main(void) {",
        "\tfor (unsigned i = 0; i < sizeof uapi_ents / sizeof uapi_ents[0]; i++)",
        "\t\tprintf(\"%s %lld\\n\", uapi_ents[i].key, uapi_ents[i].value);",
        "\treturn 0;",
        "}",
      ];
      const src = join(dir, "uapi.c");
      const exe = join(dir, "uapi");
      writeFileSync(src, lines.join("\n") + "\n");
      const r = Bun.spawnSync([cc, "-std=gnu11", "-o", exe, src], { stderr: "pipe", stdout: "pipe" });
      if (r.exitCode === 0) {
        const run = Bun.spawnSync([exe], { stdout: "pipe", stderr: "pipe" });
        if (run.exitCode !== 0) throw new Error(`generated program failed: ${run.stderr.toString()}`);
        const values = new Map<string, bigint>();
        for (const line of run.stdout.toString().split("\n")) {
          const sp = line.lastIndexOf(" ");
          if (sp > 0) values.set(line.slice(0, sp), BigInt(line.slice(sp + 1)));
        }
        return { values, dropped };
      }
      const stderr = r.stderr.toString();
      const bad = new Set<number>();
      for (const m of stderr.matchAll(/uapi\.c:(\d+):(?:\d+:)?\s*(?:fatal )?error/g)) bad.add(Number(m[1]));
      const badIdx = [...bad].map((l) => l - firstLine).filter((i) => i >= 0 && i < live.length);
      if (badIdx.length === 0 || badIdx.length !== bad.size) throw new Error(`C compile failed outside the value table:\n${stderr}`);
      for (const i of badIdx) dropped.push(live[i]![0]);
      live = live.filter((_, i) => !bad.has(i + firstLine));
    }
    throw new Error("C compile still failing after 10 attempts");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Emit
// ---------------------------------------------------------------------------

interface Const { name: string; value: number; order: number; aliasOf?: string }

const isSingleBit = (v: number) => v > 0 && Number.isInteger(Math.log2(v));
const hex = (v: number) => (v < 0 ? String(v) : "0x" + v.toString(16));
const key = (v: number) => (v < 0 ? JSON.stringify(String(v)) : String(v));

/** Pick the canonical name per value: not _MAX/_BASE, not an alias of another member, first declared. */
function canonical(consts: Const[]): Map<number, string> {
  const names = new Set(consts.map((c) => c.name));
  const rank = (c: Const) => (/_(MAX|BASE)$/.test(c.name) ? 2 : c.aliasOf && names.has(c.aliasOf) ? 1 : 0);
  const best = new Map<number, Const>();
  for (const c of consts) {
    const b = best.get(c.value);
    if (!b || rank(c) < rank(b) || (rank(c) === rank(b) && c.order < b.order)) best.set(c.value, c);
  }
  return new Map([...best].map(([v, c]) => [v, c.name]));
}

function main(): void {
  const outfile = resolve(process.argv[2] ?? "src/uapi/linux.gen.ts");
  const cc = findCompiler();
  if (!cc) {
    console.error("gen-uapi: no C compiler (cc, gcc, clang) found");
    process.exit(2);
  }

  const cache = new Map<string, ScannedHeader>();
  const scan = (h: string) => {
    let s = cache.get(h);
    if (!s) cache.set(h, (s = scanHeader(h)));
    return s;
  };

  const selected = GROUPS.map((g) => ({ g, cands: selectGroup(g, scan) }));

  // Struct fields, found in whichever group header declares them.
  const structFields = new Map<string, string[]>();
  for (const s of STRUCTS) {
    const uapiHeaders = [...new Set(GROUPS.flatMap((g) => g.headers))].filter((h) => h.startsWith("linux/"));
    const hit = uapiHeaders.map((h) => scan(h).structs.get(s)).find((f) => f);
    if (!hit) throw new Error(`struct ${s} not found in the scanned headers`);
    structFields.set(s, hit);
  }
  for (const [s, fields] of LIBC_STRUCTS) structFields.set(s, fields);

  const entries: [string, string][] = [];
  const seenNames = new Set<string>();
  for (const { g, cands } of selected)
    if (!g.alone) for (const c of cands) if (!seenNames.has(c.name)) (seenNames.add(c.name), entries.push([c.name, c.name]));
  for (const [s, fields] of structFields) {
    entries.push([`sizeof:${s}`, `sizeof(struct ${s})`]);
    for (const f of fields) entries.push([`offsetof:${s}.${f}`, `offsetof(struct ${s}, ${f})`]);
    if (FIELD_SIZES.has(s)) for (const f of fields) entries.push([`fieldsize:${s}.${f}`, `sizeof(((struct ${s} *)0)->${f})`]);
  }

  const allHeaders = [...new Set(GROUPS.filter((g) => !g.alone).flatMap((g) => g.headers))];
  const includes = [...new Set([...EXTRA_INCLUDES, ...allHeaders.filter((h) => !h.startsWith("asm-generic/"))])];
  const { values, dropped } = evaluate(cc, includes, entries);
  for (const { g, cands } of selected) {
    if (!g.alone) continue;
    const own = evaluate(cc, ["stddef.h", "stdio.h", ...g.headers], cands.map((c) => [c.name, c.name]));
    for (const [k, v] of own.values) values.set(k, v);
    dropped.push(...own.dropped);
  }
  for (const d of dropped) console.error(`gen-uapi: dropped ${d} (not an integer constant here)`);

  const toNum = (v: bigint) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`value ${v} not a safe integer`);
    return Number(v);
  };

  const machine = Bun.spawnSync([cc, "-dumpmachine"], { stdout: "pipe" }).stdout.toString().trim();
  const modules = [...new Set(["linux", ...GROUPS.map((g) => g.module ?? "linux")])];
  const exported = new Set<string>();
  for (const mod of modules) {
    const groups = selected.filter(({ g }) => (g.module ?? "linux") === mod);
    const structs = [...structFields].filter(([st]) => (STRUCT_MODULE[st] ?? "linux") === mod);
    const headers = [...new Set(groups.flatMap(({ g }) => g.headers))];
    const out: string[] = [];
    out.push(
      "// GENERATED FILE — DO NOT EDIT.",
      "// Generated by scripts/gen-uapi.ts from these headers in /usr/include:",
      ...headers.map((h) => `//   <${h}>${groups.some(({ g }) => g.alone && g.headers.includes(h)) ? " (in a C program of its own)" : ""}`),
      `// (compiled together with ${EXTRA_INCLUDES.map((h) => `<${h}>`).join(", ")}).`,
      `// Values were printed by a C program compiled for ${machine}.`,
      "// Regenerate with: node_modules/.bin/bun scripts/gen-uapi.ts",
      "",
      "/* eslint-disable */",
      "",
    );

    const groupConsts: { g: GroupSpec; consts: Const[] }[] = [];
    for (const { g, cands } of groups) {
      const consts: Const[] = [];
      for (const c of cands) {
        const v = values.get(c.name);
        if (v === undefined) continue;
        consts.push({ name: c.name, value: toNum(v), order: c.order, ...(c.aliasOf ? { aliasOf: c.aliasOf } : {}) });
      }
      if (consts.length === 0) console.error(`gen-uapi: group ${g.name} is empty on this machine`);
      groupConsts.push({ g, consts });
      const sorted = consts.slice().sort((a, b) => a.value - b.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      out.push(`// ---- ${g.name} (${g.headers.map((h) => `<${h}>`).join(", ")}) ----`);
      for (const c of sorted) {
        if (exported.has(c.name)) continue;
        exported.add(c.name);
        out.push(`export const ${c.name} = ${g.flags ? hex(c.value) : c.value};`);
      }
      out.push("");
    }

    const reverseGroups = groupConsts.filter(({ g }) => g.reverse !== false);
    if (reverseGroups.length) {
      out.push(
        `export type UapiGroup =\n${reverseGroups.map(({ g }) => `  | ${JSON.stringify(g.name)}`).join("\n")};`,
        "",
        "/** value -> canonical kernel name, per group. */",
        "export const NAMES: { readonly [G in UapiGroup]: Readonly<Record<number, string>> } = {",
      );
      for (const { g, consts } of reverseGroups) {
        const canon = [...canonical(consts)].sort((a, b) => a[0] - b[0]);
        out.push(`  ${g.name}: {`, ...canon.map(([v, n]) => `    ${key(v)}: ${JSON.stringify(n)},`), "  },");
      }
      out.push("};", "");
    }

    const flagGroups = groupConsts.filter(({ g }) => g.flags);
    if (flagGroups.length) {
      out.push(
        `export type UapiFlagGroup =\n${flagGroups.map(({ g }) => `  | ${JSON.stringify(g.name)}`).join("\n")};`,
        "",
        "/** single-bit flags, ascending, canonical name per bit. */",
        "export const FLAGS: { readonly [G in UapiFlagGroup]: ReadonlyArray<readonly [number, string]> } = {",
      );
      for (const { g, consts } of flagGroups) {
        const flagRe = g.flags instanceof RegExp ? g.flags : undefined;
        const bits = consts.filter((c) => isSingleBit(c.value) && (!flagRe || flagRe.test(c.name)));
        const canon = [...canonical(bits)].sort((a, b) => a[0] - b[0]);
        out.push(`  ${g.name}: [`, ...canon.map(([v, n]) => `    [${hex(v)}, ${JSON.stringify(n)}],`), "  ],");
      }
      out.push("};", "");
    }

    if (structs.length) {
      out.push("/** sizeof(struct X) (flexible array members contribute nothing). */", "export const SIZEOF = {");
      for (const [st] of structs) {
        const v = values.get(`sizeof:${st}`);
        if (v !== undefined) out.push(`  ${st}: ${toNum(v)},`);
      }
      out.push("} as const;", "", "/** offsetof(struct X, field), keyed \"X.field\". */", "export const OFFSETOF = {");
      for (const [st, fields] of structs) {
        for (const f of fields) {
          const v = values.get(`offsetof:${st}.${f}`);
          if (v !== undefined) out.push(`  ${JSON.stringify(`${st}.${f}`)}: ${toNum(v)},`);
        }
      }
      out.push("} as const;", "");
      const sized = structs.filter(([st]) => FIELD_SIZES.has(st));
      if (sized.length) {
        out.push("/** sizeof(struct X.field), keyed \"X.field\", for the structs in FIELD_SIZES. */", "export const FIELDSIZE = {");
        for (const [st, fields] of sized) {
          for (const f of fields) {
            const v = values.get(`fieldsize:${st}.${f}`);
            if (v !== undefined) out.push(`  ${JSON.stringify(`${st}.${f}`)}: ${toNum(v)},`);
          }
        }
        out.push("} as const;", "");
      }
    }

    const file = mod === "linux" ? outfile : join(dirname(outfile), `${mod}.gen.ts`);
    writeFileSync(file, out.join("\n"));
    console.error(`gen-uapi: wrote ${file} (${groupConsts.reduce((n, x) => n + x.consts.length, 0)} constants, ${groupConsts.length} groups, ${structs.length} structs)`);
  }
}

main();
