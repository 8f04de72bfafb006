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

export interface PipelineOptions {
  names: Names;
  metrics: NlmonMetrics;
  filter?: (ev: NlEvent) => boolean;
  exporters?: Exporter[];
  deterministic?: boolean;
  /** keep the raw message on each event (pcap, replay) */
  keepRaw?: boolean;
  log?: (msg: string) => void;
}

export class Pipeline {
  readonly ctx: BasicContext;
  readonly exporters: Exporter[];
  private readonly listeners: EventListener[] = [];
  /** sees every decoded event before filtering: caches must not depend on what the user filters out */
  private readonly observers: EventListener[] = [];
  private lastErrCounts: Record<DecodeErrorKind, number>;
  decodedMessages = 0;

  constructor(private readonly o: PipelineOptions) {
    this.ctx = new BasicContext(o.names);
    this.exporters = o.exporters ?? [];
    this.lastErrCounts = { ...this.ctx.counts };
  }

  onEvent(l: EventListener) { this.listeners.push(l); }
  observe(l: EventListener) { this.observers.push(l); }

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

  ingestDatagram(protocol: number, dv: DataView, start: number, end: number, tsNs: bigint, recvMono = 0): void {
    const m = this.o.metrics;
    walkMessages(dv, start, end, {
      message: (hdr, dv2, bodyOff, mEnd, msgOff) => {
        this.decodedMessages++;
        const ev = decodeMessage(protocol, hdr, dv2, bodyOff, mEnd, this.ctx, { deterministic: this.o.deterministic });
        m.messages.slot({ protocol: protocolName(protocol), msg_type: ev?.netlink.msg_type_name ?? "NLMSG_DONE" }).value++;
        if (!ev) return;
        const raw = this.o.keepRaw ? new Uint8Array(dv2.buffer, dv2.byteOffset + msgOff, hdr.len) : undefined;
        this.emit({ event: ev, tsNs, recvMono, raw });
      },
      framingError: (kind, off) => {
        this.ctx.error(kind === "bad_length" ? "bad_length" : "truncated", `datagram: ${kind} at byte ${off - start}`);
      },
    });
    this.syncErrorCounters(protocol);
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

  /** Filter, serialise once, export. Also the entry for events the monitor makes itself (resync, implicit). */
  emit(pe: PipelineEvent): void {
    for (const l of this.observers) l(pe);
    const ev = pe.event;
    if (this.o.filter && !this.o.filter(ev)) {
      this.o.metrics.filterDropped.inc();
      return;
    }
    if (!this.o.deterministic && ev.timestamp === undefined) ev.timestamp = isoNs(pe.tsNs);
    this.o.metrics.events.slot({ protocol: ev.netlink.protocol_name, type: ev.type }).value++;
    for (const l of this.listeners) l(pe);
    if (this.exporters.length) {
      const line = serialise(ev);
      for (const ex of this.exporters) ex.push(pe, line);
      this.o.metrics.latency.observe(Number(nowNs() - pe.tsNs) / 1e9);
    }
  }
}

/** timestamp first, as readers of a log expect; the rest in the model's order */
export function serialise(ev: NlEvent): string {
  if (ev.timestamp === undefined) return JSON.stringify(ev);
  const { timestamp, ...rest } = ev;
  return `{"timestamp":${JSON.stringify(timestamp)},${JSON.stringify(rest).slice(1)}`;
}
