/**
 * `--benchmark --routes N`: a full table. N routes added by one `ip -batch` across tables 10-19 in a
 * fresh namespace while nlmon (the configured backend, route_cache on) and `ip monitor route`
 * listen; each listener's output counted against the batch's own lines (every route distinct, so a
 * route seen twice is a duplicate and one never seen is lost); CPU and peak RSS of both; and the
 * route cache nlmon built, written by the child itself once stopped, against
 * `ip -j route show table all`; then `nlmon --dump-events` of the full table (wall time, peak RSS,
 * its route lines counted). Above 100k routes the same is first run at 100k, in its own namespace,
 * for the dump memory target (the dump's peak RSS at N at most 10% above its peak at 100k); the
 * live monitor's peak RSS and CPU are reported beside ip monitor's, with no target.
 */
import { fs, path } from "../node-lazy.ts";
import type { NlmonConfig } from "../config/types.ts";
import { countDumpRoutes, timeDump } from "./dump.ts";
import { type BackendName, type Listener, startIpMonitor, startNlmon, syncMark } from "./live.ts";
import {
  addNamespace, basicTopology, cpuSeconds, delNamespace, ipBatchForce, namespaceExists, sleep, vmMiB, writeBatch,
} from "./sys.ts";

export const FULL_TABLE_REFERENCE = 100_000;
/** the issue's dump memory target: --dump-events' peak RSS at N routes at most this much above its peak at the reference */
export const FULL_TABLE_GROWTH = 0.10;

// ---------------------------------------------------------------------------------------------
// the routes: route i goes to table 10 + i % 10 as the /32 A.B.C.D with A = 100 + i % 10 and
// B.C.D = i / 10, so an event's destination names its line in the batch

