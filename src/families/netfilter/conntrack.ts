/**
 * ctnetlink: NETLINK_NETFILTER messages of the connection tracking subsystems. Events
 * (NFNLGRP_CONNTRACK_*) and dump replies are both IPCTNL_MSG_CT_NEW (or _DELETE for a destroyed
 * entry); the header's flags tell a dump reply (NLM_F_MULTI) from an event, and a new entry
 * (NLM_F_CREATE|NLM_F_EXCL) from an update, the way libnetfilter_conntrack tells them apart.
 * Bodies are described in event/conntrack-model.ts.
 */
import type { ConntrackBody, ConntrackEvent, ConntrackExpectBody } from "../../event/conntrack-model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { NlMsgHeader } from "../../codec/nlmsg.ts";
import { AttrReader } from "../../codec/reader.ts";
import { hex } from "../../codec/format.ts";
import { dumpRequest } from "../../codec/request.ts";
import { flagsToNames, shortNames } from "../../decode/names.ts";
import { AF_UNSPEC, NLM_F_CREATE, NLM_F_EXCL, NLM_F_MULTI } from "../../uapi/linux.gen.ts";
import {
  CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY, CTA_HELP, CTA_ID, CTA_LABELS, CTA_MARK, CTA_NAT_SEQ_ADJ_ORIG,
  CTA_NAT_SEQ_ADJ_REPLY, CTA_PROTOINFO, CTA_SECCTX, CTA_SECMARK, CTA_STATUS, CTA_SYNPROXY, CTA_TIMEOUT,
  CTA_TIMESTAMP, CTA_TUPLE_MASTER, CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_USE, CTA_ZONE, IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_NEW, IPCTNL_MSG_EXP_DELETE, IPCTNL_MSG_EXP_NEW, IPS_SEEN_REPLY_BIT, NAMES,
  NFNETLINK_V0, NFNL_SUBSYS_CTNETLINK, NFNL_SUBSYS_CTNETLINK_EXP, OFFSETOF, SIZEOF,
} from "../../uapi/netfilter.gen.ts";
import { readExpect } from "./conntrack-expect.ts";
import {
  readCounters, readHelp, readProtoinfo, readSecctx, readSeqAdj, readSynproxy, readTimestamp,
} from "./conntrack-info.ts";
import { protoName, readTuple, readTupleWithProto, reportErr } from "./conntrack-tuple.ts";

const FAMILY_NAMES = shortNames(NAMES.nfproto, "NFPROTO_");

/** IPS_*_BIT as masks with conntrack's words: the header names bit numbers, the wire carries a mask */
const STATUS_BITS: (readonly [number, string])[] = Object.entries(NAMES.ips)
  .map(([bit, name]) => [2 ** Number(bit), name.replace(/^IPS_/, "").replace(/_BIT$/, "")] as const)
  .sort((a, b) => a[0] - b[0]);
const SEEN_REPLY = 2 ** IPS_SEEN_REPLY_BIT;

const O_FAMILY = OFFSETOF["nfgenmsg.nfgen_family"];
const O_VERSION = OFFSETOF["nfgenmsg.version"];

/** "new" | "update" | "destroy" for an event; undefined for a dump reply or a message of another kind. */
export function conntrackEventName(hdr: NlMsgHeader): ConntrackEvent | undefined {
  if (hdr.flags & NLM_F_MULTI) return undefined;
  const subsys = hdr.type >> 8;
  const msg = hdr.type & 0xff;
  let isNew: boolean, isDelete: boolean;
  if (subsys === NFNL_SUBSYS_CTNETLINK) {
    isNew = msg === IPCTNL_MSG_CT_NEW;
    isDelete = msg === IPCTNL_MSG_CT_DELETE;
  } else if (subsys === NFNL_SUBSYS_CTNETLINK_EXP) {
    isNew = msg === IPCTNL_MSG_EXP_NEW;
    isDelete = msg === IPCTNL_MSG_EXP_DELETE;
  } else return undefined;
  // either flag, as conntrack-tools tests it; the kernel sets both on a new entry and neither on an update
  if (isNew) return hdr.flags & (NLM_F_CREATE | NLM_F_EXCL) ? "new" : "update";
  return isDelete ? "destroy" : undefined;
}

