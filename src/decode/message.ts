/**
 * One netlink message → one event. Control messages (NLMSG_*) are handled here for every family;
 * everything else goes to the family decoder registered for the socket's protocol.
 */
import { parseError } from "../codec/errors.ts";
import { hex } from "../codec/format.ts";
import type { NlMsgHeader } from "../codec/nlmsg.ts";
import type { EventType, NetlinkInfo, NlEvent } from "../event/model.ts";
import { NAMES, NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, NLMSG_NOOP, NLMSG_OVERRUN } from "../uapi/linux.gen.ts";
import type { BasicContext } from "./context.ts";
import type { FamilyDecoder } from "./family.ts";
import { FAMILY_LIST } from "../families/index.ts";

const PROTO_NAMES = NAMES.netlink_protocol as Record<number, string>;
const NLMSG_NAMES = NAMES.nlmsg_type as Record<number, string>;

/** by protocol; a Map so the fuzzer's tests can plant a decoder of their own */
export const FAMILIES = new Map<number, FamilyDecoder>(FAMILY_LIST.map((f) => [f.protocol, f]));

/** events nlmon makes itself (alerts) carry protocol -1: no netlink protocol is 0 or above it */
export function protocolName(p: number): string {
  return PROTO_NAMES[p] ?? (p < 0 ? "nlmon" : `NETLINK_${p}`);
}

export interface DecodeOptions {
  /** leave out what differs between runs of an unchanged system (seq, pid) */
  deterministic?: boolean;
  /** a dump reply's request, where the reply does not say what it is (FamilyDecoder.decode) */
  subject?: string;
}

const LIVE: DecodeOptions = {};

/** Returns null for messages that carry no event (NLMSG_DONE, NLMSG_NOOP). */
export function decodeMessage(protocol: number, hdr: NlMsgHeader, dv: DataView, off: number, end: number,
  ctx: BasicContext, opts: DecodeOptions = LIVE): NlEvent | null {
  if (hdr.type === NLMSG_DONE || hdr.type === NLMSG_NOOP) return null;
  const fam = FAMILIES.get(protocol);
  // emptied, not replaced: a decode is one message, and nothing keeps the list past it
  if (ctx.problems.length) ctx.problems.length = 0;
  let type: EventType = "unknown";
  let msgTypeName: string | undefined;
  let key: string | undefined;
  let body: object | undefined;
  let fromFamily = false;

  if (hdr.type < NLMSG_MIN_TYPE) {
    msgTypeName = NLMSG_NAMES[hdr.type];
    if (hdr.type === NLMSG_ERROR) {
      type = "error";
      key = "error";
      const e = parseError(dv, off, end, hdr.flags);
      if (!e) ctx.error("truncated", `NLMSG_ERROR: ${end - off} bytes`);
      else if (e.malformed_at !== undefined) {
        ctx.error("bad_attr_len", `NLMSG_ERROR: malformed extended ack attribute at byte ${e.malformed_at}`);
        delete e.malformed_at;
      }
      body = e;
    } else if (hdr.type !== NLMSG_OVERRUN) {
      ctx.error("unknown_msg_type", `control message type ${hdr.type}`);
    }
  } else if (fam) {
    msgTypeName = fam.msgTypeName(hdr.type);
    const d = fam.decode(hdr, dv, off, end, ctx, opts.subject);
    if (d) {
      fromFamily = true;
      type = d.type;
      key = d.type;
      body = d.body;
    } else if (msgTypeName === undefined) {
      ctx.error("unknown_msg_type", `${protocolName(protocol)}: message type ${hdr.type}`);
    }
  } else {
    ctx.error("unknown_msg_type", `${protocolName(protocol)}: no decoder`);
  }

  const netlink: NetlinkInfo = {
    protocol,
    protocol_name: protocolName(protocol),
    msg_type: hdr.type,
    msg_type_name: msgTypeName ?? String(hdr.type),
    msg_flags: hdr.flags,
  };
  if (!opts.deterministic) {
    netlink.seq = hdr.seq;
    netlink.pid = hdr.pid;
  }
  if (fromFamily && body) fam?.netlinkFields?.(netlink, hdr, body);
  if (key && body) (netlink as unknown as Record<string, unknown>)[key] = body;
  // timestamp is set later but kept first, so it leads the serialised line (undefined is left out)
  const ev: NlEvent = { timestamp: undefined, type, protocol, msg_type: hdr.type, netlink };
  if (!body && type !== "error") {
    // what could not be decoded is still shown, as bytes, with the reason
    netlink.raw = hex(new Uint8Array(dv.buffer, dv.byteOffset + off, end - off));
    if (ctx.problems.length) ev.decode_error = ctx.problems.join("; ");
    ev.type = "unknown";
  } else if (ctx.problems.length) {
    ev.decode_error = ctx.problems.join("; ");
  }
  return ev;
}
