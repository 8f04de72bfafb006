/**
 * The caches kept from live events, and what the kernel changes without saying noticed, so that a
 * re-dump can find it.
 */
import type { Caches } from "../cache/caches.ts";
import { isDelete } from "../cache/change.ts";
import type { EventType, PipelineEvent } from "../event/model.ts";
import type { LinkUp } from "./link-up.ts";
import type { MonitorMetrics } from "./monitor-metrics.ts";
import type { ResyncSchedule } from "./resync-schedule.ts";

/** The observer, and the event types it looks at: the other types may go out without an object. */
export function cacheObserver(caches: Caches, linkUp: LinkUp, metrics: MonitorMetrics, schedule: ResyncSchedule) {
  const types = (t: EventType) => t === "link" || (t === "route" && metrics.countsRouteChanges) || caches.has(t);
  const observer = (pe: PipelineEvent, b?: Uint8Array, off?: number, end?: number): void => {
    const ev = pe.event;
    if (ev.resync || ev.implicit) return;
    const change = caches.apply(ev, b, off, end);
    metrics.routeChange(ev, change);
    const linkMoved = linkUp.moved(ev);
    if (caches.has("route")) {
      // routes leave with their link or address (no RTM_DELROUTE for each), flags such as
      // linkdown change without a notification, and a delete the cache cannot place means it has
      // drifted: compare with a fresh dump
      const addrGone = ev.type === "addr" && isDelete(ev);
      const missed = ev.type === "route" && change?.miss === true;
      if (linkMoved || addrGone || missed) schedule.schedule("implicit", 50);
    }
  };
  return { observer, types };
}