/** The whole table, every family: IPCTNL_MSG_CT_GET with NLM_F_DUMP. */
export function conntrackDumpRequest(seq = 0): Uint8Array {
  const body = new Uint8Array(SIZEOF.nfgenmsg);
  body[O_FAMILY] = AF_UNSPEC;
  body[O_VERSION] = NFNETLINK_V0;
  // res_id stays 0: a conntrack dump is not split by resource
  return dumpRequest((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET, body, seq);
}

function readEntry(r: AttrReader, body: ConntrackBody, ctx: DecodeContext) {
  while (r.next()) {
    switch (r.type) {
      case CTA_TUPLE_ORIG: case CTA_TUPLE_REPLY: {
        const t = readTuple(r, ctx);
        // the protocol is the entry's, shown once; the original tuple's wins
        if (t.protonum >= 0 && (body.protonum === undefined || r.type === CTA_TUPLE_ORIG)) {
          body.proto = protoName(t.protonum);
          body.protonum = t.protonum;
        }
        // counters may have come first and opened the tuple's object; keep them
        const dir = r.type === CTA_TUPLE_ORIG ? "original" : "reply";
        const prev = body[dir];
        body[dir] = prev ? { ...t.tuple, ...prev } : t.tuple;
        break;
      }
      case CTA_COUNTERS_ORIG: readCounters(r, (body.original ??= {}), ctx); break;
      case CTA_COUNTERS_REPLY: readCounters(r, (body.reply ??= {}), ctx); break;
      case CTA_STATUS: {
        const s = r.be32();
        body.status_raw = s;
        body.status = flagsToNames(s, STATUS_BITS);
        if (!(s & SEEN_REPLY)) body.status.push("UNREPLIED");
        break;
      }
      case CTA_PROTOINFO: readProtoinfo(r, body, ctx); break;
      case CTA_TIMEOUT: body.timeout = r.be32(); break;
      case CTA_MARK: body.mark = r.be32(); break;
      case CTA_ZONE: body.zone = r.be16(); break;
      case CTA_USE: body.use = r.be32(); break;
      case CTA_ID: body.id = r.be32(); break;
      case CTA_LABELS: body.labels = hex(r.bytes()); break;
      case CTA_SECMARK: body.secmark = r.be32(); break;
      case CTA_SECCTX: readSecctx(r, body, ctx); break;
      case CTA_HELP: readHelp(r, body, ctx); break;
      case CTA_TIMESTAMP: readTimestamp(r, body, ctx); break;
      case CTA_TUPLE_MASTER: body.master = readTupleWithProto(r, ctx); break;
      case CTA_NAT_SEQ_ADJ_ORIG: (body.seq_adj ??= {}).original = readSeqAdj(r, ctx); break;
      case CTA_NAT_SEQ_ADJ_REPLY: (body.seq_adj ??= {}).reply = readSeqAdj(r, ctx); break;
      case CTA_SYNPROXY: readSynproxy(r, body, ctx); break;
      default: ctx.unknownAttr("conntrack", r.type);
    }
  }
}

/**
 * One ctnetlink message's body, [off, end) after the nlmsghdr. undefined for message types that
 * carry no entry (statistics replies, requests) and for a body too short for its nfgenmsg.
 */
export function decodeConntrack(hdr: NlMsgHeader, dv: DataView, off: number, end: number,
  ctx: DecodeContext): ConntrackBody | ConntrackExpectBody | undefined {
  const subsys = hdr.type >> 8;
  const msg = hdr.type & 0xff;
  let expect: boolean;
  if (subsys === NFNL_SUBSYS_CTNETLINK && (msg === IPCTNL_MSG_CT_NEW || msg === IPCTNL_MSG_CT_DELETE)) expect = false;
  else if (subsys === NFNL_SUBSYS_CTNETLINK_EXP && (msg === IPCTNL_MSG_EXP_NEW || msg === IPCTNL_MSG_EXP_DELETE)) expect = true;
  else return undefined;
  if (end - off < SIZEOF.nfgenmsg) {
    ctx.error("truncated", `conntrack: ${Math.max(0, end - off)} bytes, nfgenmsg needs ${SIZEOF.nfgenmsg}`);
    return undefined;
  }
  const familyNum = dv.getUint8(off + O_FAMILY);
  const family = FAMILY_NAMES[familyNum] ?? String(familyNum);
  const event = conntrackEventName(hdr);
  // a dump reply has no event key at all, rather than an undefined one
  const body: ConntrackBody | ConntrackExpectBody = event
    ? { event, family, family_num: familyNum }
    : { family, family_num: familyNum };
  const r = new AttrReader(dv, off + SIZEOF.nfgenmsg, end);
  if (expect) readExpect(r, body as ConntrackExpectBody, ctx);
  else readEntry(r, body as ConntrackBody, ctx);
  reportErr(r, expect ? "expect" : "entry", ctx);
  return body;
}
