/**
 * What `nlmon --status` reports, collected in the daemon from what it already keeps: the metrics
 * registry (the same numbers Prometheus scrapes), the monitor's sockets and caches, the exports'
 * queues, the automation's own report, and /proc for the process. Nothing here touches a socket
 * or waits: a status request costs a walk over a few hundred counters.
 */
import { isoNs } from "../codec/format.ts";
import type { NlmonConfig } from "../config/types.ts";
import { protocolName } from "../decode/message.ts";
import { genlRegistry } from "../families/genl/index.ts";
import { familyOf, STATE_FAMILY } from "../families/index.ts";
import type { Counter } from "../metrics/registry.ts";
import { sameFamily } from "../monitor/genl.ts";
import type { Monitor } from "../monitor/monitor.ts";
import { fs } from "../node-lazy.ts";
import { NETLINK_GENERIC, NETLINK_NETFILTER } from "../uapi/linux.gen.ts";
import type { CountedExport } from "./counted-export.ts";
import type { CacheStatus, ProtocolStatus, StatusReport } from "./protocol.ts";

export interface ConfigInForce {
  cfg: NlmonConfig;
  /** "" = the embedded default */
  path: string;
  sha256: string;
  /** ms since the epoch */
  loadedAt: number;
}

export interface DaemonState {
  version: string;
  monitor: Monitor;
  exports(): readonly CountedExport[];
  automation(): { hooks: object[]; alerts: object[] };
  config(): ConfigInForce;
  reloads(): { accepted: number; rejected: number; last_error?: string };
  /** ms since the epoch */
  startedAt: number;
  control(): { socket: string; connections: number };
}

/** the sum of a counter's series whose labels match */
function sum(c: Counter, match: Record<string, string>): number {
  let n = 0;
  for (const s of c.series.values()) {
    let ok = true;
    for (const k in match) if (s.labels[k] !== match[k]) { ok = false; break; }
    if (ok) n += s.value;
  }
  return n;
}

/** group numbers → names, for a protocol whose groups are fixed (not generic netlink's) */
function groupNames(protocol: number, groups: readonly number[]): string[] {
  const names = new Map(Object.entries(familyOf(protocol)?.groups ?? {}).map(([k, v]) => [v, k]));
  return groups.map((g) => names.get(g) ?? String(g));
}

export function collectStatus(d: DaemonState): StatusReport {
  const mon = d.monitor;
  const m = mon.metrics;
  const { cfg, path, sha256, loadedAt } = d.config();
  // what the sockets were opened with: netlink's keys change only with a restart, whatever a reload read
  const started = mon.cfg.netlink;
  const backend = mon.backend;
  const conntrackResyncs = mon.conntrack?.resyncs ?? 0;
  const protocols: ProtocolStatus[] = mon.openSockets.map((o) => {
    const name = protocolName(o.protocol);
    const sock = backend.sockets.find((s) => s.protocol === o.protocol);
    const last = mon.lastReceived.get(o.protocol);
    const p: ProtocolStatus = {
      protocol: name,
      backend: backend.name,
      ...(backend.library ? { library: backend.library } : {}),
      groups: o.protocol === NETLINK_GENERIC ? [] : groupNames(o.protocol, o.groups),
      ...(sock ? { receive_buffer: { bytes: sock.rcvbuf / 2, configured: started.buffer_size.receive, forced: sock.forced } } : {}),
      messages: sum(m.messages, { protocol: name }),
      events: sum(m.events, { protocol: name }),
      decode_errors: sum(m.errors, { protocol: name, kind: "decode" }),
      enobufs: sum(m.errors, { protocol: name, kind: "enobufs" }),
      // the caches' repairs are the state protocol's; conntrack's are netfilter's
      resyncs: o.protocol === NETLINK_NETFILTER ? conntrackResyncs : o.protocol === STATE_FAMILY.protocol ? mon.resyncs - conntrackResyncs : 0,
      last_message: last === undefined ? null : isoNs(last),
    };
    if (o.protocol === NETLINK_GENERIC) {
      const wanted = ["nlctrl", ...started.generic_families];
      const joined = new Set(o.groups);
      const families = [...genlRegistry.byName.values()].filter((f) => wanted.some((w) => sameFamily(w, f.name)));
      p.families = families.map((f) => ({ name: f.name, id: f.id, groups: Object.entries(f.groups).filter(([, id]) => joined.has(id)).map(([g]) => g) }));
      p.groups = p.families.flatMap((f) => f.groups.map((g) => `${f.name}/${g}`));
      const missing = mon.genlMissing;
      if (missing.length) p.missing_families = missing;
    }
    return p;
  });

  const caches: CacheStatus[] = mon.caches.kinds().map((k) => ({ cache: k, objects: mon.caches.get(k)!.size, resyncs: mon.resyncs - conntrackResyncs }));
  if (mon.conntrack?.cached) caches.push({ cache: "conntrack", objects: mon.conntrack.size, resyncs: conntrackResyncs });

  const proc = readProcStatus();
  const cpu = process.cpuUsage();
  return {
    version: d.version,
    pid: process.pid,
    protocols,
    failed_protocols: [...mon.failedProtocols],
    namespace: started.namespace,
    caches,
    filters: {
      filter: cfg.filter,
      passed: sum(m.events, {}),
      dropped: sum(m.filterDropped, {}),
      ...(Object.keys(cfg.filters ?? {}).length
        ? { named: Object.entries(cfg.filters).map(([name, f]) => ({ name, action: f.action, expr: f.expr })) }
        : {}),
      ...(exportFilters(cfg) ? { exports: exportFilters(cfg) } : {}),
    },
    automation: d.automation(),
    control: d.control(),
    exports: d.exports().map((ex) => ({ export: ex.name, written: ex.written, dropped: ex.dropped, queued: ex.queued ?? 0, errors: ex.errors })),
    process: {
      rss_bytes: proc.VmRSS ?? process.memoryUsage().rss,
      rss_anon_bytes: proc.RssAnon ?? 0,
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      uptime_seconds: (Date.now() - d.startedAt) / 1000,
      started: new Date(d.startedAt).toISOString(),
      config_path: path,
      config_sha256: sha256,
      config_loaded: new Date(loadedAt).toISOString(),
      reloads: d.reloads(),
    },
  };
}

/** each export's own filter, where it has one */
function exportFilters(cfg: NlmonConfig): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [name, e] of Object.entries(cfg.export)) {
    const f = (e as { filter?: string }).filter;
    if (f) out[name] = f;
  }
  return Object.keys(out).length ? out : undefined;
}

/** the kB lines of /proc/self/status that say what memory the process holds, in bytes */
function readProcStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const l of fs().readFileSync("/proc/self/status", "utf8").split("\n")) {
      const m = /^(VmRSS|RssAnon|RssFile|VmHWM):\s+(\d+) kB/.exec(l);
      if (m) out[m[1]!] = Number(m[2]) * 1024;
    }
  } catch {
    // no /proc: the runtime's own RSS figure stands in
  }
  return out;
}
