/**
 * The CLI's long-running modes: monitor until a signal says stop, and --dump-cache. The daemon also
 * runs its hooks and alerts (src/automation/), answers --status on its control socket
 * (src/control/server.ts) and re-reads its config on SIGHUP (src/control/reload.ts).
 */
import type { WorkerBackend } from "../backend/host.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { Log } from "../log.ts";
import { nlmonMetrics } from "../metrics/registry.ts";
import { cacheKinds, Monitor } from "../monitor/monitor.ts";
import { writeLines } from "./dump.ts";
import type { Automation } from "../automation/index.ts";
import { buildCounted, ExportSet } from "../control/export-set.ts";
import { Reloader } from "../control/reload.ts";
import { ControlServer } from "../control/server.ts";
import { controlSocketPath } from "../control/socket-path.ts";
import { collectStatus, type ConfigInForce } from "../control/status.ts";

export interface RunOptions {
  version: string;
  /** the config file in force (path "" = the embedded default), with its hash */
  config: ConfigInForce;
  /** what the command line sets over the file (--namespace): applied again to a reloaded config */
  override?: (cfg: NlmonConfig) => void;
}

export async function runMonitor(cfg: NlmonConfig, backend: WorkerBackend, log: Log, o?: RunOptions): Promise<number> {
  const metrics = nlmonMetrics();
  let inForce: ConfigInForce = o?.config ?? { cfg, path: "", sha256: "", loadedAt: Date.now() };
  const startedAt = Date.now();
  // stdout's reader gone and nothing else to export to: end as a filter does, exit 0
  const noReader = () => void stop("standard output closed");
  const exporters = await buildCounted(cfg, metrics, log, noReader);
  const mon = new Monitor(cfg, backend, log, { exporters, metrics, handBackMemory: true });
  const exportSet = new ExportSet(mon.pipeline, metrics, log, noReader);
  // handlers first: start-up (a full table's dump) can take seconds, and a signal's default action
  // then would kill nlmon without flushing (SIGTERM) or for nothing (logrotate's SIGHUP)
  let started = false;
  let tracker: ReturnType<typeof setInterval> | undefined;
  let stopRequested: string | undefined;
  let reloadRequested = false;
  let automation: Automation | undefined;
  let control: ControlServer | undefined;
  let finish: (rc: number) => void = () => {};
  const done = new Promise<number>((r) => (finish = r));
  let stopping = false;
  const stop = async (sig: string) => {
    if (!started) {
      stopRequested ??= sig;
      return;
    }
    if (stopping) return;
    stopping = true;
    log.debug("main", `${sig}: stopping`);
    if (tracker) clearInterval(tracker);
    control?.stop();
    await reloader.idle();
    await automation?.stop();
    await mon.stop();
    finish(0);
  };
  const reloader = new Reloader({
    log, path: inForce.path, override: o?.override ?? (() => {}), current: () => inForce, exports: exportSet,
    pipeline: mon.pipeline,
    checkAutomation: async (c) => (wantsAutomation(c) ? (await import("../automation/index.ts")).checkAutomation(c) : []),
    applyAutomation: async (c) => {
      if (automation) automation.reload(c);
      else if (wantsAutomation(c)) automation = (await import("../automation/index.ts")).startAutomation(c, mon.pipeline, log, metrics);
    },
    accepted: (next) => {
      inForce = next;
      if (next.cfg.monitoring.resource_tracking !== Boolean(tracker)) {
        if (tracker) clearInterval(tracker);
        tracker = next.cfg.monitoring.resource_tracking ? trackResources(log, mon) : undefined;
      }
    },
  });
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // the live caches, for comparing with `ip route show` without stopping the monitor
  process.on("SIGUSR1", () => {
    if (!started) return;
    const path = process.env.NLMON_CACHE_DUMP || `${process.env.TMPDIR || "/tmp"}/nlmon-cache.${process.pid}.json`;
    const lines = mon.caches.sortedLines();
    void Bun.write(path, lines.length ? lines.join("\n") + "\n" : "", { createPath: false }).then(
      () => log.info("cache", `SIGUSR1: ${lines.length} cached objects written to ${path}`),
      (e) => log.warn("cache", `SIGUSR1: cannot write ${path}: ${(e as Error).message}`));
  });
  process.on("SIGHUP", () => {
    // during start-up the exports and filters are still being put in place: once they are
    if (!started) reloadRequested = true;
    else if (!stopping) reloader.request();
  });
  // before the sockets open: events that arrive while the start-up dump runs reach the hooks too.
  // Loaded only when there is something to run: a module loaded is memory kept for good
  if (wantsAutomation(cfg)) automation = (await import("../automation/index.ts")).startAutomation(cfg, mon.pipeline, log, metrics);
  await mon.start();
  started = true;
  tracker = cfg.monitoring.resource_tracking ? trackResources(log, mon) : undefined;
  if (stopRequested) {
    void stop(stopRequested);
    return await done;
  }
  if (cfg.control.enabled) {
    control = await ControlServer.open(controlSocketPath(cfg.control.socket), {
      status: () => ({
        ok: true,
        status: collectStatus({
          version: o?.version ?? "", monitor: mon, exports: () => exportSet.list, automation: () => automation?.status() ?? { hooks: [], alerts: [] },
          config: () => inForce, startedAt,
          control: () => ({ socket: control?.path ?? "", connections: control?.connectionCount ?? 0 }),
          reloads: () => ({ accepted: reloader.accepted, rejected: reloader.rejected, ...(reloader.lastError ? { last_error: reloader.lastError } : {}) }),
        }),
      }),
      ping: () => ({ ok: true, pong: true }),
    }, { info: log.as("control", "info"), warn: log.as("control", "warn"), debug: log.as("control", "debug") });
    // a stop that came while the socket opened
    if (stopping) control?.stop();
  }
  if (reloadRequested && !stopping) reloader.request();
  return await done;
}

/** hooks, alert rules, or named filters with `action: alert` (automation/index.ts: loaded only then) */
function wantsAutomation(c: NlmonConfig): boolean {
  return (c.hooks?.length ?? 0) > 0 || (c.alerts?.length ?? 0) > 0 || Object.values(c.filters ?? {}).some((f) => f.action === "alert");
}

/** --dump-cache: fill the caches the config enables and print them as --dump-events does. */
export async function runDumpCache(cfg: NlmonConfig, backend: WorkerBackend, log: Log, out: (s: string) => Promise<unknown>): Promise<number> {
  if (!cacheKinds(cfg).length) {
    log.warn("cache", "no cache is enabled (netlink.caching): nothing to print");
  }
  const mon = new Monitor(cfg, backend, log, { pull: true });
  await mon.start();
  const lines = mon.caches.sortedLines();
  await mon.stop();
  await writeLines(lines, out);
  return 0;
}

/** monitoring.resource_tracking: one line a minute with what nlmon itself costs. */
function trackResources(log: Log, mon: Monitor) {
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  return setInterval(() => {
    const cpu = process.cpuUsage();
    const now = performance.now();
    const busy = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000 / (now - lastAt);
    lastCpu = cpu;
    lastAt = now;
    const m = process.memoryUsage();
    const caches = mon.caches.kinds().map((k) => `${k}=${mon.caches.get(k)!.size}`).join(" ");
    log.info("resources", `rss ${(m.rss / 1048576).toFixed(1)} MiB, heap ${(m.heapUsed / 1048576).toFixed(1)} MiB, cpu ${(busy * 100).toFixed(1)}%, overruns ${mon.overruns}, resyncs ${mon.resyncs}${caches ? `, caches ${caches}` : ""}`);
  }, 60000);
}
