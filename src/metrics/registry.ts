/**
 * A small in-process metrics registry. Counters and gauges are keyed by their label values so the
 * hot path is one Map lookup; the Prometheus export renders them. Label values must stay bounded
 * (no addresses), which callers guarantee by only passing enumerations.
 */

export type Labels = Record<string, string>;

abstract class Family {
  readonly series = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[]) {}
  /** the series for these labels, for callers that increment it on a hot path */
  slot(labels: Labels) {
    let key = "";
    for (const n of this.labelNames) key += (labels[n] ?? "") + "\u0000";
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }
  abstract readonly kind: "counter" | "gauge";
}

export class Counter extends Family {
  readonly kind = "counter" as const;
  inc(labels: Labels = {}, by = 1) {
    this.slot(labels).value += by;
  }
  get(labels: Labels = {}) {
    return this.slot(labels).value;
  }
}

export class Gauge extends Family {
  readonly kind = "gauge" as const;
  set(labels: Labels, v: number) {
    this.slot(labels).value = v;
  }
  add(labels: Labels, by: number) {
    this.slot(labels).value += by;
  }
  get(labels: Labels = {}) {
    return this.slot(labels).value;
  }
  /** drop series whose value is zero, so drained tables disappear rather than linger */
  prune() {
    for (const [k, s] of this.series) if (s.value === 0) this.series.delete(k);
  }
}

export class Histogram {
  readonly kind = "histogram" as const;
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  /** n observations of the same value (events that arrived together) */
  observe(v: number, n = 1) {
    this.sum += v * n;
    this.count += n;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) { this.counts[i]! += n; break; }
  }
}

export class Registry {
  readonly families: (Counter | Gauge | Histogram)[] = [];
  private readonly collectors: (() => void)[] = [];
  /** values derived from state (cache sizes, routes per table) are computed when read, not on every change */
  beforeCollect(fn: () => void) {
    this.collectors.push(fn);
  }
  collect() {
    for (const fn of this.collectors) fn();
  }
  counter(name: string, help: string, labelNames: readonly string[] = []) {
    const c = new Counter(name, help, labelNames);
    this.families.push(c);
    return c;
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []) {
    const g = new Gauge(name, help, labelNames);
    this.families.push(g);
    return g;
  }
  histogram(name: string, help: string, buckets: readonly number[]) {
    const h = new Histogram(name, help, buckets);
    this.families.push(h);
    return h;
  }
}

/** What nlmon_netlink_errors_total counts, per protocol. */
export const NETLINK_ERROR_KINDS = ["enobufs", "decode", "unknown_attr", "recv", "socket"] as const;

/**
 * Labels of the route metrics. `route_protocol` is the kernel's number, the same on every host;
 * the name iproute2's rt_protos gives it (which differs between hosts) is a label of its own.
 * Not `protocol`: on the other metrics that label is the netlink protocol.
 */
export function routeLabels(family: string, table: number | string, protocol: number, protocolName: string): Labels {
  return { family, table: String(table), route_protocol: String(protocol), route_protocol_name: protocolName };
}
const ROUTE_LABELS = ["family", "table", "route_protocol", "route_protocol_name"] as const;

/** The metrics nlmon keeps, whichever exports are enabled. */
export function nlmonMetrics(reg = new Registry()) {
  const errors = reg.counter("nlmon_netlink_errors_total", `Netlink errors by kind (${NETLINK_ERROR_KINDS.join(", ")})`, ["protocol", "kind"]);
  return {
    registry: reg,
    messages: reg.counter("nlmon_netlink_messages_total", "Netlink messages received", ["protocol", "msg_type"]),
    events: reg.counter("nlmon_events_total", "Events produced after decoding", ["protocol", "type"]),
    errors,
    resyncs: reg.counter("nlmon_netlink_resyncs_total", "Re-dumps made to repair state after an overrun or reconnect"),
    eventsLost: reg.counter("nlmon_events_lost_total", "Notifications the kernel dropped in receive-queue overruns: recovered (re-emitted by a re-dump, marked resync) or unrecovered (gone for good)", ["protocol", "kind"]),
    cacheObjects: reg.gauge("nlmon_cache_objects", "Objects held per cache", ["cache"]),
    routes: reg.gauge("nlmon_routes", "Routes now in the kernel, from the route cache", ROUTE_LABELS),
    sockets: reg.gauge("nlmon_sockets", "Sockets in the last sock_diag dump, by protocol and state", ["protocol", "state"]),
    routeChanges: reg.counter("nlmon_route_changes_total", "Route additions and removals seen", [...ROUTE_LABELS, "op"]),
    filterDropped: reg.counter("nlmon_filter_dropped_total", "Events dropped by filters"),
    exportErrors: reg.counter("nlmon_export_errors_total", "Export failures (write errors, unreachable collectors, malformed datagrams); queue drops are in nlmon_export_dropped_total", ["export"]),
    exportDropped: reg.counter("nlmon_export_dropped_total", "Events dropped because an export's queue was full", ["export"]),
    hookRuns: reg.counter("nlmon_hook_runs_total", "Hook runs by result: ok, failed, timeout (its process group killed), dropped_busy (max_concurrent reached), dropped_rate (rate_limit reached)", ["hook", "result"]),
    alertsActive: reg.gauge("nlmon_alerts_active", "Active alerts (groups at or over the threshold, not yet resolved) per rule", ["alert", "severity"]),
    alertNotifications: reg.counter("nlmon_alert_notifications_total", "Alert notifications by state: firing and resolved ran the actions, suppressed did not (min_interval_s)", ["alert", "state"]),
    alertActionFailures: reg.counter("nlmon_alert_action_failures_total", "Alert actions that failed for good (after a webhook's retries), or were dropped because too many were in flight", ["alert", "action"]),
    alertGroupsDropped: reg.counter("nlmon_alert_groups_dropped_total", "Matching events not counted because their rule already tracks the most groups it may", ["alert"]),
    latency: reg.histogram("nlmon_event_latency_seconds", "Time from kernel receive to export hand-over",
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
    /**
     * A protocol's socket is open: its error series exist from now on, at 0, so rate() and
     * increase() see the first error (a series that appears at 1 has no rise to measure).
     */
    protocolOpened(protocol: string) {
      for (const kind of NETLINK_ERROR_KINDS) errors.slot({ protocol, kind });
    },
  };
}
export type NlmonMetrics = ReturnType<typeof nlmonMetrics>;
