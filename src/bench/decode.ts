/**
 * Decode throughput on the captured corpus, one stage at a time, with tinybench. Each iteration
 * runs a stage over the whole corpus, so per-message figures are the iteration time divided by
 * the corpus's message count.
 */
import { Bench } from "tinybench";
import { walkMessages } from "../codec/nlmsg.ts";
import { isoNs } from "../codec/format.ts";
import { BasicContext } from "../decode/context.ts";
import { decodeMessage } from "../decode/message.ts";
import { Names } from "../decode/names.ts";
import type { NlEvent } from "../event/model.ts";
import type { Exporter } from "../export/types.ts";
import { nlmonMetrics } from "../metrics/registry.ts";
import { Pipeline, serialise } from "../pipeline/pipeline.ts";
import { NETLINK_ROUTE } from "../uapi/linux.gen.ts";
import { type Corpus, readCorpus } from "./corpus.ts";
import { fs, path } from "../node-lazy.ts";
import { run, selfCommand } from "./sys.ts";

export interface StageResult {
  stage: string;
  what: string;
  messages_per_iteration: number;
  msgs_per_s: number;
  ns_per_msg: number;
  /** relative margin of error of the mean iteration time, % */
  rme_pct: number;
  iterations: number;
  /** each fresh process's figure, when the stages ran in several (the others are the median run's) */
  runs_msgs_per_s?: number[];
}

const views = (ds: Uint8Array[]) => ds.map((d) => new DataView(d.buffer, d.byteOffset, d.byteLength));

/** a sink for results, so the JIT cannot drop work whose result is unused */
let sinkCount = 0;

/** how many fresh processes run the decode stages; the report takes each stage's median */
export const DECODE_RUNS = 5;

/**
 * The decode stages in DECODE_RUNS fresh processes, one after the other, each stage's median
 * taken. In one process the figure was steady (±1-4%), but between processes of the same binary it
 * moved between 0.9 and 1.9M route messages/s (11 --compare runs; three fresh processes in one
 * run gave 1.51, 1.00 and 1.35M).
 */
export async function benchDecodeRuns(c: Corpus, dir: string): Promise<StageResult[]> {
  if (!c.file) return benchDecode(c);
  const runs: StageResult[][] = [];
  for (let i = 0; i < DECODE_RUNS; i++) {
    const out = path().join(dir, `decode-${i}.json`);
    const r = run([...selfCommand(), "--benchmark"], { NLMON_BENCH_ROLE: "decode", NLMON_BENCH_CORPUS: c.file, NLMON_BENCH_OUT: out });
    if (r.code !== 0) throw new Error(`decode run ${i + 1} failed (exit ${r.code}): ${r.err.trim().split("\n").slice(-3).join(" / ")}`);
    runs.push(JSON.parse(fs().readFileSync(out, "utf8")) as StageResult[]);
  }
  return runs[0]!.map((s, k) => {
    const all = runs.map((x) => x[k]!).sort((a, b) => a.msgs_per_s - b.msgs_per_s);
    const mid = all[Math.floor(all.length / 2)]!;
    return { ...mid, runs_msgs_per_s: runs.map((x) => Math.round(x[k]!.msgs_per_s)) };
  });
}

/** The decode child: the corpus from NLMON_BENCH_CORPUS through every stage, results to NLMON_BENCH_OUT. */
export async function runDecodeRole(): Promise<number> {
  const corpus = readCorpus(fs().readFileSync(process.env.NLMON_BENCH_CORPUS!));
  // five of these, so each stage 1 s after 0.3 s of warm-up rather than the single run's 1.5 s and 0.5 s
  const r = await benchDecode(corpus, 1000, 300);
  fs().writeFileSync(process.env.NLMON_BENCH_OUT!, JSON.stringify(r));
  return 0;
}

