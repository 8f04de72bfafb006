/**
 * Hooks and alerts: what the running daemon does with events beyond exporting them. The CLI starts
 * this once the monitor runs and hands it the new config on a reload.
 *
 * Both look at every event before the global filter (Pipeline.observe): a filter that narrows what
 * is exported must not silently blind an alert. They only read the event; what they start (commands,
 * HTTP requests, the alert events put back into the stream) runs after the event has gone on.
 */
import { nowNs } from "../clock.ts";
import type { AlertConfig, NlmonConfig } from "../config/types.ts";
import { serialise } from "../event/line.ts";
import type { NlEvent } from "../event/model.ts";
import { ExportConfigError } from "../export/types.ts";
import type { Log } from "../log.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import { compileHooks, Hooks } from "../hooks/index.ts";
import { AlertActions } from "../alerts/actions.ts";
import { AlertEngine, compileAlerts } from "../alerts/engine.ts";
import { alertEvent } from "../alerts/event.ts";

export interface Automation {
  /** take a reloaded config's hooks and alerts; runs in progress finish */
  reload(cfg: NlmonConfig): void;
  /** for --status: per hook and alert rule, its counters and state */
  status(): { hooks: object[]; alerts: object[] };
  stop(): Promise<void>;
}

/**
 * Hooks or alerts that cannot run as configured (a command not found, a condition that does not
 * parse). An ExportConfigError because that is what the CLI already reports as the config's
 * problem (exit 2) when the daemon starts.
 */
export class AutomationConfigError extends ExportConfigError {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "AutomationConfigError";
  }
}

/** Every problem with the config's hooks and alerts, each "hooks[2] (name): ..."; empty when they can run. */
export function checkAutomation(cfg: Pick<NlmonConfig, "hooks" | "alerts" | "filters">): string[] {
  return [...compileHooks(cfg.hooks).problems, ...compileAlerts(alertRules(cfg)).problems];
}

export interface AutomationOptions {
  /** the local syslog socket for syslog actions; default $NLMON_LOG_SOCKET, else /dev/log */
  syslogPath?: string;
  /** the first webhook retry's wait (ms); tests shorten it */
  backoffMs?: number;
}

/**
 * The alert rules: those written as rules, then one per named filter with `action: alert`, which
 * raises an alert named after the filter on each event it matches (a rule with a threshold of one,
 * logged, resolved after five minutes without a match; thresholds and other actions are a rule's).
 */
export function alertRules(cfg: Pick<NlmonConfig, "alerts" | "filters">): AlertConfig[] {
  const fromFilters = Object.entries(cfg.filters ?? {}).filter(([, f]) => f.action === "alert").map(([name, f]): AlertConfig => ({
    name, when: f.expr, threshold: 1, window_s: 60, group_by: "", severity: "warning", resolve_after_s: 300, min_interval_s: 60,
    actions: [{ type: "log", timeout_ms: 5000, retries: 3 }],
  }));
  return [...cfg.alerts, ...fromFilters];
}

/** whether the daemon has anything for this module to do */
export function wantsAutomation(c: Pick<NlmonConfig, "hooks" | "alerts" | "filters">): boolean {
  return (c.hooks?.length ?? 0) > 0 || alertRules(c).length > 0;
}

function compile(cfg: NlmonConfig) {
  const h = compileHooks(cfg.hooks);
  const a = compileAlerts(alertRules(cfg));
  const problems = [...h.problems, ...a.problems];
  if (problems.length) throw new AutomationConfigError(problems);
  return { hooks: h.hooks, rules: a.rules };
}

export function startAutomation(cfg: NlmonConfig, pipeline: Pipeline, log: Log, metrics: NlmonMetrics, opts: AutomationOptions = {}): Automation {
  const first = compile(cfg);
  let current = cfg;
  let stopped = false;
  const hooks = new Hooks(first.hooks, log, metrics);
  const actions = new AlertActions({ log, metrics, syslogPath: opts.syslogPath, backoffMs: opts.backoffMs });
  const engine = new AlertEngine(first.rules, {
    metrics,
    warn: (m) => log.warn("alerts", m),
    notify(rule, body) {
      const tsNs = nowNs();
      const ev = alertEvent(body, tsNs);
      // after the event being counted has gone through: an alert emitted from inside the pipeline's
      // own emit would be exported before the event that caused it
      queueMicrotask(() => {
        if (stopped) return;
        try {
          pipeline.emit({ event: ev, tsNs, recvMono: 0 }, false);
        } catch (e) {
          log.warn("alerts", `${rule.name}: cannot put the alert event into the stream: ${(e as Error).message}`);
        }
        actions.run(rule, ev, serialise(ev), tsNs);
      });
    },
  });

  let observing = false;
  let lastComplaint = -Infinity;
  const observe = () => {
    if (observing || (hooks.size === 0 && engine.size === 0)) return;
    observing = true;
    // seeing every type keeps the pipeline's line path off; so nothing is observed until a hook or
    // an alert rule exists
    pipeline.observe((pe) => {
      const ev: NlEvent = pe.event;
      try {
        hooks.handle(ev);
        engine.handle(ev);
      } catch (e) {
        // a bug here must not stop events; said at most once a minute
        const now = performance.now();
        if (now - lastComplaint > 60_000) {
          lastComplaint = now;
          log.error("hooks", `hooks/alerts: ${(e as Error).message}`);
        }
      }
    });
  };
  observe();
  if (first.hooks.length || first.rules.length) log.debug("hooks", `${first.hooks.length} hooks, ${first.rules.length} alert rules`);

  return {
    reload(next: NlmonConfig) {
      if (stopped) return;
      // all or nothing: a reload with a broken hook keeps the running set
      const c = compile(next);
      hooks.set(c.hooks);
      engine.set(c.rules);
      current = next;
      observe();
    },
    status() {
      const alerts = engine.status().map((s) => {
        const name = (s as { name: string }).name;
        const failures: Record<string, number> = {};
        const rule = current.alerts.find((a) => a.name === name);
        for (const act of rule?.actions ?? []) failures[act.type] = metrics.alertActionFailures.get({ alert: name, action: act.type });
        return { ...s, action_failures: failures };
      });
      return { hooks: hooks.status(), alerts };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      engine.stop();
      await Promise.all([hooks.stop(), actions.stop()]);
    },
  };
}
