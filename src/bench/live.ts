/**
 * The live benchmark: listeners (nlmon children, `ip monitor route`) in a namespace while routes
 * are churned there at the full rate of `ip -batch`; then what each listener captured against
 * what the kernel did, with its CPU, memory and latency. Also the memory of an idle monitor and of
 * one holding a 100k-route cache.
 */
import { fs, path } from "../node-lazy.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { ChildStats } from "./child.ts";
import {
  type BatchResult, cpuSeconds, ip, ipBatch, ipBatchForce, LineTail, selfCommand, sleep, spawnTracked, vmMiB, writeBatch,
} from "./sys.ts";

/** routes per burst: added, then deleted, so every burst leaves the tables as it found them */
export const BURST_ROUTES = 50_000;
export const CACHE_ROUTES = 100_000;

export type BackendName = "libnl" | "legacy";

/** 10.64.0.0/10-style prefixes, a distinct second octet per table, so a line names its table */
function prefix(t: number, k: number): string {
  return `100.${64 + t - 10}.${k >> 8}.${k & 255}/32`;
}

function churnLines(): string[] {
  const add: string[] = [];
  const del: string[] = [];
  for (let i = 0; i < BURST_ROUTES; i++) {
    const t = 10 + (i % 10);
    const p = prefix(t, Math.floor(i / 10));
    add.push(`route add ${p} via 10.9.0.2 table ${t} proto 201`);
    del.push(`route del ${p} via 10.9.0.2 table ${t} proto 201`);
  }
  return [...add, ...del];
}

