/**
 * A netlink message as a tree the fuzzer can change and write back with consistent lengths, so
 * a mutation reaches the decoder it aims at instead of failing at the outer framing. Knows no
 * family: the fixed header's size and which attributes are nests are guessed from the bytes (a
 * region that walks exactly as attributes is taken for attributes).
 */
import { NLA_HDRLEN, nlaAlign } from "../../src/codec/attr.ts";
import { NLMSG_HDRLEN } from "../../src/codec/nlmsg.ts";
import { OFFSETOF } from "../../src/uapi/linux.gen.ts";

export interface Attr {
  /** nla_type as written, flag bits included */
  type: number;
  payload: Uint8Array;
  /** set when the payload reads as attributes: written from these instead of payload */
  kids?: Attr[];
}

export interface Msg {
  /** nlmsghdr; nlmsg_len is rewritten */
  hdr: Uint8Array;
  fixed: Uint8Array;
  attrs: Attr[];
}

/** attribute nesting the parser follows; deeper payloads stay bytes */
const MAX_PARSE_DEPTH = 8;
/** largest fixed header looked for in front of the attributes */
const MAX_FIXED = 64;

function dv(b: Uint8Array) {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Attributes filling b[start, end) exactly, or undefined. */
function parseAttrs(b: Uint8Array, start: number, end: number, depth: number): Attr[] | undefined {
  const v = dv(b);
  const out: Attr[] = [];
  let o = start;
  while (o < end) {
    if (end - o < NLA_HDRLEN) return undefined;
    const len = v.getUint16(o + OFFSETOF["nlattr.nla_len"], true);
    if (len < NLA_HDRLEN || len > end - o) return undefined;
    const payload = b.subarray(o + NLA_HDRLEN, o + len);
    const a: Attr = { type: v.getUint16(o + OFFSETOF["nlattr.nla_type"], true), payload };
    if (depth < MAX_PARSE_DEPTH && payload.length >= NLA_HDRLEN) {
      const kids = parseAttrs(payload, 0, payload.length, depth + 1);
      if (kids?.length) a.kids = kids;
    }
    out.push(a);
    o += Math.min(nlaAlign(len), end - o);
  }
  return out;
}

/** One message (at least a header) as a tree. */
export function parseMsg(m: Uint8Array): Msg {
  const hdr = m.slice(0, NLMSG_HDRLEN);
  const body = m.subarray(NLMSG_HDRLEN);
  for (let h = 0; h <= Math.min(body.length, MAX_FIXED); h += 4) {
    const attrs = h === body.length ? [] : parseAttrs(body, h, body.length, 0);
    if (attrs) return { hdr, fixed: body.slice(0, h), attrs };
  }
  return { hdr, fixed: body.slice(), attrs: [] };
}

function attrSize(a: Attr): number {
  return nlaAlign(NLA_HDRLEN + payloadSize(a));
}

function payloadSize(a: Attr): number {
  if (!a.kids) return a.payload.length;
  let n = 0;
  for (const k of a.kids) n += attrSize(k);
  return n;
}

function writeAttrs(attrs: Attr[], out: Uint8Array, o: number): number {
  const v = dv(out);
  for (const a of attrs) {
    const size = payloadSize(a);
    // nla_len is 16 bits: an oversized nest is written with a wrapped length, which is a mutation too
    v.setUint16(o + OFFSETOF["nlattr.nla_len"], (NLA_HDRLEN + size) & 0xffff, true);
    v.setUint16(o + OFFSETOF["nlattr.nla_type"], a.type & 0xffff, true);
    if (a.kids) writeAttrs(a.kids, out, o + NLA_HDRLEN);
    else out.set(a.payload, o + NLA_HDRLEN);
    o += nlaAlign(NLA_HDRLEN + size);
  }
  return o;
}

/** The message's bytes with every length made to fit. */
export function writeMsg(m: Msg): Uint8Array {
  let n = NLMSG_HDRLEN + nlaAlign(m.fixed.length);
  for (const a of m.attrs) n += attrSize(a);
  const out = new Uint8Array(n);
  out.set(m.hdr);
  out.set(m.fixed, NLMSG_HDRLEN);
  writeAttrs(m.attrs, out, NLMSG_HDRLEN + nlaAlign(m.fixed.length));
  dv(out).setUint32(OFFSETOF["nlmsghdr.nlmsg_len"], n, true);
  return out;
}

/** Every attribute of the tree with the list holding it, depth first. */
export function allAttrs(attrs: Attr[], out: { list: Attr[]; at: number; depth: number }[] = [], depth = 0) {
  attrs.forEach((a, at) => {
    out.push({ list: attrs, at, depth });
    if (a.kids) allAttrs(a.kids, out, depth + 1);
  });
  return out;
}
