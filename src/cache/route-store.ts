/**
 * Storage for the route cache: every route kept as the bytes the kernel sent for it (rtmsg and its
 * attributes), packed where that can be undone exactly, in one growing arena, found through an
 * open-addressing index on the route's identity. A BGP table of 100k routes then costs less than
 * the size of its messages (a /32 via a gateway: 26 bytes of arena and ~10 of index, 44 sent) and
 * nothing the garbage collector has to trace; a JS Map alone costs ~90 bytes an entry before any
 * key or value (bench/README.md, "route cache memory").
 *
 * Routes that share a prefix identity (table, family, destination, source, tos, priority) hang in
 * one chain off one index slot: a replace drops the whole chain, and IPv4's appended routes and
 * IPv6's per-link device routes sit side by side in it, told apart by their nexthop identity.
 */
import {
  AF_INET6, OFFSETOF, RTA_DST, RTA_GATEWAY, RTA_MULTIPATH, RTA_OIF, RTA_PRIORITY,
  RTA_SRC, RTA_TABLE, RTA_VIA, SIZEOF,
} from "../uapi/linux.gen.ts";
import { AttrReader } from "../codec/reader.ts";

export interface RouteIdent {
  /** table, family, destination, source, tos, priority: what a replace keeps */
  prefix: string;
  /** output interface, gateway or via, multipath: what tells routes under one prefix apart */
  nexthop: string;
  /** has a gateway or nexthops (IPv6 merges such routes into one) */
  viaGateway: boolean;
  family: number;
  table: number;
  protocol: number;
}

const RTM = {
  family: OFFSETOF["rtmsg.rtm_family"], dstLen: OFFSETOF["rtmsg.rtm_dst_len"], srcLen: OFFSETOF["rtmsg.rtm_src_len"],
  tos: OFFSETOF["rtmsg.rtm_tos"], table: OFFSETOF["rtmsg.rtm_table"], protocol: OFFSETOF["rtmsg.rtm_protocol"],
};

function bytesText(b: Uint8Array, off: number, len: number): string {
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(b[off + i]!);
  return s;
}

/**
 * A route's identity from its bytes ([off, end) holds rtmsg and attributes). The same fields the
 * kernel matches a delete or replace on; undefined if the message is too short to have them.
 */
export function routeIdent(b: Uint8Array, off: number, end: number): RouteIdent | undefined {
  if (end - off < SIZEOF.rtmsg) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = b[off + RTM.family]!;
  let table = b[off + RTM.table]!;
  let dst = "", src = "", gw = "", prio = 0, oif = -1, multipath = false;
  // a malformed attribute ends the walk: the identity is what could be read before it
  const r = new AttrReader(dv, off + SIZEOF.rtmsg, end);
  while (r.next()) {
    switch (r.type) {
      case RTA_DST: dst = bytesText(b, r.off, r.len); break;
      case RTA_SRC: src = bytesText(b, r.off, r.len); break;
      case RTA_TABLE: if (r.len >= 4) table = r.u32(); break;
      case RTA_PRIORITY: if (r.len >= 4) prio = r.u32(); break;
      case RTA_OIF: if (r.len >= 4) oif = r.u32(); break;
      case RTA_GATEWAY: gw = "g" + bytesText(b, r.off, r.len); break;
      case RTA_VIA: if (!gw) gw = "v" + bytesText(b, r.off, r.len); break;
      case RTA_MULTIPATH: multipath = true; break;
    }
  }
  const prefix = `${family}|${table}|${b[off + RTM.dstLen]}|${dst}|${b[off + RTM.srcLen]}|${src}|${b[off + RTM.tos]}|${prio}`;
  return {
    prefix, nexthop: `${oif}|${gw}|${multipath ? "m" : ""}`, viaGateway: gw !== "" || multipath,
    family, table, protocol: b[off + RTM.protocol]!,
  };
}

export function isIPv6(id: RouteIdent): boolean {
  return id.family === AF_INET6;
}

function hashText(s: string): number {
  // FNV-1a: short keys, no adversary who controls the kernel's routes can do better than a flood
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A record: u32 next record in the chain (+1; 0 = none), u32 prefix hash, then a LEB128 varint
 * `stored bytes << 2 | packed << 1 | deleted`, then the stored bytes. Records are byte-aligned.
 *
 * Stored bytes are the route's rtmsg and attributes either as sent, or packed (a BGP route's
 * 44 bytes in 17): the number of its rtmsg among the store's distinct ones (Heads: a table's routes
 * share a handful), then per attribute a tag byte (form << 6 | type) followed by a varint of a u32
 * value (form 1) or a length byte and the payload (form 0). Packing applies only where unpacking
 * gives back exactly the bytes sent (types below 64, payloads below 256 bytes, padding zero, the
 * last attribute ending the message, at most 255 distinct rtmsgs); anything else is kept as sent.
 */
