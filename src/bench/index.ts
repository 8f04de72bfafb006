/**
 * `nlmon --benchmark`: decode throughput on a corpus captured from the kernel, then live capture
 * under route churn in a namespace, for the configured backend or (--compare) both backends and
 * `ip monitor` at once, then conntrack events beside `conntrack -E` (conntrack.ts). The same entry also runs the benchmark's children (NLMON_BENCH_ROLE),
 * which are this binary started inside a namespace.
 */
import { os, path } from "../node-lazy.ts";
import pkg from "../../package.json" with { type: "json" };
import type { NlmonConfig } from "../config/types.ts";
import type { Log } from "../log.ts";
import { NAMES } from "../uapi/linux.gen.ts";
import { runMonitorRole } from "./child.ts";
import { CORPUS_ROUTES, captureCorpus, corpusTypes, runCaptureRole } from "./corpus.ts";
import { benchDecodeRuns, DECODE_RUNS, runDecodeRole } from "./decode.ts";
import { benchFilterRuns, FILTER_EXPRESSION, FILTER_RUNS, runFilterRole } from "./filter.ts";
import {
  type BackendName, churn, finishListener, type Listener, type ListenerResult, measureFloor, measureMemory, startIpMonitor, startNlmon, syncMark, writeConfig,
} from "./live.ts";
import { conntrackRow } from "./conntrack.ts";
import { dumpCompare } from "./dump.ts";
import { fullTable } from "./fulltable.ts";
import { type BenchReport, formatFullTable, formatHuman, type FullTableReport, fullTablePass, fullTableTargets, targets } from "./report.ts";
import { addNamespace, basicTopology, cleanupAll, delNamespace, installSignalCleanup, namespaceExists, tempDir } from "./sys.ts";

/** What --benchmark takes from the command line (the CLI's flags of the same names). */
export interface BenchOptions {
  /** seconds of route churn, in whole bursts; 0: one burst */
  duration: number;
  /** both backends and `ip monitor` on the same churn */
  compare: boolean;
  json: boolean;
  /** the full-table row alone, with this many routes (--routes) */
  routes?: number;
}

