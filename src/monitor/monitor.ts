/**
 * A running monitor: backend → pipeline → exports, plus the caches and the repairs that keep them
 * equal to the kernel. Used by the CLI and by the library API.
 */
import type { WorkerBackend } from "../backend/host.ts";
import type { BackendEvent, BackendOptions, DatagramBatch } from "../backend/types.ts";
import { Caches, type CacheSnapshot } from "../cache/caches.ts";
import { isDelete } from "../cache/change.ts";
import type { CacheKind } from "../cache/keys.ts";
import { nowNs } from "../clock.ts";
import type { NlmonConfig } from "../config/types.ts";
import { decodeDump, type Snapshot } from "../decode/dump.ts";
import type { BasicContext } from "../decode/context.ts";
import { Names } from "../decode/names.ts";
import { objectKind, STATE_FAMILY } from "../families/index.ts";
import type { NlEvent, PipelineEvent } from "../event/model.ts";
import type { Exporter } from "../export/types.ts";
import { parseFilter } from "../filter/expr.ts";
import type { Log } from "../log.ts";
import { type NlmonMetrics, nlmonMetrics, routeLabels } from "../metrics/registry.ts";
import { Pipeline } from "../pipeline/pipeline.ts";
import { socketReport } from "./report.ts";
import { NETLINK_GENERIC } from "../uapi/linux.gen.ts";
import { protocolName } from "../decode/message.ts";
import type { GenlFamily } from "../families/genl/index.ts";
import { loadGenlFamilies, resolveAvailable } from "./genl.ts";
import { GenlWatch } from "./genl-watch.ts";
import { rtnlGroups } from "./groups.ts";
import { OverrunReports } from "./overrun-report.ts";
import { changeEvent } from "./resync.ts";
import { configNotes } from "../config/lift.ts";

const STATE = STATE_FAMILY;
/** Routes stay bytes in a dump for the cache (route-cache.ts decodes only the ones that differ). */
const ROUTE_ADD = objectKind("route")!.add;

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

/** The configuration leaves nothing to listen to: a config problem. */
export class NothingToMonitor extends Error {
  override name = "NothingToMonitor";
}

export interface MonitorOptions {
  exporters?: Exporter[];
  metrics?: NlmonMetrics;
  /** events go to the pipeline as they arrive (default), or wait for process() */
  pull?: boolean;
}

export class Monitor {
  readonly metrics: NlmonMetrics;
  readonly pipeline: Pipeline;
  readonly caches: Caches;
  private ready = false;
  private held: DatagramBatch[] = [];
  private resyncTimer: ReturnType<typeof setTimeout> | undefined;
  private resyncDue = 0;
  private resyncRunning = false;
  private resyncAgain: "resync" | "implicit" | undefined;
  private pendingResync: "resync" | "implicit" | undefined;
  private stopped = false;
  private reconnectDelay = 1000;
  overruns = 0;
  resyncs = 0;

  constructor(readonly cfg: NlmonConfig, public backend: WorkerBackend, readonly log: Log, private readonly o: MonitorOptions = {}) {
    this.metrics = o.metrics ?? nlmonMetrics();
    this.pipeline = new Pipeline({
      names: new Names(), metrics: this.metrics, filter: cfg.filter ? parseFilter(cfg.filter) : undefined,
      exporters: o.exporters ?? [], log: log.as("decode", "warn"),
    });
    this.caches = new Caches(cacheKinds(cfg), this.pipeline.ctx);
    this.pipeline.observe((pe, b, off, end) => this.observe(pe, b, off, end));
    this.overrunReports = new OverrunReports({
      cfg, log, metrics: this.metrics, cached: this.caches.kinds(), routeGroups: rtnlGroups(cfg).names,
      resyncIdle: () => !this.resyncRunning && !this.resyncTimer && !this.resyncAgain,
      barrier: () => this.backend.sync(),
    });
    this.pipeline.observe((pe) => {
      this.overrunReports.observe(pe.event);
      this.genlWatch?.observe(pe.event);
    });
    this.metrics.registry.beforeCollect(() => this.collect());
  }

  get ctx(): BasicContext {
    return this.pipeline.ctx;
  }

  private opened: BackendOptions[] = [];
  genlFamilies: GenlFamily[] = [];
  private genlWatch: GenlWatch | undefined;
  private readonly overrunReports: OverrunReports;

