/**
 * The caches equal to the kernel: filled from a dump at start, and re-dumped whenever they may
 * have drifted (an overrun lost notifications, the kernel changed routes without a word, a socket
 * was replaced), the differences reported as events.
 */
import type { Backend } from "../backend/types.ts";
import type { Caches, CacheSnapshot } from "../cache/caches.ts";
import { nowNs } from "../clock.ts";
import { decodeDump, type Snapshot } from "../decode/dump.ts";
import { objectKind, STATE_FAMILY } from "../families/index.ts";
import type { Log } from "../log.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import type { Batches } from "./batches.ts";
import type { LinkUp } from "./link-up.ts";
import { changeEvent } from "./resync.ts";
import type { ResyncSchedule, ResyncWhy } from "./resync-schedule.ts";

const STATE = STATE_FAMILY;
/** Routes stay bytes in a dump for the cache (route-cache.ts decodes only the ones that differ). */
const ROUTE_ADD = objectKind("route")!.add;

export interface StateSyncDeps {
  /** netlink.protocols.route: the state family is monitored */
  stateProtocol: boolean;
  pull: boolean;
  backend: Backend;
  caches: Caches;
  pipeline: Pipeline;
  batches: Batches;
  schedule: ResyncSchedule;
  linkUp: LinkUp;
  metrics: NlmonMetrics;
  log: Log;
  /** receive-queue overruns so far */
  overruns: () => number;
  stopped: () => boolean;
}

export class StateSync {
  resyncs = 0;

  constructor(private readonly d: StateSyncDeps) {}

  /** Names for devices that existed before we started, and the caches' first fill. */
  async prime(): Promise<void> {
    const { caches, batches } = this.d;
    if (!this.d.stateProtocol) {
      batches.ready = true;
      return;
    }
    const kinds = new Set<string>(["link", ...caches.kinds()]);
    const reqs = STATE.dumpRequests().filter((r) => kinds.has(r.type)).map((r) => r.request);
    const datagrams = await this.d.backend.dump(STATE.protocol, reqs);
    // a capture starts with the state nlmon started from, so a replay can name devices as live did
    const ts = nowNs();
    for (const ex of this.d.pipeline.exporters) if (ex.pushRaw) for (const d of datagrams) ex.pushRaw(STATE.protocol, ts, d);
    const snap = this.decodeForCaches(datagrams);
    for (const k of caches.kinds()) caches.replace(k, snap);
    this.d.linkUp.prime(snap.events);
    batches.ready = true;
    if (!this.d.pull) batches.process();
  }

  /** A dump's objects for the caches: routes stay bytes (the route cache decodes only differences). */
  private decodeForCaches(datagrams: Uint8Array[]): Snapshot & CacheSnapshot {
    const snap = decodeDump(datagrams, this.d.pipeline.ctx, STATE.protocol, { keep: this.d.caches.has("route") ? [ROUTE_ADD] : [] });
    return { ...snap, routes: snap.undecoded.get(ROUTE_ADD) ?? [] };
  }

  /** Re-dump every cached kind and emit the differences, so each cache equals the kernel again. */
  async resync(why: ResyncWhy): Promise<number> {
    const { caches, schedule, log } = this.d;
    const kinds = caches.kinds().filter((k) => why === "resync" || k === "route");
    if (!kinds.length || this.d.stopped()) return 0;
    schedule.running = true;
    let emitted = 0;
    try {
      const reqs = STATE.dumpRequests().filter((r) => (kinds as string[]).includes(r.type) || r.type === "link").map((r) => r.request);
      // objects that notifications report from here on are the notifications' to report
      caches.hold(true);
      const overrunsBefore = this.d.overruns();
      let datagrams: Uint8Array[];
      try {
        datagrams = await this.d.backend.dump(STATE.protocol, reqs);
        // the backend hands over every notification queued before the dump ended ahead of its
        // reply: apply them first (in pull mode the application decides when events are processed)
        if (!this.d.pull) this.d.batches.process();
      } catch (e) {
        caches.hold(false);
        throw e;
      }
      const snap = this.decodeForCaches(datagrams);
      // notifications lost while the dump ran: what the dump shows that the cache lacks may be a
      // lost notification's change, not a silent one (the overrun's own resync follows)
      const marked = this.d.overruns() !== overrunsBefore ? "resync" : why;
      if (why === "resync") {
        this.resyncs++;
        this.d.metrics.resyncs.inc();
      }
      const ts = nowNs();
      for (const k of kinds) {
        const changes = caches.replace(k, snap);
        for (const c of changes) {
          this.d.batches.emit({ event: changeEvent(c, marked), tsNs: ts, recvMono: 0 });
          emitted++;
        }
      }
      caches.hold(false);
      if (why === "resync" || emitted) log.info("cache", `${why}: ${emitted} difference${emitted === 1 ? "" : "s"} with the kernel (${kinds.join(", ")})`);
    } catch (e) {
      log.warn("cache", `${why} failed: ${(e as Error).message}; retrying`);
      schedule.running = false;
      schedule.schedule(why, 1000);
      return emitted;
    }
    schedule.running = false;
    // a notification in the window disagreed with the dump: the dump was older, or a silent
    // change hides behind it; a second look once things are quiet tells which
    if (caches.unsettled) schedule.schedule("implicit", 1000);
    schedule.scheduleAgain();
    return emitted;
  }
}
