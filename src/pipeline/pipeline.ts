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
import type { DatagramBatch, NamespaceTag } from "../backend/types.ts";
import { decodeDump } from "../decode/dump.ts";
import type { EventType, NlEvent, PipelineEvent } from "../event/model.ts";
import { serialise } from "../event/line.ts";
import type { Exporter } from "../export/types.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import { LinePath } from "./line-path.ts";
import type { NlmonConfig } from "../config/types.ts";
import { buildFilterPlan, NO_FILTERS, routesEvents, withGlobal, type FilterPlan } from "../filter/plan.ts";
import type { Predicate } from "../filter/expr.ts";
import { log as defaultLog, type Log } from "../log.ts";
import { NLMSG_HDRLEN } from "../codec/nlmsg.ts";

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

  // ---- filters (src/filter/plan.ts); `filters` undefined when nothing changes where events go
  private allFilters: FilterPlan = NO_FILTERS;
  private filters: FilterPlan | undefined;
  /** per export (as this.exporters), the index of its predicate in filters.tests; -1 = every event */
  private exportSlot: number[] = [];
  /** per export: takes raw messages of the events that pass it, not every datagram (pcap with a filter) */
  private rawPerEvent: boolean[] = [];
  private anyRawPerEvent = false;
  /** exports that take every datagram as received */
  private rawDirect: Exporter[] = [];
  /** each predicate's result for the event at hand: one evaluation per distinct filter per event */
  private results: boolean[] = [];
  private filterLog: Log = defaultLog;

  constructor(private readonly o: PipelineOptions) {
    this.ctx = new BasicContext(o.names);
    this.exporters = o.exporters ?? [];
    this.lastErrCounts = { ...this.ctx.counts };
    this.decodeOpts = { deterministic: o.deterministic };
    this.setPlan(o.filter ? withGlobal(NO_FILTERS, o.filter) : NO_FILTERS);
  }

  /**
   * (Re)builds every filter from a config: the global `filter`, each export's own, and the named
   * filters' actions (drop, log, alert). A reload calls it again, and so must whatever changes
   * `exporters`: exports are matched to their filters by name, here. `log` gets action log's lines.
   */
  applyFilters(cfg: NlmonConfig, log?: Log): void {
    if (log) this.filterLog = log;
    this.setPlan(buildFilterPlan(cfg));
  }

  /** Replaces the global filter alone (undefined: none); exports with filters of their own keep them. */
  setFilter(f: Predicate | undefined): void {
    this.setPlan(withGlobal(this.allFilters, f));
  }

  /** the named filters with action alert, by name, for the alert rules */
  alertFilters(): ReadonlyMap<string, Predicate> {
    return this.allFilters.alert;
  }

  private setPlan(p: FilterPlan) {
    this.allFilters = p;
    this.filters = routesEvents(p) ? p : undefined;
    this.exportSlot = this.exporters.map((ex) => p.exports.get(ex.name) ?? p.global);
    // a capture with a filter (or drop filters) holds the messages of the events that pass, not every datagram
    this.rawPerEvent = this.exporters.map((ex, k) => ex.pushRaw !== undefined && (this.exportSlot[k]! >= 0 || p.drop.length > 0));
    this.anyRawPerEvent = this.rawPerEvent.includes(true);
    this.rawDirect = this.exporters.filter((ex, k) => ex.pushRaw !== undefined && !this.rawPerEvent[k]);
    this.results = p.tests.map(() => false);
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
    const ok = !this.filters && this.listeners.length === 0 && this.exporters.length > 0 &&
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
    if (b.namespace && !this.batchNs) return this.ingestNamespaced(b, b.namespace);
    const dv = new DataView(b.data.buffer, b.data.byteOffset, b.data.byteLength);
    const recvMono = b.sentMono;
    this.wallBase = Number(nowNs()) - performance.now() * 1e6;
    try {
      if (this.linePath) this.viewFor(dv);
      for (let i = 0; i + 1 < b.offsets.length; i++) {
        const start = b.offsets[i]!;
        const end = b.offsets[i + 1]!;
        const ts = b.stamps[i]!;
        for (const ex of this.rawDirect) ex.pushRaw!(b.protocol, ts, b.data.subarray(start, end));
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

  /** netlink.namespaces: all — per namespace followed, its decode context and that context's error counts so far */
  private readonly spaces = new Map<string, { ctx: BasicContext; errs: Record<DecodeErrorKind, number> }>();
  /** the namespace of the batch being decoded, which its events carry */
  private batchNs: NamespaceTag | undefined;

  /**
   * A batch from one of several namespaces. Each numbers its devices from 1, so each is decoded
   * with a context of its own, begun afresh by the namespace's prime batch (its links) and dropped
   * when it is gone; its events say where they came from. The line path, whose lines carry no
   * namespace, stands aside for it.
   */
  private ingestNamespaced(b: DatagramBatch, ns: NamespaceTag): void {
    const key = `${ns.name}\0${ns.inode}`;
    if (b.gone) {
      this.spaces.delete(key);
      return;
    }
    let sp = this.spaces.get(key);
    if (!sp || b.prime) {
      const ctx = new BasicContext(this.o.names);
      this.spaces.set(key, (sp = { ctx, errs: { ...ctx.counts } }));
    }
    if (b.prime) {
      const datagrams: Uint8Array[] = [];
      for (let i = 0; i + 1 < b.offsets.length; i++) datagrams.push(b.data.subarray(b.offsets[i]!, b.offsets[i + 1]!));
      decodeDump(datagrams, sp.ctx, b.protocol, { sink: () => {} });
      return;
    }
    const self = this as unknown as { ctx: BasicContext; linePath: LinePath | undefined; lastErrCounts: Record<DecodeErrorKind, number> };
    const saved = { ctx: self.ctx, linePath: self.linePath, errs: self.lastErrCounts };
    self.linePath?.flush();
    self.ctx = sp.ctx;
    self.linePath = undefined;
    self.lastErrCounts = sp.errs;
    this.batchNs = ns;
    try {
      this.ingestBatch(b);
    } finally {
      sp.errs = self.lastErrCounts;
      self.ctx = saved.ctx;
      self.linePath = saved.linePath;
      self.lastErrCounts = saved.errs;
      this.batchNs = undefined;
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
      if (p.batchNs) ev.namespace = p.batchNs;
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
    if (this.observers.length || this.linePath || this.anyRawPerEvent) this.viewFor(dv);
    v.bytes = this.observers.length || this.anyRawPerEvent ? this.view : undefined;
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
    if (this.filters) {
      this.emitFiltered(pe, this.filters, latency, b, off, end);
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

  /**
   * emit()'s second half when filters decide where the event goes. API listeners see what the
   * global filter passes; an export sees what its own filter passes, or the global one when it
   * has none. Counted as dropped: what a drop filter matched, and what reached no one.
   */
  private emitFiltered(pe: PipelineEvent, p: FilterPlan, latency: boolean, b?: Uint8Array, off?: number, end?: number): void {
    const ev = pe.event;
    for (let k = 0; k < p.drop.length; k++) {
      if (p.drop[k]!.test(ev)) {
        this.o.metrics.filterDropped.inc();
        return;
      }
    }
    if (p.log.length && this.filterLog.enabled("info", "filter")) {
      for (const l of p.log) if (l.test(ev)) this.filterLog.info("filter", `${l.name}: ${serialise(ev)}`);
    }
    const r = this.results;
    for (let k = 0; k < p.tests.length; k++) r[k] = p.tests[k]!(ev);
    const kept = p.global < 0 || r[p.global]!;
    const slots = this.exportSlot;
    let taken = kept;
    for (let k = 0; !taken && k < slots.length; k++) taken = slots[k]! < 0 || r[slots[k]!]!;
    if (!taken) {
      this.o.metrics.filterDropped.inc();
      return;
    }
    this.countEvent(ev.protocol, ev.type);
    if (kept) for (const l of this.listeners) l(pe);
    let line: string | undefined;
    let sent = false;
    for (let k = 0; k < slots.length; k++) {
      const s = slots[k]!;
      if (s >= 0 && !r[s]) continue;
      sent = true;
      const ex = this.exporters[k]!;
      if (!this.rawPerEvent[k]) ex.push(pe, (line ??= serialise(ev)));
      // the message's own bytes: events made by nlmon (no message) have nothing to capture
      else if (b !== undefined && off !== undefined && end !== undefined) ex.pushRaw!(ev.protocol, pe.tsNs, b.subarray(off - NLMSG_HDRLEN, end));
    }
    if (sent) {
      this.exported++;
      if (latency) this.o.metrics.latency.observe(Number(nowNs() - pe.tsNs) / 1e9);
    }
  }
}

export { serialise };