  private socketOptions(protocol: number, groups: number[]): BackendOptions {
    const n = this.cfg.netlink;
    return { protocol, groups, rcvbuf: n.buffer_size.receive, sndbuf: n.buffer_size.send, maxMessageSize: n.limits.max_message_size };
  }

  async start(): Promise<void> {
    for (const ex of this.pipeline.exporters) await ex.start();
    const opts: BackendOptions[] = [];
    if (this.cfg.netlink.protocols.route) opts.push(this.socketOptions(STATE.protocol, routeGroups(this.cfg)));
    if (this.cfg.netlink.protocols.generic) opts.push(await this.genericOptions(this.cfg.netlink.generic_families));
    for (const p of ["sock_diag", "netfilter"] as const) {
      if (this.cfg.netlink.protocols[p]) this.log.warn("netlink", `protocols.${p}: not decoded by this version; ignored`);
    }
    if (!opts.length && !this.o.pull) throw new NothingToMonitor("no protocol nlmon decodes is enabled (netlink.protocols.route or .generic)");
    if (this.cfg.netlink.generic_families.length && !this.cfg.netlink.protocols.generic) {
      this.log.warn("genl", "netlink.generic_families is set but protocols.generic is off: the families are not monitored");
    }
    for (const n of [...configNotes(this.cfg), ...rtnlGroups(this.cfg).notes]) this.log[n.level]("config", n.text);
    await this.backend.start(opts, (ev) => this.onBackend(ev));
    this.opened = opts;
    for (const o of opts) this.metrics.protocolOpened(protocolName(o.protocol));
    this.overrunReports.open(opts.map((o) => o.protocol));
    await this.genlRecheck();
    this.reportSockets();
    await this.prime();
  }

  /** nlctrl's notify group always (families appearing and leaving), plus every group of each family asked for. */
  private async genericOptions(families: string[]): Promise<BackendOptions> {
    const useLibnl = this.backend.name === "libnl";
    const wanted = ["nlctrl", ...families.filter((f) => f !== "nlctrl")];
    const r = await resolveAvailable(this.backend, wanted, useLibnl ? { library: this.cfg.netlink.libnl.library || undefined } : undefined);
    for (const n of r.notes) this.log.info("genl", n);
    for (const w of r.warnings) this.log.warn("genl", w);
    const fams = r.found;
    this.genlFamilies = fams;
    const groups = [...new Set(fams.flatMap((f) => Object.values(f.groups)))].sort((a, b) => a - b);
    this.log.info("genl", `families: ${fams.map((f) => `${f.name}=${f.id}${Object.keys(f.groups).length ? ` (${Object.keys(f.groups).join(",")})` : ""}`).join(" ")}`);
    const opts = this.socketOptions(NETLINK_GENERIC, groups);
    this.genlWatch = new GenlWatch(wanted, r.missing, opts, (g) => this.backend.join(NETLINK_GENERIC, g), this.log);
    return opts;
  }

  /** a family registered between the start-up dump and the socket joining nlctrl's notify group */
  private async genlRecheck() {
    if (this.genlWatch?.missing.size) this.genlWatch.recheck(await loadGenlFamilies(this.backend));
  }

  /** Open NETLINK_GENERIC later (the library API enables protocols one by one). */
  async enableGeneric(families: string[] = this.cfg.netlink.generic_families): Promise<void> {
    if (this.opened.some((o) => o.protocol === NETLINK_GENERIC)) return;
    const o = await this.genericOptions(families);
    await this.backend.start([o], (ev) => this.onBackend(ev));
    this.opened.push(o);
    this.metrics.protocolOpened(protocolName(o.protocol));
    this.reportSockets(this.backend.sockets.filter((s) => s.protocol === o.protocol));
    this.overrunReports.open([NETLINK_GENERIC]);
    await this.genlRecheck();
  }

  private reportSockets(sockets = this.backend.sockets) {
    const r = socketReport(this.backend.name, this.backend.library, sockets, this.cfg.netlink.buffer_size.receive, this.caches.kinds());
    for (const w of r.warn) this.log.warn("netlink", w);
    for (const i of r.info) this.log.info("netlink", i);
  }

