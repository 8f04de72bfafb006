/**
 * The benchmark's result as one document (--json) or as tables for a person, with each target
 * from the issue next to the figure it is about.
 */
import type { ConntrackResult } from "./conntrack.ts";
import type { StageResult } from "./decode.ts";
import { FILTER_MAX_NS, type FilterBenchResult } from "./filter.ts";
import { DUMP_FLOOR_MARGIN_MIB, DUMP_MAX_RATIO, type DumpCompareResult, IP_J } from "./dump.ts";
import { FULL_TABLE_GROWTH, FULL_TABLE_REFERENCE, type FullTableListener, type FullTableResult, type FullTableRun } from "./fulltable.ts";
import type { ChurnResult, FloorResult, ListenerResult, MemoryResult } from "./live.ts";

export interface Target {
  name: string;
  target: string;
  measured: number | null;
  unit: string;
  /** null when the figure could not be measured, or (informational) when it is a figure reported, not a target */
  pass: boolean | null;
  /** a figure the issue asks to report, with no target to pass or fail */
  informational?: boolean;
}

export interface BenchReport {
  nlmon_version: string;
  bun_version: string;
  kernel: string;
  cpus: number;
  cpu_model: string;
  started: string;
  elapsed_s: number;
  mode: "single" | "compare";
  duration_s: number;
  corpus: {
    routes_installed: number;
    messages: number;
    route_messages: number;
    datagrams: number;
    bytes: number;
    by_type: Record<string, number>;
    captured_with: string;
  };
  decode: StageResult[];
  /** the cost of a three-clause filter per decoded corpus event */
  filter?: FilterBenchResult;
  live: {
    churn: ChurnResult;
    listeners: ListenerResult[];
    latency_method: string;
  };
  memory: MemoryResult[];
  /** the same binary with only its receive thread: what the runtime costs before nlmon does anything */
  memory_floor?: FloorResult;
  /** conntrack events at rising rates, the configured backend beside `conntrack -E` (or why it was skipped) */
  conntrack?: ConntrackResult;
  /** --compare: `nlmon --dump-events` against the ip -j commands in a namespace holding 100k routes */
  dump?: DumpCompareResult;
  targets: Target[];
  namespaces: string[];
  namespaces_removed: boolean;
}

const MIN_RATE: Record<string, number> = { libnl: 10_000, legacy: 5_000 };

