/**
 * Event hooks: a command run for each event its condition matches. A run never holds up events:
 * it is started and left to finish; runs beyond max_concurrent or rate_limit are dropped and
 * counted, never queued.
 */
import type { HookConfig } from "../config/types.ts";
import type { NlEvent } from "../event/model.ts";
import { serialise } from "../event/line.ts";
import { FilterError, parseFilter } from "../filter/expr.ts";
import type { Log } from "../log.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import { baseEnv, eventEnv } from "./env.ts";
import { commandProblem, runCommand, type RunHandle, type RunResult } from "./exec.ts";

export { EVENT_ENV, eventEnv } from "./env.ts";
export { commandProblem, runCommand, killGroup, type RunResult, type RunHandle } from "./exec.ts";

export const HOOK_RESULTS = ["ok", "failed", "timeout", "dropped_busy", "dropped_rate"] as const;
export type HookResult = (typeof HOOK_RESULTS)[number];

export interface CompiledHook {
  cfg: HookConfig;
  argv: string[];
  match: (ev: NlEvent) => boolean;
}

/** "hooks[2] (name)": how a problem names the hook it is about */
export function hookLabel(i: number, name: string | undefined) {
  return `hooks[${i}] (${name ?? "?"})`;
}

/** The hooks as they will run, or every problem that keeps them from it. */
export function compileHooks(list: readonly HookConfig[]): { hooks: CompiledHook[]; problems: string[] } {
  const hooks: CompiledHook[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  list.forEach((h, i) => {
    const at = hookLabel(i, h.name);
    const before = problems.length;
    const first = seen.get(h.name);
    if (first !== undefined) problems.push(`${at}: name already used by ${hookLabel(first, h.name)}; metrics and status tell hooks apart by name`);
    else seen.set(h.name, i);
    let match: ((ev: NlEvent) => boolean) | undefined;
    try {
      match = parseFilter(h.when);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      problems.push(`${at}: when: ${e.message.replace(/^filter: /, "")}`);
    }
    let argv: string[] = [];
    if (h.command && h.shell !== undefined) problems.push(`${at}: both command and shell are given; keep one`);
    else if (h.command) argv = [...h.command];
    else if (h.shell !== undefined) {
      if (h.shell.trim() === "") problems.push(`${at}: shell is empty`);
      argv = ["/bin/sh", "-c", h.shell];
    } else problems.push(`${at}: needs a command (an argv list, run without a shell) or a shell command line`);
    if (argv.length) {
      const p = commandProblem(argv[0]!);
      if (p) problems.push(`${at}: ${p}`);
    }
    if (problems.length === before && match) hooks.push({ cfg: h, argv, match });
  });
  return { hooks, problems };
}

/** What a hook keeps across reloads (by name): its runs in flight and its rate allowance. */
class HookState {
  running = new Set<RunHandle>();
  tokens = 0;
  refilledAt = 0;
  rate = 0;
  last?: { at: string; result: HookResult; ms?: number; code?: number | null; error?: string };

  /** a token bucket holding up to max(1, rate) runs, refilled at `rate` a second */
  take(now: number): boolean {
    if (this.rate <= 0) return true;
    const cap = Math.max(1, this.rate);
    this.tokens = Math.min(cap, this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  setRate(rate: number, now: number) {
    if (rate === this.rate) return;
    this.rate = rate;
    this.tokens = Math.max(1, rate);
    this.refilledAt = now;
  }
}

export class Hooks {
  private hooks: CompiledHook[] = [];
  private readonly state = new Map<string, HookState>();
  private readonly series = new Map<string, Record<HookResult, { value: number }>>();
  private stopped = false;

  constructor(hooks: CompiledHook[], private readonly log: Log, private readonly metrics: NlmonMetrics, private readonly now = () => performance.now()) {
    this.set(hooks);
  }

  get size() {
    return this.hooks.length;
  }

  /** takes a new list; runs in flight finish, and a hook kept by name keeps its counters and limits */
  set(hooks: CompiledHook[]) {
    this.hooks = hooks;
    const t = this.now();
    for (const h of hooks) {
      let s = this.state.get(h.cfg.name);
      if (!s) this.state.set(h.cfg.name, (s = new HookState()));
      s.setRate(h.cfg.rate_limit, t);
      this.slots(h.cfg.name);
    }
  }

  /** the counter series of a hook, made at 0 so rate() sees its first run */
  private slots(name: string) {
    let s = this.series.get(name);
    if (!s) {
      s = {} as Record<HookResult, { value: number }>;
      for (const r of HOOK_RESULTS) s[r] = this.metrics.hookRuns.slot({ hook: name, result: r });
      this.series.set(name, s);
    }
    return s;
  }

  /** called for every event: matching is synchronous, the command is started and not awaited */
  handle(ev: NlEvent) {
    if (this.stopped) return;
    for (const h of this.hooks) {
      if (!h.match(ev)) continue;
      const name = h.cfg.name;
      const st = this.state.get(name)!;
      const counters = this.slots(name);
      if (st.running.size >= h.cfg.max_concurrent) {
        this.dropped(st, counters, "dropped_busy", name);
        continue;
      }
      if (!st.take(this.now())) {
        this.dropped(st, counters, "dropped_rate", name);
        continue;
      }
      this.start(h, st, counters, ev);
    }
  }

  private dropped(st: HookState, counters: Record<HookResult, { value: number }>, why: "dropped_busy" | "dropped_rate", name: string) {
    counters[why].value++;
    st.last = { at: new Date().toISOString(), result: why };
    this.log.debug("hooks", `${name}: run dropped (${why === "dropped_busy" ? "max_concurrent reached" : "rate_limit reached"})`);
  }

  private start(h: CompiledHook, st: HookState, counters: Record<HookResult, { value: number }>, ev: NlEvent) {
    const name = h.cfg.name;
    // the same line the exports write: serialise() keeps it for them
    const stdin = new TextEncoder().encode(serialise(ev) + "\n");
    const env = { ...baseEnv(), ...eventEnv(ev), NLMON_HOOK: name };
    const run = runCommand(h.argv, { stdin, env, timeoutMs: h.cfg.timeout_ms });
    st.running.add(run);
    this.log.trace("hooks", `${name}: started pid ${run.pid ?? "-"} for ${ev.type} ${ev.netlink?.msg_type_name ?? ""}`);
    void run.done.then((r) => {
      st.running.delete(run);
      this.finished(name, st, counters, r);
    });
  }

  private finished(name: string, st: HookState, counters: Record<HookResult, { value: number }>, r: RunResult) {
    counters[r.result].value++;
    st.last = { at: new Date().toISOString(), result: r.result, ms: r.ms, code: r.code, error: r.error };
    if (r.result === "ok") {
      this.log.debug("hooks", `${name}: done in ${r.ms} ms`);
      return;
    }
    const tail = r.stderr ? `; stderr: ${r.stderr.split("\n").slice(-3).join(" | ")}` : "";
    this.log.warn("hooks", `${name}: ${r.error ?? r.result}${tail}`);
  }

  status(): object[] {
    return this.hooks.map((h) => {
      const st = this.state.get(h.cfg.name)!;
      const c = this.slots(h.cfg.name);
      const runs: Record<string, number> = {};
      for (const r of HOOK_RESULTS) runs[r] = c[r].value;
      return {
        name: h.cfg.name,
        when: h.cfg.when,
        ...(h.cfg.command ? { command: h.cfg.command } : { shell: h.cfg.shell }),
        running: st.running.size,
        max_concurrent: h.cfg.max_concurrent,
        rate_limit: h.cfg.rate_limit,
        timeout_ms: h.cfg.timeout_ms,
        runs,
        last: st.last,
      };
    });
  }

  /** no new runs; those in flight get `graceMs` to end, then their process groups are killed */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    const all = [...this.state.values()].flatMap((s) => [...s.running]);
    if (all.length === 0) return;
    const settled = Promise.all(all.map((r) => r.done));
    const t = await Promise.race([settled.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (t) return;
    for (const r of all) r.kill();
    await Promise.race([settled, Bun.sleep(3000)]);
  }
}
