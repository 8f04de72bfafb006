/**
 * The nested sets of a conntrack entry beyond its tuples: protocol state, counters, timestamps,
 * sequence adjustment, synproxy, helper and security context. Network byte order throughout.
 */
import type {
  ConntrackBody, ConntrackSeqAdj, ConntrackTcpInfo, ConntrackTuple,
} from "../../event/conntrack-model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { AttrReader } from "../../codec/reader.ts";
import { hex } from "../../codec/format.ts";
import { flagsToNames, shortNames } from "../../decode/names.ts";
import {
  CTA_COUNTERS32_BYTES, CTA_COUNTERS32_PACKETS, CTA_COUNTERS_BYTES, CTA_COUNTERS_PACKETS, CTA_COUNTERS_PAD,
  CTA_HELP_INFO, CTA_HELP_NAME, CTA_PROTOINFO_DCCP, CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ, CTA_PROTOINFO_DCCP_PAD,
  CTA_PROTOINFO_DCCP_ROLE, CTA_PROTOINFO_DCCP_STATE, CTA_PROTOINFO_SCTP, CTA_PROTOINFO_SCTP_STATE,
  CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, CTA_PROTOINFO_SCTP_VTAG_REPLY, CTA_PROTOINFO_TCP, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL,
  CTA_PROTOINFO_TCP_FLAGS_REPLY, CTA_PROTOINFO_TCP_STATE, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL,
  CTA_PROTOINFO_TCP_WSCALE_REPLY, CTA_SECCTX_NAME, CTA_SEQADJ_CORRECTION_POS, CTA_SEQADJ_OFFSET_AFTER,
  CTA_SEQADJ_OFFSET_BEFORE, CTA_SYNPROXY_ISN, CTA_SYNPROXY_ITS, CTA_SYNPROXY_TSOFF, CTA_TIMESTAMP_PAD,
  CTA_TIMESTAMP_START, CTA_TIMESTAMP_STOP, FLAGS, NAMES, TCP_CONNTRACK_LISTEN, TCP_CONNTRACK_MAX,
} from "../../uapi/netfilter.gen.ts";
import { reportErr } from "./conntrack-tuple.ts";

/** SCTP states as conntrack prints them (CLOSED, COOKIE_WAIT, ESTABLISHED, ...) */
const SCTP_STATES = Object.fromEntries(Object.entries(shortNames(NAMES.sctp_conntrack, "SCTP_CONNTRACK_")).map(([k, v]) => [k, v.toUpperCase()]));

const TCP_STATES: Record<number, string> = {};
for (const [v, name] of Object.entries(NAMES.tcp_conntrack)) {
  // values from TCP_CONNTRACK_MAX up are the kernel's timeout-table slots, never a connection's state
  if (Number(v) < TCP_CONNTRACK_MAX) TCP_STATES[Number(v)] = name.slice("TCP_CONNTRACK_".length);
}
// the header keeps LISTEN as an obsolete name and #defines SYN_SENT2 onto it (simultaneous open);
// SYN_SENT2 is what the kernel means by it and what conntrack prints
TCP_STATES[TCP_CONNTRACK_LISTEN] = "SYN_SENT2";

const TCP_FLAGS = FLAGS.ip_ct_tcp_flag.map(([bit, name]) => [bit, name.slice("IP_CT_TCP_FLAG_".length).toLowerCase()] as const);

export function tcpStateName(n: number): string {
  return TCP_STATES[n] ?? String(n);
}

function readTcp(r: AttrReader, body: ConntrackBody, ctx: DecodeContext) {
  const tcp: ConntrackTcpInfo = {};
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_PROTOINFO_TCP_STATE:
        body.state_num = n.u8();
        body.state = tcpStateName(body.state_num);
        break;
      case CTA_PROTOINFO_TCP_WSCALE_ORIGINAL: tcp.wscale_original = n.u8(); break;
      case CTA_PROTOINFO_TCP_WSCALE_REPLY: tcp.wscale_reply = n.u8(); break;
      // struct nf_ct_tcp_flags { flags, mask }: the kernel reports the flags with an empty mask, so
      // only the first byte carries anything
      case CTA_PROTOINFO_TCP_FLAGS_ORIGINAL:
        tcp.flags_original_raw = n.u8();
        tcp.flags_original = flagsToNames(tcp.flags_original_raw, TCP_FLAGS);
        break;
      case CTA_PROTOINFO_TCP_FLAGS_REPLY:
        tcp.flags_reply_raw = n.u8();
        tcp.flags_reply = flagsToNames(tcp.flags_reply_raw, TCP_FLAGS);
        break;
      default: ctx.unknownAttr("conntrack.tcp", n.type);
    }
  }
  reportErr(n, "protoinfo tcp", ctx);
  // a destroy event's set may hold the state alone
  if (Object.keys(tcp).length) body.tcp = tcp;
}

function readSctp(r: AttrReader, body: ConntrackBody, ctx: DecodeContext) {
  const sctp: NonNullable<ConntrackBody["sctp"]> = {};
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_PROTOINFO_SCTP_STATE: {
        body.state_num = n.u8();
        const name = SCTP_STATES[body.state_num];
        if (name) body.state = name;
        break;
      }
      case CTA_PROTOINFO_SCTP_VTAG_ORIGINAL: sctp.vtag_original = n.be32(); break;
      case CTA_PROTOINFO_SCTP_VTAG_REPLY: sctp.vtag_reply = n.be32(); break;
      default: ctx.unknownAttr("conntrack.sctp", n.type);
    }
  }
  reportErr(n, "protoinfo sctp", ctx);
  if (Object.keys(sctp).length) body.sctp = sctp;
}