  /** Names for devices that existed before we started, and the caches' first fill. */
  private async prime() {
    if (!this.cfg.netlink.protocols.route) {
      this.ready = true;
      return;
    }
    const kinds = new Set<string>(["link", ...this.caches.kinds()]);
    const reqs = STATE.dumpRequests().filter((r) => kinds.has(r.type)).map((r) => r.request);
    const datagrams = await this.backend.dump(STATE.protocol, reqs);
    // a capture starts with the state nlmon started from, so a replay can name devices as live did
    const ts = nowNs();
    for (const ex of this.pipeline.exporters) if (ex.pushRaw) for (const d of datagrams) ex.pushRaw(STATE.protocol, ts, d);
    const snap = this.decodeForCaches(datagrams);
    for (const k of this.caches.kinds()) this.caches.replace(k, snap);
    for (const e of snap.events) {
      const l = e.netlink.link;
      if (l) this.linkUp.set(l.ifindex, l.flags.includes("UP") && l.flags.includes("LOWER_UP"));
    }
    this.ready = true;
    if (!this.o.pull) this.process();
  }

  private sinceGc = 0;
  private gcTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * After a burst, collect garbage once things are quiet: the collector otherwise keeps the
   * burst's dead objects (and their pages) for a long time, which a router's memory notices.
   */
  private noteWork(messages: number) {
    this.sinceGc += messages;
    if (this.sinceGc < 20000) return;
    if (this.gcTimer) clearTimeout(this.gcTimer);
    this.gcTimer = setTimeout(() => {
      this.gcTimer = undefined;
      this.sinceGc = 0;
      this.caches.route?.trim();
      Bun.gc(true);
    }, 1000);
  }

  private draining = false;