export function targets(r: Omit<BenchReport, "targets">): Target[] {
  const t: Target[] = [];
  const routes = r.decode.find((s) => s.stage === "decode_routes");
  t.push({ name: "decode, route messages, one core", target: ">= 1,000,000 msgs/s", measured: routes?.msgs_per_s ?? null, unit: "msgs/s",
    pass: routes ? routes.msgs_per_s >= 1_000_000 : null });
  const f = r.filter;
  t.push({ name: `filter, three clauses, per corpus event (${f ? `${int(f.events_per_s)} events/s` : "-"})`, target: `< ${FILTER_MAX_NS} ns/event`,
    measured: f ? Number(f.ns_per_event.toFixed(1)) : null, unit: "ns/event", pass: f ? f.ns_per_event < FILTER_MAX_NS : null });
  const ipmon = r.live.listeners.find((l) => !l.backend);
  const perEvent = (l: { cpu_s?: number; captured: number }) => (l.cpu_s !== undefined && l.captured > 0 ? l.cpu_s / l.captured : undefined);
  for (const l of r.live.listeners) {
    if (!l.backend) continue;
    // issue 11: CPU per event against ip monitor's in the same burst, and latency under the burst
    const mine = perEvent(l);
    const theirs = ipmon ? perEvent(ipmon) : undefined;
    const ratio = mine !== undefined && theirs ? mine / theirs : null;
    t.push({ name: `${l.backend}: CPU per event / ip monitor's, same burst`, target: "<= 1.5x", measured: ratio === null ? null : Number(ratio.toFixed(2)), unit: "x",
      pass: ratio === null ? null : ratio <= 1.5 && l.lost === 0 });
    const p99 = l.latency?.p99_ms;
    t.push({ name: `${l.backend}: latency receive to export, p99 during the bursts`, target: "<= 50 ms", measured: p99 === undefined ? null : Number(p99.toFixed(2)), unit: "ms",
      pass: p99 === undefined ? null : p99 <= 50 });
    t.push({ name: `${l.backend}: no event lost, ${r.live.churn.burst_lines / 1000}k bursts at full ip -batch rate`, target: "0 lost",
      measured: l.lost, unit: "events", pass: l.lost === 0 && l.extra === 0 });
    const min = MIN_RATE[l.backend]!;
    t.push({ name: `${l.backend}: messages/s kept up with`, target: `>= ${min.toLocaleString("en-US")} msgs/s`, measured: l.msgs_per_s, unit: "msgs/s",
      pass: l.msgs_per_s >= min && l.lost === 0 });
  }
  for (const m of r.memory) {
    // issue 11 replaced the absolute 35 MB (below what the runtime itself costs) with the floor plus a margin
    const floor = r.memory_floor?.rss_mib;
    const floorAnon = r.memory_floor?.anon_mib;
    t.push({ name: `${m.backend}: idle RSS, runtime floor ${floor === undefined ? "-" : floor.toFixed(1)} + 6`, target: `<= ${floor === undefined ? "-" : (floor + 6).toFixed(1)} MiB`,
      measured: m.idle_rss_mib ?? null, unit: "MiB", pass: m.idle_rss_mib === undefined || floor === undefined ? null : m.idle_rss_mib <= floor + 6 });
    t.push({ name: `${m.backend}: idle private (RssAnon), floor's ${floorAnon === undefined ? "-" : floorAnon.toFixed(1)} + 4`, target: `<= ${floorAnon === undefined ? "-" : (floorAnon + 4).toFixed(1)} MiB`,
      measured: m.idle_anon_mib ?? null, unit: "MiB", pass: m.idle_anon_mib === undefined || floorAnon === undefined ? null : m.idle_anon_mib <= floorAnon + 4 });
    t.push({ name: `${m.backend}: RSS holding a ${m.cache_routes_added / 1000}k-route cache`, target: "<= 80 MiB", measured: m.cache_rss_mib ?? null, unit: "MiB",
      pass: m.cache_rss_mib === undefined || !m.seen_all ? null : m.cache_rss_mib <= 80 });
  }
  if (r.conntrack) t.push(...conntrackTargets(r.conntrack));
  const d = r.dump;
  if (d) {
    const ratio = Number.isFinite(d.median_ratio) ? Number(d.median_ratio.toFixed(2)) : null;
    t.push({ name: `${d.backend}: dump wall time / ip -j's, median of ${d.runs.length}, ${d.routes / 1000}k routes`, target: `<= ${DUMP_MAX_RATIO.toFixed(1)}x`,
      measured: ratio, unit: "x", pass: ratio === null ? null : d.ok && d.median_ratio <= DUMP_MAX_RATIO });
    const floor = r.memory_floor?.rss_mib;
    t.push({ name: `${d.backend}: dump peak RSS, ${d.routes / 1000}k routes, runtime floor ${floor === undefined ? "-" : floor.toFixed(1)} + ${DUMP_FLOOR_MARGIN_MIB}`,
      target: `<= ${floor === undefined ? "-" : (floor + DUMP_FLOOR_MARGIN_MIB).toFixed(1)} MiB`, measured: Number.isFinite(d.nlmon_peak_rss_mib) ? d.nlmon_peak_rss_mib : null, unit: "MiB",
      pass: floor === undefined || !Number.isFinite(d.nlmon_peak_rss_mib) ? null : d.ok && d.nlmon_peak_rss_mib <= floor + DUMP_FLOOR_MARGIN_MIB });
  }
  return t;
}

/** the issue's conntrack targets: none lost where conntrack -E loses, CPU per event at most 1.5x its */
export const CT_MAX_CPU_RATIO = 1.5;

