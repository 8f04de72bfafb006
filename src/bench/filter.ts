/**
 * The cost of a filter per event: a three-clause filter (event type, a number, an address prefix)
 * over the decoded corpus events, with tinybench. Every route of the corpus is of protocol 201, so
 * a route event runs all three tests and the others stop at the first; the figure is the mean over
 * the corpus's mix, as a monitor of that table would see it.
 */
import { Bench } from "tinybench";
import { walkMessages } from "../codec/nlmsg.ts";
import { BasicContext } from "../decode/context.ts";
import { decodeMessage } from "../decode/message.ts";
import { Names } from "../decode/names.ts";
import type { NlEvent } from "../event/model.ts";
import { parseFilter } from "../filter/expr.ts";
import { NETLINK_ROUTE } from "../uapi/linux.gen.ts";
import { fs, path } from "../node-lazy.ts";
import { type Corpus, readCorpus } from "./corpus.ts";
import { run, selfCommand } from "./sys.ts";

export const FILTER_EXPRESSION = "type == route and netlink.route.protocol == 201 and netlink.route.dst in 10.0.0.0/8";
/** the target for FILTER_EXPRESSION, per event */
export const FILTER_MAX_NS = 100;

export interface FilterBenchResult {
  expression: string;
  events: number;
  /** events the filter passed, as a check that it did its work */
  matched: number;
  events_per_s: number;
  ns_per_event: number;
  /** relative margin of error of the mean iteration time, % */
  rme_pct: number;
  iterations: number;
  /** each fresh process's figure; the others are the median run's */
  runs_ns_per_event?: number[];
}

/** fresh processes, as for the decode stages (decode.ts: one process's figure is steady, between processes it is not) */
export const FILTER_RUNS = 3;

export async function benchFilterRuns(c: Corpus, dir: string): Promise<FilterBenchResult> {
  if (!c.file) return benchFilter(c);
  const runs: FilterBenchResult[] = [];
  for (let i = 0; i < FILTER_RUNS; i++) {
    const out = path().join(dir, `filter-${i}.json`);
    const r = run([...selfCommand(), "--benchmark"], { NLMON_BENCH_ROLE: "filter", NLMON_BENCH_CORPUS: c.file, NLMON_BENCH_OUT: out });
    if (r.code !== 0) throw new Error(`filter run ${i + 1} failed (exit ${r.code}): ${r.err.trim().split("\n").slice(-3).join(" / ")}`);
    runs.push(JSON.parse(fs().readFileSync(out, "utf8")) as FilterBenchResult);
  }
  const sorted = [...runs].sort((a, b) => a.ns_per_event - b.ns_per_event);
  return { ...sorted[Math.floor(sorted.length / 2)]!, runs_ns_per_event: runs.map((r) => Number(r.ns_per_event.toFixed(1))) };
}

/** The filter child: the corpus from NLMON_BENCH_CORPUS, the result to NLMON_BENCH_OUT. */
export async function runFilterRole(): Promise<number> {
  const corpus = readCorpus(fs().readFileSync(process.env.NLMON_BENCH_CORPUS!));
  fs().writeFileSync(process.env.NLMON_BENCH_OUT!, JSON.stringify(await benchFilter(corpus, 1000, 300)));
  return 0;
}

let sink = 0;

export async function benchFilter(c: Corpus, timeMs = 1500, warmupMs = 500): Promise<FilterBenchResult> {
  const events: NlEvent[] = [];
  const ctx = new BasicContext(new Names());
  const v = {
    message: (hdr: Parameters<typeof decodeMessage>[1], dv: DataView, off: number, end: number) => {
      const ev = decodeMessage(NETLINK_ROUTE, hdr, dv, off, end, ctx);
      if (ev) events.push(ev);
    },
    framingError: () => {},
  };
  for (const d of c.datagrams) walkMessages(new DataView(d.buffer, d.byteOffset, d.byteLength), 0, d.byteLength, v);
  const f = parseFilter(FILTER_EXPRESSION);
  let matched = 0;
  for (const ev of events) if (f(ev)) matched++;

  const bench = new Bench({ time: timeMs, warmupTime: warmupMs, iterations: 10 });
  bench.add("filter", () => {
    let n = 0;
    for (let i = 0; i < events.length; i++) if (f(events[i]!)) n++;
    sink += n;
  });
  await bench.run();
  const r = bench.getTask("filter")?.result;
  if (!r || r.error) throw new Error(`filter benchmark: ${r?.error?.message ?? "no result"}`);
  const meanMs = r.latency.mean;
  return {
    expression: FILTER_EXPRESSION, events: events.length, matched,
    events_per_s: events.length / (meanMs / 1000),
    ns_per_event: (meanMs * 1e6) / events.length,
    rme_pct: r.latency.rme,
    iterations: r.latency.samples.length,
  };
}

/** keeps the sink observable so the JIT cannot drop the loop */
export function filterSink(): number {
  return sink;
}
