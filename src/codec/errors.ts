/**
 * NLMSG_ERROR bodies: acks (error 0), errors, and extended acks (NLMSGERR_ATTR_* TLVs after the
 * echoed request, present when the kernel sets NLM_F_ACK_TLVS).
 */
import {
  NAMES, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSGERR_ATTR_MISS_TYPE,
  OFFSETOF, SIZEOF,
} from "../uapi/linux.gen.ts";
import { walkAttrs } from "./attr.ts";
import { cstring } from "./format.ts";
import { NLMSG_HDRLEN, readHeader } from "./nlmsg.ts";

export interface NlError {
  /** negative errno as the kernel sends it; 0 is an ack */
  error: number;
  error_name: string;
  message?: string;
  offset?: number;
  missing_type?: number;
  orig_msg_type?: number;
  orig_seq?: number;
  /** byte offset (in the body) of an extended-ack attribute that could not be read */
  malformed_at?: number;
}

export function errnoName(errno: number): string {
  if (errno === 0) return "OK";
  return (NAMES.errno as Record<number, string>)[Math.abs(errno)] ?? `E${Math.abs(errno)}`;
}

/** Returns undefined when the body is too short to hold struct nlmsgerr. */
export function parseError(dv: DataView, bodyOff: number, end: number, flags: number): NlError | undefined {
  const errOff = OFFSETOF["nlmsgerr.error"];
  const msgOff = OFFSETOF["nlmsgerr.msg"];
  if (end - bodyOff < SIZEOF.nlmsgerr) return undefined;
  const error = dv.getInt32(bodyOff + errOff, true);
  const out: NlError = { error, error_name: errnoName(error) };
  const orig = bodyOff + msgOff;
  const oh = readHeader(dv, orig);
  out.orig_msg_type = oh.type;
  out.orig_seq = oh.seq;
  if (!(flags & NLM_F_ACK_TLVS)) return out;
  // the echoed request is only its header when capped (or on success)
  const origLen = flags & NLM_F_CAPPED || error === 0 ? NLMSG_HDRLEN : oh.len;
  // an echoed length that does not fit leaves nowhere to look for the attributes (and aligning a
  // 32-bit length past 2^31 with `& ~3` would turn it negative)
  if (origLen < NLMSG_HDRLEN || origLen > end - orig) {
    out.malformed_at = msgOff;
    return out;
  }
  const tlvStart = orig + ((origLen + 3) & ~3);
  const bad = walkAttrs(dv, tlvStart, end, (type, off, len) => {
    if (type === NLMSGERR_ATTR_MSG) out.message = cstring(dv, off, len);
    else if (type === NLMSGERR_ATTR_OFFS && len >= 4) out.offset = dv.getUint32(off, true);
    else if (type === NLMSGERR_ATTR_MISS_TYPE && len >= 4) out.missing_type = dv.getUint32(off, true);
  });
  if (bad >= 0) out.malformed_at = bad - bodyOff;
  return out;
}

export function describeError(e: NlError): string {
  let s = `${e.error_name} (${e.error})`;
  if (e.message) s += `: ${e.message}`;
  if (e.offset !== undefined) s += ` at offset ${e.offset}`;
  return s;
}
