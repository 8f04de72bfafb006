/**
 * `nlmon --benchmark --json` as users run it: the built binary, from an empty directory, in the
 * root namespace (it makes and removes its own). Checks the document's shape and that its figures
 * are plausible; the performance targets are the benchmark's to report, not this test's to assert.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { BIN, ensureBinary, ensureLibnl, run, tempDir } from "./lib.ts";

interface Report {
  mode: string;
  duration_s: number;
  corpus: { messages: number; route_messages: number; datagrams: number; bytes: number };
  decode: { stage: string; msgs_per_s: number; ns_per_msg: number; iterations: number }[];
  live: {
    churn: { seconds: number; bursts: number; burst_lines: number; lines: number; succeeded: number; failed: number };
    listeners: {
      name: string; backend?: string; kernel: number; captured: number; lost: number; extra: number; msgs_per_s: number;
      overruns: number; resyncs?: number; cpu_s?: number; peak_rss_mib?: number; drained: boolean; exit_code: number;
      latency?: { method: string; p50_ms?: number; p99_ms?: number; samples: number };
    }[];
    latency_method: string;
  };
  memory: { backend: string; idle_rss_mib?: number; cache_rss_mib?: number; cached_routes?: number }[];
  memory_floor?: { rss_mib?: number };
  dump?: {
    backend: string; routes: number; namespace: string; namespace_removed: boolean; ok: boolean;
    warmup: { nlmon: ProcRun; ip: ProcRun };
    runs: { nlmon: ProcRun; ip: ProcRun; ratio: number }[];
    median_ratio: number; nlmon_peak_rss_mib: number; ip_peak_rss_mib: number;
  };
  targets: { name: string; target: string; measured: number | null; pass: boolean | null; informational?: boolean }[];
  namespaces: string[];
  namespaces_removed: boolean;
}

interface ProcRun { wall_s: number; peak_rss_mib: number; cpu_s: number; exit_code: number }

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function bench(extra: string[], duration = "3"): Report {
  ensureBinary();
  ensureLibnl();
  const cwd = tempDir("bench");
  dirs.push(cwd);
  const r = run([BIN, "--benchmark", "--duration", duration, "--json", ...extra], { cwd });
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err.trim().split("\n").slice(-5).join("\n")}`);
  // one JSON document and nothing else on stdout: progress goes to stderr
  return JSON.parse(r.out) as Report;
}

function checkCommon(rep: Report, duration = 3) {
  expect(rep.duration_s).toBe(duration);
  expect(rep.corpus.route_messages).toBeGreaterThanOrEqual(10_000);
  expect(rep.corpus.messages).toBeGreaterThan(rep.corpus.route_messages);
  expect(rep.decode.map((s) => s.stage)).toEqual(["codec", "decode", "serialise", "pipeline", "pipeline_lines", "decode_routes"]);
  for (const s of rep.decode) {
    expect(s.msgs_per_s).toBeGreaterThan(0);
    expect(s.ns_per_msg).toBeGreaterThan(0);
    expect(s.iterations).toBeGreaterThan(0);
  }
  const c = rep.live.churn;
  expect(c.bursts).toBeGreaterThanOrEqual(1);
  expect(c.seconds).toBeGreaterThanOrEqual(duration);
  expect(c.succeeded).toBe(c.lines - c.failed);
  expect(c.succeeded).toBeGreaterThan(0);
  for (const l of rep.live.listeners) {
    expect(l.kernel).toBe(c.succeeded);
    for (const v of [l.captured, l.lost, l.extra, l.overruns, l.msgs_per_s]) expect(typeof v).toBe("number");
    expect(l.captured).toBeGreaterThan(0);
    expect(l.lost).toBe(Math.max(0, l.kernel - l.captured));
    expect(l.drained).toBe(true);
    expect(l.cpu_s).toBeGreaterThan(0);
    expect(l.peak_rss_mib).toBeGreaterThan(0);
    if (l.backend) {
      expect(l.exit_code).toBe(0);
      expect(typeof l.resyncs).toBe("number");
      expect(l.latency!.samples).toBeGreaterThan(0);
      expect(l.latency!.p50_ms).toBeGreaterThanOrEqual(0);
      expect(l.latency!.p99_ms!).toBeGreaterThanOrEqual(l.latency!.p50_ms!);
    }
  }
  expect(rep.live.latency_method.length).toBeGreaterThan(0);
  for (const m of rep.memory) {
    expect(m.idle_rss_mib).toBeGreaterThan(0);
    expect(m.cache_rss_mib!).toBeGreaterThan(m.idle_rss_mib!);
    expect(m.cached_routes).toBeGreaterThanOrEqual(100_000);
  }
  expect(rep.targets.length).toBeGreaterThan(0);
  for (const t of rep.targets) {
    expect(typeof t.name).toBe("string");
    expect(typeof t.target).toBe("string");
    expect([true, false, null]).toContain(t.pass);
  }
  expect(rep.namespaces_removed).toBe(true);
  const left = run(["ip", "netns", "list"]).out;
  for (const ns of rep.namespaces) {
    expect(ns).toMatch(/^nlmonbench\d+/);
    expect(left.split("\n").map((l) => l.split(" ")[0])).not.toContain(ns);
  }
}

describe("nlmon --benchmark", () => {
  test("--duration 3 --json: the configured backend", () => {
    const rep = bench([]);
    expect(rep.mode).toBe("single");
    expect(rep.live.listeners).toHaveLength(1);
    expect(["libnl", "legacy"]).toContain(rep.live.listeners[0]!.backend ?? "none");
    expect(rep.memory).toHaveLength(1);
    checkCommon(rep);
  }, 180_000);

  test("--duration 0 --json: the shortest run, one burst, as the usage message says", () => {
    const rep = bench([], "0");
    checkCommon(rep, 0);
    expect(rep.live.churn.bursts).toBe(1);
    expect(rep.live.churn.lines).toBe(rep.live.churn.burst_lines);
  }, 180_000);

  test("--compare --duration 3 --json: both backends and ip monitor on the same churn", () => {
    const rep = bench(["--compare"]);
    expect(rep.mode).toBe("compare");
    expect(rep.live.listeners.map((l) => l.name)).toEqual(["libnl", "legacy", "ip monitor"]);
    expect(rep.memory.map((m) => m.backend)).toEqual(["libnl", "legacy"]);
    checkCommon(rep);
    // the dump row: --dump-events against the ip -j commands, 5 alternating pairs after a warm-up
    const d = rep.dump!;
    expect(d.routes).toBe(100_000);
    expect(d.ok).toBe(true);
    expect(d.runs).toHaveLength(5);
    for (const r of [d.warmup, ...d.runs]) {
      expect(r.nlmon.exit_code).toBe(0);
      expect(r.ip.exit_code).toBe(0);
      expect(r.nlmon.wall_s).toBeGreaterThan(0);
      // a whole process's own peak: more than the runtime floor would be odd below, not above
      expect(r.nlmon.peak_rss_mib).toBeGreaterThan(10);
      expect(r.ip.peak_rss_mib).toBeGreaterThan(0);
    }
    expect(d.median_ratio).toBeGreaterThan(0);
    expect(d.nlmon_peak_rss_mib).toBe(Math.max(...d.runs.map((r) => r.nlmon.peak_rss_mib)));
    expect(rep.namespaces).toContain(d.namespace);
    expect(d.namespace_removed).toBe(true);
    const dumpTargets = rep.targets.filter((t) => t.name.includes("dump"));
    expect(dumpTargets).toHaveLength(2);
    for (const t of dumpTargets) expect(typeof t.pass).toBe("boolean");
  }, 240_000);
});

interface FullTableReport {
  mode: string;
  pass: boolean;
  full_table: {
    backend: string;
    reference?: unknown;
    run: {
      routes: number;
      batch: { lines: number; failed: number; seconds: number };
      listeners: {
        name: string; backend?: string; expected: number; lines: number; captured: number; lost: number; duplicated: number;
        unexpected: number; cpu_s?: number; peak_rss_mib?: number; cached_routes?: number; drained: boolean; exit_code: number;
      }[];
      cache: { compared: boolean; equal: boolean; cache_routes: number; ip_routes: number; missing: number; extra: number };
      dump: { wall_s: number; peak_rss_mib: number; exit_code: number; lines: number; route_lines: number; ip_routes: number; expected: number; complete: boolean };
      namespace: string;
      namespace_removed: boolean;
    };
  };
  targets: { name: string; target: string; measured: number | null; pass: boolean | null; informational?: boolean }[];
  namespaces: string[];
  namespaces_removed: boolean;
}

describe("nlmon --benchmark --routes", () => {
  test("--routes 2000 --json: the full-table row alone, nlmon beside ip monitor, its route cache against ip route", () => {
    ensureBinary();
    ensureLibnl();
    const cwd = tempDir("bench");
    dirs.push(cwd);
    const r = run([BIN, "--benchmark", "--routes", "2000", "--json"], { cwd });
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err.trim().split("\n").slice(-5).join("\n")}`);
    const rep = JSON.parse(r.out) as FullTableReport;
    expect(rep.mode).toBe("full-table");
    const f = rep.full_table;
    // 100k is the memory target's base: below it there is no reference run and that target is n/a
    expect(f.reference).toBeUndefined();
    expect(f.run.routes).toBe(2000);
    expect(f.run.batch).toMatchObject({ lines: 2000, failed: 0 });
    expect(f.run.listeners.map((l) => l.name)).toEqual([f.backend, "ip monitor"]);
    for (const l of f.run.listeners) {
      expect(l.expected).toBe(2000);
      expect(l.lines).toBe(l.captured + l.duplicated + l.unexpected);
      expect(l.lost).toBe(l.expected - l.captured);
      expect(l.drained).toBe(true);
      // CPU time is counted in 10 ms ticks: ip monitor printing 2000 routes may stay under one
      if (l.name === "ip monitor") expect(l.cpu_s).toBeGreaterThanOrEqual(0);
      else expect(l.cpu_s).toBeGreaterThan(0);
      expect(l.peak_rss_mib).toBeGreaterThan(0);
    }
    const nl = f.run.listeners[0]!;
    expect(nl.exit_code).toBe(0);
    // 2,000 routes cannot overrun a 32 MiB receive buffer: anything lost here is a counting bug
    expect(nl).toMatchObject({ captured: 2000, lost: 0, duplicated: 0, unexpected: 0 });
    // the cache holds the namespace's other routes too (connected, local, the marks)
    expect(nl.cached_routes).toBeGreaterThan(2000);
    expect(f.run.cache).toMatchObject({ compared: true, equal: true, missing: 0, extra: 0 });
    expect(f.run.cache.cache_routes).toBe(f.run.cache.ip_routes);
    expect(rep.pass).toBe(true);
    // --dump-events of the full table afterwards: every route of tables 10-19 in it, as ip lists them
    expect(f.run.dump).toMatchObject({ exit_code: 0, route_lines: 2000, ip_routes: 2000, expected: 2000, complete: true });
    expect(f.run.dump.peak_rss_mib).toBeGreaterThan(0);
    expect(f.run.dump.lines).toBeGreaterThan(2000);
    expect(rep.targets.find((t) => t.name.includes("--dump-events at 2k"))!.pass).toBe(true);
    // the live monitor's peak RSS is a figure to report, not a target
    const live = rep.targets.find((t) => t.name.includes("live at 2k"))!;
    expect(live).toMatchObject({ pass: null, informational: true });
    expect(live.measured).toBeGreaterThan(0);
    // the dump memory target needs the 100k reference: n/a below it
    expect(rep.targets.find((t) => t.name.includes("--dump-events peak RSS"))!.pass).toBeNull();
    expect(rep.namespaces).toEqual([f.run.namespace]);
    expect(rep.namespaces_removed).toBe(true);
    expect(run(["ip", "netns", "list"]).out.split("\n").map((l) => l.split(" ")[0])).not.toContain(f.run.namespace);
  }, 60_000);

  test("--routes takes a positive whole number: exit 2 and why otherwise", () => {
    ensureBinary();
    for (const bad of ["0", "-3", "1e6", "many"]) {
      const r = run([BIN, "--benchmark", "--routes", bad]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`--routes: expected a whole number of routes from 1 to 10000000, got '${bad}'`);
      expect(r.out).toBe("");
    }
  });
});
