/**
 * Prometheus export: serves the registry in the text exposition format 0.0.4, plus the standard
 * process_* metrics every Prometheus client library provides, so existing dashboards work.
 * Rendering is a walk over in-memory maps; /proc reads are async, so scrapes never hold up receiving.
 */
import { fsp } from "../node-lazy.ts";
import type { PipelineEvent } from "../event/model.ts";
import type { Counter, Gauge, Histogram, Labels, Registry } from "../metrics/registry.ts";
import { type Exporter, ExportConfigError } from "./types.ts";
import { errText, stderrLog, type Logger } from "./queue.ts";

export interface PrometheusExportOptions {
  address: string;
  port: number;
  path: string;
}

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** HELP text escapes backslash and newline; label values also escape the double quote */
export function escapeHelp(s: string) {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
export function escapeLabelValue(s: string) {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelStr(labels: Labels, names: readonly string[], extra?: [string, string]): string {
  const parts: string[] = [];
  for (const n of names) parts.push(`${n}="${escapeLabelValue(labels[n] ?? "")}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function renderFamily(out: string[], f: Counter | Gauge | Histogram) {
  out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
  out.push(`# TYPE ${f.name} ${f.kind}`);
  if (f.kind === "histogram") {
    let cum = 0;
    for (let i = 0; i < f.buckets.length; i++) {
      cum += f.counts[i]!;
      out.push(`${f.name}_bucket{le="${formatValue(f.buckets[i]!)}"} ${cum}`);
    }
    // observations above the last bound are in count only, which is exactly the +Inf bucket
    out.push(`${f.name}_bucket{le="+Inf"} ${f.count}`);
    out.push(`${f.name}_sum ${formatValue(f.sum)}`);
    out.push(`${f.name}_count ${f.count}`);
    return;
  }
  if (f.series.size === 0 && f.labelNames.length === 0) {
    // an unlabelled series exists from the start, so rate() has a zero to start from
    out.push(`${f.name} 0`);
    return;
  }
  for (const s of f.series.values()) out.push(`${f.name}${labelStr(s.labels, f.labelNames)} ${formatValue(s.value)}`);
}

export function renderRegistry(reg: Registry, out: string[] = []): string[] {
  reg.collect();
  for (const f of reg.families) renderFamily(out, f);
  return out;
}

/**
 * Clock ticks per second for /proc's times. Asked of getconf once, because it is a libc
 * sysconf value, not a constant; 100 (Linux's USER_HZ on every architecture it ships) if that fails.
 */
function clockTicks(): number {
  try {
    const r = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe", stderr: "ignore" });
    const n = Number(r.stdout.toString().trim());
    if (r.exitCode === 0 && Number.isInteger(n) && n > 0) return n;
  } catch {
    // no getconf on a minimal image
  }
  return 100;
}

function pageSize(): number {
  try {
    const r = Bun.spawnSync(["getconf", "PAGESIZE"], { stdout: "pipe", stderr: "ignore" });
    const n = Number(r.stdout.toString().trim());
    if (r.exitCode === 0 && Number.isInteger(n) && n > 0) return n;
  } catch {
    // fall through
  }
  return 4096;
}

export class ProcessMetrics {
  private readonly hz = clockTicks();
  private readonly page = pageSize();
  private bootTime?: number;

  /** fields of /proc/self/stat after the ")" that ends comm (comm may contain spaces and parens) */
  private static statFields(stat: string): string[] {
    return stat.slice(stat.lastIndexOf(")") + 2).trim().split(/\s+/);
  }

  async render(out: string[]) {
    try {
      const [stat, statm] = await Promise.all([
        fsp().readFile("/proc/self/stat", "utf8"),
        fsp().readFile("/proc/self/statm", "utf8"),
      ]);
      // fields after comm start at "state" (field 3 of proc(5)): utime is 14, stime 15, starttime 22
      const f = ProcessMetrics.statFields(stat);
      const utime = Number(f[14 - 3]);
      const stime = Number(f[15 - 3]);
      const start = Number(f[22 - 3]);
      const [vsizePages, rssPages] = statm.trim().split(/\s+/).map(Number);
      if (this.bootTime === undefined) {
        const ps = await fsp().readFile("/proc/stat", "utf8");
        const m = /^btime\s+(\d+)/m.exec(ps);
        this.bootTime = m ? Number(m[1]) : 0;
      }
      let fds = 0;
      try {
        fds = (await fsp().readdir("/proc/self/fd")).length;
      } catch {
        // hidepid or similar
      }
      let maxFds = NaN;
      try {
        const lim = await fsp().readFile("/proc/self/limits", "utf8");
        const m = /^Max open files\s+(\d+|unlimited)/m.exec(lim);
        if (m) maxFds = m[1] === "unlimited" ? Infinity : Number(m[1]);
      } catch {
        // leave NaN
      }
      out.push("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.");
      out.push("# TYPE process_cpu_seconds_total counter");
      out.push(`process_cpu_seconds_total ${formatValue((utime + stime) / this.hz)}`);
      out.push("# HELP process_resident_memory_bytes Resident memory size in bytes.");
      out.push("# TYPE process_resident_memory_bytes gauge");
      out.push(`process_resident_memory_bytes ${rssPages! * this.page}`);
      out.push("# HELP process_virtual_memory_bytes Virtual memory size in bytes.");
      out.push("# TYPE process_virtual_memory_bytes gauge");
      out.push(`process_virtual_memory_bytes ${vsizePages! * this.page}`);
      out.push("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.");
      out.push("# TYPE process_start_time_seconds gauge");
      out.push(`process_start_time_seconds ${formatValue(this.bootTime + start / this.hz)}`);
      out.push("# HELP process_open_fds Number of open file descriptors.");
      out.push("# TYPE process_open_fds gauge");
      out.push(`process_open_fds ${fds}`);
      out.push("# HELP process_max_fds Maximum number of open file descriptors.");
      out.push("# TYPE process_max_fds gauge");
      out.push(`process_max_fds ${formatValue(maxFds)}`);
    } catch {
      // without /proc the nlmon metrics are still worth serving
    }
  }
}

export class PrometheusExporter implements Exporter {
  readonly name = "prometheus";
  private server?: ReturnType<typeof Bun.serve>;
  private readonly proc = new ProcessMetrics();

  constructor(private readonly opts: PrometheusExportOptions, private readonly registry: Registry, private readonly log: Logger = stderrLog) {}

  /** the bound port (useful with port 0) */
  get port(): number {
    return this.server?.port ?? this.opts.port;
  }

  async render(): Promise<string> {
    const out = renderRegistry(this.registry);
    await this.proc.render(out);
    return out.join("\n") + "\n";
  }

  async start() {
    const path = this.opts.path || "/metrics";
    try {
      this.server = Bun.serve({
        hostname: this.opts.address || "0.0.0.0",
        port: this.opts.port ?? 9090,
        fetch: async (req) => {
          const url = new URL(req.url);
          if (url.pathname !== path) return new Response("not found\n", { status: 404 });
          if (req.method !== "GET" && req.method !== "HEAD")
            return new Response("method not allowed\n", { status: 405, headers: { Allow: "GET, HEAD" } });
          return new Response(await this.render(), { headers: { "Content-Type": CONTENT_TYPE } });
        },
        error: (e) => {
          this.log(`export prometheus: ${errText(e)}`);
          return new Response("internal error\n", { status: 500 });
        },
      });
    } catch (e) {
      // a port clash is a configuration error the operator must see at start, not a silent gap later
      throw new ExportConfigError(`export.prometheus: cannot listen on ${this.opts.address}:${this.opts.port}: ${errText(e)}`);
    }
  }

  push(_ev: PipelineEvent, _line: string) {
    // the pipeline counts into the registry itself; a scrape reads it when it comes
  }
  readonly pushBlock = () => {};

  async close() {
    await this.server?.stop(true);
    this.server = undefined;
  }
}