function dst(i: number): string {
  const k = Math.floor(i / 10);
  return `${100 + (i % 10)}.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
}

/** the batch line of route i, 0-based (ip numbers lines from 1) */
function batchLine(i: number): string {
  return `route add ${dst(i)}/32 via 10.9.0.2 table ${10 + (i % 10)} proto 201`;
}

/** route index from a destination's octets and the table, or -1 if it is not one of ours */
function indexOf(a: number, b: number, c: number, d: number, table: number): number {
  if (a < 100 || a > 109 || table !== a - 90) return -1;
  return ((b << 16) | (c << 8) | d) * 10 + (a - 100);
}

// ---------------------------------------------------------------------------------------------
// counting one listener's output against the batch

export class Tally {
  /** 0 not seen, 1 seen; a second sighting is a duplicate */
  private readonly seen: Uint8Array;
  lines = 0;
  distinct = 0;
  duplicated = 0;
  /** route lines of ours that name no line of the batch that succeeded */
  unexpected = 0;
  /** nlmon only: routes a resync reported (found by a re-dump, not received): not counted as captured */
  repaired = 0;
  constructor(readonly routes: number, private readonly expected: (i: number) => boolean) {
    this.seen = new Uint8Array(routes);
  }
  add(i: number): void {
    this.lines++;
    if (i < 0 || i >= this.routes || !this.expected(i)) {
      this.unexpected++;
      return;
    }
    if (this.seen[i]) this.duplicated++;
    else {
      this.seen[i] = 1;
      this.distinct++;
    }
  }
}

const NL_DST = /"dst":"(\d+)\.(\d+)\.(\d+)\.(\d+)\/32"/;
const NL_TABLE = /"table":(\d+)[,}]/;
function nlmonRouteLine(t: Tally, l: string): void {
  if (!l.includes('"protocol":201,') || !l.includes('"RTM_NEWROUTE"')) return;
  const m = NL_DST.exec(l);
  const tb = NL_TABLE.exec(l);
  if (!m || !tb) return;
  if (l.includes('"resync":true') || l.includes('"implicit":true')) {
    t.repaired++;
    return;
  }
  t.add(indexOf(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(tb[1])));
}

// "100.0.0.1 via 10.9.0.2 dev v0 table 11 proto 201 " (a delete starts with "Deleted ")
const IP_ROUTE = /^(\d+)\.(\d+)\.(\d+)\.(\d+) .* table (\d+) proto 201 /;
function ipRouteLine(t: Tally, l: string): void {
  const m = IP_ROUTE.exec(l);
  if (m) t.add(indexOf(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

// ---------------------------------------------------------------------------------------------
// the cache against iproute2: one comparable line per route, from each side

const TABLE_10_19 = /^table=1\d /;

interface NhLike { gateway?: string; dev?: string; weight?: number }

function routeKey(r: { table: number; dst: string; type: number; dev?: string; protocol: number; scope: number; metric?: number; gateway?: string; prefsrc?: string; nexthops?: NhLike[] }): string {
  const nh = r.nexthops?.map((n) => `${n.gateway ?? "-"}@${n.dev ?? "-"}*${n.weight ?? 1}`).join(",") ?? "-";
  return `table=${r.table} dst=${r.dst} type=${r.type} dev=${r.dev ?? "-"} proto=${r.protocol} scope=${r.scope} metric=${r.metric ?? "-"} gw=${r.gateway ?? "-"} prefsrc=${r.prefsrc ?? "-"} nh=${nh}`;
}

/** iproute2 prints a host route without its length and a default route as "default" */
function normDst(d: string): string {
  if (d === "0.0.0.0/0" || d === "::/0") return "default";
  if (d.endsWith("/32") && !d.includes(":")) return d.slice(0, -3);
  if (d.endsWith("/128") && d.includes(":")) return d.slice(0, -4);
  return d;
}

interface IpJsonRoute {
  type?: string; dst: string; gateway?: string; dev?: string; table?: string; protocol?: string; scope?: string;
  metric?: number; prefsrc?: string; nexthops?: NhLike[];
}

/** `ip -j -N route show table all`: both families, every table; -N prints table, protocol, type and scope as numbers */
function ipRouteKeys(ns: string, file: string): string[] {
  // to a file: a million routes are over 100 MB of JSON
  const fd = fs().openSync(file, "w");
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync(["ip", "-n", ns, "-j", "-N", "route", "show", "table", "all"], { stdin: "ignore", stdout: fd, stderr: "pipe" });
  } finally {
    fs().closeSync(fd);
  }
  if (r.exitCode !== 0) throw new Error(`ip -j route show table all: exit ${r.exitCode}: ${r.stderr?.toString().trim() ?? ""}`);
  return (JSON.parse(fs().readFileSync(file, "utf8")) as IpJsonRoute[]).map((x) => routeKey({
    // absent: main table, unicast, universe scope, as iproute2 leaves out the defaults
    table: x.table === undefined ? 254 : Number(x.table), dst: normDst(x.dst), type: x.type === undefined ? 1 : Number(x.type),
    dev: x.dev, protocol: Number(x.protocol ?? 0), scope: x.scope === undefined ? 0 : Number(x.scope), metric: x.metric,
    gateway: x.gateway, prefsrc: x.prefsrc, nexthops: x.nexthops,
  }));
}

interface CachedRoute {
  type: string;
  netlink: { route?: { table: number; dst: string; type: number; dev?: string; protocol: number; scope: number; metric?: number; gateway?: string; prefsrc?: string; nexthops?: NhLike[] } };
}

function cacheRouteKeys(file: string): string[] {
  const out: string[] = [];
  const text = fs().readFileSync(file, "utf8");
  let from = 0;
  while (from < text.length) {
    let to = text.indexOf("\n", from);
    if (to < 0) to = text.length;
    const l = text.slice(from, to);
    from = to + 1;
    if (!l) continue;
    const e = JSON.parse(l) as CachedRoute;
    const r = e.netlink.route;
    if (e.type !== "route" || !r) continue;
    out.push(routeKey({ ...r, dst: normDst(r.dst) }));
  }
  return out;
}

export interface CacheComparison {
  method: string;
  /** the child wrote its cache (it does once it has stopped) */
  compared: boolean;
  equal: boolean;
  cache_routes: number;
  ip_routes: number;
  /** in `ip route` but not in the cache, and the reverse (a route counted as often as it differs) */
  missing: number;
  extra: number;
  missing_sample: string[];
  extra_sample: string[];
}

function compareSorted(mine: string[], theirs: string[]): Pick<CacheComparison, "missing" | "extra" | "missing_sample" | "extra_sample" | "equal"> {
  mine.sort();
  theirs.sort();
  let i = 0, j = 0, missing = 0, extra = 0;
  const ms: string[] = [], es: string[] = [];
  while (i < mine.length || j < theirs.length) {
    if (j >= theirs.length || (i < mine.length && mine[i]! < theirs[j]!)) {
      extra++;
      if (es.length < 5) es.push(mine[i]!);
      i++;
    } else if (i >= mine.length || theirs[j]! < mine[i]!) {
      missing++;
      if (ms.length < 5) ms.push(theirs[j]!);
      j++;
    } else {
      i++;
      j++;
    }
  }
  return { equal: missing === 0 && extra === 0, missing, extra, missing_sample: ms, extra_sample: es };
}

// ---------------------------------------------------------------------------------------------
// one run

export interface FullTableListener {
  name: string;
  backend?: BackendName;
  /** routes the batch added (its lines that succeeded) */
  expected: number;
  /** route-add lines of ours in the output, distinct routes among them, and the difference */
  lines: number;
  captured: number;
  lost: number;
  duplicated: number;
  unexpected: number;
  repaired?: number;
  cpu_s?: number;
  peak_rss_mib?: number;
  /** VmRSS once caught up, and three seconds later (nlmon trims its cache and collects when a burst goes quiet) */
  rss_caught_up_mib?: number;
  rss_settled_mib?: number;
  overruns?: number;
  resyncs?: number;
  export_dropped?: number;
  cached_routes?: number;
  route_cache_mib?: number;
  drained: boolean;
  exit_code: number;
  warnings: string[];
}

/** `nlmon --dump-events` in the namespace once the listeners have stopped, the full table still installed */
export interface FullTableDump {
  command: string;
  /** the timed run, output to /dev/null: wall time from spawn to reaped, ru_maxrss and CPU from wait4 */
  wall_s: number;
  peak_rss_mib: number;
  cpu_s: number;
  exit_code: number;
  /** a second run, its output read through a pipe: all its lines, and RTM_NEWROUTE lines of tables 10-19 */
  lines: number;
  route_lines: number;
  /** routes of tables 10-19 in `ip -j -N route show table all` (the cache comparison's own listing) */
  ip_routes: number;
  /** routes the batch added */
  expected: number;
  /** both runs exited 0 and route_lines = ip_routes = expected */
  complete: boolean;
  warnings: string[];
}

export interface FullTableRun {
  routes: number;
  batch: { lines: number; failed: number; seconds: number; kernel_msgs_per_s: number };
  /** from the end of the batch until every listener had reported the mark after it */
  catch_up_s: number;
  listeners: FullTableListener[];
  cache: CacheComparison;
  dump: FullTableDump;
  namespace: string;
  namespace_removed: boolean;
}

export interface FullTableResult {
  backend: BackendName;
  run: FullTableRun;
  /** the same at FULL_TABLE_REFERENCE routes, when N is larger: the dump memory target's base */
  reference?: FullTableRun;
}

const CACHE_METHOD = "the nlmon child, once stopped by SIGTERM (after its CPU and peak RSS were read), writes Monitor.cacheEvents() "
  + "(its own route cache, as --dump-cache prints it) to a file; each route as table, dst, type, dev, protocol, scope, metric, gateway, "
  + "prefsrc and nexthops against `ip -j -N route show table all` in the namespace";

async function fullTableRun(ns: string, dir: string, cfg: NlmonConfig, backend: BackendName, routes: number, say: (m: string) => void): Promise<FullTableRun> {
  const tag = `full${routes}`;
  addNamespace(ns);
  try {
    basicTopology(ns);
    const lines: string[] = [];
    for (let i = 0; i < routes; i++) lines.push(batchLine(i));
    const file = writeBatch(dir, `${tag}.batch`, lines);
    lines.length = 0;

    let failed = new Set<number>();
    const expected = (i: number) => !failed.has(i + 1);
    const nlTally = new Tally(routes, expected);
    const ipTally = new Tally(routes, expected);
    const cachePath = path().join(dir, `${tag}.cache.ndjson`);
    const nl = startNlmon(ns, dir, `${tag}-${backend}`, cfg, backend, true, { onLine: (l) => nlmonRouteLine(nlTally, l), cachePath });
    const ipm = startIpMonitor(ns, dir, (l) => ipRouteLine(ipTally, l), `${tag}-ip-monitor`);
    const ls: Listener[] = [nl, ipm];
    try {
      if (!(await syncMark(ns, ls, 30_000))) throw new Error("full table: listeners did not report a start mark within 30 s");
      say(`full table: ${routes.toLocaleString("en-US")} routes, one ip -batch, namespace ${ns}`);
      const b = await ipBatchForce(ns, file, routes);
      failed = new Set(b.failedLines);
      say(`full table: batch done in ${b.seconds.toFixed(1)} s (${b.failed} failed); waiting for the listeners`);
      const t1 = performance.now();
      // a listener hopelessly behind still ends the run: 30 s plus 10 s per 100k routes
      const drainMs = 30_000 + routes / 10;
      const drained = await syncMark(ns, ls, drainMs, drainMs);
      const catchUp = (performance.now() - t1) / 1000;
      const rss = ls.map((l) => vmMiB(l.pid, "VmRSS"));
      await sleep(3000);
      // before SIGTERM (afterwards the processes and their /proc entries are gone, and the nlmon
      // child decodes its cache to write it out): CPU and peak of the burst, its catching up and
      // the quiet seconds after it, in which nlmon trims its cache
      const settled = ls.map((l) => vmMiB(l.pid, "VmRSS"));
      const cpu = ls.map((l) => cpuSeconds(l.pid));
      const hwm = ls.map((l) => vmMiB(l.pid, "VmHWM"));
      const out: FullTableListener[] = [];
      // the nlmon child writes its cache after it has stopped: give it time for a big one
      const stopMs = 20_000 + routes / 10;
      for (const [k, l] of ls.entries()) {
        const r = await l.stop(stopMs);
        const t = l.backend ? nlTally : ipTally;
        const exp = routes - failed.size;
        const s = r.stats;
        out.push({
          name: l.name, backend: l.backend, expected: exp, lines: t.lines, captured: t.distinct, lost: exp - t.distinct,
          duplicated: t.duplicated, unexpected: t.unexpected, repaired: l.backend ? t.repaired : undefined,
          cpu_s: cpu[k], peak_rss_mib: hwm[k], rss_caught_up_mib: rss[k], rss_settled_mib: settled[k],
          overruns: s?.overruns ?? (l.backend ? undefined : r.stderr.split("\n").filter((x) => /ENOBUFS|No buffer space|overrun/i.test(x)).length),
          resyncs: s?.resyncs, export_dropped: s?.export_dropped, cached_routes: s?.cached_routes,
          route_cache_mib: s?.route_cache_bytes === undefined ? undefined : s.route_cache_bytes / 1048576,
          drained, exit_code: r.code, warnings: r.stderr.split("\n").filter((x) => x.trim()).slice(-5),
        });
      }
      // the listeners have stopped: the dump has the machine to itself, as a user's would
      say("full table: nlmon --dump-events once to /dev/null (timed), once more counted");
      const dt = timeDump(ns, dir, cfg, backend);
      const dc = await countDumpRoutes(ns, cfg, backend);
      say("full table: comparing nlmon's route cache with ip -j route show table all");
      const theirs = ipRouteKeys(ns, path().join(dir, `${tag}.ip-route.json`));
      const ipRoutes = theirs.filter((x) => TABLE_10_19.test(x)).length;
      const expectedRoutes = routes - failed.size;
      const dump: FullTableDump = {
        command: `ip netns exec ${ns} nlmon --dump-events (NLMON_USE_LIBNL=${backend === "libnl"})`,
        wall_s: dt.wall_s, peak_rss_mib: dt.peak_rss_mib, cpu_s: dt.cpu_s, exit_code: dt.exit_code,
        lines: dc.lines, route_lines: dc.route_lines_10_19, ip_routes: ipRoutes, expected: expectedRoutes,
        complete: dt.exit_code === 0 && dc.exit_code === 0 && dc.route_lines_10_19 === ipRoutes && ipRoutes === expectedRoutes,
        warnings: [dt.stderr, dc.stderr].flatMap((e) => e.split("\n").filter((x) => x.trim())).slice(-5),
      };
      let cache: CacheComparison;
      try {
        const mine = cacheRouteKeys(cachePath);
        cache = { method: CACHE_METHOD, compared: true, cache_routes: mine.length, ip_routes: theirs.length, ...compareSorted(mine, theirs) };
      } catch (e) {
        cache = {
          method: CACHE_METHOD, compared: false, equal: false, cache_routes: 0, ip_routes: theirs.length, missing: theirs.length, extra: 0,
          missing_sample: [`no cache file from the child: ${(e as Error).message}`], extra_sample: [],
        };
      }
      return {
        routes, batch: { lines: b.lines, failed: b.failed, seconds: b.seconds, kernel_msgs_per_s: (b.lines - b.failed) / b.seconds },
        catch_up_s: catchUp, listeners: out, cache, dump, namespace: ns, namespace_removed: false,
      };
    } finally {
      for (const l of ls) if (l.running) await l.stop();
    }
  } finally {
    delNamespace(ns);
  }
}

export async function fullTable(nsBase: string, dir: string, cfg: NlmonConfig, backend: BackendName, routes: number, say: (m: string) => void): Promise<FullTableResult> {
  let reference: FullTableRun | undefined;
  if (routes > FULL_TABLE_REFERENCE) {
    say(`full table: first the reference, ${FULL_TABLE_REFERENCE.toLocaleString("en-US")} routes, for the dump memory target`);
    reference = await fullTableRun(`${nsBase}r`, dir, cfg, backend, FULL_TABLE_REFERENCE, say);
    reference.namespace_removed = !namespaceExists(reference.namespace);
  }
  const r = await fullTableRun(`${nsBase}f`, dir, cfg, backend, routes, say);
  r.namespace_removed = !namespaceExists(r.namespace);
  return { backend, run: r, reference };
}
