/**
 * `--dump-events` as whole processes: its wall time and peak RSS (wait4's rusage, exact for the
 * whole process), against the `ip -j` commands that print the same objects (the dump row of
 * --compare), and once in a full-table namespace (--routes N), with its route lines counted.
 */
import { fs, path } from "../node-lazy.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { BackendName } from "./live.ts";
import { addNamespace, delNamespace, ipBatch, selfCommand, spawnTracked, vethTopology, writeBatch } from "./sys.ts";

export const DUMP_ROUTES = 100_000;
export const DUMP_RUNS = 5;
/** the dump memory target: peak RSS at most the runtime floor plus this */
export const DUMP_FLOOR_MARGIN_MIB = 32;
/** the issue's dump time target: nlmon's wall time at most this times the ip -j commands' */
export const DUMP_MAX_RATIO = 1.0;

export const IP_J = "ip -j link show; ip -j addr show; ip -j -4 route show table all; ip -j -6 route show table all; ip -j neigh show; ip -j rule show";

export interface ProcRun {
  /** wall time from spawn to reaped, in the parent (GNU time's own start included, for both alike) */
  wall_s: number;
  /** GNU time's %M, ru_maxrss from wait4: the whole process (ip netns exec execs, so it is the program's own; sh's is the largest of it and the ip processes it waited for) */
  peak_rss_mib: number;
  /** %U + %S */
  cpu_s: number;
  exit_code: number;
}

/** the environment that makes `nlmon --dump-events` (default config, no file) use this backend */
function dumpEnv(cfg: NlmonConfig, backend: BackendName): Record<string, string> {
  const env: Record<string, string> = { ...process.env as Record<string, string>, NLMON_USE_LIBNL: backend === "libnl" ? "true" : "false" };
  delete env.NLMON_BENCH_ROLE;
  if (cfg.netlink.libnl.library) env.NLMON_LIBNL_PATH = cfg.netlink.libnl.library;
  return env;
}

/**
 * GNU time between this process and the measured one. wait4's ru_maxrss of a child of this process
 * would not do: Linux carries the high-water mark of the memory a child had before exec (a copy of
 * this benchmark's, hundreds of MiB) over into the program it execs. time is small, so its child's
 * mark is the program's own.
 */
const TIME = "/usr/bin/time";

function timed(cmd: string[], dir: string, env?: Record<string, string>): ProcRun & { stderr: string } {
  const out = path().join(dir, "time.out");
  const haveTime = fs().existsSync(TIME);
  const full = haveTime ? [TIME, "-f", "%M %U %S", "-o", out, ...cmd] : cmd;
  const t0 = performance.now();
  const r = Bun.spawnSync(full, { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: env ?? process.env });
  const wall = (performance.now() - t0) / 1000;
  let rss = NaN, cpu = NaN;
  if (haveTime) {
    // "Command exited with non-zero status N" comes first when it failed: the figures are the last line
    const last = fs().readFileSync(out, "utf8").trim().split("\n").pop() ?? "";
    const f = last.split(" ").map(Number);
    if (f.length === 3 && f.every((x) => Number.isFinite(x))) {
      rss = f[0]! / 1024;
      cpu = f[1]! + f[2]!;
    }
  }
  const stderr = r.stderr.toString() + (haveTime ? "" : `${TIME} not found: no peak RSS\n`);
  return { wall_s: wall, peak_rss_mib: rss, cpu_s: cpu, exit_code: r.exitCode ?? -1, stderr };
}

function strip(r: ProcRun & { stderr: string }): ProcRun {
  return { wall_s: r.wall_s, peak_rss_mib: r.peak_rss_mib, cpu_s: r.cpu_s, exit_code: r.exit_code };
}

export function dumpCommand(ns: string): string[] {
  return ["ip", "netns", "exec", ns, ...selfCommand(), "--dump-events"];
}

/** one `nlmon --dump-events` in the namespace, output to /dev/null */
export function timeDump(ns: string, dir: string, cfg: NlmonConfig, backend: BackendName): ProcRun & { stderr: string } {
  return timed(dumpCommand(ns), dir, dumpEnv(cfg, backend));
}

function timeIpJ(ns: string, dir: string): ProcRun & { stderr: string } {
  return timed(["ip", "netns", "exec", ns, "sh", "-c", IP_J], dir);
}

const ROUTE_10_19 = /"table":1\d,/;

/**
 * `nlmon --dump-events` once more, its output read through a pipe: RTM_NEWROUTE lines of tables
 * 10-19 (a separate run, so the timed one writes to /dev/null only).
 */