export async function benchDecode(c: Corpus, timeMs = 1500, warmupMs = 500): Promise<StageResult[]> {
  const all = views(c.datagrams);
  const routes = views(c.routeDatagrams);
  const names = new Names();
  const ts = BigInt(Date.now()) * 1_000_000n;

  const codec = (dvs: DataView[]) => {
    let n = 0;
    const v = { message: () => { n++; }, framingError: () => {} };
    for (const dv of dvs) walkMessages(dv, 0, dv.byteLength, v);
    sinkCount += n;
  };
  const decode = (dvs: DataView[], ctx: BasicContext, keep?: NlEvent[]) => {
    const v = {
      message: (hdr: Parameters<typeof decodeMessage>[1], dv2: DataView, off: number, end: number) => {
        const ev = decodeMessage(NETLINK_ROUTE, hdr, dv2, off, end, ctx);
        if (ev) {
          sinkCount++;
          keep?.push(ev);
        }
      },
      framingError: () => {},
    };
    for (const dv of dvs) walkMessages(dv, 0, dv.byteLength, v);
  };

  // serialise sees events as the pipeline hands them over: decoded, with their timestamp
  const events: NlEvent[] = [];
  decode(all, new BasicContext(names), events);
  for (const ev of events) ev.timestamp = isoNs(ts);

  const nullExport: Exporter = { name: "null", start: async () => {}, push: (_e, line) => { sinkCount += line.length; }, close: async () => {} };
  const pipeline = new Pipeline({ names, metrics: nlmonMetrics(), exporters: [nullExport] });
  // the same with an export that takes lines as bytes: what the monitor does when nothing needs
  // the event objects (pipeline/line-path.ts)
  const blockExport: Exporter = { ...nullExport, pushBlock: (b) => { sinkCount += b.lines; } };
  const linesPipeline = new Pipeline({ names, metrics: nlmonMetrics(), exporters: [blockExport] });

  const ctxAll = new BasicContext(names);
  const ctxRoutes = new BasicContext(names);
  const stages: { stage: string; what: string; n: number; fn: () => void }[] = [
    { stage: "codec", what: "walkMessages framing only", n: c.messages, fn: () => codec(all) },
    { stage: "decode", what: "decodeMessage into events", n: c.messages, fn: () => decode(all, ctxAll) },
    { stage: "serialise", what: "event to its JSON line", n: events.length, fn: () => { for (const ev of events) sinkCount += serialise(ev).length; } },
    { stage: "pipeline", what: "bytes to JSON line (Pipeline.ingestDatagram, metrics, null export)", n: c.messages,
      fn: () => { for (const dv of all) pipeline.ingestDatagram(NETLINK_ROUTE, dv, 0, dv.byteLength, ts); } },
    { stage: "pipeline_lines", what: "bytes to JSON line, lines written from the messages (export takes bytes)", n: c.messages,
      fn: () => {
        for (const dv of all) linesPipeline.ingestBatch({ protocol: NETLINK_ROUTE, data: new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength), offsets: Uint32Array.of(0, dv.byteLength), stamps: BigInt64Array.of(ts), sentMono: 0 });
      } },
    { stage: "decode_routes", what: "decodeMessage, route messages only", n: c.routeMessages, fn: () => decode(routes, ctxRoutes) },
  ];

  const bench = new Bench({ time: timeMs, warmupTime: warmupMs, iterations: 10 });
  for (const s of stages) bench.add(s.stage, s.fn);
  await bench.run();

  return stages.map((s) => {
    const r = bench.getTask(s.stage)?.result;
    if (!r || r.error) throw new Error(`decode benchmark, stage ${s.stage}: ${r?.error?.message ?? "no result"}`);
    const meanMs = r.latency.mean;
    return {
      stage: s.stage, what: s.what, messages_per_iteration: s.n,
      msgs_per_s: s.n / (meanMs / 1000),
      ns_per_msg: (meanMs * 1e6) / s.n,
      rme_pct: r.latency.rme,
      iterations: r.latency.samples.length,
    };
  });
}

/** keeps sinkCount observable so its updates are not dead code */
export function benchSink(): number {
  return sinkCount;
}
