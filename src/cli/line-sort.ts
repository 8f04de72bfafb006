/**
 * Sorting --dump-events' lines without keeping them all: a full routing table is hundreds of
 * megabytes of JSON (417 MB for 1,000,000 routes). Lines go into one bounded buffer as UTF-8; a
 * full buffer is sorted and written to an unlinked temporary file as a run, and the output is a
 * merge of the runs, so memory is the same for 100,000 routes as for 1,000,000.
 *
 * The order is the one `a < b` gives the lines as JS strings (UTF-16 code units), by group first.
 * Comparing UTF-8 bytes gives the same order except that code points U+E000..U+FFFF (lead bytes
 * 0xEE, 0xEF) sort after supplementary ones (0xF0..0xF4, surrogate pairs in UTF-16): RANK moves
 * those two lead bytes above the others. A line holds no byte below 0x20 (JSON escapes them), so
 * its closing newline sorts below every byte and ends the comparison like the end of a string.
 */
import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const NL = 0x0a;
const RANK = new Uint16Array(256);
for (let b = 0; b < 256; b++) RANK[b] = b;
RANK[0xee] = 0xf5;
RANK[0xef] = 0xf6;

/** -1, 0 or 1 as a's line (at ia in a) sorts before, with or after b's (at ib in b), byte by byte */
function compareBytes(a: Uint8Array, ia: number, b: Uint8Array, ib: number): number {
  for (;;) {
    const x = a[ia++]!;
    const y = b[ib++]!;
    if (x !== y) return RANK[x]! < RANK[y]! ? -1 : 1;
    if (x === NL) return 0;
  }
}

/** whether any of the word's four bytes is a newline */
function hasNewline(w: number): boolean {
  const x = w ^ 0x0a0a0a0a;
  return ((x - 0x01010101) & ~x & 0x80808080) !== 0;
}

/**
 * As compareBytes, four bytes at a time while they are equal (lines of one type share about two
 * hundred). Reads up to three bytes past a line's newline: buffers keep that much to spare.
 */
function compareLines(a: DataView, ia: number, b: DataView, ib: number, ua: Uint8Array, ub: Uint8Array): number {
  for (;;) {
    const x = a.getUint32(ia);
    if (x !== b.getUint32(ib)) return compareBytes(ua, ia, ub, ib);
    if (hasNewline(x)) return 0;
    ia += 4;
    ib += 4;
  }
}

/**
 * How many bytes the lines at ia in a and ib in b share, newline excluded. Every line sorted
 * between two lines shares what they share, so a merge of sorted runs can start comparing there.
 */
function sharedPrefix(a: Uint8Array, ia: number, b: Uint8Array, ib: number): number {
  let n = 0;
  for (;;) {
    const x = a[ia + n]!;
    if (x !== b[ib + n] || x === NL) return n;
    n++;
  }
}

/** Bytes readable past the end of the lines in a buffer, for compareLines and sortWords. */
const SLACK = 4;

/**
 * Multikey quicksort (Bentley and Sedgewick) of line starts: a byte shared by all lines of a
 * partition is looked at once per line, not once per comparison. Over words of four bytes (big
 * endian, so they order as their bytes do) when the lines are ASCII, which RANK leaves alone.
 */
function sortWords(dv: DataView, u: Uint8Array, s: Uint32Array, lo: number, hi: number, d: number): void {
  while (hi - lo > 16) {
    const mid = lo + ((hi - lo) >> 1);
    const a = dv.getUint32(s[lo]! + d), b = dv.getUint32(s[mid]! + d), c = dv.getUint32(s[hi - 1]! + d);
    const v = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
    let lt = lo, i = lo, gt = hi - 1;
    while (i <= gt) {
      const k = dv.getUint32(s[i]! + d);
      if (k < v) {
        const t = s[lt]!; s[lt++] = s[i]!; s[i++] = t;
      } else if (k > v) {
        const t = s[gt]!; s[gt--] = s[i]!; s[i] = t;
      } else i++;
    }
    // equal words holding a newline end equal lines
    const deeper = !hasNewline(v);
    if (lt === lo && gt === hi - 1) {
      if (!deeper) return;
      d += 4;
      continue;
    }
    if (deeper && gt + 1 - lt > 1) sortWords(dv, u, s, lt, gt + 1, d + 4);
    if (lt - lo > 1) sortWords(dv, u, s, lo, lt, d);
    lo = gt + 1;
  }
  insertion(dv, u, s, lo, hi, d);
}

