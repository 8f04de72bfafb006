/**
 * Notifications exported as lines written straight from their messages, with no event object in
 * between: where nothing needs the event itself (no filter, no API listener, no observer that wants
 * its type) and every export takes lines as bytes. A route burst is the case that matters: building
 * each route's object, stringifying it and encoding the string was most of the main thread's work
 * per event. The bytes are the ones JSON.stringify gives the decoded event (the fast-line tests
 * hold the writers to that), so an export cannot tell which way a line came.
 *
 * Lines collect in a block that goes to the exports as one piece when the batch ends or before an
 * event that took the object path, so order is kept.
 */
import type { NlMsgHeader } from "../codec/nlmsg.ts";
import { isoNs } from "../codec/format.ts";
import type { DecodeContext } from "../decode/context.ts";
import { LineWriter } from "../decode/line.ts";
import { FAMILIES } from "../decode/message.ts";
import { JsonBytes, put } from "../event/json-bytes.ts";
import type { EventType } from "../event/model.ts";
import type { Exporter, LineBlock } from "../export/types.ts";

/** lines are written into blocks this large; the exports keep a block until they have written it */
const BLOCK = 1 << 16;
/** a line longer than this moves out of the block (JsonBytes.room) and goes on as its own */
const ROOM = 1 << 12;

const enc = new TextEncoder();
const STAMP_OPEN = enc.encode(`{"timestamp":"`);
const STAMP_CLOSE = enc.encode(`Z",`);

export class LinePath {
  private readonly writers = new Map<number, LineWriter | null>();
  private readonly out = new JsonBytes();
  /** allocated on the first line: pipelines that never write one (planLines replaces them) cost nothing */
  private block = Buffer.alloc(0);
  /** where the lines not yet handed to the exports begin, and end */
  private from = 0;
  private pos = 0;
  private lines = 0;
  /** the second whose "yyyy-mm-ddThh:mm:ss." is in `prefix`, in ns */
  private secNs = -1n;
  private prefix = new Uint8Array(0);

  constructor(
    private readonly ctx: DecodeContext,
    private readonly exporters: readonly Exporter[],
    /** as decodeMessage's option: no timestamp, seq or pid */
    private readonly deterministic: boolean,
  ) {
    this.out.flat = true;
  }

  private writer(protocol: number): LineWriter | null {
    let w = this.writers.get(protocol);
    if (w === undefined) {
      w = FAMILIES.has(protocol) ? new LineWriter(protocol, this.ctx) : null;
      this.writers.set(protocol, w);
    }
    return w;
  }

  /** the event type a message would be written as, or undefined where it takes the object path */
  typeOf(protocol: number, msgType: number): EventType | undefined {
    return this.writer(protocol)?.typeOf(msgType);
  }

  /** The message's line appended to the block; undefined: declined, decode it. */
  write(protocol: number, hdr: NlMsgHeader, u: Uint8Array, dv: DataView, off: number, end: number, tsNs: bigint): EventType | undefined {
    const w = this.writer(protocol);
    if (!w) return undefined;
    if (this.block.length - this.pos < ROOM) this.renew();
    const out = this.out;
    out.into(this.block, this.pos, this.pos + ROOM);
    if (!this.deterministic) this.stamp(tsNs);
    const t = w.write(hdr, u, dv, off, end, out, !this.deterministic);
    if (t === undefined) return undefined;
    out.room(1);
    out.buf[out.pos++] = 10;
    if (out.buf === this.block) {
      this.pos = out.pos;
      this.lines++;
    } else {
      // too long for the room the block had: it went to a buffer of its own
      this.flush();
      this.hand({ bytes: out.buf.subarray(out.start, out.pos), lines: 1 });
    }
    return t;
  }

  /** `{"timestamp":"…Z",` as the pipeline formats a receive time (isoNs) */
  private stamp(tsNs: bigint) {
    const out = this.out;
    if (tsNs < 0n) {
      out.raw(enc.encode(`{"timestamp":${JSON.stringify(isoNs(tsNs))},`));
      return;
    }
    let ns = tsNs - this.secNs;
    if (this.secNs < 0n || ns < 0n || ns >= 1_000_000_000n) {
      this.secNs = tsNs - (tsNs % 1_000_000_000n);
      const full = isoNs(this.secNs);
      this.prefix = enc.encode(full.slice(0, full.length - 10));
      ns = tsNs - this.secNs;
    }
    out.room(64);
    const b = out.buf;
    let p = put(b, out.pos, STAMP_OPEN);
    p = put(b, p, this.prefix);
    // nine digits, zero-padded
    let v = Number(ns);
    for (let i = p + 8; i >= p; i--) {
      const q = Math.floor(v / 10);
      b[i] = 48 + v - q * 10;
      v = q;
    }
    out.pos = put(b, p + 9, STAMP_CLOSE);
  }

  /** the lines written since the last flush, to every export */
  flush(): void {
    if (this.lines === 0) return;
    this.hand({ bytes: this.block.subarray(this.from, this.pos), lines: this.lines });
    this.from = this.pos;
    this.lines = 0;
  }

  private hand(block: LineBlock) {
    for (const ex of this.exporters) ex.pushBlock!(block);
  }

  /** a fresh block: the exports still hold pieces of the old one */
  private renew() {
    this.flush();
    this.block = Buffer.allocUnsafe(BLOCK);
    this.from = this.pos = 0;
  }
}
