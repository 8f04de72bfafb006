/**
 * The CLI's long-running modes: monitor until a signal says stop, and --dump-cache.
 */
import type { WorkerBackend } from "../backend/host.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { Log } from "../log.ts";
import { nlmonMetrics } from "../metrics/registry.ts";
import { cacheKinds, Monitor } from "../monitor/monitor.ts";
import { writeLines } from "./dump.ts";
import { buildExporters } from "../export/build.ts";

export async function runMonitor(cfg: NlmonConfig, backend: WorkerBackend, log: Log): Promise<number> {
  const metrics = nlmonMetrics();
  // stdout's reader gone and nothing else to export to: end as a filter does, exit 0
  const exporters = await buildExporters(cfg, metrics, log.as("export", "warn"), () => void stop("standard output closed"));
  const mon = new Monitor(cfg, backend, log, { exporters, metrics, handBackMemory: true });
  // handlers first: start-up (a full table's dump) can take seconds, and a signal's default action
  // then would kill nlmon without flushing (SIGTERM) or for nothing (logrotate's SIGHUP)
  let started = false;
  let tracker: ReturnType<typeof setInterval> | undefined;
  let stopRequested: string | undefined;
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
    await mon.stop();
    finish(0);
  };
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
    log.info("main", "SIGHUP: reopening export files");
    for (const ex of exporters) ex.reopen?.();
  });
  await mon.start();
  started = true;
  tracker = cfg.monitoring.resource_tracking ? trackResources(log, mon) : undefined;
  if (stopRequested) void stop(stopRequested);
  return await done;
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