function conntrackTargets(c: ConntrackResult): Target[] {
  const lostName = `${c.backend}: conntrack lost (nlmon) where conntrack -E loses, both asked for the same buffer`;
  const cpuName = `${c.backend}: conntrack CPU per event vs conntrack -E, same run`;
  if (c.skipped) {
    return [
      { name: `${lostName}: skipped: ${c.skipped}`, target: "0 lost", measured: null, unit: "events", pass: null },
      { name: `${cpuName}: skipped`, target: `<= ${CT_MAX_CPU_RATIO}x`, measured: null, unit: "x", pass: null },
    ];
  }
  const nl = c.listeners[0];
  const ct = c.listeners[1];
  const t: Target[] = [];
  const at = c.conntrack_first_loss_step;
  const step = at === undefined ? undefined : c.steps[at - 1];
  const lost = c.nlmon_lost_through ?? null;
  const dup = c.nlmon_duplicated_through ?? 0;
  // PASS needs a rate where conntrack -E lost events and nlmon none up to it; if conntrack -E never
  // lost, the row did not reach such a rate: n/a, unless nlmon lost events anyway (FAIL)
  t.push({
    name: step
      ? `${lostName} (through step ${at}, ${int(step.events_per_s)} events/s: conntrack -E lost ${int(step.listeners[1]!.lost)} there; nlmon duplicated ${int(dup)})`
      : `${lostName} (conntrack -E lost none up to ${int(Math.max(0, ...c.steps.map((s) => s.events_per_s)))} events/s; nlmon duplicated ${int(dup)})`,
    target: "0 lost", measured: lost, unit: "events",
    pass: lost === null || !nl ? null : step ? lost === 0 && dup === 0 : lost > 0 || dup > 0 ? false : null,
  });
  const cc = c.cpu_compared;
  const ratio = cc?.ratio ?? null;
  const over = !cc ? "" : cc.all_steps ? "all steps: every step lost events" : `steps ${cc.steps.join(",")}, where neither lost any`;
  t.push({
    name: `${cpuName} (${fix(cc?.nlmon_us_per_event, 1)} / ${fix(cc?.conntrack_us_per_event, 1)} µs per event received, ${over})`,
    target: `<= ${CT_MAX_CPU_RATIO}x`, measured: ratio === null ? null : Number(ratio.toFixed(2)), unit: "x", pass: ratio === null ? null : ratio <= CT_MAX_CPU_RATIO,
  });
  t.push({
    name: `conntrack: events/s kept up with (a step with 0 lost): nlmon ${int(nl?.kept_up_events_per_s)}, conntrack -E ${int(ct?.kept_up_events_per_s)}; `
      + `lost ${int(nl?.lost)} / ${int(ct?.lost)}, overruns ${int(nl?.overruns)} / ${int(ct?.overruns)}, CPU ${fix(nl?.cpu_s, 2)} / ${fix(ct?.cpu_s, 2)} s`,
    target: "reported", measured: nl?.kept_up_events_per_s ?? null, unit: "events/s", pass: null, informational: true,
  });
  return t;
}

