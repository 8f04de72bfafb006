/**
 * The monitor: open the backend's sockets, learn device names from a link dump, then decode and
 * export every notification until a signal says stop.
 */
import type { WorkerBackend } from "../backend/host.ts";
import type { BackendEvent, DatagramBatch } from "../backend/types.ts";
import type { NlmonConfig } from "../config/types.ts";
import { Names } from "../decode/names.ts";
import { ROUTE_GROUPS, routeDumpRequests } from "../decode/route/index.ts";
import { parseFilter } from "../filter/expr.ts";
import type { Log } from "../log.ts";
import { nlmonMetrics } from "../metrics/registry.ts";
import { Pipeline } from "../pipeline/pipeline.ts";
import { NETLINK_ROUTE } from "../uapi/linux.gen.ts";
import { decodeDump } from "./dump.ts";
import { buildExporters } from "./exporters.ts";

export function routeGroups(cfg: NlmonConfig): number[] {
  const names = cfg.netlink.multicast_groups.length ? cfg.netlink.multicast_groups : Object.keys(ROUTE_GROUPS);
  return names.map((n) => {
    const g = ROUTE_GROUPS[n];
    if (g === undefined) throw new Error(`netlink.multicast_groups: nlmon does not decode group '${n}' (known: ${Object.keys(ROUTE_GROUPS).join(", ")})`);
    return g;
  });
}

export async function runMonitor(cfg: NlmonConfig, backend: WorkerBackend, log: Log): Promise<number> {
  const metrics = nlmonMetrics();
  const filter = cfg.filter ? parseFilter(cfg.filter) : undefined;
  const exporters = buildExporters(cfg, metrics, log.as("export", "warn"));
  const pipeline = new Pipeline({
    names: new Names(), metrics, filter, exporters, log: log.as("decode", "warn"),
  });
  for (const ex of exporters) await ex.start();

  let ready = false;
  const held: DatagramBatch[] = [];
  let overrunsLogged = 0;
  const onBackend = (ev: BackendEvent) => {
    switch (ev.kind) {
      case "batch":
        if (ready) pipeline.ingestBatch(ev.batch);
        else held.push(ev.batch);
        break;
      case "overrun":
        metrics.errors.inc({ protocol: "NETLINK_ROUTE", kind: "enobufs" });
        // loud at first, then once per hundred, so a storm of overruns cannot flood stderr
        if (overrunsLogged < 10 || ev.count % 100 === 0) {
          log.warn("netlink", `receive queue overrun (ENOBUFS #${ev.count}): the kernel dropped notifications; raise netlink.buffer_size.receive`);
          overrunsLogged++;
        }
        break;
      case "error":
        metrics.errors.inc({ protocol: "NETLINK_ROUTE", kind: "recv" });
        log.warn("netlink", ev.message);
        break;
      case "reconnected":
        log.info("netlink", "reconnected");
        break;
    }
  };

  const protocols = [];
  if (cfg.netlink.protocols.route) {
    protocols.push({
      protocol: NETLINK_ROUTE, groups: routeGroups(cfg), rcvbuf: cfg.netlink.buffer_size.receive,
      sndbuf: cfg.netlink.buffer_size.send, maxMessageSize: cfg.netlink.limits.max_message_size,
    });
  }
  for (const p of ["generic", "sock_diag", "netfilter"] as const) {
    if (cfg.netlink.protocols[p]) log.warn("netlink", `protocols.${p}: not decoded by this version yet; only NETLINK_ROUTE is monitored`);
  }
  await backend.start(protocols, onBackend);
  for (const s of backend.sockets) {
    // the kernel reports twice the size asked for (it counts its own overhead)
    const got = s.rcvbuf / 2;
    if (got < cfg.netlink.buffer_size.receive) {
      log.warn("netlink", `receive buffer is ${got} bytes, not the ${cfg.netlink.buffer_size.receive} configured: SO_RCVBUFFORCE needs CAP_NET_ADMIN (net.core.rmem_max caps it otherwise); bursts may overrun`);
    }
  }
  log.info("netlink", `backend ${backend.name}${backend.library ? ` (${backend.library})` : ""}, receive buffer ${backend.sockets.map((s) => s.rcvbuf / 2).join(",")} bytes${backend.sockets.some((s) => s.forced) ? " (forced)" : ""}`);

  // device names for events about objects created before we started
  const linkDump = await backend.dump(NETLINK_ROUTE, routeDumpRequests().filter((r) => r.type === "link").map((r) => r.request));
  decodeDump(linkDump, pipeline.ctx);
  ready = true;
  for (const b of held.splice(0)) pipeline.ingestBatch(b);

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.debug("main", `${sig}: stopping`);
      await backend.stop();
      for (const ex of exporters) await ex.close().catch((e) => log.warn("export", `${ex.name}: ${(e as Error).message}`));
      resolve(0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGHUP", () => {
      log.info("main", "SIGHUP: reopening export files");
      for (const ex of exporters) ex.reopen?.();
    });
  });
}
