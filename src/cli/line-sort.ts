/**
 * Sorting --dump-events' lines without keeping them all: a full routing table is hundreds of
 * megabytes of JSON (417 MB for 1,000,000 routes). Lines go into one bounded buffer as UTF-8; a
 * full buffer is sorted and written to an unlinked temporary file as a run, and the output is a
 * merge of the runs, so memory is the same for 100,000 routes as for 1,000,000.
 *
 * Lines of one group (event type) share long stretches — a route line's first two hundred bytes
 * are the same for every route of a table — so each group keeps its first line as an anchor and
 * holds every other line as the length of what it shares with the anchor plus the rest (its
 * tail): half the memory for a table of routes, and the sort never reads the shared part
 * (line-keys.ts).
 *
 * The order is the one `a < b` gives the lines as JS strings (UTF-16 code units), by group first.
 * Comparing UTF-8 bytes gives the same order except that code points U+E000..U+FFFF (lead bytes
 * 0xEE, 0xEF) sort after supplementary ones (0xF0..0xF4, surrogate pairs in UTF-16): RANK moves
 * those two lead bytes above the others. A line holds no byte below 0x20 (JSON escapes them), so
 * its closing newline sorts below every byte and ends the comparison like the end of a string.
 */
import { os } from "../node-lazy.ts";
import { compareLines, NL, SLACK, sharedPrefix } from "./line-order.ts";
import { type Held, MAX_RANGE, rankTrails, sortGroup } from "./line-keys.ts";

const EMPTY = new Uint8Array(0);

/**
 * A run: 3 MiB of lines' own bytes, or 128k lines (their index costs 16 bytes each, their sort
 * keys 24). A full table's route lines hold about 22 bytes of their own, so 100,000 routes fit in
 * one run and a million spill to eight: the peak is nearly the same for both, as the issue asks
 * (at most 10% more at 1,000,000 routes than at 100,000).
 */
const RUN_BYTES = 3 << 20;
const RUN_LINES = Math.min(128 * 1024, MAX_RANGE);
import { type Source, Spill, SpillReader } from "./line-runs.ts";

export interface LineSorterOptions {
  /** bytes of lines held before a run is sorted and written out */
  runBytes?: number;
  /** where the run file goes (default: TMPDIR or /tmp) */
  dir?: string;
}

/** Lines in groups (event types in output order), each group sorted; see the file's comment. */
export class LineSorter {
  private buf!: Buffer;
  private used = 0;
  /** per group: its first line; for each line held, where its own bytes start and end, its head, its trail */
  private anchors: (Buffer | undefined)[];
  private starts: Uint32Array[];
  private ends: Uint32Array[];
  private heads: Uint32Array[];
  private trailOf: Uint32Array[];
  private lastHead: number[];
  /** per group, how much of each lead (a piece lines begin with, held by reference) its anchor shares */
  private leads: (Map<Uint8Array, number> | undefined)[];
  /** the trails lines end with, held once each; 0 is none */
  private trails: Uint8Array[] = [EMPTY];
  private trailIds = new Map<Uint8Array, number>();
  private counts: number[];
  /** per group, the spilled segments: [file position, length, bytes all their lines share] */
  private segments: [number, number, number][][];
  private spill: Spill | undefined;
  private readonly stage = Buffer.alloc(1 << 20);
  private scratch = Buffer.alloc(1 << 16);
  /** lines in the buffer now */
  private held = 0;
  lines = 0;
  runs = 0;

  constructor(readonly groups: number, private readonly o: LineSorterOptions = {}) {
    this.allocate(o.runBytes ?? RUN_BYTES);
    this.anchors = new Array<Buffer | undefined>(groups).fill(undefined);
    const cols = () => Array.from({ length: groups }, () => new Uint32Array(1024));
    this.starts = cols();
    this.ends = cols();
    this.heads = cols();
    this.trailOf = cols();
    this.lastHead = new Array<number>(groups).fill(0);
    this.leads = new Array<Map<Uint8Array, number> | undefined>(groups).fill(undefined);
    this.counts = new Array<number>(groups).fill(0);
    this.segments = Array.from({ length: groups }, () => []);
  }

  private allocate(bytes: number): void {
    // pages count toward RSS only once lines are written into them
    this.buf = Buffer.allocUnsafe(bytes + SLACK);
    this.buf.fill(0, bytes);
  }

  add(group: number, line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (3 * line.length > this.scratch.length) this.scratch = Buffer.alloc(3 * line.length);
    const n = this.scratch.write(line, 0, "utf8");
    this.addBytes(group, this.scratch, n);
  }

  /** A line already in UTF-8: b[0, len), without its newline. */
  addBytes(group: number, b: Buffer, len: number): void {
    const at = this.reserve(len + 1);
    b.copy(this.buf, at, 0, len);
    this.commit(group, len);
  }