const REC_FIXED = 8;
const DEAD = 1;
const PACKED = 2;
const EMPTY = 0;
const TOMBSTONE = -1;
const RTMSG = SIZEOF.rtmsg;

const ARENA_MIN = 1 << 16;
function roundUp(n: number) {
  return Math.ceil(n / ARENA_MIN) * ARENA_MIN;
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** Packed size of b[off, end), or -1 if it cannot be packed exactly. */
function packedSize(b: Uint8Array, off: number, end: number): number {
  if (end - off < RTMSG) return -1;
  let n = 1;
  let p = off + RTMSG;
  while (p < end) {
    if (end - p < 4) return -1;
    const len = u16(b, p);
    const type = u16(b, p + 2);
    const plen = len - 4;
    if (len < 4 || type >= 64 || plen >= 256) return -1;
    const padded = p + ((len + 3) & ~3);
    if (padded > end) return -1;
    for (let i = p + len; i < padded; i++) if (b[i] !== 0) return -1;
    if (plen === 4) {
      const v = u32(b, p + 4);
      n += v < 1 << 21 ? 1 + varintSize(v) : 2 + plen;
    } else n += 2 + plen;
    p = padded;
  }
  return n;
}

export class RouteStore {
  private buf = new Uint8Array(ARENA_MIN);
  private dv = new DataView(this.buf.buffer);
  /** arena bytes written, live or dead */
  private used = 0;
  private deadBytes = 0;
  /** chain heads: record offset + 1; EMPTY or TOMBSTONE otherwise */
  private slots = new Int32Array(1024);
  /** slots that are not EMPTY: a probe stops only at an empty one */
  private filled = 0;
  count = 0;
  /** packed records unpacked: for payload(), and separately for ident() and equals() so neither overwrites what payload() lent */
  private readonly heads = new Heads();
  private readonly lent = new Unpacked(this.heads);
  private readonly forIdent = new Unpacked(this.heads);
  private readonly forEquals = new Unpacked(this.heads);

  /** bytes held: arena and index, for reports */
  get bytes(): number {
    return this.buf.byteLength + this.slots.byteLength;
  }

  private meta(o: number): number {
    const b = this.buf;
    let v = 0, scale = 1, i = o + REC_FIXED;
    for (;;) {
      const c = b[i++]!;
      v += (c & 0x7f) * scale;
      if (c < 0x80) return v;
      scale *= 128;
    }
  }
  /** where the stored bytes of the record at o begin */
  private dataAt(o: number): number {
    let i = o + REC_FIXED;
    while (this.buf[i++]! >= 0x80);
    return i;
  }
  private storedLen(o: number) {
    return Math.floor(this.meta(o) / 4);
  }
  private next(o: number) {
    return this.dv.getUint32(o, true) - 1;
  }
  private setNext(o: number, n: number) {
    this.dv.setUint32(o, n + 1, true);
  }
  private hashAt(o: number) {
    return this.dv.getUint32(o + 4, true);
  }
  private isDead(o: number) {
    return (this.buf[o + REC_FIXED]! & DEAD) !== 0;
  }
  private recordSize(o: number) {
    return this.dataAt(o) - o + this.storedLen(o);
  }

  /** the route's bytes as sent, unpacked into `into` if packed */
  private bytesOf(o: number, into: Unpacked): Uint8Array {
    const m = this.meta(o);
    const at = this.dataAt(o);
    const n = Math.floor(m / 4);
    if (!(m & PACKED)) return this.buf.subarray(at, at + n);
    return into.unpack(this.buf, at, at + n);
  }

  /** the stored bytes of the record at o (a view: valid until the store next changes or lends another) */
  payload(o: number): Uint8Array {
    return this.bytesOf(o, this.lent);
  }
  /** the identity last read, by arena and offset: a lookup reads its chain head's twice (prefix, then nexthop) */
  private identOf: { buf: Uint8Array | undefined; o: number; id: RouteIdent | undefined } = { buf: undefined, o: -1, id: undefined };
  ident(o: number): RouteIdent {
    const m = this.identOf;
    // a record never changes where it stands, and the arena is a new array whenever records move
    if (m.o === o && m.buf === this.buf) return m.id!;
    const p = this.bytesOf(o, this.forIdent);
    m.buf = this.buf;
    m.o = o;
    m.id = routeIdent(p, 0, p.length)!;
    return m.id;
  }
  equals(o: number, b: Uint8Array, off: number, end: number): boolean {
    const p = this.bytesOf(o, this.forEquals);
    const n = p.length;
    if (n !== end - off) return false;
    for (let i = 0; i < n; i++) if (p[i] !== b[off + i]) return false;
    return true;
  }

  /** the index slot of the chain for this prefix, or -1 */
  private chainSlot(prefix: string, hash: number): number {
    const mask = this.slots.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i]!;
      if (s === EMPTY) return -1;
      if (s !== TOMBSTONE && this.hashAt(s - 1) === hash && this.ident(s - 1).prefix === prefix) return i;
    }
  }

  /** the first record of the chain for this prefix, or -1 */
  private head(prefix: string): number {
    const slot = this.chainSlot(prefix, hashText(prefix));
    return slot < 0 ? -1 : this.slots[slot]! - 1;
  }

  /** records under one prefix identity, in insertion order (a copy: safe to remove them while iterating) */
  chain(prefix: string): number[] {
    const out: number[] = [];
    for (let o = this.head(prefix); o >= 0; o = this.next(o)) out.push(o);
    return out;
  }

  /** the record with exactly this identity, or -1 */
  find(id: RouteIdent): number {
    for (let o = this.head(id.prefix); o >= 0; o = this.next(o)) if (this.ident(o).nexthop === id.nexthop) return o;
    return -1;
  }

  /** Store a route (the caller has removed any record with the same identity). Returns its offset. */
  insert(id: RouteIdent, b: Uint8Array, off: number, end: number): number {
    let packed = packedSize(b, off, end);
    const head = packed >= 0 ? this.heads.numberOf(b, off) : -1;
    if (head < 0) packed = -1;
    const n = packed >= 0 ? packed : end - off;
    const meta = n * 4 + (packed >= 0 ? PACKED : 0);
    const size = REC_FIXED + varintSize(meta) + n;
    if (this.used + size > this.buf.length) this.grow(size);
    const o = this.used;
    const hash = hashText(id.prefix);
    this.setNext(o, -1);
    this.dv.setUint32(o + 4, hash, true);
    const w = writeVarint(this.buf, o + REC_FIXED, meta);
    if (packed >= 0) pack(this.buf, w, head, b, off, end);
    else this.buf.set(b.subarray(off, end), w);
    this.used += size;
    this.count++;
    const slot = this.chainSlot(id.prefix, hash);
    if (slot >= 0) {
      let t = this.slots[slot]! - 1;
      while (this.next(t) >= 0) t = this.next(t);
      this.setNext(t, o);
      return o;
    }
    // linear probing stays short up to about 70% full; rehash to at most half full
    if ((this.filled + 1) * 10 > this.slots.length * 7) this.rehash(this.count * 2);
    this.placeHead(this.slots, o, hash);
    return o;
  }

  private placeHead(slots: Int32Array, o: number, hash: number) {
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== EMPTY && slots[i] !== TOMBSTONE) i = (i + 1) & mask;
    if (slots[i] === EMPTY) this.filled++;
    slots[i] = o + 1;
  }

  /** Drop the record at o. */
  remove(o: number): void {
    const id = this.ident(o);
    const slot = this.chainSlot(id.prefix, this.hashAt(o));
    if (slot < 0) throw new Error("route store: record not indexed");
    const head = this.slots[slot]! - 1;
    if (head === o) {
      const nx = this.next(o);
      this.slots[slot] = nx >= 0 ? nx + 1 : TOMBSTONE;
    } else {
      let p = head;
      while (this.next(p) !== o) p = this.next(p);
      this.setNext(p, this.next(o));
    }
    this.buf[o + REC_FIXED] = this.buf[o + REC_FIXED]! | DEAD;
    this.deadBytes += this.recordSize(o);
    this.count--;
  }

  /**
   * Reclaim deleted records once they are half the arena. Moves records: call it only when no
   * offsets are held (removals in a loop over a chain must finish first).
   */
  maybeCompact(): void {
    if (this.deadBytes > 1 << 20 && this.deadBytes * 2 > this.used) this.compact();
  }

  /** every live record, in arena order */
  forEach(f: (o: number) => void): void {
    for (let o = 0; o < this.used; o += this.recordSize(o)) if (!this.isDead(o)) f(o);
  }

  /** arena growth by half: a table built route by route wastes at most a third of it */
  private grow(need: number) {
    let cap = this.buf.length;
    while (cap < this.used + need) cap = roundUp(cap * 1.5);
    this.resize(cap);
  }

  /**
   * Give back what a burst left: compact if anything was deleted, and shrink the arena to its
   * records plus an eighth. For quiet moments (it copies every record).
   */
  trim(): void {
    if (this.deadBytes) this.compact();
    const want = Math.max(ARENA_MIN, roundUp(this.used * 1.0625));
    if (want < this.buf.length) this.resize(want);
  }

  private resize(cap: number) {
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.used));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }

  /** An index of at least `want` slots (a power of two); tombstones go. */
  private rehash(want: number) {
    let cap = 1024;
    while (cap < want) cap *= 2;
    const slots = new Int32Array(cap);
    this.filled = 0;
    for (const s of this.slots) if (s > 0) this.placeHead(slots, s - 1, this.hashAt(s - 1));
    this.slots = slots;
  }

  /** Copy the live records into a fresh arena with room to grow, chain by chain; the index keeps its shape. */
  private compact() {
    const nb = new Uint8Array(Math.max(ARENA_MIN, roundUp((this.used - this.deadBytes) * 1.5)));
    const ndv = new DataView(nb.buffer);
    let w = 0;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      if (s <= 0) continue;
      let prev = -1;
      for (let o = s - 1; o >= 0; o = this.next(o)) {
        const size = this.recordSize(o);
        nb.set(this.buf.subarray(o, o + size), w);
        ndv.setUint32(w, 0, true);
        if (prev >= 0) ndv.setUint32(prev, w + 1, true);
        else this.slots[i] = w + 1;
        prev = w;
        w += size;
      }
    }
    this.buf = nb;
    this.dv = ndv;
    this.used = w;
    this.deadBytes = 0;
  }
}

