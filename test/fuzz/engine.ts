/**
 * Drives fuzz inputs of one family through the two ways bytes enter nlmon: the pipeline as the
 * monitor feeds it (framing, decoders, serialisation for the exports) and --replay's path (the
 * capture reader, then the same pipeline). A decode error is what the pipeline counts in
 * nlmon_netlink_errors_total{kind="decode"}; a crash is anything thrown out of either path, and
 * for the replay path anything but the CaptureFormatError a broken file is reported with. A family
 * with a fast line writer (decode/line.ts) is also held to the decoder: every message the writer
 * takes must come out as the bytes JSON.stringify gives the decoded event, or it counts as a crash.
 */
import { feedCapture, markSnapshots } from "../../src/cli/replay.ts";
import { walkMessages } from "../../src/codec/nlmsg.ts";
import { BasicContext } from "../../src/decode/context.ts";
import { LineWriter } from "../../src/decode/line.ts";
import { decodeMessage, protocolName } from "../../src/decode/message.ts";
import { JsonBytes } from "../../src/event/json-bytes.ts";
import { Names } from "../../src/decode/names.ts";
import type { PipelineEvent } from "../../src/event/model.ts";
import { CaptureFormatError, newCaptureStats } from "../../src/export/pcap-read.ts";
import type { Exporter, LineBlock } from "../../src/export/types.ts";
import { nlmonMetrics, type NlmonMetrics } from "../../src/metrics/registry.ts";
import { Pipeline } from "../../src/pipeline/pipeline.ts";
import { captureOf, makeCapture } from "./capture.ts";
import { makeInput, type MutationKind } from "./mutate.ts";
import { mix, Rng } from "./rng.ts";
import type { FuzzFamily } from "./seeds.ts";

/** inputs per capture file on the replay path */
export const GROUP = 32;
/** a fresh pipeline this often, so state learned from garbage (device names) stays bounded */
const CHUNK = 4096;
/** keeps capture seeds apart from input seeds */
const CAPTURE_TAG = 0x43415054;

export interface FamilyReport {
  family: string;
  protocol: number;
  inputs: number;
  messages: number;
  events: number;
  /** events by type (which decoders the inputs reached) */
  event_types: Record<string, number>;
  decode_errors: number;
  unknown_attrs: number;
  mutations: Record<MutationKind, number>;
  captures: number;
  /** the replay path's own view: messages and decode errors of what the reader let through */
  replay_messages: number;
  replay_decode_errors: number;
  records: number;
  malformed_records: number;
  capture_errors: number;
  crashes: number;
  /** messages the family's fast line writer took (each compared with the decoder's line) */
  fast_lines: number;
  /** live lines the pipeline wrote straight from messages, each checked against the object path's */
  live_lines: number;
  /** the slowest single input through the pipeline, and which it was */
  max_input_ms: number;
  max_input_index: number;
}

export interface Crash {
  family: string;
  path: "decode" | "replay" | "line";
  seed: number;
  /** the input (decode) or the capture's first input (replay) */
  index: number;
  error: string;
  /** the datagram, or the whole capture file */
  hex: string;
}

export interface FuzzOptions {
  seed: number;
  count: number;
  /** index of the first input (to rebuild one input: from = i, count = 1) */
  from?: number;
  onCrash?: (c: Crash) => void;
}

/** the input the fuzzer makes for (seed, family, index), alone */
export function inputAt(f: FuzzFamily, seed: number, index: number) {
  return makeInput(new Rng(mix(seed, f.protocol, index)), f.seeds);
}

/** an export that only takes what the pipeline serialised, as the real ones do */
class Sink implements Exporter {
  readonly name = "fuzz";
  lines = 0;
  /** events by type: which decoders the inputs reached */
  readonly types = new Map<string, number>();
  async start() {}
  push(ev: PipelineEvent, line: string) {
    if (typeof line !== "string") throw new Error("pipeline handed an export something that is not a line");
    this.lines++;
    this.types.set(ev.event.type, (this.types.get(ev.event.type) ?? 0) + 1);
  }
  async close() {}
}

interface Lane {
  pipeline: Pipeline;
  metrics: NlmonMetrics;
  sink: Sink;
}

function lane(snapshots: boolean): Lane {
  const metrics = nlmonMetrics();
  const sink = new Sink();
  const pipeline = new Pipeline({ names: new Names([]), metrics, exporters: [sink] });
  if (snapshots) markSnapshots(pipeline);
  return { pipeline, metrics, sink };
}

