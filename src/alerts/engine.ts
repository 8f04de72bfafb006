/**
 * Alert rules: matching events counted per group in a sliding window; at the threshold the alert
 * becomes active and notifies, further firings within min_interval_s are suppressed (counted), and
 * after resolve_after_s without a matching event it resolves and notifies again. Counting happens on
 * the event's way through the pipeline and costs a filter test and a few numbers per event; what a
 * notification does (actions, the alert event) is the caller's, and never awaited here.
 */
import type { AlertConfig } from "../config/types.ts";
import type { AlertBody, NlEvent } from "../event/model.ts";
import { FilterError, parseFilter } from "../filter/expr.ts";
import { checkField, Problem } from "../filter/check.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import { commandProblem } from "../hooks/exec.ts";

/** Groups one rule tracks at most: a group_by on addresses must not grow without bound. */
export const MAX_GROUPS = 10000;

export interface CompiledRule {
  cfg: AlertConfig;
  match: (ev: NlEvent) => boolean;
  /** group_by split into its keys; empty for one group */
  groupPath: string[];
}

export function alertLabel(i: number, name: string | undefined) {
  return `alerts[${i}] (${name ?? "?"})`;
}

/** The rules as they will run, or every problem that keeps them from it. */
export function compileAlerts(list: readonly AlertConfig[]): { rules: CompiledRule[]; problems: string[] } {
  const rules: CompiledRule[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  list.forEach((a, i) => {
    const at = alertLabel(i, a.name);
    const before = problems.length;
    const first = seen.get(a.name);
    if (first !== undefined) problems.push(`${at}: name already used by ${alertLabel(first, a.name)}; metrics, status and alert events tell rules apart by name`);
    else seen.set(a.name, i);
    let match: ((ev: NlEvent) => boolean) | undefined;
    try {
      match = parseFilter(a.when);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      problems.push(`${at}: when: ${e.message.replace(/^filter: /, "")}`);
    }
    if (a.group_by !== "") {
      try {
        checkField(a.group_by);
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        problems.push(`${at}: group_by: ${e.what}${e.hint}`);
      }
    }
    a.actions.forEach((act, j) => {
      const where = `${at}: actions[${j}] (${act.type})`;
      if (act.type === "webhook") {
        if (!act.url) problems.push(`${where}: needs a url`);
        else {
          let u: URL | undefined;
          try {
            u = new URL(act.url);
          } catch {
            problems.push(`${where}: url '${act.url}' is not a URL`);
          }
          if (u && u.protocol !== "http:" && u.protocol !== "https:") problems.push(`${where}: url '${act.url}' is not http or https`);
        }
      } else if (act.url !== undefined) problems.push(`${where}: url is only for webhook actions`);
      if (act.type === "exec") {
        if (!act.command) problems.push(`${where}: needs a command (an argv list, run without a shell)`);
        else {
          const p = commandProblem(act.command[0]!);
          if (p) problems.push(`${where}: ${p}`);
        }
      } else if (act.command !== undefined) problems.push(`${where}: command is only for exec actions`);
    });
    if (problems.length === before && match) rules.push({ cfg: a, match, groupPath: a.group_by === "" ? [] : a.group_by.split(".") });
  });
  return { rules, problems };
}

/** The value at a field path, as a group key: lists crossed as the filter crosses them, joined. */
export function groupKey(ev: unknown, path: readonly string[]): string {
  if (path.length === 0) return "";
  const v = valueAt(ev, path, 0);
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(",");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function valueAt(o: unknown, path: readonly string[], i: number): unknown {
  for (; i < path.length; i++) {
    if (Array.isArray(o)) {
      const all = o.flatMap((e) => {
        const v = valueAt(e, path, i);
        return v === undefined ? [] : v;
      });
      return all.length ? all : undefined;
    }
    if (o === null || typeof o !== "object") return undefined;
    o = (o as Record<string, unknown>)[path[i]!];
  }
  return o;
}

/** One group of one rule: the times of its latest matching events, and its alert's state. */
class Group {
  /** a ring of the newest matching events' times (ms), at most `threshold` of them */
  private times = new Float64Array(4);
  private head = 0;
  private n = 0;
  active = false;
  /** wall-clock ms when it became active */
  since = 0;
  lastMatch = 0;
  lastNotify = 0;
  suppressed = 0;
  matches = 0;
  count = 0;

  constructor(readonly key: string) {}

  push(t: number, cap: number) {
    // only the newest `cap` matter: the threshold-th newest being inside the window is the test
    while (this.n >= cap) {
      this.head = (this.head + 1) % this.times.length;
      this.n--;
    }
    if (this.n === this.times.length) this.grow(Math.min(cap, this.times.length * 2));
    this.times[(this.head + this.n) % this.times.length] = t;
    this.n++;
  }

  /** events within the window ending now */
  inWindow(now: number, windowMs: number): number {
    const size = this.times.length;
    let c = 0;
    for (let k = this.n - 1; k >= 0; k--) {
      if (this.times[(this.head + k) % size]! <= now - windowMs) break;
      c++;
    }
    return c;
  }

  clearWindow() {
    this.n = 0;
    this.head = 0;
  }

  private linear(): Float64Array {
    const out = new Float64Array(this.n);
    for (let k = 0; k < this.n; k++) out[k] = this.times[(this.head + k) % this.times.length]!;
    return out;
  }

  private grow(size: number) {
    const old = this.linear();
    this.times = new Float64Array(size);
    this.times.set(old, 0);
    this.head = 0;
  }

  /** a lower threshold after a reload: the newest `cap` times stay */
  shrink(cap: number) {
    const old = this.linear().slice(Math.max(0, this.n - cap));
    this.times = new Float64Array(Math.max(4, cap));
    this.times.set(old, 0);
    this.n = old.length;
    this.head = 0;
  }
}

export type Notify = (rule: AlertConfig, body: AlertBody) => void;

interface RuleState {
  rule: CompiledRule;
  groups: Map<string, Group>;
  active: number;
  series: { firing: { value: number }; suppressed: { value: number }; resolved: { value: number } };
  gauge: { value: number };
  dropped: { value: number };
  /** a full group table was already reported */
  fullSaid: boolean;
}

export interface AlertEngineOptions {
  metrics: NlmonMetrics;
  notify: Notify;
  /** monotonic ms */
  now?: () => number;
  /** said once per rule when its groups fill up */
  warn?: (msg: string) => void;
}

export class AlertEngine {
  private rules: RuleState[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private stopped = false;
  private readonly now: () => number;

  constructor(rules: CompiledRule[], private readonly o: AlertEngineOptions) {
    this.now = o.now ?? (() => performance.now());
    this.set(rules);
  }

  get size() {
    return this.rules.length;
  }

  /**
   * Takes a reloaded list. A rule kept by name keeps its groups and active alerts unless what it
   * counts changed (when, group_by): then it starts afresh, as a removed rule does, and its active
   * alerts are resolved first so no receiver is left holding an alert nothing will ever end.
   */
  set(rules: CompiledRule[]) {
    const old = new Map(this.rules.map((r) => [r.rule.cfg.name, r]));
    const next: RuleState[] = [];
    for (const rule of rules) {
      const prev = old.get(rule.cfg.name);
      if (prev && prev.rule.cfg.when === rule.cfg.when && prev.rule.cfg.group_by === rule.cfg.group_by) {
        old.delete(rule.cfg.name);
        if (prev.rule.cfg.severity !== rule.cfg.severity) {
          prev.gauge.value = 0;
          prev.gauge = this.o.metrics.alertsActive.slot({ alert: rule.cfg.name, severity: rule.cfg.severity });
          prev.gauge.value = prev.active;
        }
        if (rule.cfg.threshold < prev.rule.cfg.threshold) for (const g of prev.groups.values()) g.shrink(rule.cfg.threshold);
        prev.rule = rule;
        next.push(prev);
        continue;
      }
      next.push(this.fresh(rule));
    }
    // failures per action exist at 0 from the start, like the other series, so rate() sees the first
    for (const rs of next) for (const act of rs.rule.cfg.actions) this.o.metrics.alertActionFailures.slot({ alert: rs.rule.cfg.name, action: act.type });
    const now = this.now();
    for (const gone of old.values()) {
      for (const g of gone.groups.values()) if (g.active) this.resolve(gone, g, now);
      gone.gauge.value = 0;
    }
    this.rules = next;
    this.schedule(now);
  }

  private fresh(rule: CompiledRule): RuleState {
    const m = this.o.metrics;
    const name = rule.cfg.name;
    const gauge = m.alertsActive.slot({ alert: name, severity: rule.cfg.severity });
    gauge.value = 0;
    return {
      rule,
      groups: new Map(),
      active: 0,
      series: {
        firing: m.alertNotifications.slot({ alert: name, state: "firing" }),
        suppressed: m.alertNotifications.slot({ alert: name, state: "suppressed" }),
        resolved: m.alertNotifications.slot({ alert: name, state: "resolved" }),
      },
      gauge,
      dropped: m.alertGroupsDropped.slot({ alert: name }),
      fullSaid: false,
    };
  }

  /** every event the pipeline sees; alerts never count alert events, so no rule feeds on itself */
  handle(ev: NlEvent) {
    if (this.stopped || ev.type === "alert") return;
    let now = -1;
    for (const rs of this.rules) {
      if (!rs.rule.match(ev)) continue;
      if (now < 0) now = this.now();
      this.count(rs, groupKey(ev, rs.rule.groupPath), now);
    }
  }

  private count(rs: RuleState, key: string, now: number) {
    const cfg = rs.rule.cfg;
    let g = rs.groups.get(key);
    if (!g) {
      if (rs.groups.size >= MAX_GROUPS) this.prune(rs, now);
      if (rs.groups.size >= MAX_GROUPS) {
        rs.dropped.value++;
        if (!rs.fullSaid) {
          rs.fullSaid = true;
          this.o.warn?.(`${cfg.name}: ${MAX_GROUPS} groups of ${cfg.group_by} tracked; events of further groups are not counted (nlmon_alert_groups_dropped_total)`);
        }
        return;
      }
      rs.groups.set(key, (g = new Group(key)));
    }
    g.push(now, cfg.threshold);
    g.lastMatch = now;
    if (g.active) g.matches++;
    const c = g.inWindow(now, cfg.window_s * 1000);
    if (c < cfg.threshold) return;
    g.count = c;
    if (!g.active) {
      g.active = true;
      g.since = Date.now();
      g.matches = c;
      g.suppressed = 0;
      rs.active++;
      rs.gauge.value = rs.active;
      this.fire(rs, g, now);
      this.schedule(now);
    } else if (now - g.lastNotify >= cfg.min_interval_s * 1000) {
      this.fire(rs, g, now);
    } else {
      g.suppressed++;
      rs.series.suppressed.value++;
    }
  }

  private fire(rs: RuleState, g: Group, now: number) {
    rs.series.firing.value++;
    g.lastNotify = now;
    const body = this.body(rs, g, "firing");
    g.suppressed = 0;
    this.o.notify(rs.rule.cfg, body);
  }

  private resolve(rs: RuleState, g: Group, now: number) {
    g.active = false;
    rs.active--;
    rs.gauge.value = rs.active;
    rs.series.resolved.value++;
    g.count = g.inWindow(now, rs.rule.cfg.window_s * 1000);
    const body = this.body(rs, g, "resolved");
    // a resolved alert counts afresh: events from before it resolved do not bring it straight back
    g.clearWindow();
    g.suppressed = 0;
    this.o.notify(rs.rule.cfg, body);
  }

  private body(rs: RuleState, g: Group, state: AlertBody["state"]): AlertBody {
    const cfg = rs.rule.cfg;
    const b: AlertBody = {
      name: cfg.name,
      state,
      severity: cfg.severity,
      ...(cfg.group_by ? { group_by: cfg.group_by, group: g.key } : {}),
      count: g.count,
      threshold: cfg.threshold,
      window_s: cfg.window_s,
      since: new Date(g.since).toISOString(),
      matches: g.matches,
      suppressed: g.suppressed,
      summary: "",
    };
    b.summary = summary(b, cfg);
    return b;
  }

  /** inactive groups with nothing left in their window are forgotten */
  private prune(rs: RuleState, now: number) {
    const w = rs.rule.cfg.window_s * 1000;
    for (const [k, g] of rs.groups) if (!g.active && now - g.lastMatch >= w) rs.groups.delete(k);
    if (rs.groups.size < MAX_GROUPS) rs.fullSaid = false;
  }

  /** the next resolve deadline; a timer that finds a deadline moved on just sets itself again */
  private schedule(now: number) {
    if (this.stopped) return;
    let next = Infinity;
    for (const rs of this.rules) {
      if (rs.active === 0) continue;
      const after = rs.rule.cfg.resolve_after_s * 1000;
      for (const g of rs.groups.values()) if (g.active) next = Math.min(next, g.lastMatch + after);
    }
    if (next === Infinity) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer && this.timerAt <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, next - now));
    // a pending resolve must not keep a stopping process alive
    (this.timer as { unref?: () => void }).unref?.();
  }

  private sweep() {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    for (const rs of this.rules) {
      if (rs.active === 0) continue;
      const after = rs.rule.cfg.resolve_after_s * 1000;
      for (const g of rs.groups.values()) if (g.active && now - g.lastMatch >= after) this.resolve(rs, g, now);
    }
    for (const rs of this.rules) if (rs.groups.size > 1000) this.prune(rs, now);
    this.schedule(now);
  }

  status(): object[] {
    const now = this.now();
    return this.rules.map((rs) => {
      const cfg = rs.rule.cfg;
      const alerts = [...rs.groups.values()].filter((g) => g.active).slice(0, 100).map((g) => ({
        ...(cfg.group_by ? { group: g.key } : {}),
        state: g.suppressed > 0 ? "suppressed" : "firing",
        since: new Date(g.since).toISOString(),
        count: g.inWindow(now, cfg.window_s * 1000),
        matches: g.matches,
        suppressed: g.suppressed,
        quiet_s: Math.round((now - g.lastMatch) / 100) / 10,
      }));
      return {
        name: cfg.name,
        when: cfg.when,
        group_by: cfg.group_by,
        severity: cfg.severity,
        threshold: cfg.threshold,
        window_s: cfg.window_s,
        resolve_after_s: cfg.resolve_after_s,
        min_interval_s: cfg.min_interval_s,
        active: rs.active,
        groups: rs.groups.size,
        notifications: { firing: rs.series.firing.value, suppressed: rs.series.suppressed.value, resolved: rs.series.resolved.value },
        groups_dropped: rs.dropped.value,
        alerts,
      };
    });
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function summary(b: AlertBody, cfg: AlertConfig): string {
  const who = b.group_by ? ` for ${b.group_by}=${b.group === "" ? "(none)" : b.group}` : "";
  if (b.state === "resolved") {
    return `alert ${b.name} resolved${who}: no matching event for ${cfg.resolve_after_s} s (active since ${b.since}, ${b.matches} matching events)`;
  }
  const more = b.suppressed > 0 ? `; ${b.suppressed} firings suppressed since the last notification` : "";
  return `alert ${b.name} (${b.severity}) firing${who}: ${b.count} matching events within ${cfg.window_s} s (threshold ${cfg.threshold})${more}`;
}
