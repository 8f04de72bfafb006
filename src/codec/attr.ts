/**
 * Netlink attributes (struct nlattr): a callback walk over the one reader (reader.ts), and a
 * builder for requests. The walk never throws: a bad length stops it and is reported once.
 */
import { NLA_ALIGNTO, NLA_F_NESTED, OFFSETOF, SIZEOF } from "../uapi/linux.gen.ts";
import { AttrReader } from "./reader.ts";

export const NLA_HDRLEN = SIZEOF.nlattr;
const O_LEN = OFFSETOF["nlattr.nla_len"];
const O_TYPE = OFFSETOF["nlattr.nla_type"];

export function nlaAlign(n: number): number {
  return (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}

export interface AttrVisitor {
  /** payload spans [off, off+len) */
  (type: number, off: number, len: number, nested: boolean, netByteOrder: boolean): void;
}

/**
 * Walk attributes in [start, end). Returns the offset of the first malformed attribute, or -1
 * if the region was consumed exactly (trailing bytes shorter than a header count as malformed).
 */
export function walkAttrs(dv: DataView, start: number, end: number, visit: AttrVisitor): number {
  const r = new AttrReader(dv, start, end);
  while (r.next()) visit(r.type, r.off, r.len, r.nested, r.netByteOrder);
  return r.badAt;
}

/** Builds attributes for requests. */
export class AttrWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(type: number, payload: Uint8Array) {
    const len = NLA_HDRLEN + payload.length;
    const buf = new Uint8Array(nlaAlign(len));
    const dv = new DataView(buf.buffer);
    dv.setUint16(O_LEN, len, true);
    dv.setUint16(O_TYPE, type, true);
    buf.set(payload, NLA_HDRLEN);
    this.chunks.push(buf);
    this.size += buf.length;
    return this;
  }
  u8(type: number, v: number) { return this.push(type, Uint8Array.of(v)); }
  u16(type: number, v: number) { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v, true); return this.push(type, b); }
  u32(type: number, v: number) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return this.push(type, b); }
  bytes(type: number, v: Uint8Array) { return this.push(type, v); }
  string(type: number, v: string) {
    const enc = new TextEncoder().encode(v);
    const b = new Uint8Array(enc.length + 1);
    b.set(enc);
    return this.push(type, b);
  }
  flag(type: number) { return this.push(type, new Uint8Array(0)); }
  nested(type: number, inner: AttrWriter) { return this.push(type | NLA_F_NESTED, inner.finish()); }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}