function hexOf(b: Uint8Array) {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** What a pipeline exported, as text: lines as bytes (blocks) or as strings. */
class TextSink implements Exporter {
  readonly name = "fuzz-text";
  text = "";
  blockLines = 0;
  readonly pushBlock?: (b: LineBlock) => void;
  constructor(blocks: boolean) {
    if (blocks) {
      this.pushBlock = (b) => {
        this.blockLines += b.lines;
        this.text += Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength).toString("utf8");
      };
    }
  }
  async start() {}
  push(_ev: PipelineEvent, line: string) {
    this.text += line + "\n";
  }
  async close() {}
}

/**
 * The fast line writer and the decoder over one datagram; the first difference, described. Both
 * ways: a dump's deterministic lines (LineWriter against decodeMessage), and live lines through
 * two pipelines, one exporting lines as bytes (pipeline/line-path.ts) and one only strings.
 */
class LineCheck {
  private ctx!: BasicContext;
  private writer!: LineWriter;
  private readonly out = new JsonBytes();
  private live!: { objects: TextSink; lines: TextSink; po: Pipeline; pl: Pipeline };
  taken = 0;
  constructor(private readonly protocol: number) {
    this.renew();
  }

  /** a fresh context now and then, as the pipelines get */
  renew(): void {
    this.ctx = new BasicContext(new Names([]));
    this.writer = new LineWriter(this.protocol, this.ctx);
    const objects = new TextSink(false);
    const lines = new TextSink(true);
    this.live = {
      objects, lines,
      po: new Pipeline({ names: new Names([]), metrics: nlmonMetrics(), exporters: [objects] }),
      pl: new Pipeline({ names: new Names([]), metrics: nlmonMetrics(), exporters: [lines] }),
    };
  }

  /** the live pair over one datagram received at tsNs */
  checkLive(d: Uint8Array, tsNs: bigint): string | undefined {
    const l = this.live;
    const batch = { protocol: this.protocol, data: d, offsets: new Uint32Array([0, d.length]), stamps: new BigInt64Array([tsNs]), sentMono: 0 };
    l.objects.text = l.lines.text = "";
    l.po.ingestBatch(batch);
    l.pl.ingestBatch(batch);
    if (l.lines.text !== l.objects.text) return `live lines differ from the object path's\n  objects: ${l.objects.text}\n  lines:   ${l.lines.text}`;
    if (l.pl.ctx.counts.unknown_attr !== l.po.ctx.counts.unknown_attr) return "live lines counted unknown attributes differently";
    return undefined;
  }

  get liveTaken(): number {
    return this.live.lines.blockLines;
  }

  check(d: Uint8Array): string | undefined {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const u = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    let diff: string | undefined;
    walkMessages(dv, 0, d.length, {
      message: (hdr, _dv, off, end) => {
        if (diff) return;
        const before = this.ctx.counts.unknown_attr;
        const ev = decodeMessage(this.protocol, hdr, dv, off, end, this.ctx, { deterministic: true });
        const decodedUnknown = this.ctx.counts.unknown_attr - before;
        const mid = this.ctx.counts.unknown_attr;
        this.out.into(this.out.buf, 0);
        if (!this.writer.write(hdr, u, dv, off, end, this.out)) return;
        this.taken++;
        const want = JSON.stringify(ev);
        const got = this.out.text();
        if (got !== want) diff = `fast line differs from the decoder's\n  decoder: ${want}\n  writer:  ${got}`;
        else if (this.ctx.counts.unknown_attr - mid !== decodedUnknown) diff = `fast line counted ${this.ctx.counts.unknown_attr - mid} unknown attributes, the decoder ${decodedUnknown}`;
      },
      framingError: () => {},
    });
    return diff;
  }
}