function writeVarint(b: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    b[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  b[at++] = v;
  return at;
}

/** Pack b[off, end) (packedSize said it can be) into out from `at`; returns the end. */
function pack(out: Uint8Array, at: number, head: number, b: Uint8Array, off: number, end: number): number {
  out[at++] = head;
  let p = off + RTMSG;
  while (p < end) {
    const len = u16(b, p);
    const type = u16(b, p + 2);
    const plen = len - 4;
    const v = plen === 4 ? u32(b, p + 4) : -1;
    if (plen === 4 && v < 1 << 21) {
      out[at++] = 0x40 | type;
      at = writeVarint(out, at, v);
    } else {
      out[at++] = type;
      out[at++] = plen;
      for (let i = 0; i < plen; i++) out[at++] = b[p + 4 + i]!;
    }
    p += (len + 3) & ~3;
  }
  return at;
}

/** The distinct rtmsgs (flags included) of a store's packed routes, by number. */
class Heads {
  readonly list: Uint8Array[] = [];
  private readonly byText = new Map<string, number>();

  /** the number of b[off, off + 12), added if new; -1 if 255 are taken */
  numberOf(b: Uint8Array, off: number): number {
    const t = String.fromCharCode(b[off]!, b[off + 1]!, b[off + 2]!, b[off + 3]!, b[off + 4]!, b[off + 5]!,
      b[off + 6]!, b[off + 7]!, b[off + 8]!, b[off + 9]!, b[off + 10]!, b[off + 11]!);
    let n = this.byText.get(t);
    if (n !== undefined) return n;
    if (this.list.length >= 255) return -1;
    n = this.list.length;
    this.list.push(b.slice(off, off + RTMSG));
    this.byText.set(t, n);
    return n;
  }
}

/** A scratch buffer packed records are unpacked into. */
class Unpacked {
  private buf = new Uint8Array(256);
  private dv = new DataView(this.buf.buffer);

  constructor(private readonly heads: Heads) {}

  /** what was unpacked last, from which arena and offset: records do not change in place */
  private src: Uint8Array | undefined;
  private at = -1;
  private last: Uint8Array | undefined;

  unpack(src: Uint8Array, at: number, end: number): Uint8Array {
    if (src === this.src && at === this.at) return this.last!;
    this.src = src;
    this.at = at;
    this.last = this.unpackAt(src, at, end);
    return this.last;
  }

  private unpackAt(src: Uint8Array, at: number, end: number): Uint8Array {
    // rtmsg, then at most 8 bytes (header and padding) per attribute more than it was stored in
    const need = RTMSG + 8 * (end - at);
    if (this.buf.length < need) {
      this.buf = new Uint8Array(need);
      this.dv = new DataView(this.buf.buffer);
    }
    const out = this.buf;
    const dv = this.dv;
    out.set(this.heads.list[src[at++]!]!, 0);
    let v = 0, scale = 1;
    let w: number = RTMSG;
    while (at < end) {
      const tag = src[at++]!;
      const type = tag & 0x3f;
      if (tag & 0x40) {
        v = 0;
        scale = 1;
        for (;;) {
          const c = src[at++]!;
          v += (c & 0x7f) * scale;
          if (c < 0x80) break;
          scale *= 128;
        }
        dv.setUint16(w, 8, true);
        dv.setUint16(w + 2, type, true);
        dv.setUint32(w + 4, v, true);
        w += 8;
      } else {
        const plen = src[at++]!;
        dv.setUint16(w, plen + 4, true);
        dv.setUint16(w + 2, type, true);
        for (let i = 0; i < plen; i++) out[w + 4 + i] = src[at + i]!;
        at += plen;
        const padded = w + ((plen + 4 + 3) & ~3);
        for (let i = w + 4 + plen; i < padded; i++) out[i] = 0;
        w = padded;
      }
    }
    return out.subarray(0, w);
  }
}