/** The same over single bytes through RANK, for runs holding non-ASCII lines. */
function sortBytes(dv: DataView, u: Uint8Array, s: Uint32Array, lo: number, hi: number, d: number): void {
  while (hi - lo > 16) {
    const mid = lo + ((hi - lo) >> 1);
    const a = RANK[u[s[lo]! + d]!]!, b = RANK[u[s[mid]! + d]!]!, c = RANK[u[s[hi - 1]! + d]!]!;
    const v = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
    let lt = lo, i = lo, gt = hi - 1;
    while (i <= gt) {
      const k = RANK[u[s[i]! + d]!]!;
      if (k < v) {
        const t = s[lt]!; s[lt++] = s[i]!; s[i++] = t;
      } else if (k > v) {
        const t = s[gt]!; s[gt--] = s[i]!; s[i] = t;
      } else i++;
    }
    const deeper = v !== RANK[NL];
    if (lt === lo && gt === hi - 1) {
      if (!deeper) return;
      d++;
      continue;
    }
    if (deeper && gt + 1 - lt > 1) sortBytes(dv, u, s, lt, gt + 1, d + 1);
    if (lt - lo > 1) sortBytes(dv, u, s, lo, lt, d);
    lo = gt + 1;
  }
  insertion(dv, u, s, lo, hi, d);
}

function insertion(dv: DataView, u: Uint8Array, s: Uint32Array, lo: number, hi: number, d: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const x = s[i]!;
    let j = i - 1;
    while (j >= lo && compareLines(dv, s[j]! + d, dv, x + d, u, u) > 0) {
      s[j + 1] = s[j]!;
      j--;
    }
    s[j + 1] = x;
  }
}

