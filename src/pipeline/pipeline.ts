/**
 * Bytes in, events out: frames each datagram, decodes each message, counts, filters, serialises
 * once, and hands the line to every export. Also where caches and API callbacks listen.
 */
import { walkMessages, type FramingError, type NlMsgHeader } from "../codec/nlmsg.ts";
import { isoNs } from "../codec/format.ts";
import { nowNs } from "../clock.ts";
import { BasicContext, type DecodeErrorKind } from "../decode/context.ts";
import { decodeMessage, FAMILIES, protocolName } from "../decode/message.ts";
import type { Names } from "../decode/names.ts";
import type { DatagramBatch } from "../backend/types.ts";
import type { EventType, NlEvent, PipelineEvent } from "../event/model.ts";
import { serialise } from "../event/line.ts";
import type { Exporter } from "../export/types.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import { LinePath } from "./line-path.ts";

export type EventListener = (pe: PipelineEvent) => void;
/**
 * Sees the message's body bytes too, `b[off, end)` (a view into a receive buffer that is reused:
 * copy what must outlive the call). Events not decoded from a message come without them.
 */
export type EventObserver = (pe: PipelineEvent, b?: Uint8Array, off?: number, end?: number) => void;
/** The event types an observer looks at; one that says nothing sees every event. */
export type ObservedTypes = (type: EventType) => boolean;

export interface PipelineOptions {
  names: Names;
  metrics: NlmonMetrics;
  filter?: (ev: NlEvent) => boolean;
  exporters?: Exporter[];
  deterministic?: boolean;
  log?: (msg: string) => void;
}

export class Pipeline {
  readonly ctx: BasicContext;
  readonly exporters: Exporter[];
  private readonly listeners: EventListener[] = [];
  /** sees every decoded event before filtering: caches must not depend on what the user filters out */
  private readonly observers: EventObserver[] = [];
  private readonly observed: (ObservedTypes | undefined)[] = [];
  /** by event type: whether it must be decoded into an event (someone looks at the object) */
  private readonly needsEvent = new Map<EventType, boolean>();
  /** lines straight from messages, while nothing needs events (see line-path.ts) */
  private linePath: LinePath | undefined;
  private lastErrCounts: Record<DecodeErrorKind, number>;
  decodedMessages = 0;

  constructor(private readonly o: PipelineOptions) {
    this.ctx = new BasicContext(o.names);
    this.exporters = o.exporters ?? [];
    this.lastErrCounts = { ...this.ctx.counts };
    this.decodeOpts = { deterministic: o.deterministic };
    this.planLines();
  }

  onEvent(l: EventListener) {
    this.listeners.push(l);
    this.planLines();
  }

  observe(l: EventObserver, types?: ObservedTypes) {
    this.observers.push(l);
    this.observed.push(types);
    this.planLines();
  }

  /** whether events may go out as lines written from their messages, with no object made */
  private planLines() {
    this.needsEvent.clear();
    const ok = !this.o.filter && this.listeners.length === 0 && this.exporters.length > 0 &&
      this.exporters.every((ex) => ex.pushBlock !== undefined);
    this.linePath?.flush();
    this.linePath = ok ? new LinePath(this.ctx, this.exporters, this.o.deterministic === true) : undefined;
  }

  private wanted(type: EventType): boolean {
    let w = this.needsEvent.get(type);
    if (w === undefined) {
      w = this.observed.some((t) => t === undefined || t(type));
      this.needsEvent.set(type, w);
    }
    return w;
  }

  /**
   * The message written as its line, if the line path takes it: counted as the object path
   * counts a decoded, exported event.
   */
  private asLine(protocol: number, hdr: NlMsgHeader, u: Uint8Array, dv: DataView, off: number, end: number, tsNs: bigint): boolean {
    const lp = this.linePath!;
    const t0 = lp.typeOf(protocol, hdr.type);
    if (t0 === undefined || this.wanted(t0)) return false;
    const t = lp.write(protocol, hdr, u, dv, off, end, tsNs);
    if (t === undefined) return false;
    this.decodedMessages++;
    this.countMessage(protocol, hdr.type, undefined);
    this.countEvent(protocol, t);
    this.exported++;
    return true;
  }