function readDccp(r: AttrReader, body: ConntrackBody, ctx: DecodeContext) {
  const dccp: NonNullable<ConntrackBody["dccp"]> = {};
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_PROTOINFO_DCCP_STATE: body.state_num = n.u8(); break;
      case CTA_PROTOINFO_DCCP_ROLE: dccp.role = n.u8(); break;
      case CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ: dccp.handshake_seq = n.be64(); break;
      case CTA_PROTOINFO_DCCP_PAD: break;
      default: ctx.unknownAttr("conntrack.dccp", n.type);
    }
  }
  reportErr(n, "protoinfo dccp", ctx);
  if (Object.keys(dccp).length) body.dccp = dccp;
}

export function readProtoinfo(r: AttrReader, body: ConntrackBody, ctx: DecodeContext): void {
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_PROTOINFO_TCP: readTcp(n, body, ctx); break;
      case CTA_PROTOINFO_SCTP: readSctp(n, body, ctx); break;
      case CTA_PROTOINFO_DCCP: readDccp(n, body, ctx); break;
      default: ctx.unknownAttr("conntrack.protoinfo", n.type);
    }
  }
  reportErr(n, "protoinfo", ctx);
}

/** CTA_COUNTERS_ORIG/REPLY into the tuple of that direction */
export function readCounters(r: AttrReader, into: ConntrackTuple, ctx: DecodeContext): void {
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_COUNTERS_PACKETS: into.packets = n.be64(); break;
      case CTA_COUNTERS_BYTES: into.bytes = n.be64(); break;
      // older kernels sent 32-bit counters; today's send the 64-bit ones
      case CTA_COUNTERS32_PACKETS: into.packets = n.be32(); break;
      case CTA_COUNTERS32_BYTES: into.bytes = n.be32(); break;
      case CTA_COUNTERS_PAD: break;
      default: ctx.unknownAttr("conntrack.counters", n.type);
    }
  }
  reportErr(n, "counters", ctx);
}

const NS_PER_S = 1000000000n;

export function readTimestamp(r: AttrReader, body: ConntrackBody, ctx: DecodeContext): void {
  const ts: NonNullable<ConntrackBody["timestamp"]> = {};
  let start: bigint | undefined, stop: bigint | undefined;
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_TIMESTAMP_START:
        ts.start = n.be64();
        if (n.len >= 8) start = n.dv.getBigUint64(n.off, false);
        break;
      case CTA_TIMESTAMP_STOP:
        ts.stop = n.be64();
        if (n.len >= 8) stop = n.dv.getBigUint64(n.off, false);
        break;
      case CTA_TIMESTAMP_PAD: break;
      default: ctx.unknownAttr("conntrack.timestamp", n.type);
    }
  }
  reportErr(n, "timestamp", ctx);
  body.timestamp = ts;
  // conntrack's delta-time is the difference of the whole seconds of stop and start, not the
  // whole seconds of the difference (0.4 s across a second boundary is 1): the same here
  if (start !== undefined && stop !== undefined && stop >= start) body.delta_time = Number(stop / NS_PER_S - start / NS_PER_S);
}

export function readSeqAdj(r: AttrReader, ctx: DecodeContext): ConntrackSeqAdj {
  const s: ConntrackSeqAdj = {};
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_SEQADJ_CORRECTION_POS: s.correction_pos = n.be32(); break;
      // the offsets are signed in the kernel (struct nf_ct_seqadj) and sent as their 32 bits
      case CTA_SEQADJ_OFFSET_BEFORE: s.offset_before = n.be32() | 0; break;
      case CTA_SEQADJ_OFFSET_AFTER: s.offset_after = n.be32() | 0; break;
      default: ctx.unknownAttr("conntrack.seq_adj", n.type);
    }
  }
  reportErr(n, "seq_adj", ctx);
  return s;
}

export function readSynproxy(r: AttrReader, body: ConntrackBody, ctx: DecodeContext): void {
  const s: NonNullable<ConntrackBody["synproxy"]> = {};
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_SYNPROXY_ISN: s.isn = n.be32(); break;
      case CTA_SYNPROXY_ITS: s.its = n.be32(); break;
      case CTA_SYNPROXY_TSOFF: s.tsoff = n.be32(); break;
      default: ctx.unknownAttr("conntrack.synproxy", n.type);
    }
  }
  reportErr(n, "synproxy", ctx);
  body.synproxy = s;
}

export function readHelp(r: AttrReader, body: ConntrackBody, ctx: DecodeContext): void {
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_HELP_NAME: body.helper = n.string(); break;
      case CTA_HELP_INFO: body.helper_info = hex(n.bytes()); break;
      default: ctx.unknownAttr("conntrack.help", n.type);
    }
  }
  reportErr(n, "help", ctx);
}

export function readSecctx(r: AttrReader, body: ConntrackBody, ctx: DecodeContext): void {
  const n = r.nest();
  while (n.next()) {
    if (n.type === CTA_SECCTX_NAME) body.secctx = n.string();
    else ctx.unknownAttr("conntrack.secctx", n.type);
  }
  reportErr(n, "secctx", ctx);
}