/** Where sorted runs go: an unlinked temporary file, or memory when no file can be made. */
class Spill {
  private fd = -1;
  private mem: Uint8Array[] = [];
  size = 0;
  constructor(dir: string) {
    const path = join(dir, `nlmon-dump-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      this.fd = openSync(path, "wx+", 0o600);
      unlinkSync(path);
    } catch {
      this.fd = -1;
    }
  }
  write(b: Uint8Array): void {
    if (this.fd >= 0) {
      for (let o = 0; o < b.length;) o += writeSync(this.fd, b, o, b.length - o, this.size + o);
    } else this.mem.push(b.slice());
    this.size += b.length;
  }
  read(into: Uint8Array, at: number, pos: number, len: number): number {
    if (this.fd >= 0) return readSync(this.fd, into, at, len, pos);
    // memory: chunks are contiguous in `size` order
    let base = 0;
    let got = 0;
    for (const c of this.mem) {
      if (got >= len) break;
      if (pos + got < base + c.length) {
        const from = pos + got - base;
        const n = Math.min(c.length - from, len - got);
        into.set(c.subarray(from, from + n), at + got);
        got += n;
      }
      base += c.length;
    }
    return got;
  }
  clear(): void {
    if (this.fd >= 0) ftruncateSync(this.fd, 0);
    this.mem = [];
    this.size = 0;
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.mem = [];
  }
}

/** A source of sorted lines for the merge: buf[at..] holds the current line, up to its newline. */
interface Source {
  buf: Buffer;
  dv: DataView;
  at: number;
  /** to the next line; false when there is none */
  next(): boolean;
}

/** The lines of one spilled segment, read in blocks. */
class SpillReader implements Source {
  buf: Buffer;
  dv: DataView;
  at = 0;
  private end = 0;
  constructor(private readonly spill: Spill, private pos: number, private left: number, block: number) {
    this.buf = Buffer.alloc(block + SLACK);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  /** makes sure the line at `at` is whole in the buffer */
  private whole(): boolean {
    for (;;) {
      const nl = this.buf.indexOf(NL, this.at);
      if (nl >= 0 && nl < this.end) return true;
      if (this.left === 0) return false;
      // keep the partial line, read more after it (a line longer than the block grows it)
      const room = this.buf.length - SLACK;
      const keep = this.end - this.at;
      if (keep === room) {
        const bigger = Buffer.alloc(2 * room + SLACK);
        this.buf.copy(bigger, 0, this.at, this.end);
        this.buf = bigger;
        this.dv = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
      } else this.buf.copyWithin(0, this.at, this.end);
      this.at = 0;
      this.end = keep;
      const n = this.spill.read(this.buf, keep, this.pos, Math.min(this.left, this.buf.length - SLACK - keep));
      if (n <= 0) throw new Error("dump run file ended early");
      this.pos += n;
      this.left -= n;
      this.end += n;
    }
  }
  first(): boolean {
    return this.whole();
  }
  next(): boolean {
    this.at = this.buf.indexOf(NL, this.at) + 1;
    return this.whole();
  }
}

/** The sorted lines of one group still in the buffer. */
class MemoryReader implements Source {
  private i = 0;
  at: number;
  constructor(readonly buf: Buffer, readonly dv: DataView, private readonly starts: Uint32Array, private readonly n: number) {
    this.at = starts[0]!;
  }
  next(): boolean {
    if (++this.i >= this.n) return false;
    this.at = this.starts[this.i]!;
    return true;
  }
}

export interface LineSorterOptions {
  /** bytes of lines held before a run is sorted and written out */
  runBytes?: number;
  /** where the run file goes (default: TMPDIR or /tmp) */
  dir?: string;
}

/** Lines in groups (event types in output order), each group sorted; see the file's comment. */
export class LineSorter {
  private buf!: Buffer;
  private dv!: DataView;
  private used = 0;
  /** whether every line in the buffer is ASCII, so it can be sorted by words */
  private ascii = true;
  private starts: Uint32Array[];
  private counts: number[];
  /** per group, the spilled segments: [file position, length, bytes all their lines share] */
  private segments: [number, number, number][][];
  private spill: Spill | undefined;
  private readonly stage = Buffer.alloc(1 << 20);
  lines = 0;
  runs = 0;

  constructor(readonly groups: number, private readonly o: LineSorterOptions = {}) {
    this.allocate(o.runBytes ?? 4 << 20);
    this.starts = Array.from({ length: groups }, () => new Uint32Array(1024));
    this.counts = new Array<number>(groups).fill(0);
    this.segments = Array.from({ length: groups }, () => []);
  }

  private allocate(bytes: number): void {
    this.buf = Buffer.alloc(bytes + SLACK);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  add(group: number, line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit, plus the newline
    const worst = 3 * line.length + 1;
    if (this.used + worst > this.buf.length - SLACK) {
      if (this.used > 0) this.flushRun();
      if (worst > this.buf.length - SLACK) this.allocate(worst);
    }
    const at = this.used;
    const n = this.buf.write(line, at, "utf8");
    if (n !== line.length) this.ascii = false;
    this.buf[at + n] = NL;
    this.used = at + n + 1;
    let s = this.starts[group]!;
    const c = this.counts[group]!;
    if (c === s.length) {
      const grown = new Uint32Array(s.length * 2);
      grown.set(s);
      this.starts[group] = s = grown;
    }
    s[c] = at;
    this.counts[group] = c + 1;
    this.lines++;
  }

  /** Forget every line (the dump is being taken again). */
  reset(): void {
    this.used = 0;
    this.ascii = true;
    this.counts.fill(0);
    for (const s of this.segments) s.length = 0;
    this.spill?.clear();
    this.lines = 0;
    this.runs = 0;
  }

  private sortBuffer(): void {
    const sort = this.ascii ? sortWords : sortBytes;
    for (let g = 0; g < this.groups; g++) sort(this.dv, this.buf, this.starts[g]!, 0, this.counts[g]!, 0);
  }

  /** sorts the buffer's lines and appends them to the run file, group by group */
  private flushRun(): void {
    this.sortBuffer();
    this.spill ??= new Spill(this.o.dir ?? tmpdir());
    const stage = this.stage;
    for (let g = 0; g < this.groups; g++) {
      const n = this.counts[g]!;
      if (!n) continue;
      const from = this.spill.size;
      let k = 0;
      const s = this.starts[g]!;
      for (let i = 0; i < n; i++) {
        const a = s[i]!;
        const e = this.buf.indexOf(NL, a) + 1;
        if (k + e - a > stage.length) {
          this.spill.write(stage.subarray(0, k));
          k = 0;
        }
        if (e - a > stage.length) this.spill.write(this.buf.subarray(a, e));
        else {
          this.buf.copy(stage, k, a, e);
          k += e - a;
        }
      }
      if (k) this.spill.write(stage.subarray(0, k));
      this.segments[g]!.push([from, this.spill.size - from, sharedPrefix(this.buf, s[0]!, this.buf, s[n - 1]!)]);
    }
    this.used = 0;
    this.ascii = true;
    this.counts.fill(0);
    this.runs++;
  }

  /** Every line, sorted, through `write` in blocks; `write` must be done with a block when it resolves. */
  async output(write: (b: Uint8Array) => Promise<unknown>): Promise<void> {
    this.sortBuffer();
    const out = this.stage;
    let k = 0;
    for (let g = 0; g < this.groups; g++) {
      const h: Source[] = [];
      const n = this.counts[g]!;
      const s = this.starts[g]!;
      let p = n ? sharedPrefix(this.buf, s[0]!, this.buf, s[n - 1]!) : Infinity;
      for (const [pos, len, shared] of this.segments[g]!) {
        const r = new SpillReader(this.spill!, pos, len, 16 * 1024);
        if (r.first()) h.push(r);
        p = Math.min(p, shared);
      }
      if (n) h.push(new MemoryReader(this.buf, this.dv, s, n));
      // what every line of every source shares: what each source's lines share, within what
      // the sources' first lines share
      for (let i = 1; i < h.length; i++) p = Math.min(p, sharedPrefix(h[0]!.buf, h[0]!.at, h[i]!.buf, h[i]!.at));
      // a binary heap of the sources by their current line
      const less = (i: number, j: number) => compareLines(h[i]!.dv, h[i]!.at + p, h[j]!.dv, h[j]!.at + p, h[i]!.buf, h[j]!.buf) < 0;
      const down = (i: number) => {
        for (;;) {
          const l = 2 * i + 1;
          if (l >= h.length) return;
          const c = l + 1 < h.length && less(l + 1, l) ? l + 1 : l;
          if (!less(c, i)) return;
          const t = h[i]!; h[i] = h[c]!; h[c] = t;
          i = c;
        }
      };
      for (let i = (h.length >> 1) - 1; i >= 0; i--) down(i);
      while (h.length) {
        const src = h[0]!;
        const e = src.buf.indexOf(NL, src.at) + 1;
        if (k + e - src.at > out.length) {
          if (k) await write(out.subarray(0, k));
          k = 0;
        }
        if (e - src.at > out.length) await write(src.buf.slice(src.at, e));
        else {
          src.buf.copy(out, k, src.at, e);
          k += e - src.at;
        }
        if (!src.next()) {
          h[0] = h[h.length - 1]!;
          h.pop();
        }
        down(0);
      }
    }
    if (k) await write(out.subarray(0, k));
  }

  close(): void {
    this.spill?.close();
    this.spill = undefined;
  }
}
