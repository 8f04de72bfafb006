/**
 * The monitor's own series: route changes as events report them, and the caches' sizes and route
 * counts, read when metrics are collected rather than kept up to date per event.
 */
import type { Caches, CacheChange } from "../cache/caches.ts";
import { isDelete } from "../cache/change.ts";
import type { NlEvent } from "../event/model.ts";
import { type NlmonMetrics, routeLabels } from "../metrics/registry.ts";

export class MonitorMetrics {
  /** each label set's series, so an event costs a map lookup rather than a label walk */
  private readonly routeChangeSeries = new Map<string, { value: number }>();

  constructor(
    private readonly metrics: NlmonMetrics,
    private readonly caches: Caches,
    /**
     * Whether route changes are counted: only an export that reads the registry (Prometheus) sees
     * the series, and counting needs each route's event object, which a burst otherwise goes
     * without (pipeline/line-path.ts).
     */
    readonly countsRouteChanges = true,
  ) {}

  /** A live route event, with what it did to the route cache (if one is kept). */
  routeChange(ev: NlEvent, change: CacheChange | undefined): void {
    const r = ev.netlink.route;
    if (ev.type !== "route" || !r || !this.countsRouteChanges) return;
    const op = isDelete(ev) ? "del" : change?.op === "change" ? "change" : "add";
    const k = `${r.family}|${r.table}|${r.protocol}|${op}`;
    let series = this.routeChangeSeries.get(k);
    if (!series) {
      series = this.metrics.routeChanges.slot({ ...routeLabels(r.family, r.table, r.protocol, r.protocol_name), op });
      this.routeChangeSeries.set(k, series);
    }
    series.value++;
  }

  collect(): void {
    const m = this.metrics;
    for (const k of this.caches.kinds()) m.cacheObjects.set({ cache: k }, this.caches.get(k)!.size);
    const counts = this.caches.route?.routeCounts;
    if (counts) {
      for (const s of m.routes.series.values()) s.value = 0;
      for (const c of counts.values()) m.routes.slot(routeLabels(c.family, c.table, c.protocol, c.protocol_name)).value = c.n;
      m.routes.prune();
    }
  }
}
