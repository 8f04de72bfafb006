// The benchmark's filter row: the measurement runs the filter over decoded events (captured kernel
// messages here, the benchmark's dumped corpus there), and the report's target is PASS or FAIL by
// the figure measured.
import { describe, expect, test } from "bun:test";
import type { Corpus } from "../../src/bench/corpus.ts";
import { benchFilter, FILTER_EXPRESSION, FILTER_MAX_NS, type FilterBenchResult } from "../../src/bench/filter.ts";
import { formatHuman, targets, type BenchReport } from "../../src/bench/report.ts";
import { fixtureBytes } from "../fixtures/load.ts";

const NAMES = ["route-new-v4-gw-table10-proto186", "route-new-v4-metric50-table11-proto201", "route-new-v4-onlink-table12",
  "route-new-v6-gw-table19-proto186", "link-dump-lo", "neigh-new-v4-permanent"];

describe("the filter benchmark", () => {
  test("runs the three-clause filter over every decoded event and counts what passes", async () => {
    const datagrams = NAMES.map(fixtureBytes);
    const corpus: Corpus = { datagrams, routeDatagrams: [], messages: datagrams.length, routeMessages: 4, bytes: 0, byType: {} };
    const r = await benchFilter(corpus, 50, 10);
    expect(r.expression).toBe(FILTER_EXPRESSION);
    expect(r.events).toBe(6);
    // of the routes only 10.11.0.0/24 has protocol 201 (the onlink one is 172.x, boot)
    expect(r.matched).toBe(1);
    expect(r.ns_per_event).toBeGreaterThan(0);
    expect(r.events_per_s).toBeCloseTo(1e9 / r.ns_per_event, -2);
    expect(r.iterations).toBeGreaterThan(0);
  });

  const report = (filter?: FilterBenchResult) => ({
    decode: [], filter, live: { churn: {}, listeners: [], latency_method: "" }, memory: [], corpus: {},
  }) as unknown as Omit<BenchReport, "targets">;
  const row = (filter?: FilterBenchResult) => targets(report(filter)).find((t) => t.name.startsWith("filter,"))!;
  const result = (ns: number): FilterBenchResult => ({
    expression: FILTER_EXPRESSION, events: 10046, matched: 6000, events_per_s: 1e9 / ns, ns_per_event: ns, rme_pct: 1, iterations: 100,
    runs_ns_per_event: [ns, ns + 1, ns - 1],
  });

  test("the target passes under the limit, fails at or over it, and is n/a unmeasured", () => {
    expect(row(result(FILTER_MAX_NS - 0.5))).toMatchObject({ pass: true, measured: FILTER_MAX_NS - 0.5, unit: "ns/event", target: "< 100 ns/event" });
    expect(row(result(FILTER_MAX_NS)).pass).toBe(false);
    expect(row(result(250)).pass).toBe(false);
    expect(row(undefined)).toMatchObject({ pass: null, measured: null });
  });

  test("the human report shows the figure beside the other targets", () => {
    const text = formatHuman({
      ...report(result(42.4)), nlmon_version: "t", bun_version: "t", kernel: "t", cpus: 2, cpu_model: "t", started: "", elapsed_s: 1,
      mode: "single", duration_s: 0, namespaces: [], namespaces_removed: true,
      corpus: { routes_installed: 10000, messages: 10046, route_messages: 10016, datagrams: 1, bytes: 1, by_type: {}, captured_with: "legacy" },
      live: { churn: { bursts: 0, burst_lines: 0, seconds: 0, succeeded: 0, failed: 0, kernel_msgs_per_s: 0 }, listeners: [], latency_method: "" },
      targets: targets(report(result(42.4))),
    } as unknown as BenchReport);
    expect(text).toContain(`Filter: '${FILTER_EXPRESSION}' over the 10,046 decoded corpus events (6,000 pass): 23,584,906 events/s, 42.4 ns/event`);
    expect(text).toMatch(/\[PASS\]\s+filter, three clauses, per corpus event \(23,584,906 events\/s\)\s+< 100 ns\/event\s+42\.4 ns/);
  });
});