  /** Every message of a batch, in order. */
  ingestBatch(b: DatagramBatch): void {
    const dv = new DataView(b.data.buffer, b.data.byteOffset, b.data.byteLength);
    const recvMono = b.sentMono;
    this.wallBase = Number(nowNs()) - performance.now() * 1e6;
    try {
      if (this.linePath) this.viewFor(dv);
      for (let i = 0; i + 1 < b.offsets.length; i++) {
        const start = b.offsets[i]!;
        const end = b.offsets[i + 1]!;
        const ts = b.stamps[i]!;
        for (const ex of this.exporters) ex.pushRaw?.(b.protocol, ts, b.data.subarray(start, end));
        this.ingestDatagram(b.protocol, dv, start, end, ts, recvMono);
      }
    } finally {
      this.wallBase = NaN;
      this.linePath?.flush();
      // the batch is done: nothing here keeps its buffer alive
      this.viewOf = undefined;
      this.view = undefined;
    }
  }

  /** counter series by (protocol, msg_type): label objects and keys are built once, not per message */
  private readonly msgSeries = new Map<number, { value: number }>();
  /** by protocol, then event type: no key string built per event */
  private readonly eventSeries = new Map<number, Map<string, { value: number }>>();
  private exported = 0;

  /** `ev` undefined: a message the line path took (a family's type, decoded without error) */
  private countMessage(protocol: number, type: number, ev: NlEvent | null | undefined) {
    const k = protocol * 65536 + type;
    let s = this.msgSeries.get(k);
    if (!s) {
      const name = ev === undefined ? FAMILIES.get(protocol)?.msgTypeName(type) : ev?.netlink.msg_type_name ?? "NLMSG_DONE";
      s = this.o.metrics.messages.slot({ protocol: protocolName(protocol), msg_type: name ?? String(type) });
      this.msgSeries.set(k, s);
    }
    s.value++;
  }

  private countEvent(protocol: number, type: EventType) {
    let byType = this.eventSeries.get(protocol);
    if (!byType) this.eventSeries.set(protocol, (byType = new Map()));
    let es = byType.get(type);
    if (!es) {
      es = this.o.metrics.events.slot({ protocol: protocolName(protocol), type });
      byType.set(type, es);
    }
    es.value++;
  }

  /**
   * One visitor for every datagram, its fields set per call: building a closure pair (and a byte
   * view for the observers) per datagram was measurable garbage in a 100k-route burst.
   */
  private readonly visitor = {
    p: this as Pipeline,
    protocol: 0,
    tsNs: 0n,
    recvMono: 0,
    start: 0,
    bytes: undefined as Uint8Array | undefined,
    message(hdr: NlMsgHeader, dv2: DataView, bodyOff: number, mEnd: number) {
      const p = this.p;
      if (p.linePath && p.asLine(this.protocol, hdr, p.view!, dv2, bodyOff, mEnd, this.tsNs)) return;
      p.decodedMessages++;
      const ev = decodeMessage(this.protocol, hdr, dv2, bodyOff, mEnd, p.ctx, p.decodeOpts);
      p.countMessage(this.protocol, hdr.type, ev);
      if (!ev) return;
      p.emit({ event: ev, tsNs: this.tsNs, recvMono: this.recvMono }, false, this.bytes, bodyOff, mEnd);
    },
    framingError(kind: FramingError, off: number) {
      this.p.ctx.error(kind === "bad_length" ? "bad_length" : "truncated", `datagram: ${kind} at byte ${off - this.start}`);
    },
  };
  private readonly decodeOpts: { deterministic?: boolean };
  /**
   * Wall-clock ns minus performance.now() in ns, taken once per batch: a latency then needs a
   * double's clock reading, not nowNs()'s BigInt arithmetic (3% of the main thread in a burst).
   * A double holds these to within 256 ns, far below what a latency histogram resolves.
   */
  private wallBase = NaN;
  private wallNs(): number {
    return Number.isNaN(this.wallBase) ? Number(nowNs()) : performance.now() * 1e6 + this.wallBase;
  }
  private viewOf?: DataView;
  private view?: Uint8Array;

