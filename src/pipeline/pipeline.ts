/**
 * Bytes in, events out: frames each datagram, decodes each message, counts, filters, serialises
 * once, and hands the line to every export. Also where caches and API callbacks listen.
 */
import { walkMessages } from "../codec/nlmsg.ts";
import { isoNs } from "../codec/format.ts";
import { nowNs } from "../clock.ts";
import { BasicContext, type DecodeErrorKind } from "../decode/context.ts";
import { decodeMessage, protocolName } from "../decode/message.ts";
import type { Names } from "../decode/names.ts";
import type { DatagramBatch } from "../backend/types.ts";
import type { NlEvent, PipelineEvent } from "../event/model.ts";
import type { Exporter } from "../export/types.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";

export type EventListener = (pe: PipelineEvent) => void;
/**
 * Sees the message's body bytes too, `b[off, end)` (a view into a receive buffer that is reused:
 * copy what must outlive the call). Events not decoded from a message come without them.
 */
export type EventObserver = (pe: PipelineEvent, b?: Uint8Array, off?: number, end?: number) => void;

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
  private lastErrCounts: Record<DecodeErrorKind, number>;
  decodedMessages = 0;

  constructor(private readonly o: PipelineOptions) {
    this.ctx = new BasicContext(o.names);
    this.exporters = o.exporters ?? [];
    this.lastErrCounts = { ...this.ctx.counts };
  }

  onEvent(l: EventListener) { this.listeners.push(l); }
  observe(l: EventObserver) { this.observers.push(l); }

  /** Every message of a batch, in order. */
  ingestBatch(b: DatagramBatch): void {
    const dv = new DataView(b.data.buffer, b.data.byteOffset, b.data.byteLength);
    const recvMono = b.sentMono;
    for (let i = 0; i + 1 < b.offsets.length; i++) {
      const start = b.offsets[i]!;
      const end = b.offsets[i + 1]!;
      const ts = b.stamps[i]!;
      for (const ex of this.exporters) ex.pushRaw?.(b.protocol, ts, b.data.subarray(start, end));
      this.ingestDatagram(b.protocol, dv, start, end, ts, recvMono);
    }
  }

  /** counter series by (protocol, msg_type): label objects and keys are built once, not per message */
  private readonly msgSeries = new Map<number, { value: number }>();
  private readonly eventSeries = new Map<string, { value: number }>();
  private exported = 0;

  private countMessage(protocol: number, type: number, name: string | undefined) {
    const k = protocol * 65536 + type;
    let s = this.msgSeries.get(k);
    if (!s) {
      s = this.o.metrics.messages.slot({ protocol: protocolName(protocol), msg_type: name ?? String(type) });
      this.msgSeries.set(k, s);
    }
    s.value++;
  }

  ingestDatagram(protocol: number, dv: DataView, start: number, end: number, tsNs: bigint, recvMono = 0): void {
    const errorsBefore = this.ctx.total;
    const exportedBefore = this.exported;
    const bytes = this.observers.length ? new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength) : undefined;
    walkMessages(dv, start, end, {
      message: (hdr, dv2, bodyOff, mEnd) => {
        this.decodedMessages++;
        const ev = decodeMessage(protocol, hdr, dv2, bodyOff, mEnd, this.ctx, { deterministic: this.o.deterministic });
        this.countMessage(protocol, hdr.type, ev?.netlink.msg_type_name ?? "NLMSG_DONE");
        if (!ev) return;
        this.emit({ event: ev, tsNs, recvMono }, false, bytes, bodyOff, mEnd);
      },
      framingError: (kind, off) => {
        this.ctx.error(kind === "bad_length" ? "bad_length" : "truncated", `datagram: ${kind} at byte ${off - start}`);
      },
    });
    // one clock reading per datagram: its messages were received together
    const n = this.exported - exportedBefore;
    if (n) this.o.metrics.latency.observe(Number(nowNs() - tsNs) / 1e9, n);
    if (this.ctx.total !== errorsBefore) this.syncErrorCounters(protocol);
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

  /**
   * Filter, serialise once, export. `latency`: observe it here (events not from a datagram).
   * `b[off, end)`: the message body the event was decoded from, for observers.
   */
  emit(pe: PipelineEvent, latency = true, b?: Uint8Array, off?: number, end?: number): void {
    for (const l of this.observers) l(pe, b, off, end);
    const ev = pe.event;
    if (this.o.filter && !this.o.filter(ev)) {
      this.o.metrics.filterDropped.inc();
      return;
    }
    if (!this.o.deterministic && ev.timestamp === undefined) {
      // messages of one datagram share a receive time: format it once
      if (pe.tsNs !== this.isoFor) {
        this.isoFor = pe.tsNs;
        this.iso = isoNs(pe.tsNs);
      }
      ev.timestamp = this.iso;
    }
    const ek = `${ev.protocol}\u0000${ev.type}`;
    let es = this.eventSeries.get(ek);
    if (!es) {
      es = this.o.metrics.events.slot({ protocol: ev.netlink.protocol_name, type: ev.type });
      this.eventSeries.set(ek, es);
    }
    es.value++;
    for (const l of this.listeners) l(pe);
    if (this.exporters.length) {
      const line = serialise(ev);
      for (const ex of this.exporters) ex.push(pe, line);
      this.exported++;
      if (latency) this.o.metrics.latency.observe(Number(nowNs() - pe.tsNs) / 1e9);
    }
  }
}

/**
 * Timestamp first, as readers of a log expect: every event is built with `timestamp` as its first
 * key (decodeMessage, cachedEvent), so plain JSON.stringify keeps that order.
 */
export function serialise(ev: NlEvent): string {
  return JSON.stringify(ev);
}