  /** The buffer a line may be written into in place, at reserve()'s offset; then commit(). */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Where the next line goes, with room for `bytes` after it (a full buffer becomes a run first). */
  reserve(bytes: number): number {
    if (this.used + bytes > this.buf.length - SLACK || this.held >= RUN_LINES) {
      if (this.used > 0) this.flushRun();
      if (bytes > this.buf.length - SLACK) this.allocate(bytes);
    }
    return this.used;
  }

  /**
   * Takes the line written at reserve()'s offset into `group`: `lead` (if any), then `len` bytes in
   * the buffer, then `trail` (if any). There must be room for the lead and the trail too.
   */
  commit(group: number, len: number, lead?: Uint8Array, trail?: Uint8Array): void {
    const buf = this.buf;
    const at = this.used;
    let anchor = this.anchors[group];
    if (!anchor) {
      // the group's first line is its anchor, whole
      if (lead) {
        buf.copyWithin(at + lead.length, at, at + len);
        buf.set(lead, at);
        len += lead.length;
        lead = undefined;
      }
      if (trail) {
        buf.set(trail, at + len);
        len += trail.length;
        trail = undefined;
      }
      this.anchors[group] = anchor = Buffer.from(buf.subarray(at, at + len));
    }
    let head: number;
    let own: number;
    if (!lead) {
      head = this.shared(group, anchor, at, len);
      own = len - head;
      if (head) buf.copyWithin(at, at + head, at + len);
    } else {
      const ll = lead.length;
      const lh = this.leadShared(group, anchor, lead);
      if (lh < ll) {
        // the line leaves the anchor inside its lead: its own bytes are the lead's rest, then the buffer's
        head = lh;
        own = ll - lh + len;
        buf.copyWithin(at + ll - lh, at, at + len);
        buf.set(lead.subarray(lh), at);
      } else {
        let k = 0;
        const m = Math.min(anchor.length - ll, len);
        while (k < m && anchor[ll + k] === buf[at + k]) k++;
        head = ll + k;
        own = len - k;
        if (k) buf.copyWithin(at, at + k, at + len);
      }
    }
    let tid = 0;
    if (trail) {
      if (own === 0 && head < anchor.length) {
        // all of the line before its trail is the anchor's: the head goes on into the trail, and
        // what is left of the trail is held as the line's own bytes (rare: the anchor's own kin)
        let k = 0;
        const m = Math.min(anchor.length - head, trail.length);
        while (k < m && anchor[head + k] === trail[k]) k++;
        head += k;
        buf.set(trail.subarray(k), at);
        own = trail.length - k;
      } else {
        if (trail === this.lastTrail) tid = this.lastTrailId;
        else {
          tid = this.trailIds.get(trail) ?? 0;
          if (!tid) {
            tid = this.trails.push(trail) - 1;
            this.trailIds.set(trail, tid);
          }
          this.lastTrail = trail;
          this.lastTrailId = tid;
        }
      }
    }
    this.used = at + own;
    this.index(group, at, at + own, head, tid);
  }

  /** How much of a lead the group's anchor shares, once per distinct lead. */
  private leadShared(group: number, anchor: Buffer, lead: Uint8Array): number {
    // the line before mostly had the same lead in the same group
    if (lead === this.lastLead && group === this.lastLeadGroup) return this.lastLeadShared;
    let m = this.leads[group];
    if (!m) this.leads[group] = m = new Map();
    let n = m.get(lead);
    if (n === undefined) {
      n = 0;
      const max = Math.min(anchor.length, lead.length);
      while (n < max && anchor[n] === lead[n]) n++;
      m.set(lead, n);
    }
    this.lastLead = lead;
    this.lastLeadGroup = group;
    this.lastLeadShared = n;
    return n;
  }

  private lastLead: Uint8Array | undefined;
  private lastLeadGroup = -1;
  private lastLeadShared = 0;
  private lastTrail: Uint8Array | undefined;
  private lastTrailId = 0;

  private index(group: number, start: number, end: number, head: number, trail: number): void {
    const c = this.counts[group]!;
    if (c === this.starts[group]!.length) {
      for (const col of [this.starts, this.ends, this.heads, this.trailOf]) {
        const grown = new Uint32Array(c * 2);
        grown.set(col[group]!);
        col[group] = grown;
      }
    }
    this.starts[group]![c] = start;
    this.ends[group]![c] = end;
    this.heads[group]![c] = head;
    this.trailOf[group]![c] = trail;
    this.counts[group] = c + 1;
    this.held++;
    this.lines++;
  }

