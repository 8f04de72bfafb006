/**
 * The monitor as the live benchmark runs it: the same backend selection, exporters and Monitor as
 * `nlmon` in monitor mode, with each export wrapped to time the hand-over of every event. On
 * SIGTERM it stops exactly as the monitor does (draining the exports), then writes what only the
 * process itself knows to NLMON_BENCH_STATS.
 */
import { fs } from "../node-lazy.ts";
import type { WorkerBackend } from "../backend/host.ts";
import { selectBackend } from "../backend/select.ts";
import { buildExporters } from "../export/build.ts";
import { nowNs } from "../clock.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { PipelineEvent } from "../event/model.ts";
import type { Exporter, LineBlock } from "../export/types.ts";
import type { Log } from "../log.ts";
import { nlmonMetrics } from "../metrics/registry.ts";
import { Monitor } from "../monitor/monitor.ts";

/**
 * A uniform sample of every latency seen (Vitter's algorithm R): bounded memory however long the
 * run, and exact values rather than histogram buckets, so p50/p99 are not rounded to a bucket edge.
 */
export class Reservoir {
  /**
   * Grown as samples come, up to capacity: allocated whole at start, its 800 KB were the benchmark's
   * own memory counted in the idle monitor's RSS.
   */
  private xs = new Float64Array(1024);
  seen = 0;
  max = 0;
  constructor(readonly capacity: number) {}
  add(v: number) {
    if (v > this.max) this.max = v;
    if (this.seen < this.capacity) {
      if (this.seen === this.xs.length) {
        const grown = new Float64Array(Math.min(this.capacity, 2 * this.xs.length));
        grown.set(this.xs);
        this.xs = grown;
      }
      this.xs[this.seen] = v;
    } else {
      const j = Math.floor(Math.random() * (this.seen + 1));
      if (j < this.capacity) this.xs[j] = v;
    }
    this.seen++;
  }
  sorted(): Float64Array {
    return this.xs.slice(0, Math.min(this.seen, this.capacity)).sort();
  }
}

