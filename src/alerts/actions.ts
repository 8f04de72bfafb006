/**
 * What an alert notification does: a line in nlmon's log, a syslog message, a command, an HTTP
 * POST. Each is started and left to finish: the event loop never waits on one, a slow receiver
 * costs only its own deliveries (bounded in number), and a failure is counted and logged.
 */
import type { AlertActionConfig, AlertConfig } from "../config/types.ts";
import type { NlEvent } from "../event/model.ts";
import { fitMessage, rfc5424Time, Severity } from "../export/syslog.ts";
import type { UnixDgramSocket } from "../ffi/unix-dgram.ts";
import { baseEnv, eventEnv } from "../hooks/env.ts";
import { runCommand, type RunHandle } from "../hooks/exec.ts";
import type { Log } from "../log.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import { os } from "../node-lazy.ts";

/** deliveries (exec runs, webhook POSTs with their retries) one action may have in flight */
export const MAX_IN_FLIGHT = 16;

/** webhook retries wait 0.5 s, 1 s, 2 s, ... doubling up to this */
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

const SYSLOG_MAX = 8192;
const FACILITY_DAEMON = 3;

export interface ActionOptions {
  log: Log;
  metrics: NlmonMetrics;
  /** the local syslog socket; default $NLMON_LOG_SOCKET, else /dev/log */
  syslogPath?: string;
  /** the first webhook retry's wait; tests shorten it */
  backoffMs?: number;
}

/** an HTTP status worth asking again: the receiver's trouble or a request to slow down */
function retryable(status: number) {
  return status >= 500 || status === 408 || status === 429;
}

export class AlertActions {
  private readonly inFlight = new Map<AlertActionConfig, number>();
  private readonly runs = new Set<RunHandle>();
  private readonly posts = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private sock?: UnixDgramSocket;
  private readonly syslogPath: string;
  /** stop() was called: no new deliveries */
  private closing = false;
  /** its grace is over: deliveries in flight give up */
  private stopped = false;

  constructor(private readonly o: ActionOptions) {
    this.syslogPath = o.syslogPath ?? (process.env.NLMON_LOG_SOCKET || "/dev/log");
  }

  /** the alert event's line is what syslog, exec and webhook receivers get */
  run(rule: AlertConfig, ev: NlEvent, line: string, tsNs: bigint) {
    if (this.closing) return;
    for (const act of rule.actions) {
      try {
        switch (act.type) {
          case "log":
            this.logLine(ev);
            break;
          case "syslog":
            if (!this.syslog(ev, line, tsNs)) this.failed(rule, act);
            break;
          case "exec":
            this.limited(rule, act, () => this.exec(rule, act, ev, line));
            break;
          case "webhook":
            this.limited(rule, act, () => this.webhook(rule, act, line));
            break;
        }
      } catch (e) {
        this.o.log.warn("alerts", `${rule.name}: ${act.type} action: ${(e as Error).message}`);
        this.failed(rule, act);
      }
    }
  }

  private failed(rule: AlertConfig, act: AlertActionConfig) {
    this.o.metrics.alertActionFailures.inc({ alert: rule.name, action: act.type });
  }

  private logLine(ev: NlEvent) {
    const a = ev.netlink.alert!;
    if (a.state === "resolved") this.o.log.info("alerts", a.summary);
    else if (a.severity === "critical") this.o.log.error("alerts", a.summary);
    else if (a.severity === "warning") this.o.log.warn("alerts", a.summary);
    else this.o.log.info("alerts", a.summary);
  }

  /** RFC 5424 to the local daemon, facility daemon; the message is the alert event's JSON */
  private syslog(ev: NlEvent, line: string, tsNs: bigint): boolean {
    const a = ev.netlink.alert!;
    const sev = a.state === "resolved" ? Severity.notice : a.severity === "critical" ? Severity.crit : a.severity === "warning" ? Severity.warning : Severity.info;
    const host = os().hostname().replace(/[^!-~]/g, "_") || "-";
    const header = `<${FACILITY_DAEMON * 8 + sev}>1 ${rfc5424Time(tsNs)} ${host} nlmon ${process.pid} alert - `;
    const msg = fitMessage(new TextEncoder().encode(header), new TextEncoder().encode(line), SYSLOG_MAX);
    try {
      if (!this.sock) {
        const { UnixDgramSocket } = require("../ffi/unix-dgram.ts") as typeof import("../ffi/unix-dgram.ts");
        this.sock = UnixDgramSocket.connect(this.syslogPath);
      }
      if (this.sock.send(msg)) return true;
      this.o.log.warn("alerts", `${a.name}: syslog action: ${this.syslogPath} is not taking messages (queue full)`);
    } catch (e) {
      this.sock?.close();
      this.sock = undefined;
      this.o.log.warn("alerts", `${a.name}: syslog action: ${(e as Error).message}`);
    }
    return false;
  }

