/**
 * An export as the daemon holds it: counting what it hands on, for --status, and able to hold
 * events back while the export it replaces on a reload still drains, so two exports writing to
 * the same place (standard output, the same file) never interleave out of order.
 *
 * "Written" is not a metric the exports keep. It is derived at the edge: the events an export took
 * into its queue (its `queued` rising during a push), less those still queued, less those its
 * queue dropped afterwards (nlmon_export_dropped_total rising other than during a push).
 */
import type { PipelineEvent } from "../event/model.ts";
import type { Exporter, LineBlock } from "../export/types.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";

type Held =
  | { k: "push"; ev: PipelineEvent; line: string }
  | { k: "block"; block: LineBlock }
  | { k: "raw"; protocol: number; tsNs: bigint; datagram: Uint8Array };

export class CountedExport implements Exporter {
  readonly name: string;
  readonly pushBlock?: (block: LineBlock) => void;
  readonly pushRaw?: (protocol: number, tsNs: bigint, datagram: Uint8Array) => void;
  readonly readerGone?: Promise<void>;
  /** events the export's queue took */
  private accepted = 0;
  /** queue drops that happened during a push (the event never got in) */
  private droppedAtPush = 0;
  private readonly droppedBase: number;
  private readonly dropSlot: { value: number };
  private readonly errorSlot: { value: number };
  /** the export this one replaced, until its count is final */
  private predecessor: CountedExport | undefined;
  private carried = 0;
  private held: Held[] | undefined;
  private heldEvents = 0;

  constructor(readonly inner: Exporter, private readonly metrics: NlmonMetrics, private readonly holdCapacity = 65536) {
    this.name = inner.name;
    this.readerGone = inner.readerGone;
    this.dropSlot = metrics.exportDropped.slot({ export: inner.name });
    this.errorSlot = metrics.exportErrors.slot({ export: inner.name });
    this.droppedBase = this.dropSlot.value;
    // present only where the export's own are: the pipeline plans its paths by which exist
    if (inner.pushRaw) {
      this.pushRaw = (protocol: number, tsNs: bigint, datagram: Uint8Array) => {
        // the datagram is a view into a receive buffer that is reused: a held one is copied
        if (this.held) return this.hold({ k: "raw", protocol, tsNs, datagram: datagram.slice() }, 1);
        this.counted(() => inner.pushRaw!(protocol, tsNs, datagram));
      };
    }
    if (inner.pushBlock) {
      this.pushBlock = (block: LineBlock) => {
        if (this.held) return this.hold({ k: "block", block }, block.lines);
        this.counted(() => inner.pushBlock!(block));
      };
    }
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  push(ev: PipelineEvent, line: string): void {
    if (this.held) return this.hold({ k: "push", ev, line }, 1);
    this.counted(() => this.inner.push(ev, line));
  }


  reopen(): void {
    this.inner.reopen?.();
  }

  get queued(): number | undefined {
    const q = this.inner.queued;
    return q === undefined ? undefined : q + this.heldEvents;
  }

  close(): Promise<void> {
    if (this.held) this.release();
    return this.inner.close();
  }

  private counted(f: () => void) {
    const q0 = this.inner.queued;
    const d0 = this.dropSlot.value;
    f();
    if (q0 === undefined) return;
    this.accepted += Math.max(0, this.inner.queued! - q0);
    this.droppedAtPush += this.dropSlot.value - d0;
  }

  /** events handed on to the sink; null for an export with no queue (Prometheus is scraped, not fed) */
  get written(): number | null {
    if (this.inner.queued === undefined) return null;
    if (this.predecessor?.closed) {
      this.carried += this.predecessor.written ?? 0;
      this.predecessor = undefined;
    }
    const droppedLater = this.dropSlot.value - this.droppedBase - this.droppedAtPush;
    const own = Math.max(0, this.accepted - this.inner.queued - Math.max(0, droppedLater));
    return own + this.carried + (this.predecessor?.written ?? 0);
  }

  /** queue drops of this export's name since nlmon started (nlmon_export_dropped_total) */
  get dropped(): number {
    return this.dropSlot.value;
  }

  get errors(): number {
    return this.errorSlot.value;
  }

  private closed = false;

  /**
   * Take the place of `old` (same name): counts continue from its, and events are held until
   * `old` has drained and closed, then handed on in order.
   */
  replace(old: CountedExport): Promise<void> {
    this.predecessor = old;
    this.held = [];
    return old.close().finally(() => {
      old.closed = true;
      this.release();
    });
  }

  /** Take the place of `old`, already closed: counts continue from its. */
  inherit(old: CountedExport): void {
    old.closed = true;
    this.predecessor = old;
  }

  /** The export leaves for good (removed by a reload, or nlmon stops). */
  async retire(): Promise<void> {
    await this.close();
    this.closed = true;
  }

  private hold(h: Held, events: number) {
    if (this.heldEvents + events > this.holdCapacity) {
      // counted as the export's own queue would count it: a drop of the newest
      this.metrics.exportDropped.inc({ export: this.name }, events);
      this.droppedAtPush += events;
      return;
    }
    this.held!.push(h);
    this.heldEvents += events;
  }

  private release() {
    const held = this.held;
    this.held = undefined;
    this.heldEvents = 0;
    if (!held) return;
    for (const h of held) {
      if (h.k === "push") this.push(h.ev, h.line);
      else if (h.k === "block") this.pushBlock!(h.block);
      else this.pushRaw!(h.protocol, h.tsNs, h.datagram);
    }
  }
}