export function quantile(sorted: Float64Array, q: number): number | undefined {
  if (!sorted.length) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export interface ChildStats {
  backend: string;
  library?: string;
  rcvbuf: number[];
  overruns: number;
  resyncs: number;
  events: number;
  export_dropped: number;
  cached_routes?: number;
  /** the route cache's own storage (arena and index) */
  route_cache_bytes?: number;
  latency: { samples: number; seen: number; p50_ms?: number; p99_ms?: number; max_ms: number; negative: number };
  histogram: { buckets: readonly number[]; counts: number[]; count: number };
  handover: ReturnType<WorkerBackend["handoverStats"]>;
}

const STAMP_KEY = new TextEncoder().encode(`{"timestamp":"`);
/** the last "yyyy-mm-ddThh:mm:ss" read and its ns since the epoch */
let stampSecText = "";
let stampSecNs = 0n;

/** The receive time a line's `"timestamp":"…Z"` says (nine fraction digits, as the pipeline writes it), in ns. */
function stampNs(u: Uint8Array, at: number): bigint | undefined {
  for (let i = 0; i < STAMP_KEY.length; i++) if (u[at + i] !== STAMP_KEY[i]) return undefined;
  const s = at + STAMP_KEY.length;
  if (u[s + 19] !== 46 /* . */ || u[s + 29] !== 90 /* Z */) return undefined;
  let same = stampSecText.length === 19;
  for (let i = 0; same && i < 19; i++) same = u[s + i] === stampSecText.charCodeAt(i);
  if (!same) {
    stampSecText = String.fromCharCode(...u.subarray(s, s + 19));
    stampSecNs = BigInt(Date.parse(`${stampSecText}Z`)) * 1_000_000n;
  }
  let frac = 0;
  for (let i = 20; i < 29; i++) frac = frac * 10 + u[s + i]! - 48;
  return stampSecNs + BigInt(frac);
}

function timed(ex: Exporter, r: Reservoir, neg: { n: number }): Exporter {
  return {
    name: ex.name,
    start: () => ex.start(),
    push(pe: PipelineEvent, line: string) {
      ex.push(pe, line);
      // events the monitor makes itself (resync differences) have no receive time
      if (pe.recvMono === 0) return;
      const ms = Number(nowNs() - pe.tsNs) / 1e6;
      if (ms < 0) neg.n++;
      r.add(ms);
    },
    // lines written straight from messages come in blocks; each line's receive time is its timestamp
    pushBlock: ex.pushBlock
      ? (b: LineBlock) => {
        ex.pushBlock!(b);
        const now = nowNs();
        const u = b.bytes;
        for (let at = 0; at < u.length;) {
          const ns = stampNs(u, at);
          if (ns !== undefined) {
            const ms = Number(now - ns) / 1e6;
            if (ms < 0) neg.n++;
            r.add(ms);
          }
          const nl = u.indexOf(10, at);
          at = nl < 0 ? u.length : nl + 1;
        }
      }
      : undefined,
    pushRaw: ex.pushRaw ? (p, ts, d) => ex.pushRaw!(p, ts, d) : undefined,
    reopen: ex.reopen ? () => ex.reopen!() : undefined,
    close: () => ex.close(),
  };
}

export async function runMonitorRole(cfg: NlmonConfig, log: Log): Promise<number> {
  const statsPath = process.env.NLMON_BENCH_STATS;
  const backend = selectBackend({ useLibnl: cfg.netlink.use_libnl, libnlLibrary: cfg.netlink.libnl.library || undefined, fallback: cfg.netlink.libnl.fallback }, (m) => log.warn("netlink", m));
  const metrics = nlmonMetrics();
  const res = new Reservoir(100_000);
  const neg = { n: 0 };
  // only the first export is timed: with several, each event would be counted once per export
  const exporters = (await buildExporters(cfg, metrics, log.as("export", "warn"))).map((ex, i) => (i === 0 ? timed(ex, res, neg) : ex));
  // as the daemon runs (cli/run.ts)
  const mon = new Monitor(cfg, backend, log, { exporters, metrics, handBackMemory: true });
  await mon.start();
  await new Promise<void>((resolve) => {
    process.on("SIGTERM", () => resolve());
    process.on("SIGINT", () => resolve());
  });
  await mon.stop();
  // after the parent has read CPU and peak RSS (it does before SIGTERM): the cache as this process
  // holds it, one --dump-events line per object, for the full-table row to compare with `ip -j route`
  const cachePath = process.env.NLMON_BENCH_CACHE;
  if (statsPath) {
    const s = res.sorted();
    const m = metrics;
    let dropped = 0;
    for (const v of m.exportDropped.series.values()) dropped += v.value;
    let events = 0;
    for (const v of m.events.series.values()) events += v.value;
    const stats: ChildStats = {
      backend: backend.name,
      library: backend.library,
      rcvbuf: backend.sockets.map((x) => x.rcvbuf / 2),
      overruns: mon.overruns,
      resyncs: mon.resyncs,
      events,
      export_dropped: dropped,
      cached_routes: mon.caches.get("route")?.size,
      route_cache_bytes: mon.caches.route?.bytes,
      latency: { samples: s.length, seen: res.seen, p50_ms: quantile(s, 0.5), p99_ms: quantile(s, 0.99), max_ms: res.max, negative: neg.n },
      histogram: { buckets: m.latency.buckets, counts: [...m.latency.counts], count: m.latency.count },
      handover: backend.handoverStats(),
    };
    fs().writeFileSync(statsPath, JSON.stringify(stats));
  }
  // the stats first: they are worth having even if writing a cache this big fails
  if (cachePath) writeCache(cachePath, mon);
  return 0;
}

/** Monitor.cacheEvents() as JSON lines, written in pieces so that a million routes never make one string. */
function writeCache(path: string, mon: Monitor): void {
  const fd = fs().openSync(path, "w");
  try {
    const events = mon.cacheEvents();
    let chunk: string[] = [];
    for (let i = 0; i < events.length; i++) {
      chunk.push(JSON.stringify(events[i]));
      if (chunk.length === 10_000 || i === events.length - 1) {
        fs().writeSync(fd, chunk.join("\n") + "\n");
        chunk = [];
      }
    }
  } finally {
    fs().closeSync(fd);
  }
}