  /**
   * One batch per turn of the event loop, so exports get to write between batches: a burst then
   * flows through instead of piling up as queued lines.
   */
  private scheduleDrain() {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drainStep());
  }

  private drainStep() {
    if (!this.ready || this.stopped) {
      this.draining = false;
      return;
    }
    this.processBatches(this.held.splice(0, 1));
    if (this.held.length) setImmediate(() => this.drainStep());
    else this.draining = false;
  }

  /** events a resync found while the application was not processing (pull mode) */
  private deferred: PipelineEvent[] = [];

  /** Decode what has arrived. In pull mode the API calls this; otherwise it runs on arrival. */
  process(): number {
    if (!this.ready) return 0;
    const n = this.processBatches(this.held.splice(0));
    for (const pe of this.deferred.splice(0)) this.pipeline.emit(pe);
    return n;
  }

  private processBatches(batches: DatagramBatch[]): number {
    let n = 0;
    for (const b of batches) {
      const before = this.pipeline.decodedMessages;
      this.pipeline.ingestBatch(b);
      n += this.pipeline.decodedMessages - before;
    }
    if (n) this.noteWork(n);
    return n;
  }

  private waiters: (() => void)[] = [];

  /** Resolves when batches wait for process() (pull mode), or after timeoutMs; returns how many wait. */
  waitPending(timeoutMs: number): Promise<number> {
    if (this.held.length) return Promise.resolve(this.held.length);
    return new Promise((res) => {
      const done = () => {
        clearTimeout(t);
        res(this.held.length);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        res(this.held.length);
      }, timeoutMs);
      this.waiters.push(done);
    });
  }

  private onBackend(ev: BackendEvent) {
    switch (ev.kind) {
      case "batch":
        if (this.log.enabled("trace", "netlink")) {
          this.log.trace("netlink", `batch: protocol ${ev.batch.protocol}, ${ev.batch.offsets.length - 1} datagrams, ${ev.batch.data.length} bytes`);
        }
        this.held.push(ev.batch);
        for (const w of this.waiters.splice(0)) w();
        if (this.ready && !this.o.pull) this.scheduleDrain();
        break;
      case "overrun":
        this.overruns++;
        this.metrics.errors.inc({ protocol: protocolName(ev.protocol), kind: "enobufs" });
        // one report per burst, when it is over (overrun-report.ts)
        this.overrunReports.overrun(ev.protocol, ev.count);
        // the caches hold rtnetlink objects; lost generic messages have nothing to repair
        if (ev.protocol === STATE.protocol) this.scheduleResync("resync", 20);
        break;
      case "drops":
        this.overrunReports.drops(ev.protocol, ev.drops);
        // the kernel drops silently until the queue has been emptied once after an ENOBUFS, so a
        // re-dump begun before this point can miss changes: one more (coalesced with any pending)
        if (ev.protocol === STATE.protocol) this.scheduleResync("resync", 20);
        break;
      case "error":
        this.metrics.errors.inc({ protocol: ev.protocol >= 0 ? protocolName(ev.protocol) : "none", kind: "recv" });
        this.log.warn("netlink", ev.message);
        break;
      case "failed":
        this.metrics.errors.inc({ protocol: ev.protocol >= 0 ? protocolName(ev.protocol) : "none", kind: "socket" });
        this.log.error("netlink", `socket failed: ${ev.message}`);
        this.overrunReports.socketsReplaced();
        void this.reconnect();
        break;
      case "reconnected":
        break;
    }
  }

  private readonly routeChangeSeries = new Map<string, { value: number }>();
  /** whether each link was usable (UP and LOWER_UP) when last seen */
  private readonly linkUp = new Map<number, boolean>();

  /** A dump's objects for the caches: routes stay bytes (the route cache decodes only differences). */
  private decodeForCaches(datagrams: Uint8Array[]): Snapshot & CacheSnapshot {
    const snap = decodeDump(datagrams, this.ctx, STATE.protocol, { keep: this.caches.has("route") ? [ROUTE_ADD] : [] });
    return { ...snap, routes: snap.undecoded.get(ROUTE_ADD) ?? [] };
  }

  /** Keep caches from live events; notice what the kernel changes without saying. */
  private observe(pe: PipelineEvent, b?: Uint8Array, off?: number, end?: number) {
    const ev = pe.event;
    if (ev.resync || ev.implicit) return;
    const change = this.caches.apply(ev, b, off, end);
    if (ev.type === "route" && ev.netlink.route) {
      const r = ev.netlink.route;
      const op = isDelete(ev) ? "del" : change?.op === "change" ? "change" : "add";
      const k = `${r.family}|${r.table}|${r.protocol}|${op}`;
      let series = this.routeChangeSeries.get(k);
      if (!series) {
        series = this.metrics.routeChanges.slot({ ...routeLabels(r.family, r.table, r.protocol, r.protocol_name), op });
        this.routeChangeSeries.set(k, series);
      }
      series.value++;
    }
    const l = ev.netlink.link;
    let linkMoved = false;
    if (l) {
      // a link's usable state (UP and LOWER_UP) changing either way changes its routes silently
      const up = !isDelete(ev) && l.flags.includes("UP") && l.flags.includes("LOWER_UP");
      linkMoved = this.linkUp.get(l.ifindex) !== up;
      if (isDelete(ev)) this.linkUp.delete(l.ifindex);
      else this.linkUp.set(l.ifindex, up);
    }
    if (this.caches.has("route")) {
      // routes leave with their link or address (no RTM_DELROUTE for each), flags such as
      // linkdown change without a notification, and a delete the cache cannot place means it has
      // drifted: compare with a fresh dump
      const addrGone = ev.type === "addr" && isDelete(ev);
      const missed = ev.type === "route" && change?.miss === true;
      if (linkMoved || addrGone || missed) this.scheduleResync("implicit", 50);
    }
  }

  private scheduleResync(why: "resync" | "implicit", delayMs: number) {
    // an overrun outranks an implicit repair: its events say that notifications were lost
    if (this.pendingResync !== "resync") this.pendingResync = why;
    if (this.resyncRunning) {
      this.resyncAgain = this.pendingResync;
      return;
    }
    // a sooner repair (an overrun's) is not held up by a later one already planned (a re-check)
    const due = performance.now() + delayMs;
    if (this.resyncTimer) {
      if (due >= this.resyncDue) return;
      clearTimeout(this.resyncTimer);
    }
    this.resyncDue = due;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      const w = this.pendingResync ?? why;
      this.pendingResync = undefined;
      void this.resync(w);
    }, delayMs);
  }

  /** Re-dump every cached kind and emit the differences, so each cache equals the kernel again. */
  async resync(why: "resync" | "implicit"): Promise<number> {
    const kinds = this.caches.kinds().filter((k) => why === "resync" || k === "route");
    if (!kinds.length || this.stopped) return 0;
    this.resyncRunning = true;
    let emitted = 0;
    try {
      const reqs = STATE.dumpRequests().filter((r) => (kinds as string[]).includes(r.type) || r.type === "link").map((r) => r.request);
      // objects that notifications report from here on are the notifications' to report
      this.caches.hold(true);
      const overrunsBefore = this.overruns;
      let datagrams: Uint8Array[];
      try {
        datagrams = await this.backend.dump(STATE.protocol, reqs);
        // the backend hands over every notification queued before the dump ended ahead of its
        // reply: apply them first (in pull mode the application decides when events are processed)
        if (!this.o.pull) this.process();
      } catch (e) {
        this.caches.hold(false);
        throw e;
      }
      const snap = this.decodeForCaches(datagrams);
      // notifications lost while the dump ran: what the dump shows that the cache lacks may be a
      // lost notification's change, not a silent one (the overrun's own resync follows)
      const marked = this.overruns !== overrunsBefore ? "resync" : why;
      if (why === "resync") {
        this.resyncs++;
        this.metrics.resyncs.inc();
      }
      const ts = nowNs();
      for (const k of kinds) {
        const changes = this.caches.replace(k, snap);
        for (const c of changes) {
          const pe = { event: changeEvent(c, marked), tsNs: ts, recvMono: 0 };
          if (this.o.pull) this.deferred.push(pe);
          else this.pipeline.emit(pe);
          emitted++;
        }
      }
      this.caches.hold(false);
      if (why === "resync" || emitted) this.log.info("cache", `${why}: ${emitted} difference${emitted === 1 ? "" : "s"} with the kernel (${kinds.join(", ")})`);
    } catch (e) {
      this.log.warn("cache", `${why} failed: ${(e as Error).message}; retrying`);
      this.resyncRunning = false;
      this.scheduleResync(why, 1000);
      return emitted;
    }
    this.resyncRunning = false;
    // a notification in the window disagreed with the dump: the dump was older, or a silent
    // change hides behind it; a second look once things are quiet tells which
    if (this.caches.unsettled) this.scheduleResync("implicit", 1000);
    if (this.resyncAgain) {
      const w = this.resyncAgain;
      this.resyncAgain = undefined;
      this.scheduleResync(w, 20);
    }
    return emitted;
  }

  /** The socket is gone: start a new backend thread, with backoff, and repair what was missed. */
  private reconnecting = false;

  private async reconnect() {
    // one failure event per socket: one reconnect serves them all
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      await this.reconnectLoop();
    } finally {
      this.reconnecting = false;
    }
  }

  private async reconnectLoop() {
    while (!this.stopped) {
      this.log.warn("netlink", `reconnecting in ${this.reconnectDelay} ms`);
      await new Promise((r) => setTimeout(r, this.reconnectDelay));
      if (this.stopped) return;
      try {
        await this.backend.restart(this.opened, (ev) => this.onBackend(ev));
        this.log.info("netlink", "reconnected; joined groups again, re-dumping caches");
        this.reconnectDelay = 1000;
        await this.resync("resync");
        return;
      } catch (e) {
        this.log.warn("netlink", `reconnect failed: ${(e as Error).message}`);
        this.reconnectDelay = Math.min(this.reconnectDelay * 2, 30000);
      }
    }
  }

  private collect() {
    const m = this.metrics;
    for (const k of this.caches.kinds()) m.cacheObjects.set({ cache: k }, this.caches.get(k)!.size);
    const counts = this.caches.route?.routeCounts;
    if (counts) {
      for (const s of m.routes.series.values()) s.value = 0;
      for (const c of counts.values()) m.routes.slot(routeLabels(c.family, c.table, c.protocol, c.protocol_name)).value = c.n;
      m.routes.prune();
    }
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
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    if (this.gcTimer) clearTimeout(this.gcTimer);
    await this.backend.stop();
    this.process();
    this.overrunReports.flush();
    if (this.overruns || this.resyncs) this.log.info("netlink", `at exit: ${this.overruns} receive-queue overruns, ${this.resyncs} resyncs`);
    for (const ex of this.pipeline.exporters) await ex.close().catch((e) => this.log.warn("export", `${ex.name}: ${(e as Error).message}`));
  }
}
