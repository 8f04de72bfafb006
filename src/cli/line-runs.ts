/** Sorted runs of --dump-events' lines: where they are spilled, and the readers the merge takes lines from. */
import { fs, path } from "../node-lazy.ts";
import { NL, SLACK } from "./line-order.ts";

/** Where sorted runs go: an unlinked temporary file, or memory when no file can be made. */
export class Spill {
  private fd = -1;
  private mem: Uint8Array[] = [];
  size = 0;
  constructor(dir: string) {
    const file = path().join(dir, `nlmon-dump-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      this.fd = fs().openSync(file, "wx+", 0o600);
      fs().unlinkSync(file);
    } catch {
      this.fd = -1;
    }
  }
  write(b: Uint8Array): void {
    if (this.fd >= 0) {
      for (let o = 0; o < b.length;) o += fs().writeSync(this.fd, b, o, b.length - o, this.size + o);
    } else this.mem.push(b.slice());
    this.size += b.length;
  }
  read(into: Uint8Array, at: number, pos: number, len: number): number {
    if (this.fd >= 0) return fs().readSync(this.fd, into, at, len, pos);
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
    if (this.fd >= 0) fs().ftruncateSync(this.fd, 0);
    this.mem = [];
    this.size = 0;
  }
  close(): void {
    if (this.fd >= 0) fs().closeSync(this.fd);
    this.fd = -1;
    this.mem = [];
  }
}

/** A source of sorted lines for the merge: buf[at..] holds the current line, up to its newline. */
export interface Source {
  buf: Buffer;
  dv: DataView;
  at: number;
  /** to the next line; false when there is none */
  next(): boolean;
}

/** The lines of one spilled segment, read in blocks. */
export class SpillReader implements Source {
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
