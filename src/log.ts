/**
 * Leveled logging, to stderr (stdout belongs to the event stream) or to the local syslog daemon
 * (logging.target: syslog). The levels can be changed while running: a reload calls configure().
 */
import type { LoggingConfig, LogLevel } from "./config/types.ts";
import type { UnixDgramSocket } from "./ffi/unix-dgram.ts";
import { os } from "./node-lazy.ts";

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

/** RFC 5424 severities: err, warning, info, debug (trace has nothing finer than debug) */
const SYSLOG_SEVERITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7, trace: 7 };
const FACILITY_DAEMON = 3;

/**
 * libnl-3's own debug output (NL_DBG, to stderr) is switched on by NLDBG, which the library reads
 * once, when it is loaded: 1 says what it registers and what fails, 4 every message it builds.
 */
const NLDBG_LEVEL: Partial<Record<LogLevel, string>> = { debug: "1", trace: "4" };

export type LogTarget = LoggingConfig["target"];

export interface LogOptions {
  /** where syslog lines go; default $NLMON_LOG_SOCKET, else /dev/log */
  syslogPath?: string;
}

export class Log {
  private target: LogTarget = "stderr";
  private sock?: UnixDgramSocket;
  /** a syslog socket that could not be reached is said once, not once per line */
  private syslogDown = false;
  private readonly syslogPath: string;

  constructor(private level: LogLevel = "info", private modules: Record<string, LogLevel> = {}, opts: LogOptions = {}) {
    this.syslogPath = opts.syslogPath ?? (process.env.NLMON_LOG_SOCKET || "/dev/log");
  }

  setLevel(l: LogLevel) { this.level = l; }

  /**
   * The config's logging section (at start and on every reload), or a level and per-module levels
   * as the library API gives them.
   */
  configure(logging: LoggingConfig): void;
  configure(level: LogLevel, modules: Record<string, LogLevel>): void;
  configure(a: LoggingConfig | LogLevel, modules: Record<string, LogLevel> = {}) {
    if (typeof a === "string") {
      this.level = a;
      this.modules = { ...modules };
    } else {
      this.level = a.level;
      this.modules = { ...(a.modules as Record<string, LogLevel>) };
      this.setTarget(a.target);
    }
    const lib = this.modules.libnl;
    if (lib) libnlDebug(NLDBG_LEVEL[lib]);
  }

  setTarget(t: LogTarget) {
    if (t === this.target) return;
    this.target = t;
    this.syslogDown = false;
    if (t !== "syslog") {
      this.sock?.close();
      this.sock = undefined;
    }
  }

  enabled(l: LogLevel, module?: string) {
    const lim = (module && this.modules[module]) || this.level;
    return ORDER[l] <= ORDER[lim];
  }

  private out(l: LogLevel, module: string, msg: string) {
    if (!this.enabled(l, module)) return;
    if (this.target === "syslog" && this.toSyslog(l, module, msg)) return;
    try {
      process.stderr.write(`nlmon: ${l === "info" ? "" : l + ": "}${module ? module + ": " : ""}${msg}\n`);
    } catch { /* stderr gone */ }
  }

  /** false when the line could not be handed to the syslog daemon; it then goes to stderr */
  private toSyslog(l: LogLevel, module: string, msg: string): boolean {
    try {
      if (!this.sock) {
        const { UnixDgramSocket } = require("./ffi/unix-dgram.ts") as typeof import("./ffi/unix-dgram.ts");
        this.sock = UnixDgramSocket.connect(this.syslogPath);
        this.syslogDown = false;
      }
      // a full queue (the daemon is behind) costs this line its place in syslog, never a wait
      return this.sock.send(syslogLine(l, module, msg));
    } catch (e) {
      this.sock?.close();
      this.sock = undefined;
      if (!this.syslogDown) {
        this.syslogDown = true;
        try {
          process.stderr.write(`nlmon: warn: main: logging.target syslog: ${(e as Error).message}; logging to stderr until it answers\n`);
        } catch { /* stderr gone */ }
      }
      return false;
    }
  }

  error(module: string, msg: string) { this.out("error", module, msg); }
  warn(module: string, msg: string) { this.out("warn", module, msg); }
  info(module: string, msg: string) { this.out("info", module, msg); }
  debug(module: string, msg: string) { this.out("debug", module, msg); }
  trace(module: string, msg: string) { this.out("trace", module, msg); }
  /** a plain callback for layers that only need one line of output */
  as(module: string, level: LogLevel = "warn") { return (msg: string) => this.out(level, module, msg); }
}

const enc = new TextEncoder();
let hostname: string | undefined;

/**
 * RFC 5424: `<PRI>1 TIMESTAMP HOST nlmon PID MODULE - MSG`, facility daemon. The module is the
 * MSGID, which is what log routers match on.
 */
export function syslogLine(l: LogLevel, module: string, msg: string, now = new Date()): Uint8Array {
  hostname ??= os().hostname().replace(/[^!-~]/g, "_") || "-";
  const pri = FACILITY_DAEMON * 8 + SYSLOG_SEVERITY[l];
  const msgid = module ? module.replace(/[^!-~]/g, "_").slice(0, 32) : "-";
  return enc.encode(`<${pri}>1 ${now.toISOString()} ${hostname} nlmon ${process.pid} ${msgid} - ${msg}`);
}

let nldbgSet = false;

/**
 * Sets NLDBG in the C environment, where libnl reads it (process.env is Bun's own copy). Only
 * before the library is loaded does it take effect, and a value the user exported wins.
 */
function libnlDebug(level: string | undefined) {
  if (!level || nldbgSet) return;
  nldbgSet = true;
  try {
    const { koffi } = require("./ffi/koffi.ts") as typeof import("./ffi/koffi.ts");
    const { loadLibc } = require("./ffi/libc.ts") as typeof import("./ffi/libc.ts");
    const lib = loadLibc(koffi());
    const setenv = lib.func("int setenv(const char *, const char *, int)");
    setenv("NLDBG", level, 0);
  } catch {
    // without koffi there is no libnl to tell either
  }
}

export const log = new Log();