  ingestDatagram(protocol: number, dv: DataView, start: number, end: number, tsNs: bigint, recvMono = 0): void {
    const errorsBefore = this.ctx.total;
    const exportedBefore = this.exported;
    const v = this.visitor;
    if (this.observers.length || this.linePath) this.viewFor(dv);
    v.bytes = this.observers.length ? this.view : undefined;
    v.protocol = protocol;
    v.tsNs = tsNs;
    v.recvMono = recvMono;
    v.start = start;
    walkMessages(dv, start, end, v);
    // one clock reading per datagram: its messages were received together
    const n = this.exported - exportedBefore;
    if (n) this.o.metrics.latency.observe((this.wallNs() - Number(tsNs)) / 1e9, n);
    if (this.ctx.total !== errorsBefore) this.syncErrorCounters(protocol);
  }

  private viewFor(dv: DataView) {
    if (this.viewOf === dv) return;
    this.viewOf = dv;
    this.view = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
  }

  private syncErrorCounters(protocol: number) {
    const c = this.ctx.counts;
    for (const k of Object.keys(c) as DecodeErrorKind[]) {
      const d = c[k] - this.lastErrCounts[k];
      if (d > 0) {
        // unknown attributes are the kernel being newer than our headers, not broken input
        this.o.metrics.errors.inc({ protocol: protocolName(protocol), kind: k === "unknown_attr" ? "unknown_attr" : "decode" }, d);
        if (k !== "unknown_attr") this.o.log?.(`decode error (${k}): ${this.ctx.recent[this.ctx.recent.length - 1] ?? ""}`);
      }
    }
    this.lastErrCounts = { ...c };
  }

  private isoFor = -1n;
  private iso = "";
  /** the second last formatted, and its "yyyy-mm-ddThh:mm:ss." */
  private isoSec = -1n;
  private isoPrefix = "";

  /** isoNs, with the date and time of day formatted once a second rather than once a datagram */
  private isoOf(tsNs: bigint): string {
    if (tsNs < 0n) return isoNs(tsNs);
    const sec = tsNs / 1_000_000_000n;
    if (sec !== this.isoSec) {
      this.isoSec = sec;
      const full = isoNs(tsNs);
      this.isoPrefix = full.slice(0, full.length - 10);
    }
    return this.isoPrefix + String(Number(tsNs - sec * 1_000_000_000n)).padStart(9, "0") + "Z";
  }

  /**
   * Stamp, observe, filter, serialise once, export. `latency`: observe it here (events not from a
   * datagram). `b[off, end)`: the message body the event was decoded from, for observers. The line
   * an observer took (event/line.ts) is the one exported: observers must not change the event.
   */
  emit(pe: PipelineEvent, latency = true, b?: Uint8Array, off?: number, end?: number): void {
    const ev = pe.event;
    // stamped before anyone looks: a cache that takes the event's body from its line (made once,
    // see event/line.ts) must find the line the exports write, timestamp and all
    if (!this.o.deterministic && ev.timestamp === undefined) {
      // messages of one datagram share a receive time: format it once
      if (pe.tsNs !== this.isoFor) {
        this.isoFor = pe.tsNs;
        this.iso = this.isoOf(pe.tsNs);
      }
      ev.timestamp = this.iso;
    }
    for (const l of this.observers) l(pe, b, off, end);
    if (this.o.filter && !this.o.filter(ev)) {
      this.o.metrics.filterDropped.inc();
      return;
    }
    this.countEvent(ev.protocol, ev.type);
    for (const l of this.listeners) l(pe);
    if (this.exporters.length) {
      // lines the line path holds go first
      this.linePath?.flush();
      const line = serialise(ev);
      for (const ex of this.exporters) ex.push(pe, line);
      this.exported++;
      if (latency) this.o.metrics.latency.observe(Number(nowNs() - pe.tsNs) / 1e9);
    }
  }
}

export { serialise };
