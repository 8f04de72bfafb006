/**
 * Syslog export: RFC 3164 or RFC 5424 messages over the local datagram socket (/dev/log), UDP, or
 * TCP with RFC 6587 octet-counting. The message text is the event's compact JSON, so a collector
 * can parse it back; header fields carry what log routers match on (facility, severity, app, msgid).
 */
import { dns, os } from "../node-lazy.ts";
import type { NlEvent, PipelineEvent } from "../event/model.ts";
import { UnixDgramSocket } from "../ffi/unix-dgram.ts";
import { fitJson } from "./json-fit.ts";
import type { Exporter } from "./types.ts";
import { ErrorReporter, errText, Pump, sleep, stderrLog, type ExportMetrics, type Logger } from "./queue.ts";

export interface SyslogExportOptions {
  transport: "unix" | "udp" | "tcp";
  /** for transport unix */
  path: string;
  host: string;
  port: number;
  format: "rfc3164" | "rfc5424";
  /** a facility name (daemon, local0 ...) or its number */
  facility: string | number;
  app_name: string;
  /** whole message in bytes, header included; longer events lose whole fields and are marked truncated */
  max_message_size: number;
  queue_size: number;
}

/** Facility codes of RFC 5424 section 6.2.1 (the same numbers syslog.h shifts left by 3). */
const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, ntp: 12, security: 13, audit: 13, console: 14, clock: 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

