/**
 * An event's JSON line written as UTF-8 bytes into one reused buffer, for paths where building
 * strings and objects costs more than the kernel's dump itself (--dump-events of a full table).
 * What a writer puts here must be the bytes JSON.stringify gives the same event; the fast-line
 * tests hold every writer to that.
 */
const enc = new TextEncoder();

/**
 * The writers below take the buffer and a position and return the new position: plain functions
 * over locals, because one-shot runs finish before the JIT has optimised method calls on an
 * object (a full table's lines took twice as long written through JsonBytes' methods).
 */

/**
 * frag into b at p. TypedArray.set costs about 100 ns a call, a loop a few ns a byte before the JIT
 * has optimised it: short pieces are looped, long ones (a line's shared head) set.
 */
export function put(b: Uint8Array, p: number, f: Uint8Array): number {
  const n = f.length;
  if (n > 24) b.set(f, p);
  else for (let i = 0; i < n; i++) b[p + i] = f[i]!;
  return p + n;
}

/** the decimal text of every octet, three bytes a slot, and its length */
const OCTET = new Uint8Array(256 * 3);
const OCTET_LEN = new Uint8Array(256);
for (let v = 0; v < 256; v++) {
  const t = String(v);
  OCTET_LEN[v] = t.length;
  for (let i = 0; i < t.length; i++) OCTET[3 * v + i] = t.charCodeAt(i);
}

function putOctet(b: Uint8Array, p: number, v: number): number {
  const n = OCTET_LEN[v]!;
  const at = 3 * v;
  b[p] = OCTET[at]!;
  if (n > 1) b[p + 1] = OCTET[at + 1]!;
  if (n > 2) b[p + 2] = OCTET[at + 2]!;
  return p + n;
}

/** dotted-quad IPv4 text of u[at, at + 4) */
export function putIPv4(b: Uint8Array, p: number, u: Uint8Array, at: number): number {
  p = putOctet(b, p, u[at]!);
  b[p++] = 46;
  p = putOctet(b, p, u[at + 1]!);
  b[p++] = 46;
  p = putOctet(b, p, u[at + 2]!);
  b[p++] = 46;
  return putOctet(b, p, u[at + 3]!);
}

/** the decimal text of a non-negative integer below 2^53 */
export function putUint(b: Uint8Array, p: number, v: number): number {
  let n = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
  for (let i = p + n - 1; i >= p; i--) {
    const q = Math.floor(v / 10);
    b[i] = 48 + v - q * 10;
    v = q;
  }
  return p + n;
}

/** text known to need no JSON escaping (addresses, digits) */
export function putAscii(b: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[p + i] = s.charCodeAt(i);
  return p + s.length;
}

export class JsonBytes {
  /** grown by room() on first use: a writer that only ever writes into lent buffers needs none */
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  /** where the line being written began; a full buffer moves only that much into a larger one of its own */
  start = 0;
  /** bytes that may be written up to (a buffer lent by someone else may hold more after) */
  limit = this.buf.length;

  /**
   * The line's first bytes, kept by reference while nothing else has been written: pieces every line
   * of a kind begins with (an event's envelope, a body's fixed head). A sorter that holds each line
   * as what it shares with another plus the rest need not have them copied at all.
   */
  lead: Uint8Array | undefined;
  /**
   * The line's last bytes by reference, once a writer has only made pieces left (the part of a
   * route line after its destination is the same for a table's routes); nothing is written into
   * the buffer after a trail has begun.
   */
  trail: Uint8Array | undefined;
  /**
   * Every piece written into the buffer, none held by reference: lines that leave at once (a live
   * event's, to the exports) have no sorter to share their pieces with.
   */
  flat = false;
  private readonly joined = new Map<Uint8Array, Map<Uint8Array, Uint8Array>>();

  /** Write into b from `at`, up to `limit` (another's buffer: a line that outgrows it moves out). */
  into(b: Buffer, at: number, limit = b.length): void {
    this.buf = b;
    this.pos = this.start = at;
    this.limit = limit;
    this.lead = this.trail = undefined;
  }

  /** a and b as one piece, made once per pair */
  join(a: Uint8Array, b: Uint8Array): Uint8Array {
    let m = this.joined.get(a);
    if (!m) this.joined.set(a, (m = new Map()));
    let both = m.get(b);
    if (!both) {
      both = new Uint8Array(a.length + b.length);
      both.set(a);
      both.set(b, a.length);
      m.set(b, both);
    }
    return both;
  }

  // the last pair each end joined: a line joins one at its start and one at its end, and the next
  // line mostly the same two
  private leadA: Uint8Array | undefined;
  private leadB: Uint8Array | undefined;
  private leadAB: Uint8Array | undefined;
  private trailA: Uint8Array | undefined;
  private trailB: Uint8Array | undefined;
  private trailAB: Uint8Array | undefined;

  /** f at the end of the line, by reference */
  trailWith(f: Uint8Array): void {
    if (this.flat) return this.raw(f);
    const t = this.trail;
    if (!t) this.trail = f;
    else if (t === this.trailA && f === this.trailB) this.trail = this.trailAB;
    else {
      this.trailA = t;
      this.trailB = f;
      this.trail = this.trailAB = this.join(t, f);
    }
  }

  /** f as part of the lead while the line is only lead so far, else written */
  leadWith(f: Uint8Array): void {
    if (this.flat) return this.raw(f);
    const l = this.lead;
    if (this.pos !== this.start) this.raw(f);
    else if (!l) this.lead = f;
    else if (l === this.leadA && f === this.leadB) this.lead = this.leadAB;
    else {
      this.leadA = l;
      this.leadB = f;
      this.lead = this.leadAB = this.join(l, f);
    }
  }

  /** the line written so far, lead and trail included, as text (tests, the fuzzer) */
  text(): string {
    const none = new Uint8Array(0);
    return Buffer.concat([this.lead ?? none, this.buf.subarray(this.start, this.pos), this.trail ?? none]).toString("utf8");
  }

  /** room for n more bytes at pos (buf may be another buffer afterwards) */
  room(n: number): void {
    if (this.pos + n <= this.limit) return;
    const line = this.pos - this.start;
    const grown = Buffer.alloc(Math.max(1 << 16, 2 * (line + n)));
    this.buf.copy(grown, 0, this.start, this.pos);
    this.buf = grown;
    this.start = 0;
    this.pos = line;
    this.limit = grown.length;
  }

  raw(f: Uint8Array): void {
    this.room(f.length);
    this.pos = put(this.buf, this.pos, f);
  }
}

/** JSON text made once and kept as bytes, by its source string. */
export class Fragments {
  private readonly m = new Map<string, Uint8Array>();
  get(text: string): Uint8Array {
    let b = this.m.get(text);
    if (!b) this.m.set(text, (b = enc.encode(text)));
    return b;
  }
}