  /**
   * How many bytes of the line at buf[at, at + len) it shares with the group's anchor. Lines of a
   * group mostly share as much as the one before did, so that much is checked at once (natively),
   * then byte by byte.
   */
  private shared(group: number, anchor: Buffer, at: number, len: number): number {
    const buf = this.buf;
    const m = Math.min(anchor.length, len);
    let k = Math.min(this.lastHead[group]!, m);
    if (k > 0 && anchor.compare(buf, at, at + k, 0, k) !== 0) {
      // less than last time: the longest equal prefix below k
      let lo = 0, hi = k;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (anchor.compare(buf, at, at + mid, 0, mid) === 0) lo = mid;
        else hi = mid;
      }
      k = lo;
    }
    while (k < m && anchor[k] === buf[at + k]) k++;
    this.lastHead[group] = k;
    return k;
  }

  /** Forget every line (the dump is being taken again). */
  reset(): void {
    this.used = 0;
    this.held = 0;
    this.counts.fill(0);
    this.anchors.fill(undefined);
    this.leads.fill(undefined);
    this.lastHead.fill(0);
    this.trails = [EMPTY];
    this.trailIds.clear();
    this.lastLead = this.lastTrail = undefined;
    this.lastLeadGroup = -1;
    for (const s of this.segments) s.length = 0;
    this.spill?.clear();
    this.lines = 0;
    this.runs = 0;
  }

  private sortBuffer(): void {
    const trailRank = rankTrails(this.trails);
    for (let g = 0; g < this.groups; g++) {
      const n = this.counts[g]!;
      if (n < 2) continue;
      const held: Held = {
        u: this.buf, s: this.starts[g]!, e: this.ends[g]!, h: this.heads[g]!, tr: this.trailOf[g]!,
        trails: this.trails, trailRank, anchor: this.anchors[g]!,
      };
      sortGroup(held, n);
    }
  }

  /** the group's i-th held line, whole and with its newline, into out at k (out must have room); returns the end */
  private lineInto(g: number, i: number, out: Buffer, k: number): number {
    const head = this.heads[g]![i]!;
    const a = this.starts[g]![i]!;
    const e = this.ends[g]![i]!;
    if (head) this.anchors[g]!.copy(out, k, 0, head);
    k += head;
    if (e > a) {
      this.buf.copy(out, k, a, e);
      k += e - a;
    }
    const t = this.trails[this.trailOf[g]![i]!]!;
    if (t.length) {
      out.set(t, k);
      k += t.length;
    }
    out[k] = NL;
    return k + 1;
  }

  private lineLength(g: number, i: number): number {
    return this.heads[g]![i]! + this.ends[g]![i]! - this.starts[g]![i]! + this.trails[this.trailOf[g]![i]!]!.length + 1;
  }

  private wholeLine(g: number, i: number): Buffer {
    const b = Buffer.alloc(this.lineLength(g, i));
    this.lineInto(g, i, b, 0);
    return b;
  }

  /** The buffer's lines, sorted, group by group, as blocks of whole lines (valid until the next one). */
  private *blocks(): Generator<[number, Buffer]> {
    this.sortBuffer();
    const stage = this.stage;
    for (let g = 0; g < this.groups; g++) {
      const n = this.counts[g]!;
      let k = 0;
      for (let i = 0; i < n; i++) {
        const len = this.lineLength(g, i);
        if (k + len > stage.length) {
          if (k) yield [g, stage.subarray(0, k)];
          k = 0;
        }
        if (len > stage.length) yield [g, this.wholeLine(g, i)];
        else k = this.lineInto(g, i, stage, k);
      }
      if (k) yield [g, stage.subarray(0, k)];
    }
  }

  /** sorts the buffer's lines and appends them to the run file, group by group */
  private flushRun(): void {
    const spill = (this.spill ??= new Spill(this.o.dir ?? os().tmpdir()));
    let g = -1;
    let from = 0;
    const end = () => {
      if (g < 0) return;
      const n = this.counts[g]!;
      const shared = sharedPrefix(this.wholeLine(g, 0), 0, this.wholeLine(g, n - 1), 0);
      this.segments[g]!.push([from, spill.size - from, shared]);
    };
    for (const [group, block] of this.blocks()) {
      if (group !== g) {
        end();
        g = group;
        from = spill.size;
      }
      spill.write(block);
    }
    end();
    this.used = 0;
    this.held = 0;
    this.counts.fill(0);
    this.runs++;
    // a run's worth of the dump's garbage has reached the old generation by now, which the eden
    // collections the dump runs do not reach: collected here, a million routes peak where 100k do
    Bun.gc(true);
  }

  /** Every line, sorted, through `write` in blocks; `write` must be done with a block when it resolves. */
  async output(write: (b: Uint8Array) => Promise<unknown>): Promise<void> {
    if (!this.runs) {
      for (const [, block] of this.blocks()) await write(block);
      return;
    }
    // what is left joins the runs, and the runs are merged
    if (this.counts.some((n) => n > 0)) this.flushRun();
    const out = this.stage;
    let k = 0;
    for (let g = 0; g < this.groups; g++) {
      const h: Source[] = [];
      let p = Infinity;
      for (const [pos, len, shared] of this.segments[g]!) {
        const r = new SpillReader(this.spill!, pos, len, 16 * 1024);
        if (r.first()) h.push(r);
        p = Math.min(p, shared);
      }
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