/** Severities of RFC 5424 section 6.2.1. */
export const Severity = { emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;

export function facilityCode(f: string | number): number {
  if (typeof f === "number" && Number.isInteger(f) && f >= 0 && f <= 23) return f;
  const n = FACILITIES[String(f).toLowerCase().replace(/^log_/, "")];
  if (n === undefined) throw new Error(`unknown syslog facility "${f}"`);
  return n;
}

/**
 * What deserves an operator's attention: errors warn, things going away (link down, routes and
 * addresses removed) are notices, the steady churn is info. An event may carry its own severity.
 */
export function severityOf(ev: NlEvent): number {
  const own = (ev as { severity?: unknown }).severity;
  if (typeof own === "number" && Number.isInteger(own) && own >= 0 && own <= 7) return own;
  if (ev.type === "error") return Severity.warning;
  if (ev.type === "alert") {
    const a = ev.netlink.alert;
    return a?.severity === "critical" ? Severity.crit : a?.severity === "warning" ? Severity.warning : Severity.info;
  }
  const name = ev.netlink?.msg_type_name ?? "";
  if (ev.type === "link") {
    const l = ev.netlink.link;
    if (name === "RTM_DELLINK") return Severity.notice;
    if (l && (!l.flags.includes("UP") || l.operstate === "DOWN" || l.operstate === "LOWERLAYERDOWN")) return Severity.notice;
    return Severity.info;
  }
  if ((ev.type === "route" || ev.type === "addr" || ev.type === "rule" || ev.type === "nexthop") && name.startsWith("RTM_DEL"))
    return Severity.notice;
  return Severity.info;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number) => (n < 10 ? "0" : "") + n;

/** RFC 3164 TIMESTAMP: local time, day padded with a space, no year */
export function rfc3164Time(ms: number): string {
  const d = new Date(ms);
  const day = d.getDate();
  return `${MONTHS[d.getMonth()]} ${day < 10 ? " " : ""}${day} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** RFC 5424 TIMESTAMP (RFC 3339): UTC with microseconds, the finest the RFC allows */
export function rfc5424Time(tsNs: bigint): string {
  const ms = Number(tsNs / 1_000_000n);
  const us = Number((tsNs / 1000n) % 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  return `${iso.slice(0, 19)}.${String(us).padStart(6, "0")}Z`;
}

/** header fields are PRINTUSASCII without spaces, bounded, and "-" when empty (RFC 5424 6.2) */
function field(s: string, max: number): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out += c >= 33 && c <= 126 ? ch : "_";
    if (out.length >= max) break;
  }
  return out || "-";
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const MARK_PREFIX = "…[truncated ";

/**
 * header + body in at most `max` bytes. A JSON object body (every event) is shortened by whole
 * fields and marked `"truncated": true`, so it still parses (src/export/json-fit.ts); any other
 * text is cut on a character boundary and ends with "…[truncated N bytes]".
 */
export function fitMessage(header: Uint8Array, body: Uint8Array, max: number): Uint8Array {
  const total = header.length + body.length;
  if (!(max > 0) || total <= max) return join(header, body);
  const json = fitJson(dec.decode(body), max - header.length);
  if (json !== undefined) return join(header, enc.encode(json));
  return cutText(header, body, max);
}

/** Cuts `body` so header + body + "…[truncated N bytes]" fits `max`; never splits a UTF-8 sequence. */
function cutText(header: Uint8Array, body: Uint8Array, max: number): Uint8Array {
  const total = header.length + body.length;
  let cut = total - max;
  let marker = enc.encode(`${MARK_PREFIX}${cut} bytes]`);
  for (let i = 0; i < 3; i++) {
    cut = Math.min(body.length, total + marker.length - max);
    marker = enc.encode(`${MARK_PREFIX}${cut} bytes]`);
  }
  let keep = Math.max(0, body.length - cut);
  while (keep > 0 && (body[keep]! & 0xc0) === 0x80) keep--;
  marker = enc.encode(`${MARK_PREFIX}${body.length - keep} bytes]`);
  const out = new Uint8Array(header.length + keep + marker.length);
  out.set(header, 0);
  out.set(body.subarray(0, keep), header.length);
  out.set(marker, header.length + keep);
  return out;
}

function join(a: Uint8Array, b: Uint8Array) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export interface FormatContext {
  format: "rfc3164" | "rfc5424";
  facility: number;
  hostname: string;
  appName: string;
  procId: string;
  maxSize: number;
  /** glibc's syslog(3) leaves the hostname out on /dev/log; the local daemon adds its own */
  omitHostname3164: boolean;
}

export function formatSyslog(ctx: FormatContext, ev: PipelineEvent, line: string): Uint8Array {
  const pri = ctx.facility * 8 + severityOf(ev.event);
  let header: string;
  if (ctx.format === "rfc5424") {
    header = `<${pri}>1 ${rfc5424Time(ev.tsNs)} ${field(ctx.hostname, 255)} ${field(ctx.appName, 48)} ` +
      `${field(ctx.procId, 128)} ${field(ev.event.type, 32)} - `;
  } else {
    const host = ctx.omitHostname3164 ? "" : `${field(ctx.hostname.split(".")[0]!, 255)} `;
    const tag = ctx.appName.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 32) || "nlmon";
    header = `<${pri}>${rfc3164Time(Number(ev.tsNs / 1_000_000n))} ${host}${tag}[${ctx.procId}]: `;
  }
  return fitMessage(enc.encode(header), enc.encode(line), ctx.maxSize);
}

/** A way to the collector. send() resolves once the bytes are handed to the kernel. */
interface Transport {
  send(msgs: Uint8Array[]): Promise<void>;
  close(): void;
}

class SendError extends Error {
  constructor(readonly done: number, msg: string) {
    super(msg);
  }
}

class UnixTransport implements Transport {
  private sock?: UnixDgramSocket;
  constructor(private readonly path: string) {}

  async send(msgs: Uint8Array[]) {
    for (let i = 0; i < msgs.length; i++) {
      try {
        this.sock ??= UnixDgramSocket.connect(this.path);
        let spins = 0;
        // EAGAIN: the daemon is behind; give it a moment without holding the event loop
        while (!this.sock.send(msgs[i]!)) await sleep(Math.min(100, 1 << Math.min(spins++, 7)));
      } catch (e) {
        this.sock?.close();
        this.sock = undefined;
        throw new SendError(i, `unix ${errText(e)}`);
      }
    }
  }

  close() {
    this.sock?.close();
    this.sock = undefined;
  }
}

async function resolveHost(host: string): Promise<string> {
  const r = await dns().lookup(host);
  return r.address;
}

class UdpTransport implements Transport {
  private sock?: import("bun").udp.Socket<"buffer">;
  private addr?: string;
  constructor(private readonly host: string, private readonly port: number) {}

  async send(msgs: Uint8Array[]) {
    let i = 0;
    try {
      this.addr ??= await resolveHost(this.host);
      const sock = (this.sock ??= await Bun.udpSocket({}));
      for (; i < msgs.length; i++) {
        let spins = 0;
        while (!sock.send(msgs[i]!, this.port, this.addr)) await sleep(Math.min(100, 1 << Math.min(spins++, 7)));
      }
    } catch (e) {
      this.close();
      throw new SendError(i, `udp ${this.host}:${this.port}: ${errText(e)}`);
    }
  }

  close() {
    this.sock?.close();
    this.sock = undefined;
    this.addr = undefined;
  }
}

type TcpSocket = Awaited<ReturnType<typeof Bun.connect>>;

class TcpTransport implements Transport {
  private sock?: TcpSocket;
  private drained?: () => void;
  private closedNote?: () => void;

  constructor(private readonly host: string, private readonly port: number, private readonly connectTimeoutMs = 5000) {}

  private async connect(): Promise<TcpSocket> {
    const self = this;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let gaveUp = false;
    const attempt = Bun.connect({
      hostname: this.host,
      port: this.port,
      socket: {
        data() {
          // collectors do not talk back on syslog/TCP; anything they send is ignored
        },
        drain() {
          self.drained?.();
        },
        close(s) {
          if (self.sock === s) self.sock = undefined;
          self.closedNote?.();
        },
        error(s) {
          if (self.sock === s) self.sock = undefined;
          self.closedNote?.();
        },
      },
    });
    try {
      const s = await Promise.race([
        attempt,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => {
            gaveUp = true;
            rej(new Error(`connect timed out after ${this.connectTimeoutMs} ms`));
          }, this.connectTimeoutMs);
        }),
      ]);
      return s;
    } catch (e) {
      // a connection that completes after we gave up must not linger
      if (gaveUp) attempt.then((s) => s.end(), () => {});
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  get connected() {
    return this.sock !== undefined;
  }

  async send(msgs: Uint8Array[]) {
    let i = 0;
    try {
      if (!this.sock) this.sock = await this.connect();
      for (; i < msgs.length; i++) {
        const m = msgs[i]!;
        let frame = join(enc.encode(`${m.length} `), m);
        for (;;) {
          const s = this.sock;
          if (!s) throw new Error("connection closed");
          const n = s.write(frame);
          if (n < 0) throw new Error("connection closed");
          if (n >= frame.length) break;
          frame = frame.subarray(n);
          // wait for the kernel to take more, or for the connection to die
          await new Promise<void>((r) => {
            this.drained = r;
            this.closedNote = r;
          });
          this.drained = this.closedNote = undefined;
        }
      }
      // a write into a connection the peer already closed "succeeds"; give close() a turn to tell us
      await Promise.resolve();
    } catch (e) {
      this.close();
      throw new SendError(i, `tcp ${this.host}:${this.port}: ${errText(e)}`);
    }
  }

  close() {
    const s = this.sock;
    this.sock = undefined;
    s?.end();
  }
}

export class SyslogExporter implements Exporter {
  readonly name: string;
  private readonly ctx: FormatContext;
  private readonly transport: Transport;
  private readonly pump: Pump<Uint8Array>;
  private readonly errors: ErrorReporter;

  constructor(opts: SyslogExportOptions, metrics: ExportMetrics, log: Logger = stderrLog, name = "syslog") {
    this.name = name;
    this.ctx = {
      format: opts.format ?? "rfc5424",
      facility: facilityCode(opts.facility ?? "daemon"),
      hostname: os().hostname(),
      appName: opts.app_name || "nlmon",
      procId: String(process.pid),
      maxSize: opts.max_message_size > 0 ? opts.max_message_size : 8192,
      omitHostname3164: opts.transport === "unix",
    };
    switch (opts.transport) {
      case "unix":
        this.transport = new UnixTransport(opts.path || "/dev/log");
        break;
      case "udp":
        this.transport = new UdpTransport(opts.host || "127.0.0.1", opts.port || 514);
        break;
      case "tcp":
        this.transport = new TcpTransport(opts.host || "127.0.0.1", opts.port || 514);
        break;
      default:
        throw new Error(`unknown syslog transport "${String((opts as { transport: unknown }).transport)}"`);
    }
    this.errors = new ErrorReporter(name, metrics, log);
    this.pump = new Pump<Uint8Array>(opts.queue_size, name, metrics, log, this.errors, (b) => this.transport.send(b));
  }

  async start() {
    // connecting waits for the first message: a collector that is down at start is only a counted
    // error and a retry, never a reason for the monitor to fail
  }

  push(ev: PipelineEvent, line: string) {
    try {
      this.pump.push(formatSyslog(this.ctx, ev, line));
    } catch {
      // push must never throw into the receive path
    }
  }

  get queued() {
    return this.pump.length;
  }

  /** for tests and status: whether a TCP connection is up (always true for datagram transports) */
  get connected() {
    return this.transport instanceof TcpTransport ? this.transport.connected : true;
  }

  async close() {
    await this.pump.drain(3000);
    this.transport.close();
  }
}
