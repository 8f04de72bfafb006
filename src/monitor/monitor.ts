/**
 * A running monitor: backend → pipeline → exports, plus the caches and the repairs that keep them
 * equal to the kernel. Used by the CLI and by the library API. This class only puts the roles
 * together; each lives in its own file:
 *   session.ts         the sockets per protocol, generic netlink families joined late
 *   reconnect.ts       a failed socket opened again, with backoff
 *   backend-events.ts  what the backend reports, to the role it concerns
 *   batches.ts         batches held until ready, drained a step at a time or pulled (gc-pacer.ts)
 *   state-sync.ts      the caches primed from a dump and repaired by re-dumps (resync-schedule.ts)
 *   cache-observer.ts  the caches kept from events; silent kernel changes noticed (link-up.ts)
 *   monitor-metrics.ts route change series, cache and route gauges
 */
import type { Backend, BackendEvent, BackendOptions } from "../backend/types.ts";
import { Caches } from "../cache/caches.ts";
import type { CacheKind } from "../cache/keys.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { BasicContext } from "../decode/context.ts";
import { Names } from "../decode/names.ts";
import type { NlEvent, PipelineEvent } from "../event/model.ts";
import type { Exporter } from "../export/types.ts";
import type { GenlFamily } from "../families/genl/index.ts";
import type { Log } from "../log.ts";
import { type NlmonMetrics, nlmonMetrics } from "../metrics/registry.ts";
import { Pipeline } from "../pipeline/pipeline.ts";
import { BackendEvents } from "./backend-events.ts";
import { Batches } from "./batches.ts";
import { cacheObserver } from "./cache-observer.ts";
import { rtnlGroups } from "./groups.ts";
import { pageOutFileMappings, shrinkHeap, trimMalloc } from "../ffi/footprint.ts";
import { LinkUp } from "./link-up.ts";
import { MonitorMetrics } from "./monitor-metrics.ts";
import { OverrunReports } from "./overrun-report.ts";
import { Reconnect } from "./reconnect.ts";
import { ResyncSchedule } from "./resync-schedule.ts";
import { Session } from "./session.ts";
import { StateSync } from "./state-sync.ts";
import type { ConntrackSync } from "./conntrack-sync.ts";
import type { SocketPoll } from "./socket-poll.ts";
import { NETLINK_NETFILTER, NETLINK_SOCK_DIAG } from "../uapi/linux.gen.ts";

export { NothingToMonitor } from "./session.ts";

export function routeGroups(cfg: NlmonConfig): number[] {
  return rtnlGroups(cfg).groups;
}

export function cacheKinds(cfg: NlmonConfig): CacheKind[] {
  const c = cfg.netlink.caching;
  if (!c.enabled) return [];
  const k: CacheKind[] = [];
  if (c.link_cache) k.push("link");
  if (c.addr_cache) k.push("addr");
  if (c.route_cache) k.push("route");
  return k;
}

export interface MonitorOptions {
  exporters?: Exporter[];
  metrics?: NlmonMetrics;
  /** events go to the pipeline as they arrive (default), or wait for process() */
  pull?: boolean;
  /**
   * Once start-up has gone quiet, hand back what only start-up used (ffi/footprint.ts): for the
   * daemon, not for an application that embeds the monitor.
   */
  handBackMemory?: boolean;
}

export class Monitor {
  readonly metrics: NlmonMetrics;
  readonly pipeline: Pipeline;
  readonly caches: Caches;
  private stopped = false;
  private readonly batches: Batches;
  private readonly schedule: ResyncSchedule;
  private readonly sync: StateSync;
  private readonly session: Session;
  private readonly events: BackendEvents;
  private readonly overrunReports: OverrunReports;
  /** protocols.netfilter: the conntrack table listed at start, cached and repaired */
  readonly conntrack: ConntrackSync | undefined;
  /** protocols.sock_diag: sockets dumped and compared every interval */
  readonly sockets: SocketPoll | undefined;

