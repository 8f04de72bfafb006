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
import { tmpdir } from "node:os";
import { compareLines, NL, SLACK, sharedPrefix, sortBytes, sortWords } from "./line-order.ts";
import { MemoryReader, type Source, Spill, SpillReader } from "./line-runs.ts";

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