export async function runBenchmark(args: BenchOptions, cfg: NlmonConfig, log: Log): Promise<number> {
  const role = process.env.NLMON_BENCH_ROLE;
  if (role === "capture") return await runCaptureRole(cfg, log);
  if (role === "decode") return await runDecodeRole();
  if (role === "filter") return await runFilterRole();
  if (role === "monitor") return await runMonitorRole(cfg, log);
  if (role) {
    process.stderr.write(`nlmon: NLMON_BENCH_ROLE=${role}: unknown role\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write("nlmon: --benchmark makes network namespaces: run it as root\n");
    return 1;
  }
  installSignalCleanup();
  try {
    if (args.routes !== undefined) {
      const report = await fullTableBenchmark(args.routes, cfg, log);
      await Bun.write(Bun.stdout, args.json ? JSON.stringify(report) + "\n" : formatFullTable(report));
      return 0;
    }
    const report = await benchmark(args, cfg, log);
    await Bun.write(Bun.stdout, args.json ? JSON.stringify(report) + "\n" : formatHuman(report));
    return 0;
  } catch (e) {
    process.stderr.write(`nlmon: benchmark: ${(e as Error).message}\n`);
    return 1;
  } finally {
    cleanupAll();
  }
}

const RTM_NAMES = NAMES.rtm_type as Record<number, string>;

function cpuModel(): string {
  return os().cpus()[0]?.model.trim() ?? "unknown";
}

/** what every report starts with: the versions, the machine, and when it ran */
function header(started: string, t0: number) {
  return {
    nlmon_version: pkg.version,
    bun_version: Bun.version,
    kernel: os().release(),
    cpus: os().cpus().length,
    cpu_model: cpuModel(),
    started,
    elapsed_s: (performance.now() - t0) / 1000,
  };
}

async function benchmark(args: BenchOptions, cfg: NlmonConfig, log: Log): Promise<BenchReport> {
  const t0 = performance.now();
  const started = new Date().toISOString();
  const say = (m: string) => log.info("bench", m);
  const selected: BackendName = cfg.netlink.use_libnl ? "libnl" : "legacy";
  const backends: BackendName[] = args.compare ? ["libnl", "legacy"] : [selected];
  const corpusNs = `nlmonbench${process.pid}`;
  const liveNs = `nlmonbench${process.pid}l`;
  const dir = tempDir();

  // the decode corpus is read as the kernel framed it, several messages a datagram, which only the
  // legacy backend keeps: libnl's receive loop hands dump replies over one message at a time
  const capturedWith: BackendName = "legacy";
  say(`corpus: ${CORPUS_ROUTES} routes in namespace ${corpusNs}, dumped through the ${capturedWith} backend`);
  const corpus = captureCorpus(corpusNs, dir, writeConfig(path().join(dir, "capture.config.json"), cfg), { NLMON_USE_LIBNL: "false" });

  say(`decode: ${corpus.messages} messages, tinybench, ${DECODE_RUNS} fresh processes`);
  const decode = await benchDecodeRuns(corpus, dir);
  say(`filter: '${FILTER_EXPRESSION}' over the corpus events, ${FILTER_RUNS} fresh processes`);
  const filter = await benchFilterRuns(corpus, dir);

  say(`live: namespace ${liveNs}, listeners: ${[...backends, ...(args.compare ? ["ip monitor"] : [])].join(", ")}`);
  addNamespace(liveNs);
  basicTopology(liveNs);
  const listeners: Listener[] = backends.map((b) => startNlmon(liveNs, dir, b, cfg, b, false));
  if (args.compare) listeners.push(startIpMonitor(liveNs, dir));
  if (!(await syncMark(liveNs, listeners, 30_000))) throw new Error("listeners did not report a start mark within 30 s");

  say(args.duration > 0 ? `live: churning routes for ${args.duration} s` : "live: churning routes: one burst (--duration 0)");
  const ch = await churn(liveNs, dir, args.duration);
  say(`live: ${ch.succeeded} route changes in ${ch.seconds.toFixed(1)} s; waiting for the listeners to catch up`);
  // bounded so that a listener that has fallen hopelessly behind still ends the run in time
  const drainMs = 30_000 + args.duration * 1000;
  const drained = await syncMark(liveNs, listeners, drainMs, drainMs);
  const results: ListenerResult[] = [];
  for (const l of listeners) results.push(await finishListener(l, ch, drained));

  say(`memory: idle and with a 100k-route cache (${backends.join(", ")})`);
  const memory = await measureMemory(liveNs, dir, cfg, backends);
  const memoryFloor = await measureFloor(dir);

  delNamespace(liveNs);
  const namespaces = [corpusNs, liveNs];

  // conntrack events beside conntrack -E, in a namespace of its own (skipped, not failed, without conntrack-tools or nft)
  const ctNs = `nlmonbench${process.pid}c`;
  const conntrack = await conntrackRow(ctNs, dir, cfg, selected, say);
  if (conntrack.skipped) say(`conntrack: skipped: ${conntrack.skipped}`);
  if (conntrack.namespace) namespaces.push(ctNs);
  let dump;
  if (args.compare) {
    // the dump comparison: whole processes, in a namespace of its own holding 100k routes
    const dumpNs = `nlmonbench${process.pid}d`;
    dump = await dumpCompare(dumpNs, dir, cfg, selected, say);
    dump.namespace_removed = !namespaceExists(dumpNs);
    namespaces.push(dumpNs);
  }
  const partial: Omit<BenchReport, "targets"> = {
    ...header(started, t0),
    mode: args.compare ? "compare" : "single",
    duration_s: args.duration,
    corpus: {
      routes_installed: CORPUS_ROUTES,
      messages: corpus.messages,
      route_messages: corpus.routeMessages,
      datagrams: corpus.datagrams.length,
      bytes: corpus.bytes,
      by_type: corpusTypes(corpus, (t) => RTM_NAMES[t]),
      captured_with: capturedWith,
    },
    decode,
    filter,
    live: {
      churn: ch,
      listeners: results,
      latency_method: "exact per-event times from kernel receive (the backend's timestamp) to hand-over to the JSON export, "
        + "uniformly sampled into a 100k reservoir in each nlmon child; ip monitor has none",
    },
    memory,
    memory_floor: memoryFloor,
    conntrack,
    dump,
    namespaces,
    namespaces_removed: namespaces.every((n) => !namespaceExists(n)),
  };
  return { ...partial, targets: targets(partial) };
}

/** --routes N: only the full-table burst (fulltable.ts), the configured backend beside `ip monitor` */
async function fullTableBenchmark(routes: number, cfg: NlmonConfig, log: Log): Promise<FullTableReport> {
  const t0 = performance.now();
  const started = new Date().toISOString();
  const backend: BackendName = cfg.netlink.use_libnl ? "libnl" : "legacy";
  const dir = tempDir();
  const f = await fullTable(`nlmonbench${process.pid}`, dir, cfg, backend, routes, (m) => log.info("bench", m));
  const namespaces = [...(f.reference ? [f.reference.namespace] : []), f.run.namespace];
  return {
    ...header(started, t0),
    mode: "full-table",
    full_table: f,
    pass: fullTablePass(f),
    targets: fullTableTargets(f),
    namespaces,
    namespaces_removed: namespaces.every((n) => !namespaceExists(n)),
  };
}
