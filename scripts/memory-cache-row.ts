/** One run of scripts/memory-cache-row: argv BINARY BACKEND; prints one JSON line. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.ts";
import { CACHE_ROUTES, childConfig, Listener, syncMark, writeConfig, type BackendName } from "../src/bench/live.ts";
import {
  addNamespace, basicTopology, cleanupAll, cpuSeconds, installSignalCleanup, ipBatch, sleep, spawnTracked, tempDir, vmMiB, writeBatch,
} from "../src/bench/sys.ts";

const bin = process.argv[2]!;
const backend = (process.argv[3] ?? "libnl") as BackendName;
const mib = (pid: number, k: string) => {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`${k}:\\s+(\\d+)`));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
};
const ns = `nlmoncache${process.pid}`;
const dir = tempDir();
installSignalCleanup();
try {
  addNamespace(ns);
  basicTopology(ns);
  const eventsPath = join(dir, "m.ndjson"), statsPath = join(dir, "m.stats.json");
  const cfgPath = writeConfig(join(dir, "m.config.json"), childConfig(loadConfig({}), { backend, eventsPath, routeCache: true }));
  const p = spawnTracked(["ip", "netns", "exec", ns, bin, "--benchmark", "--config", cfgPath], {
    env: { NLMON_BENCH_ROLE: "monitor", NLMON_BENCH_STATS: statsPath, NLMON_USE_LIBNL: backend === "libnl" ? "true" : "false" },
  });
  const l = new Listener(backend, backend, p, eventsPath, statsPath);
  if (!(await syncMark(ns, [l], 20_000))) throw new Error("the monitor did not start within 20 s");
  await sleep(1000);
  const idle = vmMiB(l.pid, "VmRSS");
  // the routes bench/live.ts adds: a /32 per route via one gateway, ten tables, proto 201
  const lines: string[] = [];
  for (let i = 0; i < CACHE_ROUTES; i++) {
    const t = 10 + (i % 10), k = Math.floor(i / 10);
    lines.push(`route add 100.${64 + t - 10}.${k >> 8}.${k & 255}/32 via 10.9.0.2 table ${t} proto 201`);
  }
  const cpu0 = cpuSeconds(l.pid) ?? 0;
  ipBatch(ns, writeBatch(dir, "cache-routes", lines));
  const seen = await syncMark(ns, [l], 40_000, 40_000);
  const cpu = (cpuSeconds(l.pid) ?? 0) - cpu0;
  await sleep(3000);
  const out = {
    cache_rss_mib: vmMiB(l.pid, "VmRSS"), anon_mib: mib(l.pid, "RssAnon"), file_mib: mib(l.pid, "RssFile"), peak_rss_mib: vmMiB(l.pid, "VmHWM"),
    idle_rss_mib: idle, burst_cpu_s: Math.round(cpu * 100) / 100, seen_all: seen,
  };
  const r = await l.stop();
  console.log(JSON.stringify({ backend, ...out, cached_routes: r.stats?.cached_routes, route_cache_mib: (r.stats?.route_cache_bytes ?? 0) / 1048576 }));
} finally {
  cleanupAll();
}
