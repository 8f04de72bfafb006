/** Leveled logging to stderr: stdout belongs to the event stream. */
import type { LogLevel } from "./config/types.ts";

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export class Log {
  constructor(private level: LogLevel = "info", private modules: Record<string, LogLevel> = {}) {}
  setLevel(l: LogLevel) { this.level = l; }
  configure(level: LogLevel, modules: Record<string, LogLevel>) {
    this.level = level;
    this.modules = { ...modules };
  }
  enabled(l: LogLevel, module?: string) {
    const lim = (module && this.modules[module]) || this.level;
    return ORDER[l] <= ORDER[lim];
  }
  private out(l: LogLevel, module: string, msg: string) {
    if (!this.enabled(l, module)) return;
    try {
      process.stderr.write(`nlmon: ${l === "info" ? "" : l + ": "}${module ? module + ": " : ""}${msg}\n`);
    } catch { /* stderr gone */ }
  }
  error(module: string, msg: string) { this.out("error", module, msg); }
  warn(module: string, msg: string) { this.out("warn", module, msg); }
  info(module: string, msg: string) { this.out("info", module, msg); }
  debug(module: string, msg: string) { this.out("debug", module, msg); }
  trace(module: string, msg: string) { this.out("trace", module, msg); }
  /** a plain callback for layers that only need one line of output */
  as(module: string, level: LogLevel = "warn") { return (msg: string) => this.out(level, module, msg); }
}

export const log = new Log();