export function fuzzFamily(f: FuzzFamily, o: FuzzOptions): FamilyReport {
  const rep: FamilyReport = {
    family: f.name, protocol: f.protocol, inputs: 0, messages: 0, events: 0, event_types: {}, decode_errors: 0, unknown_attrs: 0,
    mutations: { framing: 0, lengths: 0, types: 0, nesting: 0, bytes: 0 },
    captures: 0, replay_messages: 0, replay_decode_errors: 0, records: 0, malformed_records: 0, capture_errors: 0, crashes: 0, fast_lines: 0, live_lines: 0, max_input_ms: 0, max_input_index: -1,
  };
  const lines = f.decoder.bodyWriter ? new LineCheck(f.protocol) : undefined;
  let liveTaken = 0;
  const label = protocolName(f.protocol);
  let dec = lane(false);
  let rep2 = lane(true);
  const retire = (l: Lane) => {
    const errors = l.metrics.errors.get({ protocol: label, kind: "decode" });
    if (l === rep2) {
      rep.replay_messages += l.pipeline.decodedMessages;
      rep.replay_decode_errors += errors;
      return;
    }
    rep.messages += l.pipeline.decodedMessages;
    rep.events += l.sink.lines;
    for (const [t, n] of l.sink.types) rep.event_types[t] = (rep.event_types[t] ?? 0) + n;
    rep.decode_errors += errors;
    rep.unknown_attrs += l.metrics.errors.get({ protocol: label, kind: "unknown_attr" });
  };
  const crash = (path: Crash["path"], index: number, e: unknown, bytes: Uint8Array) => {
    rep.crashes++;
    o.onCrash?.({ family: f.name, path, seed: o.seed, index, error: e instanceof Error ? (e.stack ?? e.message) : String(e), hex: hexOf(bytes) });
  };

  const from = o.from ?? 0;
  const end = from + o.count;
  let group: Uint8Array[] = [];
  let groupStart = from;
  const flushGroup = () => {
    if (!group.length) return;
    const cap = makeCapture(new Rng(mix(o.seed, f.protocol, CAPTURE_TAG, Math.floor(groupStart / GROUP))), f.protocol, group);
    group = [];
    rep.captures++;
    const stats = newCaptureStats();
    try {
      for (const _ of feedCapture(cap, rep2.pipeline, stats));
    } catch (e) {
      if (e instanceof CaptureFormatError) rep.capture_errors++;
      else {
        crash("replay", groupStart, e, cap);
        retire(rep2);
        rep2 = lane(true);
      }
    }
    rep.records += stats.records;
    rep.malformed_records += stats.malformed;
  };

  for (let i = from; i < end; i++) {
    const input = inputAt(f, o.seed, i);
    for (const k of input.kinds) rep.mutations[k]++;
    const d = input.datagram;
    const t0 = performance.now();
    try {
      dec.pipeline.ingestDatagram(f.protocol, new DataView(d.buffer, d.byteOffset, d.byteLength), 0, d.length, BigInt(i));
    } catch (e) {
      crash("decode", i, e, d);
      retire(dec);
      dec = lane(false);
    }
    const ms = performance.now() - t0;
    if (ms > rep.max_input_ms) {
      rep.max_input_ms = ms;
      rep.max_input_index = i;
    }
    rep.inputs++;
    if (lines) {
      try {
        // receive times a few ms apart, crossing second boundaries
        const diff = lines.check(d) ?? lines.checkLive(d, 1_795_912_948_000_000_000n + BigInt(i) * 7_654_321n);
        if (diff) crash("line", i, new Error(diff), d);
      } catch (e) {
        crash("line", i, e, d);
        lines.renew();
      }
    }

    if (!group.length) groupStart = i;
    group.push(d);
    if ((i + 1) % GROUP === 0) flushGroup();
    if ((i + 1 - from) % CHUNK === 0) {
      retire(dec);
      retire(rep2);
      dec = lane(false);
      rep2 = lane(true);
      liveTaken += lines?.liveTaken ?? 0;
      lines?.renew();
    }
  }
  flushGroup();
  retire(dec);
  retire(rep2);
  rep.fast_lines = lines?.taken ?? 0;
  rep.live_lines = liveTaken + (lines?.liveTaken ?? 0);
  return rep;
}

/**
 * One given datagram (a crash report's hex) through both paths, on fresh pipelines: the error
 * each path threw, if any.
 */
export function runOne(f: FuzzFamily, datagram: Uint8Array): { decode?: string; replay?: string } {
  const out: { decode?: string; replay?: string } = {};
  const d = datagram;
  try {
    lane(false).pipeline.ingestDatagram(f.protocol, new DataView(d.buffer, d.byteOffset, d.byteLength), 0, d.length, 0n);
  } catch (e) {
    out.decode = e instanceof Error ? (e.stack ?? e.message) : String(e);
  }
  try {
    for (const _ of feedCapture(captureOf(f.protocol, d), lane(true).pipeline, newCaptureStats()));
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) out.replay = e instanceof Error ? (e.stack ?? e.message) : String(e);
  }
  return out;
}