function cacheLines(): string[] {
  const out: string[] = [];
  for (let i = 0; i < CACHE_ROUTES; i++) {
    const t = 10 + (i % 10);
    out.push(`route add ${prefix(t, Math.floor(i / 10))} via 10.9.0.2 table ${t} proto 201`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// listeners

interface Counts {
  captured: number;
  firstNs?: bigint;
  lastNs?: bigint;
  marks: Set<string>;
}

const NLMON_MARK = /"dst":"(198\.18\.\d+\.\d+)\/32"/;
const IP_MARK = /^blackhole (198\.18\.\d+\.\d+) /;
const IP_CHURN = / table 1\d proto 201 /;

/** receive time of an NDJSON line, which starts with its timestamp ("...T..:..:..[.fraction]Z") */
function lineNs(line: string): bigint | undefined {
  const m = /^\{"timestamp":"([^".]+)(?:\.(\d+))?Z"/.exec(line);
  if (!m) return undefined;
  const ms = Date.parse(m[1]! + "Z");
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0").slice(0, 9));
}

function nlmonLine(c: Counts, l: string) {
  if (l.includes('"protocol":201,') && (l.includes('"RTM_NEWROUTE"') || l.includes('"RTM_DELROUTE"')) && l.includes('"table":1')) {
    c.captured++;
    const ns = lineNs(l);
    if (ns !== undefined) {
      c.firstNs ??= ns;
      c.lastNs = ns;
    }
    return;
  }
  if (l.includes('"198.18.') && l.includes('"RTM_NEWROUTE"')) {
    const m = NLMON_MARK.exec(l);
    if (m) c.marks.add(m[1]!);
  }
}

function ipLine(c: Counts, l: string) {
  if (IP_CHURN.test(l)) {
    c.captured++;
    return;
  }
  const m = IP_MARK.exec(l);
  if (m) c.marks.add(m[1]!);
}

export class Listener {
  readonly counts: Counts = { captured: 0, marks: new Set() };
  readonly tail: LineTail;
  private exitCode: number | undefined;
  private stderr = "";
  constructor(
    readonly name: string,
    readonly backend: BackendName | undefined,
    private readonly p: ReturnType<typeof spawnTracked>,
    readonly eventsPath: string,
    readonly statsPath: string | undefined,
    /** every line of the output as well, for a row that counts more than the churn */
    onLine?: (line: string) => void,
  ) {
    this.tail = new LineTail(eventsPath, (l) => {
      if (backend) nlmonLine(this.counts, l);
      else ipLine(this.counts, l);
      onLine?.(l);
    });
  }
  get pid() {
    return this.p.proc.pid;
  }
  get running() {
    return this.p.proc.exitCode === null && this.p.proc.signalCode === null;
  }
  /** SIGTERM, as a service manager would stop it; SIGKILL if it does not exit in time */
  async stop(killAfterMs = 20_000): Promise<{ code: number; stderr: string; stats?: ChildStats }> {
    if (this.running) this.p.proc.kill("SIGTERM");
    const killer = setTimeout(() => this.p.proc.kill("SIGKILL"), killAfterMs);
    this.exitCode = await this.p.proc.exited;
    clearTimeout(killer);
    this.stderr = await this.p.stderr;
    this.tail.close();
    let stats: ChildStats | undefined;
    if (this.statsPath && fs().existsSync(this.statsPath)) stats = JSON.parse(fs().readFileSync(this.statsPath, "utf8")) as ChildStats;
    return { code: this.exitCode, stderr: this.stderr, stats };
  }
}

export interface ChildConfig {
  backend: BackendName;
  eventsPath: string;
  routeCache: boolean;
}

/**
 * The user's config with only what the benchmark needs changed: events to a file, the other
 * exports off (two children must not both bind the Prometheus port), warnings only. Buffer sizes,
 * limits, filter and caching otherwise stay as configured, since they are what is being measured.
 */
export function childConfig(cfg: NlmonConfig, o: ChildConfig): NlmonConfig {
  const c = structuredClone(cfg);
  c.netlink.use_libnl = o.backend === "libnl";
  c.export.json = { ...c.export.json, enabled: true, file: o.eventsPath, pretty: false, rotate: { ...c.export.json.rotate, max_size: 0 } };
  c.export.syslog.enabled = false;
  c.export.prometheus.enabled = false;
  c.export.pcap.enabled = false;
  c.logging.level = "warn";
  if (o.routeCache) c.netlink.caching = { ...c.netlink.caching, enabled: true, route_cache: true };
  return c;
}

/** JSON is YAML; "${" would be read as a variable reference, "$${" is its literal form */
export function writeConfig(path: string, c: NlmonConfig): string {
  fs().writeFileSync(path, JSON.stringify(c, null, 1).replaceAll("${", "$${"));
  return path;
}

export interface NlmonOptions {
  onLine?: (line: string) => void;
  /** the child writes its caches here (NLMON_BENCH_CACHE) when it has stopped */
  cachePath?: string;
  /** run this command instead of this binary (a private copy: see measureMemory) */
  command?: string[];
}

export function startNlmon(ns: string, dir: string, tag: string, cfg: NlmonConfig, backend: BackendName, routeCache: boolean, o: NlmonOptions = {}): Listener {
  const eventsPath = path().join(dir, `${tag}.ndjson`);
  const statsPath = path().join(dir, `${tag}.stats.json`);
  const cfgPath = writeConfig(path().join(dir, `${tag}.config.json`), childConfig(cfg, { backend, eventsPath, routeCache }));
  const env: Record<string, string> = { NLMON_BENCH_ROLE: "monitor", NLMON_BENCH_STATS: statsPath, NLMON_USE_LIBNL: backend === "libnl" ? "true" : "false" };
  if (o.cachePath) env.NLMON_BENCH_CACHE = o.cachePath;
  const p = spawnTracked(["ip", "netns", "exec", ns, ...(o.command ?? selfCommand()), "--benchmark", "--config", cfgPath], { env });
  return new Listener(backend, backend, p, eventsPath, statsPath, o.onLine);
}

export function startIpMonitor(ns: string, dir: string, onLine?: (line: string) => void, tag = "ip-monitor"): Listener {
  const eventsPath = path().join(dir, `${tag}.txt`);
  const p = spawnTracked(["ip", "-n", ns, "monitor", "route"], { stdout: Bun.file(eventsPath) });
  return new Listener("ip monitor", undefined, p, eventsPath, undefined, onLine);
}

let markNo = 0;
/**
 * Add a blackhole route 198.18.X.Y proto 77 until every listener has reported one. Everything the
 * kernel did before the mark was then seen (or lost) by all of them: a socket delivers in order.
 */
export async function syncMark(ns: string, ls: Listener[], timeoutMs: number, perTryMs = 1000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const k = ++markNo;
    const dst = `198.18.${(k >> 8) & 255}.${k & 255}`;
    ip(ns, "route", "add", "blackhole", dst, "proto", "77");
    const tryEnd = Math.min(end, Date.now() + perTryMs);
    for (;;) {
      for (const l of ls) l.tail.poll();
      if (ls.every((l) => l.counts.marks.has(dst))) return true;
      const dead = ls.find((l) => !l.running);
      if (dead) throw new Error(`${dead.name} exited early: ${(await dead.stop()).stderr.trim().split("\n").slice(-3).join(" / ")}`);
      if (Date.now() >= tryEnd) break;
      await sleep(25);
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// churn

export interface ChurnResult {
  seconds: number;
  bursts: number;
  burst_lines: number;
  lines: number;
  succeeded: number;
  failed: number;
  kernel_msgs_per_s: number;
}

export async function churn(ns: string, dir: string, durationS: number): Promise<ChurnResult> {
  const lines = churnLines();
  const file = writeBatch(dir, "churn", lines);
  const t0 = performance.now();
  const bursts: BatchResult[] = [];
  // whole bursts only: each is a 100k-message burst at full rate, the case the target is about
  do bursts.push(await ipBatchForce(ns, file, lines.length));
  while ((performance.now() - t0) / 1000 < durationS);
  const seconds = (performance.now() - t0) / 1000;
  const total = bursts.reduce((a, b) => a + b.lines, 0);
  const failed = bursts.reduce((a, b) => a + b.failed, 0);
  return {
    seconds, bursts: bursts.length, burst_lines: lines.length, lines: total, succeeded: total - failed, failed,
    kernel_msgs_per_s: (total - failed) / seconds,
  };
}

// ---------------------------------------------------------------------------------------------
// results

export interface LatencyResult {
  method: string;
  p50_ms?: number;
  p99_ms?: number;
  max_ms: number;
  samples: number;
  events: number;
  /** events stamped later than they were written: the receive thread's clock runs ahead */
  negative: number;
}

export interface ListenerResult {
  name: string;
  backend?: BackendName;
  library?: string;
  receive_buffer_bytes?: number[];
  kernel: number;
  captured: number;
  lost: number;
  /** more captured than the kernel did (duplicates): should be 0 */
  extra: number;
  msgs_per_s: number;
  /** first to last churn event as the listener stamped them */
  receive_span_s?: number;
  overruns: number;
  resyncs?: number;
  export_dropped?: number;
  latency?: LatencyResult;
  /** receive thread → main thread: batch sizes and hand-over time */
  handover?: ChildStats["handover"];
  cpu_s?: number;
  peak_rss_mib?: number;
  drained: boolean;
  exit_code: number;
  warnings: string[];
}

function overrunLines(stderr: string): number {
  return stderr.split("\n").filter((l) => /ENOBUFS|No buffer space|overrun/i.test(l)).length;
}

export async function finishListener(l: Listener, c: ChurnResult, drained: boolean): Promise<ListenerResult> {
  // before SIGTERM: afterwards the process and its /proc entry are gone
  const cpu = cpuSeconds(l.pid);
  const hwm = vmMiB(l.pid, "VmHWM");
  const r = await l.stop();
  const s = r.stats;
  const captured = l.counts.captured;
  const span = l.counts.firstNs !== undefined && l.counts.lastNs !== undefined ? Number(l.counts.lastNs - l.counts.firstNs) / 1e9 : undefined;
  const warnings = r.stderr.split("\n").filter((x) => x.trim()).slice(-5);
  return {
    name: l.name,
    backend: l.backend,
    library: s?.library,
    receive_buffer_bytes: s?.rcvbuf,
    kernel: c.succeeded,
    captured,
    lost: Math.max(0, c.succeeded - captured),
    extra: Math.max(0, captured - c.succeeded),
    msgs_per_s: captured / c.seconds,
    receive_span_s: span,
    overruns: s ? s.overruns : overrunLines(r.stderr),
    resyncs: s?.resyncs,
    export_dropped: s?.export_dropped,
    latency: s ? {
      method: "exact receive-to-export-hand-over times, uniform reservoir sample (100k)",
      p50_ms: s.latency.p50_ms, p99_ms: s.latency.p99_ms, max_ms: s.latency.max_ms,
      samples: s.latency.samples, events: s.latency.seen, negative: s.latency.negative,
    } : undefined,
    handover: s?.handover,
    cpu_s: cpu,
    peak_rss_mib: hwm,
    drained,
    exit_code: r.code,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// memory

export interface MemoryResult {
  backend: BackendName;
  idle_rss_mib?: number;
  /** the private part of RSS (RssAnon): what the process costs beyond the binary's shared, reclaimable pages */
  idle_anon_mib?: number;
  cache_rss_mib?: number;
  cache_anon_mib?: number;
  cache_peak_rss_mib?: number;
  cached_routes?: number;
  route_cache_mib?: number;
  cache_routes_added: number;
  seen_all: boolean;
}

export interface FloorResult {
  rss_mib?: number;
  anon_mib?: number;
}

/**
 * The binary as a file of its own, so that the child's pages of it are its own: the monitor hands
 * back the pages only start-up touched (ffi/footprint.ts), which the kernel does only for pages no
 * other process maps, and this process and the other children map the same binary. On a router
 * nlmon runs alone. From source (bun and an entry point) there is nothing to copy.
 */
function privateCopy(dir: string, name: string): string[] | undefined {
  const self = selfCommand();
  if (self.length !== 1) return undefined;
  const to = path().join(dir, name);
  fs().copyFileSync(self[0]!, to);
  fs().chmodSync(to, 0o755);
  return [to];
}

/** This binary with only its modules loaded and its receive thread running (runtimeFloor in cli/main.ts), two seconds after start. */
export async function measureFloor(dir: string): Promise<FloorResult> {
  // from a copy of its own, as the monitors are measured
  const p = spawnTracked(privateCopy(dir, "nlmon-floor") ?? selfCommand(), { env: { NLMON_BENCH_ROLE: "floor" } });
  try {
    await sleep(2000);
    return { rss_mib: vmMiB(p.proc.pid, "VmRSS"), anon_mib: vmMiB(p.proc.pid, "RssAnon") };
  } finally {
    p.proc.kill("SIGTERM");
    await p.proc.exited;
  }
}

/**
 * Idle RSS three seconds after start-up (a second after it the monitor collects and hands back
 * what start-up left: cli/run.ts's daemon and the bench child alike); then 100k routes added with
 * `ip -batch` and RSS once the monitor has caught up and had three seconds to settle. All
 * backends at once on the same routes.
 */
export async function measureMemory(ns: string, dir: string, cfg: NlmonConfig, backends: BackendName[]): Promise<MemoryResult[]> {
  // copied before any child starts: a failed copy leaves nothing running
  const commands = backends.map((b) => privateCopy(dir, `nlmon-mem-${b}`));
  const ls = backends.map((b, i) => startNlmon(ns, dir, `mem-${b}`, cfg, b, true, { command: commands[i] }));
  try {
    if (!(await syncMark(ns, ls, 20_000))) throw new Error("memory: monitors did not start within 20 s");
    await sleep(3000);
    const idle = ls.map((l) => vmMiB(l.pid, "VmRSS"));
    const idleAnon = ls.map((l) => vmMiB(l.pid, "RssAnon"));
    ipBatch(ns, writeBatch(dir, "cache-routes", cacheLines()));
    const seen = await syncMark(ns, ls, 40_000, 40_000);
    // the monitor collects garbage and trims the route cache a second after a burst goes quiet:
    // measure what it holds at rest, not the burst's litter
    await sleep(3000);
    const cache = ls.map((l) => vmMiB(l.pid, "VmRSS"));
    const cacheAnon = ls.map((l) => vmMiB(l.pid, "RssAnon"));
    const peak = ls.map((l) => vmMiB(l.pid, "VmHWM"));
    const out: MemoryResult[] = [];
    for (let i = 0; i < ls.length; i++) {
      const r = await ls[i]!.stop();
      out.push({
        backend: backends[i]!, idle_rss_mib: idle[i], idle_anon_mib: idleAnon[i], cache_rss_mib: cache[i],
        cache_anon_mib: cacheAnon[i], cache_peak_rss_mib: peak[i],
        cached_routes: r.stats?.cached_routes,
        route_cache_mib: r.stats?.route_cache_bytes === undefined ? undefined : r.stats.route_cache_bytes / 1048576, cache_routes_added: CACHE_ROUTES, seen_all: seen,
      });
    }
    return out;
  } finally {
    for (const l of ls) if (l.running) await l.stop();
  }
}
