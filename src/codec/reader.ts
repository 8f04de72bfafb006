/**
 * An attribute reader with typed getters and one deferred error: a loop of `while (r.next())`
 * with a switch on `r.type` reads a whole attribute set without a callback or an object per
 * attribute. A value shorter than its type, or a malformed attribute header, sets `r.err` (the
 * first one is kept) and the getter returns 0 or "", so a decoder checks once at the end.
 */
import { NLA_ALIGNTO, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK, OFFSETOF, SIZEOF } from "../uapi/linux.gen.ts";
import { cstring } from "./format.ts";

const HDR = SIZEOF.nlattr;
const O_LEN = OFFSETOF["nlattr.nla_len"];
const O_TYPE = OFFSETOF["nlattr.nla_type"];

export class AttrReader {
  /** the current attribute: type without flags, payload [off, off + len) */
  type = 0;
  off = 0;
  len = 0;
  nested = false;
  /** NLA_F_NET_BYTEORDER: the sender says the payload is big-endian */
  netByteOrder = false;
  /** the first problem, with the byte offset it was found at */
  err: string | undefined;
  /** where the walk stopped on a malformed attribute header, or -1 */
  badAt = -1;
  private pos: number;

  constructor(public dv: DataView, start: number, private end: number) {
    this.pos = start;
  }

  /** Read attributes of another buffer next: a decoder keeps one reader rather than one per message. */
  use(dv: DataView, start: number, end: number): this {
    this.dv = dv;
    return this.reset(start, end);
  }

  /** Read attributes from [start, end) next: reuses the reader for a nested set. */
  reset(start: number, end: number): this {
    this.pos = start;
    this.end = end;
    this.err = undefined;
    this.badAt = -1;
    return this;
  }

  next(): boolean {
    const p = this.pos;
    if (this.end - p < HDR) {
      // padding of the last attribute may be left out by the sender, so p can pass end
      if (p < this.end) this.malformed(p);
      return false;
    }
    const len = this.dv.getUint16(p + O_LEN, true);
    if (len < HDR || len > this.end - p) {
      this.malformed(p);
      return false;
    }
    const t = this.dv.getUint16(p + O_TYPE, true);
    this.type = t & NLA_TYPE_MASK;
    this.nested = (t & NLA_F_NESTED) !== 0;
    this.netByteOrder = (t & NLA_F_NET_BYTEORDER) !== 0;
    this.off = p + HDR;
    this.len = len - HDR;
    this.pos = p + ((len + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1));
    return true;
  }

  private malformed(p: number) {
    this.badAt = p;
    this.fail(`malformed attribute at byte ${p}`);
  }

  fail(why: string): void {
    this.err ??= why;
  }

  private short(n: number): boolean {
    if (this.len >= n) return false;
    this.fail(`attribute ${this.type} has ${this.len} bytes, needs ${n}`);
    return true;
  }

  u8(): number { return this.short(1) ? 0 : this.dv.getUint8(this.off); }
  s8(): number { return this.short(1) ? 0 : this.dv.getInt8(this.off); }
  // byte order as a constant in each branch: the JIT turns a DataView read with a known order into
  // a load, and one with a variable order into a call
  u16(): number { return this.short(2) ? 0 : this.netByteOrder ? this.dv.getUint16(this.off, false) : this.dv.getUint16(this.off, true); }
  s16(): number { return this.short(2) ? 0 : this.netByteOrder ? this.dv.getInt16(this.off, false) : this.dv.getInt16(this.off, true); }
  u32(): number { return this.short(4) ? 0 : this.netByteOrder ? this.dv.getUint32(this.off, false) : this.dv.getUint32(this.off, true); }
  s32(): number { return this.short(4) ? 0 : this.netByteOrder ? this.dv.getInt32(this.off, false) : this.dv.getInt32(this.off, true); }
  be16(): number { return this.short(2) ? 0 : this.dv.getUint16(this.off, false); }
  be32(): number { return this.short(4) ? 0 : this.dv.getUint32(this.off, false); }
  /** 64-bit values as numbers while exact, as decimal text beyond 2^53 (JSON has no wider integer) */
  u64(bigEndian = false): number | string {
    if (this.short(8)) return 0;
    const v = this.dv.getBigUint64(this.off, !(bigEndian || this.netByteOrder));
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  s64(): number | string {
    if (this.short(8)) return 0;
    const v = this.dv.getBigInt64(this.off, !this.netByteOrder);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  be64(): number | string { return this.u64(true); }
  string(): string { return cstring(this.dv, this.off, this.len); }
  /** the payload's bytes, a view (copy it to keep it past the message) */
  bytes(): Uint8Array { return new Uint8Array(this.dv.buffer, this.dv.byteOffset + this.off, this.len); }
  /** a reader over this attribute's payload, for a nested set */
  nest(): AttrReader { return new AttrReader(this.dv, this.off, this.off + this.len); }
}
