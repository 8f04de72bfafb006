/**
 * An event's JSON line written as UTF-8 bytes into one reused buffer, for paths where building
 * strings and objects costs more than the kernel's dump itself (--dump-events of a full table).
 * What a writer puts here must be the bytes JSON.stringify gives the same event; the fast-line
 * tests hold every writer to that.
 */
const enc = new TextEncoder();

/** Decimal texts of 0..255, for IPv4 octets and small numbers. */
const SMALL: Uint8Array[] = Array.from({ length: 256 }, (_, i) => enc.encode(String(i)));

export class JsonBytes {
  buf: Buffer = Buffer.alloc(1 << 16);
  pos = 0;
  /** where the line being written began; a full buffer moves only that much into a larger one of its own */
  start = 0;
  /** bytes that may be written up to (a buffer lent by someone else may hold more after) */
  limit = this.buf.length;

  /** Write into b from `at`, up to `limit` (another's buffer: a line that outgrows it moves out). */
  into(b: Buffer, at: number, limit = b.length): void {
    this.buf = b;
    this.pos = this.start = at;
    this.limit = limit;
  }

  private room(n: number): void {
    if (this.pos + n <= this.limit) return;
    const line = this.pos - this.start;
    const grown = Buffer.alloc(Math.max(1 << 16, 2 * (line + n)));
    this.buf.copy(grown, 0, this.start, this.pos);
    this.buf = grown;
    this.start = 0;
    this.pos = line;
    this.limit = grown.length;
  }

  /** bytes made once (a field name with its quotes and colon, a JSON string) */
  raw(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    const buf = this.buf;
    const p = this.pos;
    // TypedArray.set costs more than a loop below a few hundred bytes (measured: 100 ns a call)
    if (n > 256) buf.set(b, p);
    else for (let i = 0; i < n; i++) buf[p + i] = b[i]!;
    this.pos = p + n;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** a non-negative integer below 2^53, as JSON.stringify writes it */
  uint(n: number): void {
    if (n < 256) return this.raw(SMALL[n]!);
    this.room(16);
    let digits = 0;
    for (let m = n; m >= 1; m = Math.floor(m / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    for (let m = n; m >= 1; m = Math.floor(m / 10)) this.buf[--p] = 48 + (m % 10);
  }

  /** dotted-quad IPv4 text of four bytes */
  ipv4(u: Uint8Array, at: number): void {
    this.raw(SMALL[u[at]!]!);
    this.byte(46);
    this.raw(SMALL[u[at + 1]!]!);
    this.byte(46);
    this.raw(SMALL[u[at + 2]!]!);
    this.byte(46);
    this.raw(SMALL[u[at + 3]!]!);
  }

  /** text known to need no JSON escaping (addresses, digits) */
  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
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

export const utf8 = (s: string): Uint8Array => enc.encode(s);