function formatConntrack(c: ConntrackResult): string[] {
  if (c.skipped) return [`Conntrack: skipped: ${c.skipped}`];
  const out: string[] = [];
  const ls = c.listeners;
  out.push(`Conntrack: flows of one UDP request and its reply (python3) in namespace ${c.namespace}, ${c.step_s} s at each rate, rising;`);
  out.push(`events NEW (request) and UPDATE (reply), expected from the kernel's counters; ${ls.map((l) => l.name).join(" and ")} listening at once,`);
  out.push(`each asked for a ${int(c.receive_buffer_requested)}-byte receive buffer (conntrack -b, netlink.buffer_size.receive): sk_rcvbuf `
    + `${ls.map((l) => `${l.name} ${int(l.receive_buffer_bytes)}`).join(", ")} bytes (ss -m; net.core.rmem_default ${int(c.rmem_default)})`);
  const stepRows = c.steps.map((s) => [
    String(s.step), s.target_flows_per_s === null ? "full" : int(s.target_flows_per_s), int(s.flows_per_s), int(s.events_per_s), int(s.expected),
    ...s.listeners.flatMap((l) => [int(l.received), int(l.lost), int(l.duplicated), fix(l.cpu_s, 2)]),
  ]);
  out.push(...table(["step", "flows/s asked", "flows/s", "events/s", "expected",
    ...ls.flatMap((l) => [`${l.name}: received`, "lost", "dup", "CPU s"])], stepRows, "lrrrrrrrrrrrr"));
  out.push(...table(["", ...ls.map((l) => l.name)], [
    ["expected events (the kernel's counts)", ...ls.map((l) => int(l.expected))],
    ["received (lines for the flows)", ...ls.map((l) => int(l.received))],
    ["lost (expected - distinct)", ...ls.map((l) => int(l.lost))],
    ["duplicated (lines - distinct)", ...ls.map((l) => int(l.duplicated))],
    ["unexpected (no step made them)", ...ls.map((l) => int(l.unexpected))],
    ["reported by a resync, not received", ...ls.map((l) => (l.repaired === undefined ? "-" : int(l.repaired)))],
    ["kernel drops on its socket (sk_drops)", ...ls.map((l) => int(l.kernel_drops))],
    ["overruns (ENOBUFS)", ...ls.map((l) => int(l.overruns))],
    ["CPU seconds (start mark to last end mark)", ...ls.map((l) => fix(l.cpu_s, 2))],
    ["CPU µs per event received, all steps", ...ls.map((l) => fix(l.cpu_us_per_event, 1))],
    [`  over ${c.cpu_compared?.all_steps ? "all steps" : `steps ${c.cpu_compared?.steps.join(",") ?? "-"} (neither lost any)`}`,
      fix(c.cpu_compared?.nlmon_us_per_event, 1), fix(c.cpu_compared?.conntrack_us_per_event, 1)],
    ["events/s kept up with (a step with 0 lost)", ...ls.map((l) => int(l.kept_up_events_per_s))],
    ["its own count (marks included)", ...ls.map((l) => int(l.own_count))],
  ]));
  const k = c.kernel;
  out.push(`  kernel: ${int(k.new_flows)} entries made (ct state new), ${int(k.replies)} replies, the table grew by ${int(k.entries)}; `
    + `insert_failed ${int(k.insert_failed)}, drop ${int(k.drop)}, early_drop ${int(k.early_drop)} (conntrack -S); ${fix(c.seconds)} s`);
  out.push(`  ${c.method}`);
  for (const w of c.warnings) out.push(`  ${w}`);
  for (const l of ls) for (const w of l.warnings) out.push(`  ${l.name}: ${w}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// human output

const int = (n: number | undefined | null) => (n === undefined || n === null || Number.isNaN(n) ? "-" : Math.round(n).toLocaleString("en-US"));
const fix = (n: number | undefined | null, d = 1) => (n === undefined || n === null || Number.isNaN(n) ? "-" : n.toFixed(d));
const mib = (n: number | undefined) => (n === undefined ? "-" : `${n.toFixed(1)}`);

/** align: one letter per column, "l" or "r"; columns past its end are right-aligned */
function table(header: string[], rows: string[][], align = "l"): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => "  " + r.map((c, i) => (align[i] === "l" ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatHuman(r: BenchReport): string {
  const out: string[] = [];
  out.push(`nlmon benchmark: nlmon ${r.nlmon_version}, bun ${r.bun_version}, Linux ${r.kernel}, ${r.cpus} CPU${r.cpus === 1 ? "" : "s"} (${r.cpu_model})`);
  out.push("");
  const c = r.corpus;
  out.push(`Decode: ${int(c.messages)} messages (${int(c.route_messages)} routes) in ${c.datagrams} datagrams, ${(c.bytes / 1024).toFixed(0)} KiB,`);
  const runs = r.decode[0]?.runs_msgs_per_s?.length;
  out.push(`dumped from a namespace with ${int(c.routes_installed)} routes in tables 10-19 through the ${c.captured_with} backend; tinybench, one core${runs ? `; each stage's median of ${runs} fresh processes (all ${runs} shown)` : ""}`);
  out.push(...table(["stage", "msgs/s", "ns/msg", "±%", "runs (msgs/s)", "what"],
    r.decode.map((s) => [s.stage, int(s.msgs_per_s), fix(s.ns_per_msg), fix(s.rme_pct), (s.runs_msgs_per_s ?? []).map((x) => `${(x / 1e6).toFixed(2)}M`).join(" "), s.what]), "lrrrrl"));
  const f = r.filter;
  if (f) {
    out.push(`Filter: '${f.expression}' over the ${int(f.events)} decoded corpus events (${int(f.matched)} pass): `
      + `${int(f.events_per_s)} events/s, ${fix(f.ns_per_event)} ns/event ±${fix(f.rme_pct)}%`
      + `${f.runs_ns_per_event ? `; median of ${f.runs_ns_per_event.length} fresh processes (${f.runs_ns_per_event.map((x) => fix(x)).join(", ")} ns)` : ""}`);
  }
  out.push("");
  const ch = r.live.churn;
  out.push(`Live: ${ch.bursts} burst${ch.bursts === 1 ? "" : "s"} of ${int(ch.burst_lines)} route add/del lines (ip -batch, tables 10-19, proto 201) in ${fix(ch.seconds)} s:`);
  out.push(`${int(ch.succeeded)} succeeded, ${int(ch.failed)} failed, kernel rate ${int(ch.kernel_msgs_per_s)} msgs/s; all listeners at once in one namespace`);
  const ls = r.live.listeners;
  const col = (f: (l: ListenerResult) => string) => ls.map(f);
  const rows: string[][] = [
    ["kernel (lines that succeeded)", ...col((l) => int(l.kernel))],
    ["captured", ...col((l) => int(l.captured))],
    ["lost", ...col((l) => int(l.lost))],
    ["msgs/s kept up with", ...col((l) => int(l.msgs_per_s))],
    ["overruns (ENOBUFS)", ...col((l) => int(l.overruns))],
    ["resyncs", ...col((l) => int(l.resyncs))],
    ["export dropped", ...col((l) => int(l.export_dropped))],
    ["latency p50 (ms)", ...col((l) => fix(l.latency?.p50_ms, 2))],
    ["latency p99 (ms)", ...col((l) => fix(l.latency?.p99_ms, 2))],
    ["latency max (ms)", ...col((l) => fix(l.latency?.max_ms, 2))],
    ["batches handed over", ...col((l) => (l.handover ? int(l.handover.batches) : "-"))],
    ["datagrams per batch", ...col((l) => (l.handover ? fix(l.handover.datagrams_per_batch, 1) : "-"))],
    ["KiB per batch", ...col((l) => (l.handover ? fix(l.handover.bytes_per_batch / 1024, 1) : "-"))],
    ["hand-over p50/p99 (ms)", ...col((l) => (l.handover ? `${fix(l.handover.handover_p50_ms, 3)}/${fix(l.handover.handover_p99_ms, 3)}` : "-"))],
    ["CPU seconds", ...col((l) => fix(l.cpu_s, 2))],
    ["peak RSS (MiB)", ...col((l) => mib(l.peak_rss_mib))],
    ["receive buffer (bytes)", ...col((l) => (l.receive_buffer_bytes ? l.receive_buffer_bytes.map(int).join(",") : "-"))],
    ["caught up at the end", ...col((l) => (l.drained ? "yes" : "NO"))],
  ];
  out.push(...table(["", ...col((l) => l.name)], rows));
  out.push(`  latency: ${r.live.latency_method}`);
  out.push("");
  if (r.memory.length) {
    out.push("Memory (route cache on; RSS read from /proc/PID/status)");
    out.push(...table(["", ...r.memory.map((m) => m.backend)], [
      ["idle RSS (MiB)", ...r.memory.map((m) => mib(m.idle_rss_mib))],
      ["  of which private (RssAnon)", ...r.memory.map((m) => mib(m.idle_anon_mib))],
      [`RSS with ${r.memory[0]!.cache_routes_added / 1000}k routes cached (MiB)`, ...r.memory.map((m) => mib(m.cache_rss_mib))],
      ["  of which private (RssAnon)", ...r.memory.map((m) => mib(m.cache_anon_mib))],
      ["peak RSS (MiB)", ...r.memory.map((m) => mib(m.cache_peak_rss_mib))],
      ["routes in the cache", ...r.memory.map((m) => int(m.cached_routes))],
      ["  route cache storage (MiB)", ...r.memory.map((m) => mib(m.route_cache_mib))],
      ["runtime floor: modules loaded, receive thread, nothing else (MiB)", ...r.memory.map(() => mib(r.memory_floor?.rss_mib))],
      ["  of which private (RssAnon)", ...r.memory.map(() => mib(r.memory_floor?.anon_mib))],
    ]));
    out.push("");
  }
  if (r.conntrack) out.push(...formatConntrack(r.conntrack), "");
  if (r.dump) out.push(...formatDump(r.dump, r.memory_floor), "");
  out.push("Targets");
  out.push(...formatTargets(r.targets));
  out.push("");
  out.push(`namespaces ${r.namespaces.join(", ")} ${r.namespaces_removed ? "removed" : "NOT removed"}; ${fix(r.elapsed_s)} s in all`);
  return out.join("\n") + "\n";
}

function formatDump(d: DumpCompareResult, floor: FloorResult | undefined): string[] {
  const out: string[] = [];
  out.push(`Dump: nlmon --dump-events (${d.backend}) against \`sh -c "${IP_J}"\`,`);
  out.push(`in namespace ${d.namespace} holding ${int(d.routes)} routes (tables 10-19, proto 201, metric 100; veth v0/v1, 10.9.0.1/24 on v0)`);
  out.push(`  ${d.method}`);
  const row = (label: string, n: ProcRunLike, p: ProcRunLike, ratio?: number) =>
    [label, fix(n.wall_s, 3), fix(n.peak_rss_mib), fix(n.cpu_s, 2), fix(p.wall_s, 3), fix(p.peak_rss_mib), fix(p.cpu_s, 2), ratio === undefined ? "" : fix(ratio, 2)];
  out.push(...table(["run", "nlmon s", "peak MiB", "CPU s", "ip -j s", "peak MiB", "CPU s", "nlmon/ip"], [
    row("warm-up", d.warmup.nlmon, d.warmup.ip),
    ...d.runs.map((r, i) => row(String(i + 1), r.nlmon, r.ip, r.ratio)),
  ], "lrrrrrrr"));
  out.push(`  median: nlmon ${fix(d.nlmon_median_wall_s, 3)} s, ip -j ${fix(d.ip_median_wall_s, 3)} s, ratio (median of the pairs) ${fix(d.median_ratio, 2)}; `
    + `peak RSS nlmon ${mib(d.nlmon_peak_rss_mib)} MiB (runtime floor ${mib(floor?.rss_mib)} MiB), ip -j ${mib(d.ip_peak_rss_mib)} MiB`);
  for (const w of d.warnings) out.push(`  ${w}`);
  return out;
}

