/**
 * nlmsghdr framing: walking the messages of a datagram and building requests.
 * Knows no protocol family; layouts come from the generated UAPI tables.
 */
import { NLMSG_ALIGNTO, OFFSETOF, SIZEOF } from "../uapi/linux.gen.ts";

export const NLMSG_HDRLEN = SIZEOF.nlmsghdr;
const O_LEN = OFFSETOF["nlmsghdr.nlmsg_len"];
const O_TYPE = OFFSETOF["nlmsghdr.nlmsg_type"];
const O_FLAGS = OFFSETOF["nlmsghdr.nlmsg_flags"];
const O_SEQ = OFFSETOF["nlmsghdr.nlmsg_seq"];
const O_PID = OFFSETOF["nlmsghdr.nlmsg_pid"];

export function nlmsgAlign(n: number): number {
  return (n + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

export interface NlMsgHeader {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/** Why a datagram could not be walked to its end. */
export type FramingError = "truncated_header" | "bad_length";

export interface MessageVisitor {
  /** body spans [bodyOff, end) of the datagram's buffer */
  message(hdr: NlMsgHeader, dv: DataView, bodyOff: number, end: number, msgOff: number): void;
  framingError(kind: FramingError, off: number): void;
}

/**
 * Visit each message in buf[start, end). A message whose length runs past the datagram or is
 * shorter than a header stops the walk: what follows cannot be trusted to be aligned. With
 * `scratch`, that one header object is filled for every message (a full table's dump would
 * otherwise leave 100k objects to collect); the visitor copies what it keeps.
 */
export function walkMessages(dv: DataView, start: number, end: number, v: MessageVisitor, scratch?: NlMsgHeader): void {
  let off = start;
  while (off < end) {
    if (end - off < NLMSG_HDRLEN) {
      v.framingError("truncated_header", off);
      return;
    }
    const len = dv.getUint32(off + O_LEN, true);
    if (len < NLMSG_HDRLEN || len > end - off) {
      v.framingError("bad_length", off);
      return;
    }
    let hdr: NlMsgHeader;
    if (scratch) {
      hdr = scratch;
      hdr.len = len;
      hdr.type = dv.getUint16(off + O_TYPE, true);
      hdr.flags = dv.getUint16(off + O_FLAGS, true);
      hdr.seq = dv.getUint32(off + O_SEQ, true);
      hdr.pid = dv.getUint32(off + O_PID, true);
    } else {
      hdr = {
        len,
        type: dv.getUint16(off + O_TYPE, true),
        flags: dv.getUint16(off + O_FLAGS, true),
        seq: dv.getUint32(off + O_SEQ, true),
        pid: dv.getUint32(off + O_PID, true),
      };
    }
    v.message(hdr, dv, off + NLMSG_HDRLEN, off + len, off);
    off += nlmsgAlign(len);
  }
}

/** Read just the header at off; the caller has checked there are NLMSG_HDRLEN bytes. */
export function readHeader(dv: DataView, off: number): NlMsgHeader {
  return {
    len: dv.getUint32(off + O_LEN, true),
    type: dv.getUint16(off + O_TYPE, true),
    flags: dv.getUint16(off + O_FLAGS, true),
    seq: dv.getUint32(off + O_SEQ, true),
    pid: dv.getUint32(off + O_PID, true),
  };
}

/** Build one message: header + body (body already laid out, attributes included). */
export function buildMessage(type: number, flags: number, seq: number, body: Uint8Array, pid = 0): Uint8Array {
  const len = NLMSG_HDRLEN + body.length;
  const out = new Uint8Array(nlmsgAlign(len));
  const dv = new DataView(out.buffer);
  dv.setUint32(O_LEN, len, true);
  dv.setUint16(O_TYPE, type, true);
  dv.setUint16(O_FLAGS, flags, true);
  dv.setUint32(O_SEQ, seq, true);
  dv.setUint32(O_PID, pid, true);
  out.set(body, NLMSG_HDRLEN);
  return out;
}

export function nlmsgSeq(msg: Uint8Array): number {
  return new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getUint32(O_SEQ, true);
}

export function setNlmsgSeq(msg: Uint8Array, seq: number): void {
  new DataView(msg.buffer, msg.byteOffset, msg.byteLength).setUint32(O_SEQ, seq, true);
}
