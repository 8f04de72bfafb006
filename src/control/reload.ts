/**
 * SIGHUP: export files reopened (logrotate), and the config file read again. A config that loads
 * takes effect for what can change under a running monitor (filters, exports, hooks and alerts, log
 * levels and target) without closing a netlink socket or letting an event fall between the old
 * and the new; what the sockets were opened with (everything under `netlink`, and `control`) is
 * named and waits for the next start. A config that does not load, or whose hooks or exports
 * cannot run, is rejected as a whole, with the located error in the log, and the old one stays.
 */
import { ConfigError } from "../config/error.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { Log } from "../log.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import { readConfigFile } from "./config-file.ts";
import type { ExportSet } from "./export-set.ts";
import type { ConfigInForce } from "./status.ts";

/** JSON with object keys sorted: two configs compare equal whatever order their keys were written in */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) => {
    if (val === null || typeof val !== "object" || Array.isArray(val)) return val;
    return Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/**
 * The changed keys that only a restart applies: every `netlink` setting (the sockets, their
 * groups and buffers, the backend, the caches and what primes them) and the control socket.
 */
export function restartOnlyChanges(old: NlmonConfig, next: NlmonConfig): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(old.netlink), ...Object.keys(next.netlink)]);
  for (const k of [...keys].sort()) {
    const a = (old.netlink as unknown as Record<string, unknown>)[k];
    const b = (next.netlink as unknown as Record<string, unknown>)[k];
    if (stableJson(a) !== stableJson(b)) out.push(`netlink.${k}`);
  }
  if (stableJson(old.control) !== stableJson(next.control)) out.push("control");
  return out;
}

export interface ReloadDeps {
  log: Log;
  /** the config file; "" when nlmon runs on the embedded default, which has nothing to re-read */
  path: string;
  /** what the command line sets over the file (--namespace), applied to every config read */
  override: (cfg: NlmonConfig) => void;
  current(): ConfigInForce;
  exports: ExportSet;
  pipeline: Pipeline;
  /** problems with the config's hooks and alerts, found before anything is applied */
  checkAutomation(cfg: NlmonConfig): Promise<string[]>;
  /** hand the config's hooks and alerts over (checked already) */
  applyAutomation(cfg: NlmonConfig): Promise<void>;
  accepted(next: ConfigInForce): void;
}

export class Reloader {
  accepted = 0;
  rejected = 0;
  lastError: string | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly d: ReloadDeps) {}

  /** One SIGHUP. Signals that come while a reload runs make one more reload after it, not one each. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  /** resolves when no reload is running or waiting */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop() {
    do {
      this.again = false;
      try {
        await this.once();
      } catch (e) {
        // never a crash from a reload: whatever went wrong is said, and the running config stays
        this.reject(`reload failed: ${(e as Error).message}`);
      }
    } while (this.again);
  }

  private reject(msg: string) {
    this.rejected++;
    this.lastError = msg;
    this.d.log.error("config", `reload rejected; the running config stays in force:\n${msg}`);
  }

  private async once() {
    const { log, path } = this.d;
    this.d.exports.reopen();
    if (!path) {
      log.info("config", "SIGHUP: reopening export files; no --config file to re-read (the embedded default is in force)");
      return;
    }
    log.info("config", `SIGHUP: reopening export files and re-reading ${path}`);
    let next: ConfigInForce;
    try {
      next = await readConfigFile(path);
      this.d.override(next.cfg);
      const problems = await this.d.checkAutomation(next.cfg);
      if (problems.length) throw new ConfigError(problems.map((p) => `${path}: ${p}`).join("\n"));
    } catch (e) {
      this.reject(e instanceof ConfigError ? e.message : `${path}: ${(e as Error).message}`);
      return;
    }
    const now = this.d.current();
    if (now.sha256 === next.sha256 && stableJson(now.cfg) === stableJson(next.cfg)) {
      log.info("config", `${path} is unchanged (sha256 ${next.sha256.slice(0, 12)}): nothing to apply`);
      return;
    }
    const old = now.cfg;
    const restart = restartOnlyChanges(old, next.cfg);
    let change;
    try {
      // the exports first: the one step that can fail at run time (a port in use), and it
      // changes nothing when it fails; the filters are planned per export, so they go in the same step
      change = await this.d.exports.apply(old, next.cfg, () => this.d.pipeline.applyFilters(next.cfg, log));
    } catch (e) {
      this.reject(`${path}: ${(e as Error).message}`);
      return;
    }
    log.configure(next.cfg.logging);
    await this.d.applyAutomation(next.cfg);
    this.accepted++;
    this.d.accepted(next);
    const ex = [
      change.replaced.length ? `replaced ${change.replaced.join(", ")}` : "",
      change.added.length ? `added ${change.added.join(", ")}` : "",
      change.removed.length ? `removed ${change.removed.join(", ")}` : "",
      change.kept.length ? `kept ${change.kept.join(", ")}` : "",
    ].filter(Boolean).join("; ");
    log.info("config", `reloaded ${path} (sha256 ${next.sha256.slice(0, 12)}): filter ${next.cfg.filter ? JSON.stringify(next.cfg.filter) : "none"}; ` +
      `exports: ${ex || "none"}; ${next.cfg.hooks.length} hooks, ${next.cfg.alerts.length} alert rules; log level ${next.cfg.logging.level}`);
    if (restart.length) {
      log.warn("config", `${restart.join(", ")} changed in ${path}: ${restart.length === 1 ? "it takes" : "they take"} effect at the next start; ` +
        "the running monitor keeps the values it started with");
    }
  }
}