interface ProcRunLike { wall_s: number; peak_rss_mib: number; cpu_s: number }

// ---------------------------------------------------------------------------------------------
// --routes N: the full-table burst alone

export interface FullTableReport {
  nlmon_version: string;
  bun_version: string;
  kernel: string;
  cpus: number;
  cpu_model: string;
  started: string;
  elapsed_s: number;
  mode: "full-table";
  full_table: FullTableResult;
  /** PASS: 0 lost, 0 duplicated (and nothing unexpected), caught up, and the cache equal to `ip -j route show table all` */
  pass: boolean;
  targets: Target[];
  namespaces: string[];
  namespaces_removed: boolean;
}

const k = (n: number) => (n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : n.toLocaleString("en-US"));

function runPass(run: FullTableRun): boolean {
  const nl = run.listeners.find((l) => l.backend);
  return !!nl && nl.lost === 0 && nl.duplicated === 0 && nl.unexpected === 0 && nl.drained && run.cache.equal;
}

export function fullTablePass(f: FullTableResult): boolean {
  return runPass(f.run);
}

export function fullTableTargets(f: FullTableResult): Target[] {
  const t: Target[] = [];
  for (const run of [f.reference, f.run]) {
    if (!run) continue;
    const nl = run.listeners.find((l) => l.backend)!;
    t.push({ name: `${f.backend}: ${k(run.routes)}-route ip -batch burst, route_cache on: none lost`, target: "0 lost", measured: nl.lost, unit: "events",
      pass: nl.lost === 0 && nl.drained });
    t.push({ name: `${f.backend}: ${k(run.routes)}-route burst: none duplicated (nor unexpected)`, target: "0 duplicated", measured: nl.duplicated + nl.unexpected, unit: "events",
      pass: nl.duplicated === 0 && nl.unexpected === 0 });
    t.push({ name: `${f.backend}: ${k(run.routes)}-route burst: route cache = ip -j route show table all`, target: "0 differences",
      measured: run.cache.compared ? run.cache.missing + run.cache.extra : null, unit: "routes", pass: run.cache.compared ? run.cache.equal : false });
  }
  for (const run of [f.reference, f.run]) {
    if (!run) continue;
    const d = run.dump;
    t.push({ name: `${f.backend}: --dump-events at ${k(run.routes)}: route lines of tables 10-19 (${int(d.route_lines)}) = ip route's (${int(d.ip_routes)}) = added (${int(d.expected)})`,
      target: "0 differences", measured: Math.abs(d.route_lines - d.ip_routes) + Math.abs(d.ip_routes - d.expected), unit: "routes", pass: d.complete });
  }
  // the issue asks for the live full table's peak RSS and CPU beside ip monitor's: figures, not a target
  const nlRun = f.run.listeners.find((l) => l.backend);
  const ipRun = f.run.listeners.find((l) => !l.backend);
  const mine = nlRun?.peak_rss_mib;
  const base = f.reference?.listeners.find((l) => l.backend)?.peak_rss_mib;
  const growth = mine !== undefined && base !== undefined ? (mine / base - 1) * 100 : undefined;
  t.push({
    name: `${f.backend}: live at ${k(f.run.routes)}: peak RSS ${mib(mine)} MiB (ip monitor ${mib(ipRun?.peak_rss_mib)}), CPU ${fix(nlRun?.cpu_s, 2)} s (ip monitor ${fix(ipRun?.cpu_s, 2)})`
      + (base === undefined ? "" : `; peak against ${k(FULL_TABLE_REFERENCE)}'s ${mib(base)} MiB`),
    target: "reported", measured: growth === undefined ? (mine ?? null) : Number(growth.toFixed(1)), unit: growth === undefined ? "MiB" : "%",
    pass: null, informational: true,
  });
  const dm = f.run.dump.peak_rss_mib;
  const db = f.reference?.dump.peak_rss_mib;
  const dg = db !== undefined && Number.isFinite(dm) && Number.isFinite(db) ? (dm / db - 1) * 100 : undefined;
  t.push({
    name: `${f.backend}: --dump-events peak RSS at ${k(f.run.routes)} (${mib(dm)} MiB) against ${k(FULL_TABLE_REFERENCE)} (${mib(db)} MiB)`,
    target: `<= +${FULL_TABLE_GROWTH * 100}%`, measured: dg === undefined ? null : Number(dg.toFixed(1)), unit: "%",
    pass: dg === undefined ? null : f.run.dump.exit_code === 0 && f.reference!.dump.exit_code === 0 && dg <= FULL_TABLE_GROWTH * 100,
  });
  return t;
}