  /** at most MAX_IN_FLIGHT deliveries per action; one more is dropped and counted, not queued */
  private limited(rule: AlertConfig, act: AlertActionConfig, start: () => Promise<boolean>) {
    const n = this.inFlight.get(act) ?? 0;
    if (n >= MAX_IN_FLIGHT) {
      this.o.log.warn("alerts", `${rule.name}: ${act.type} action: ${n} deliveries still in flight; this one is dropped`);
      this.failed(rule, act);
      return;
    }
    this.inFlight.set(act, n + 1);
    const p = start().then(
      (ok) => {
        if (!ok) this.failed(rule, act);
      },
      (e) => {
        this.o.log.warn("alerts", `${rule.name}: ${act.type} action: ${(e as Error).message}`);
        this.failed(rule, act);
      },
    ).finally(() => {
      const left = (this.inFlight.get(act) ?? 1) - 1;
      if (left > 0) this.inFlight.set(act, left);
      else this.inFlight.delete(act);
      this.posts.delete(p);
    });
    this.posts.add(p);
  }

  private async exec(rule: AlertConfig, act: AlertActionConfig, ev: NlEvent, line: string): Promise<boolean> {
    const env = { ...baseEnv(), ...eventEnv(ev), NLMON_HOOK: rule.name };
    const run = runCommand(act.command!, { stdin: new TextEncoder().encode(line + "\n"), env, timeoutMs: act.timeout_ms });
    this.runs.add(run);
    const r = await run.done;
    this.runs.delete(run);
    if (r.result === "ok") return true;
    const tail = r.stderr ? `; stderr: ${r.stderr.split("\n").slice(-3).join(" | ")}` : "";
    this.o.log.warn("alerts", `${rule.name}: exec action ${act.command![0]}: ${r.error ?? r.result}${tail}`);
    return false;
  }

  /** POST with retries on network errors, timeouts, 5xx, 408 and 429; true once a 2xx came back */
  private async webhook(rule: AlertConfig, act: AlertActionConfig, line: string): Promise<boolean> {
    const url = act.url!;
    const first = this.o.backoffMs ?? BACKOFF_FIRST_MS;
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) return false;
      let why: string;
      let again = true;
      try {
        const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(act.timeout_ms)]);
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "nlmon" },
          body: line,
          signal,
          redirect: "manual",
        });
        // the body is not needed, but an unread one keeps the connection from being reused
        await res.arrayBuffer().catch(() => {});
        if (res.ok) {
          if (attempt > 0) this.o.log.info("alerts", `${rule.name}: webhook ${url} took the alert at attempt ${attempt + 1}`);
          return true;
        }
        why = `HTTP ${res.status}`;
        again = retryable(res.status);
      } catch (e) {
        const err = e as Error;
        if (this.stopped) return false;
        why = err.name === "TimeoutError" ? `no answer within ${act.timeout_ms} ms` : err.message;
      }
      if (!again || attempt >= act.retries) {
        this.o.log.warn("alerts", `${rule.name}: webhook ${url}: ${why}; ${attempt + 1} attempt${attempt ? "s" : ""}, giving up`);
        return false;
      }
      const wait = Math.min(BACKOFF_MAX_MS, first * 2 ** attempt);
      this.o.log.debug("alerts", `${rule.name}: webhook ${url}: ${why}; retrying in ${wait} ms`);
      await this.sleep(wait);
    }
  }

  /** a backoff that stop() cuts short */
  private sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }

  get pending() {
    return this.posts.size;
  }

  /** deliveries in flight get `graceMs`, then webhooks are aborted and commands killed */
  async stop(graceMs = 2000): Promise<void> {
    this.closing = true;
    const all = Promise.all([...this.posts]);
    const done = await Promise.race([all.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    this.stopped = true;
    if (!done) {
      this.abort.abort();
      for (const r of this.runs) r.kill();
      await Promise.race([all, Bun.sleep(3000)]);
    }
    this.sock?.close();
    this.sock = undefined;
  }
}