export async function countDumpRoutes(ns: string, cfg: NlmonConfig, backend: BackendName): Promise<{ lines: number; route_lines_10_19: number; exit_code: number; stderr: string }> {
  const env = dumpEnv(cfg, backend);
  const p = spawnTracked(dumpCommand(ns), { env, stdout: "pipe" });
  let lines = 0, routes = 0, carry = "";
  const dec = new TextDecoder();
  const count = (l: string) => {
    if (!l) return;
    lines++;
    if (l.includes('"RTM_NEWROUTE"') && ROUTE_10_19.test(l)) routes++;
  };
  for await (const chunk of p.proc.stdout as ReadableStream<Uint8Array>) {
    const parts = (carry + dec.decode(chunk, { stream: true })).split("\n");
    carry = parts.pop()!;
    for (const l of parts) count(l);
  }
  count(carry + dec.decode());
  const code = await p.proc.exited;
  return { lines, route_lines_10_19: routes, exit_code: code, stderr: await p.stderr };
}

// ---------------------------------------------------------------------------------------------
// the dump row of --compare

export interface DumpPair {
  nlmon: ProcRun;
  ip: ProcRun;
  /** nlmon's wall time / ip -j's */
  ratio: number;
}

export interface DumpCompareResult {
  backend: BackendName;
  routes: number;
  namespace: string;
  namespace_removed: boolean;
  nlmon_command: string;
  ip_command: string;
  method: string;
  warmup: { nlmon: ProcRun; ip: ProcRun };
  runs: DumpPair[];
  median_ratio: number;
  nlmon_median_wall_s: number;
  ip_median_wall_s: number;
  /** the largest of the timed runs' peaks */
  nlmon_peak_rss_mib: number;
  ip_peak_rss_mib: number;
  /** nlmon exited 0 in every run */
  ok: boolean;
  warnings: string[];
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const DUMP_METHOD = "whole processes, alternately (one warm-up of each, then 5 each), output to /dev/null: "
  + "wall time from spawn to reaped; peak RSS and CPU from /usr/bin/time (%M, %U+%S: wait4's rusage; ip netns exec execs, so it is nlmon's own; "
  + "sh's is the largest of it and the ip processes it waited for); ratio = nlmon / ip -j per pair, median of the pairs";

/** 100k /32 routes across tables 10-19 (proto 201, metric 100), as ../shared/checks/06-families-perf.sh builds them */
function dumpRouteLines(routes: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < routes; i++) {
    const a = Math.floor(i / 10);
    out.push(`route add 172.${16 + (a >> 16)}.${(a >> 8) & 255}.${a & 255}/32 via 10.9.0.2 dev v0 table ${10 + (i % 10)} proto 201 metric 100`);
  }
  return out;
}

export async function dumpCompare(ns: string, dir: string, cfg: NlmonConfig, backend: BackendName, say: (m: string) => void): Promise<DumpCompareResult> {
  addNamespace(ns);
  try {
    vethTopology(ns);
    ipBatch(ns, writeBatch(dir, "dump-routes", dumpRouteLines(DUMP_ROUTES)));
    say(`dump: ${DUMP_ROUTES.toLocaleString("en-US")} routes in namespace ${ns}; nlmon --dump-events (${backend}) against the ip -j commands, alternately`);
    const warnings: string[] = [];
    const check = (r: ProcRun & { stderr: string }, what: string) => {
      if (r.exit_code !== 0) warnings.push(`${what}: exit ${r.exit_code}: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}`);
      return strip(r);
    };
    const warmup = { nlmon: check(timeDump(ns, dir, cfg, backend), "nlmon warm-up"), ip: check(timeIpJ(ns, dir), "ip -j warm-up") };
    const runs: DumpPair[] = [];
    for (let i = 0; i < DUMP_RUNS; i++) {
      const n = check(timeDump(ns, dir, cfg, backend), `nlmon run ${i + 1}`);
      const p = check(timeIpJ(ns, dir), `ip -j run ${i + 1}`);
      runs.push({ nlmon: n, ip: p, ratio: n.wall_s / p.wall_s });
    }
    return {
      backend, routes: DUMP_ROUTES, namespace: ns, namespace_removed: false,
      nlmon_command: `ip netns exec ${ns} nlmon --dump-events (NLMON_USE_LIBNL=${backend === "libnl"})`, ip_command: `ip netns exec ${ns} sh -c "${IP_J}"`,
      method: DUMP_METHOD, warmup, runs,
      median_ratio: median(runs.map((r) => r.ratio)),
      nlmon_median_wall_s: median(runs.map((r) => r.nlmon.wall_s)),
      ip_median_wall_s: median(runs.map((r) => r.ip.wall_s)),
      nlmon_peak_rss_mib: Math.max(...runs.map((r) => r.nlmon.peak_rss_mib)),
      ip_peak_rss_mib: Math.max(...runs.map((r) => r.ip.peak_rss_mib)),
      ok: [warmup, ...runs].every((r) => r.nlmon.exit_code === 0),
      warnings,
    };
  } finally {
    delNamespace(ns);
  }
}