function formatTargets(ts: Target[]): string[] {
  return table(["", "", "target", "measured"], ts.map((t) => [
    t.informational ? "[info]" : t.pass === null ? "[n/a ]" : t.pass ? "[PASS]" : "[FAIL]", t.name, t.target,
    t.measured === null ? "-" : t.unit === "MiB" ? `${t.measured.toFixed(1)} MiB` : t.unit === "%" ? `${t.measured >= 0 ? "+" : ""}${t.measured.toFixed(1)} %` : t.unit === "x" ? `${t.measured.toFixed(2)}x` : t.unit === "ns/event" ? `${t.measured.toFixed(1)} ns` : `${int(t.measured)} ${t.unit}`,
  ]), "llrr");
}

export function formatFullTable(r: FullTableReport): string {
  const out: string[] = [];
  out.push(`nlmon benchmark: nlmon ${r.nlmon_version}, bun ${r.bun_version}, Linux ${r.kernel}, ${r.cpus} CPU${r.cpus === 1 ? "" : "s"} (${r.cpu_model})`);
  out.push("");
  const f = r.full_table;
  const runs = [f.run, ...(f.reference ? [f.reference] : [])];
  out.push(`Full table: one ip -batch of route add lines across tables 10-19 (proto 201, /32 via 10.9.0.2) in a fresh namespace, while`);
  out.push(`nlmon (${f.backend} backend, caching.route_cache: true) and \`ip monitor route\` listen; counted against the batch's lines`);
  for (const run of runs) {
    const b = run.batch;
    out.push(`  ${k(run.routes)}: ${int(b.lines - b.failed)} added, ${int(b.failed)} failed, in ${fix(b.seconds)} s (kernel ${int(b.kernel_msgs_per_s)} msgs/s); all caught up ${fix(run.catch_up_s)} s after it`);
  }
  const cols: { run: FullTableRun; l: FullTableListener }[] = [];
  for (const run of runs) for (const l of run.listeners) cols.push({ run, l });
  const col = (fn: (l: FullTableListener, run: FullTableRun) => string) => cols.map((c) => fn(c.l, c.run));
  const rows: string[][] = [
    ["routes added (batch lines that succeeded)", ...col((l) => int(l.expected))],
    ["route lines in the output", ...col((l) => int(l.lines))],
    ["captured (distinct routes)", ...col((l) => int(l.captured))],
    ["lost", ...col((l) => int(l.lost))],
    ["duplicated", ...col((l) => int(l.duplicated))],
    ["unexpected (not in the batch)", ...col((l) => int(l.unexpected))],
    ["reported by a resync, not received", ...col((l) => int(l.repaired))],
    ["overruns (ENOBUFS)", ...col((l) => int(l.overruns))],
    ["resyncs", ...col((l) => int(l.resyncs))],
    ["export dropped", ...col((l) => int(l.export_dropped))],
    ["CPU seconds", ...col((l) => fix(l.cpu_s, 2))],
    ["peak RSS, VmHWM (MiB)", ...col((l) => mib(l.peak_rss_mib))],
    ["RSS when caught up (MiB)", ...col((l) => mib(l.rss_caught_up_mib))],
    ["RSS 3 s later (MiB)", ...col((l) => mib(l.rss_settled_mib))],
    ["routes in the cache", ...col((l) => int(l.cached_routes))],
    ["  route cache storage (MiB)", ...col((l) => mib(l.route_cache_mib))],
    ["caught up at the end", ...col((l) => (l.drained ? "yes" : "NO"))],
    ["cache = ip -j route show table all", ...col((l, run) => (!l.backend ? "" : !run.cache.compared ? "not compared" : run.cache.equal ? "equal" : "DIFFERENT"))],
    ["  routes: cache / ip", ...col((l, run) => (l.backend ? `${int(run.cache.cache_routes)} / ${int(run.cache.ip_routes)}` : ""))],
    ["  missing / extra in the cache", ...col((l, run) => (l.backend ? `${int(run.cache.missing)} / ${int(run.cache.extra)}` : ""))],
    ["--dump-events afterwards: wall (s)", ...col((l, run) => (l.backend ? fix(run.dump.wall_s, 2) : ""))],
    ["  peak RSS (MiB)", ...col((l, run) => (l.backend ? mib(run.dump.peak_rss_mib) : ""))],
    ["  CPU seconds", ...col((l, run) => (l.backend ? fix(run.dump.cpu_s, 2) : ""))],
    ["  route lines, tables 10-19 / ip route's", ...col((l, run) => (l.backend ? `${int(run.dump.route_lines)} / ${int(run.dump.ip_routes)}` : ""))],
    ["  complete (= routes added)", ...col((l, run) => (l.backend ? (run.dump.complete ? "yes" : "NO") : ""))],
  ];
  out.push(...table(["", ...col((l, run) => `${l.name} @${k(run.routes)}`)], rows));
  for (const run of runs) {
    for (const s of run.cache.missing_sample) out.push(`  @${k(run.routes)} missing from the cache: ${s}`);
    for (const s of run.cache.extra_sample) out.push(`  @${k(run.routes)} in the cache, not in ip route: ${s}`);
  }
  out.push(`  cache: ${f.run.cache.method}`);
  out.push("  dump: once the listeners have stopped, `ip netns exec NS nlmon --dump-events` to /dev/null, timed (wall from spawn to reaped, "
    + "peak RSS and CPU from /usr/bin/time: wait4's rusage), then once more through a pipe to count its RTM_NEWROUTE lines of tables 10-19");
  for (const run of runs) for (const w of run.dump.warnings) out.push(`  @${k(run.routes)} dump: ${w}`);
  out.push("");
  const nl = f.run.listeners.find((l) => l.backend);
  out.push(`Full table at ${k(f.run.routes)}: ${r.pass ? "PASS" : "FAIL"} (it needs 0 lost, 0 duplicated, the cache equal): `
    + `${int(nl?.lost)} lost, ${int(nl?.duplicated)} duplicated, cache ${f.run.cache.equal ? "equal" : f.run.cache.compared ? "different" : "not compared"}`);
  out.push("");
  out.push("Targets");
  out.push(...formatTargets(r.targets));
  out.push("");
  out.push(`namespaces ${r.namespaces.join(", ")} ${r.namespaces_removed ? "removed" : "NOT removed"}; ${fix(r.elapsed_s)} s in all`);
  return out.join("\n") + "\n";
}