  constructor(readonly cfg: NlmonConfig, readonly backend: Backend, readonly log: Log, o: MonitorOptions = {}) {
    const pull = o.pull === true;
    const stopped = () => this.stopped;
    this.metrics = o.metrics ?? nlmonMetrics();
    this.pipeline = new Pipeline({
      names: new Names(), metrics: this.metrics, exporters: o.exporters ?? [], log: log.as("decode", "warn"),
    });
    this.pipeline.applyFilters(cfg, log);
    this.caches = new Caches(cacheKinds(cfg), this.pipeline.ctx);
    const caches = this.caches;
    const afterStartup = o.handBackMemory
      ? () => {
        shrinkHeap();
        backend.quiet?.();
        trimMalloc();
        const r = pageOutFileMappings();
        log.debug("monitor", `start-up done: ${r.advised} file mappings advised MADV_PAGEOUT, ${r.refused} refused`);
      }
      : undefined;
    this.batches = new Batches(this.pipeline, pull, stopped, () => caches.route?.trim(), afterStartup);
    this.schedule = new ResyncSchedule((why) => void this.sync.resync(why));
    const linkUp = new LinkUp();
    const own = new MonitorMetrics(this.metrics, caches, cfg.export.prometheus?.enabled === true);
    const cacheWatch = cacheObserver(caches, linkUp, own, this.schedule);
    this.pipeline.observe(cacheWatch.observer, cacheWatch.types);
    this.overrunReports = new OverrunReports({
      cfg, log, metrics: this.metrics, cached: caches.kinds(), routeGroups: rtnlGroups(cfg).names,
      resyncIdle: () => this.schedule.idle() && !this.conntrack?.busy,
      repairOf: (protocol) => {
        if (protocol === NETLINK_NETFILTER) {
          const nf = cfg.netlink.netfilter;
          const cached = this.conntrack?.cached === true;
          return {
            repairable: cached ? ["conntrack"] : [],
            lost: [...(nf.conntrack && !cached ? ["conntrack"] : []), ...(nf.expectations ? ["conntrack expectation"] : []), ...(nf.nftables ? ["nf_tables"] : [])],
            fix: nf.conntrack && !cached ? "netlink.caching.conntrack_cache: true would have repaired the conntrack entries" : undefined,
          };
        }
        if (protocol === NETLINK_SOCK_DIAG) {
          return { repairable: [], lost: ["socket destroy (the next socket dump reports what went, as derived closes)"] };
        }
        return undefined;
      },
      barrier: () => backend.sync(),
    });
    const reconnect = new Reconnect({
      backend, log, opened: () => this.session.opened, listener: this.onBackend,
      repair: async () => {
        await this.session.registerListeners();
        return this.sync.resync("resync");
      },
      stopped,
    });
    const drain = () => {
      if (!pull) this.batches.process();
    };
    const emit = (pe: PipelineEvent) => this.batches.emit(pe);
    if (cfg.netlink.protocols.netfilter) {
      // loaded only when asked, as the sockets' role below
      const { ConntrackSync: Sync } = require("./conntrack-sync.ts") as typeof import("./conntrack-sync.ts");
      const ct = new Sync({ cfg, backend, ctx: this.pipeline.ctx, log, emit, drain, stopped });
      this.conntrack = ct;
      this.pipeline.observe((pe, b, off, end) => ct.observe(pe.event, b, off, end), (t) => t === "conntrack");
    }
    if (cfg.netlink.protocols.sock_diag) {
      // loaded only when asked: its request builder brings sock_diag's numbers
      const { SocketPoll: Poll } = require("./socket-poll.ts") as typeof import("./socket-poll.ts");
      const sp = new Poll({ cfg, backend, ctx: this.pipeline.ctx, log, emit, drain, stopped });
      this.sockets = sp;
      this.pipeline.observe((pe) => sp.observe(pe.event), (t) => t === "diag");
    }
    this.events = new BackendEvents({
      log, metrics: this.metrics, batches: this.batches, overrunReports: this.overrunReports, schedule: this.schedule,
      reconnect: () => void reconnect.run(),
      overrun: (protocol) => {
        if (protocol === NETLINK_NETFILTER) this.conntrack?.overrun();
      },
    });
    this.session = new Session({
      cfg, backend, log, metrics: this.metrics, overrunReports: this.overrunReports, cached: caches.kinds(), pull,
      listener: this.onBackend,
    });
    this.sync = new StateSync({
      stateProtocol: cfg.netlink.protocols.route, pull, backend, caches, pipeline: this.pipeline, batches: this.batches,
      schedule: this.schedule, linkUp, metrics: this.metrics, log, overruns: () => this.events.overruns, stopped,
    });
    // resync events (what overrun reports count) are always objects; nlctrl's are generic netlink's
    this.pipeline.observe((pe) => {
      if (pe.event.type === "error") {
        this.session.taskstats.observe(pe.event);
        return;
      }
      this.overrunReports.observe(pe.event);
      this.session.genlWatch?.observe(pe.event);
    }, (t) => t === "genl" || t === "error");
    this.metrics.registry.beforeCollect(() => {
      own.collect();
      if (this.conntrack?.cached) this.metrics.cacheObjects.set({ cache: "conntrack" }, this.conntrack.size);
      this.sockets?.collect(this.metrics.sockets);
    });
  }

  get ctx(): BasicContext {
    return this.pipeline.ctx;
  }

  get overruns(): number {
    return this.events.overruns;
  }

  get resyncs(): number {
    return this.sync.resyncs + (this.conntrack?.resyncs ?? 0);
  }

  get genlFamilies(): GenlFamily[] {
    return this.session.genlFamilies;
  }

  /** for --status: per protocol, the receive time (ns since the epoch) of the newest datagram */
  readonly lastReceived = new Map<number, bigint>();

  /** what the backend reports, the newest receive time per protocol noted on the way (once per batch) */
  private readonly onBackend = (ev: BackendEvent): void => {
    if (ev.kind === "batch") {
      const st = ev.batch.stamps;
      if (st.length) this.lastReceived.set(ev.batch.protocol, st[st.length - 1]!);
    }
    this.events.listener(ev);
  };

  /** for --status: each open monitoring socket's options (its groups grow as generic families appear) */
  get openSockets(): readonly BackendOptions[] {
    return this.session.opened;
  }

  /** for --status: enabled protocols whose sockets could not be opened */
  get failedProtocols(): readonly string[] {
    return this.session.failed;
  }

  /** for --status: configured generic netlink families the kernel does not have (yet) */
  get genlMissing(): string[] {
    return [...(this.session.genlWatch?.missing ?? [])];
  }

  async start(): Promise<void> {
    for (const ex of this.pipeline.exporters) await ex.start();
    if (this.cfg.netlink.netfilter.enable_accounting && this.conntrack) this.conntrack.enableAccounting();
    await this.session.open();
    await this.sync.prime();
    this.batches.started();
    if (this.conntrack && !this.session.failed.includes("netfilter")) await this.conntrack.prime();
    await this.sockets?.start();
  }

  /** Open NETLINK_GENERIC later (the library API enables protocols one by one). */
  async enableGeneric(families: string[] = this.cfg.netlink.generic_families): Promise<void> {
    await this.session.enableGeneric(families);
  }

  /** Decode what has arrived. In pull mode the API calls this; otherwise it runs on arrival. */
  process(): number {
    return this.batches.process();
  }

  /** Resolves when batches wait for process() (pull mode), or after timeoutMs; returns how many wait. */
  waitPending(timeoutMs: number): Promise<number> {
    return this.batches.waitPending(timeoutMs);
  }

  /** Re-dump every cached kind and emit the differences, so each cache equals the kernel again. */
  resync(why: "resync" | "implicit"): Promise<number> {
    return this.sync.resync(why);
  }

  /** The caches in --dump-events form. */
  cacheEvents(): NlEvent[] {
    const out: NlEvent[] = [];
    // a loop, not push(...values()): a full table's million routes as arguments overflow the stack
    for (const k of this.caches.kinds()) for (const ev of this.caches.get(k)!.values()) out.push(ev);
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.schedule.stop();
    this.conntrack?.stop();
    this.sockets?.stop();
    this.batches.stop();
    await this.backend.stop();
    this.process();
    this.overrunReports.flush();
    if (this.overruns || this.resyncs) this.log.info("netlink", `at exit: ${this.overruns} receive-queue overruns, ${this.resyncs} resyncs`);
    for (const ex of this.pipeline.exporters) await ex.close().catch((e) => this.log.warn("export", `${ex.name}: ${(e as Error).message}`));
  }
}
