/**
 * NDJSON export, plus the pieces every export shares: a bounded queue drained by an async pump, drop
 * and error accounting that logs once per burst, and a size-rotated file sink that never tears a
 * record. (They live here because the export layer has no common module of its own yet.)
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as zlib from "node:zlib";
import type { PipelineEvent } from "../event/model.ts";
import type { Counter } from "../metrics/registry.ts";
import type { Exporter } from "./types.ts";

export interface ExportMetrics {
  exportDropped: Counter;
  exportErrors: Counter;
}

export type Logger = (msg: string) => void;

export const stderrLog: Logger = (msg) => {
  try {
    process.stderr.write(`nlmon: ${msg}\n`);
  } catch {
    // stderr itself gone: nothing left to tell
  }
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Text of an error for the operator: errno name and message when the OS gave one. */
export function errText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

/**
 * Counts failures every time but logs only the first of a run, and once more when things recover,
 * so a collector that is down for an hour costs two lines of stderr, not thousands.
 */
export class ErrorReporter {
  private failing = false;
  private lastMsg = "";
  constructor(private readonly name: string, private readonly metrics: ExportMetrics, private readonly log: Logger) {}

  error(msg: string) {
    this.metrics.exportErrors.inc({ export: this.name });
    if (!this.failing || msg !== this.lastMsg) this.log(`export ${this.name}: ${msg}`);
    this.failing = true;
    this.lastMsg = msg;
  }

  ok() {
    if (this.failing) this.log(`export ${this.name}: recovered`);
    this.failing = false;
    this.lastMsg = "";
  }
}

/**
 * A bounded FIFO drained in batches by one async consumer. push() is O(1) and never blocks; a full
 * queue drops the new item (the oldest ones are already on their way) and counts it. A burst of
 * drops is logged once and re-armed when the queue has drained to half.
 */
export class Pump<T> {
  private items: T[] = [];
  private running = false;
  private stopped = false;
  private inDropBurst = false;
  private backoffMs = 0;
  private failures = 0;
  private wake?: () => void;
  private current?: Promise<void>;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly capacity: number,
    private readonly name: string,
    private readonly metrics: ExportMetrics,
    private readonly log: Logger,
    private readonly errors: ErrorReporter,
    /** writes a batch; on failure throws, with `.done` telling how many leading items did go out */
    private readonly flush: (batch: T[]) => Promise<void>,
    private readonly retryMaxMs = 30_000,
  ) {
    if (!(capacity >= 1)) this.capacity = 1;
  }

  get length() {
    return this.items.length;
  }

  push(item: T): boolean {
    if (this.stopped) return false;
    if (this.items.length >= this.capacity) {
      this.drop(1);
      return false;
    }
    this.items.push(item);
    this.start();
    return true;
  }

  drop(n: number, atShutdown = false) {
    if (n <= 0) return;
    this.metrics.exportDropped.inc({ export: this.name }, n);
    if (atShutdown) {
      this.log(`export ${this.name}: ${n} queued events not delivered at shutdown`);
    } else if (!this.inDropBurst) {
      this.inDropBurst = true;
      this.log(`export ${this.name}: queue full (${this.capacity}), dropping events until it drains; ` +
        `counted in nlmon_export_dropped_total{export="${this.name}"}`);
    }
  }

  /** retry now rather than after the backoff delay (new connection, reopened file) */
  kick() {
    if (this.wake) {
      const w = this.wake;
      this.wake = undefined;
      this.backoffMs = 0;
      w();
    }
    this.start();
  }

  private start() {
    if (!this.running && !this.stopped) {
      this.running = true;
      // a macrotask, so a burst of pushes from one received datagram goes out as one write
      this.current = new Promise<void>((r) => setImmediate(() => this.run().then(r, r)));
    }
  }

  private async run() {
    try {
      while (this.items.length > 0 && !this.stopped) {
        const batch = this.items;
        this.items = [];
        try {
          await this.flush(batch);
          this.errors.ok();
          this.backoffMs = 0;
          this.failures = 0;
        } catch (e) {
          this.failures++;
          const done = Math.max(0, Math.min(batch.length, Number((e as { done?: number }).done ?? 0)));
          this.errors.error(errText(e));
          this.requeue(batch.slice(done));
          this.backoffMs = Math.min(this.retryMaxMs, this.backoffMs ? this.backoffMs * 2 : 250);
          this.notify();
          await new Promise<void>((r) => {
            this.wake = r;
            setTimeout(r, this.backoffMs);
          });
          this.wake = undefined;
        }
        if (this.inDropBurst && this.items.length <= this.capacity / 2) this.inDropBurst = false;
      }
    } finally {
      this.running = false;
      if (this.items.length === 0) this.inDropBurst = false;
      this.notify();
    }
  }

  private notify() {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** put unwritten items back at the head; whatever no longer fits is dropped and counted */
  private requeue(rest: T[]) {
    if (rest.length === 0) return;
    const merged = rest.concat(this.items);
    const over = merged.length - this.capacity;
    if (over > 0) {
      merged.length = this.capacity;
      this.drop(over);
    }
    this.items = merged;
  }

  /**
   * Wait until the queue is empty or `timeoutMs` passed; what is left then is dropped and counted.
   * A failed attempt during the drain ends it: a broken sink must not hold up shutdown.
   */
  async drain(timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    const failing = this.failures;
    while ((this.items.length > 0 || this.running) && Date.now() < deadline) {
      if (this.failures > failing) break;
      this.kick();
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), sleep(Math.max(1, deadline - Date.now()))]);
    }
    this.stopped = true;
    this.wake?.();
    // let a write in progress finish (and put back what it could not write) before counting losses
    if (this.running && this.current) await Promise.race([this.current, sleep(1000)]);
    if (this.items.length > 0) {
      this.drop(this.items.length, true);
      this.items = [];
    }
  }
}

/** An error from FileSink.write: `done` chunks were written whole before `cause` struck. */
export class PartialWriteError extends Error {
  constructor(readonly done: number, override readonly cause: unknown, path: string) {
    super(`cannot write ${path}: ${errText(cause)} (will retry)`);
  }
}

export interface FileSinkOptions {
  path: string;
  /** rotate before a write would take the file past this many bytes; 0 = never */
  maxSize: number;
  keep: number;
  compress: boolean;
  /** written at the start of every new file (pcap's global header) */
  header?: Uint8Array;
  log: Logger;
}

/**
 * An append-only file written in whole records. Each write() is one or a few write(2) calls of
 * complete chunks; if the disk fills half way, the file is truncated back to the last whole chunk,
 * so a reader never sees a torn line. "-" is standard output (no rotation).
 */
export class FileSink {
  private fh?: fsp.FileHandle;
  private size = 0;
  private regular = true;
  private reopenWanted = false;
  private compressing: Promise<void> = Promise.resolve();
  private rotatedFiles = -1;

  constructor(private readonly o: FileSinkOptions) {}

  get path() {
    return this.o.path;
  }

  /** logrotate moved the file away: the next write goes to a fresh file at the configured path */
  reopen() {
    this.reopenWanted = true;
    this.rotatedFiles = -1;
  }

  async open(): Promise<void> {
    if (this.o.path === "-") return;
    if (this.fh) return;
    const fh = await fsp.open(this.o.path, "a");
    try {
      const st = await fh.stat();
      this.regular = st.isFile();
      this.size = this.regular ? st.size : 0;
      if (this.o.header && this.regular) {
        if (this.size > 0 && !(await this.startsWithHeader(fh))) {
          // someone else's file (or another format): keep it as a rotated file, never append to it
          await fh.close();
          this.o.log(`${this.o.path} does not start with the expected header; moving it to ${this.o.path}.1`);
          await this.shift(Math.max(1, this.o.keep));
          return this.open();
        }
      }
      this.fh = fh;
      if (this.o.header && this.size === 0) await this.writeAll(this.o.header);
    } catch (e) {
      if (this.fh !== fh) await fh.close().catch(() => {});
      this.fh = undefined;
      throw e;
    }
  }

  private async startsWithHeader(fh: fsp.FileHandle) {
    const h = this.o.header!;
    const buf = new Uint8Array(h.length);
    const { bytesRead } = await fh.read(buf, 0, h.length, 0);
    return bytesRead === h.length && buf.every((b, i) => b === h[i]);
  }

  /** Writes the chunks in order, rotating between chunks; throws PartialWriteError. */
  async write(chunks: Uint8Array[]) {
    let done = 0;
    try {
      if (this.o.path === "-") {
        await writeFd(1, concat(chunks, 0, chunks.length));
        return;
      }
      if (this.reopenWanted) {
        this.reopenWanted = false;
        await this.closeFile();
      }
      await this.open();
      const base = this.o.header?.length ?? 0;
      while (done < chunks.length) {
        let end = done;
        let bytes = 0;
        const limit = this.o.maxSize > 0 && this.regular ? this.o.maxSize : Infinity;
        while (end < chunks.length) {
          const n = chunks[end]!.length;
          // an empty file takes at least one chunk, however large, so rotation always makes progress
          if (this.size + bytes + n > limit && !(this.size <= base && bytes === 0)) break;
          bytes += n;
          end++;
        }
        if (end === done) {
          await this.rotate();
          continue;
        }
        await this.writeAll(concat(chunks, done, end));
        done = end;
      }
    } catch (e) {
      throw new PartialWriteError(done, e, this.o.path);
    }
  }

  private async writeAll(buf: Uint8Array) {
    const fh = this.fh!;
    const start = this.size;
    let off = 0;
    try {
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        if (bytesWritten <= 0) throw new Error("write returned 0");
        off += bytesWritten;
      }
    } catch (e) {
      if (off > 0 && this.regular) await fh.truncate(start).catch(() => {});
      throw e;
    }
    this.size = start + buf.length;
  }

  private async rotate() {
    await this.closeFile();
    await this.shift(this.o.keep);
    await this.open();
  }

  /** path.N-1 → path.N ... path → path.1, dropping what falls off the end */
  private async shift(keep: number) {
    await this.compressing;
    const p = this.o.path;
    if (keep <= 0) {
      await fsp.unlink(p).catch(ignoreEnoent);
      return;
    }
    // only the files that exist move, so a large `keep` costs nothing until there are that many;
    // counted once, then followed, since each shift adds exactly one
    let top = this.rotatedFiles;
    if (top < 0) {
      top = 0;
      while (top < keep && ((await exists(`${p}.${top + 1}`)) || (await exists(`${p}.${top + 1}.gz`)))) top++;
    }
    this.rotatedFiles = Math.min(keep, top + 1);
    if (top === keep) {
      await fsp.unlink(`${p}.${keep}`).catch(ignoreEnoent);
      await fsp.unlink(`${p}.${keep}.gz`).catch(ignoreEnoent);
      top = keep - 1;
    }
    for (let i = top; i >= 1; i--) {
      await fsp.rename(`${p}.${i}`, `${p}.${i + 1}`).catch(ignoreEnoent);
      await fsp.rename(`${p}.${i}.gz`, `${p}.${i + 1}.gz`).catch(ignoreEnoent);
    }
    await fsp.rename(p, `${p}.1`).catch(ignoreEnoent);
    if (this.o.compress) this.compressing = gzipInBackground(`${p}.1`, this.o.log);
  }

  private async closeFile() {
    const fh = this.fh;
    this.fh = undefined;
    this.size = 0;
    if (fh) await fh.close().catch(() => {});
  }

  async close() {
    await this.closeFile();
    await this.compressing;
  }
}

async function exists(path: string) {
  try {
    await fsp.lstat(path);
    return true;
  } catch {
    return false;
  }
}

function ignoreEnoent(e: unknown) {
  if ((e as { code?: string }).code !== "ENOENT") throw e;
}

function concat(chunks: Uint8Array[], from: number, to: number): Uint8Array {
  if (to - from === 1) return chunks[from]!;
  let n = 0;
  for (let i = from; i < to; i++) n += chunks[i]!.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = from; i < to; i++) {
    out.set(chunks[i]!, o);
    o += chunks[i]!.length;
  }
  return out;
}

/** stdout may be a pipe someone made non-blocking: a short write continues, EAGAIN waits a little */
async function writeFd(fd: number, buf: Uint8Array) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += await new Promise<number>((res, rej) =>
        fs.write(fd, buf, off, buf.length - off, null, (err, n) => (err ? rej(err) : res(n))));
    } catch (e) {
      if ((e as { code?: string }).code === "EAGAIN") {
        await sleep(5);
        continue;
      }
      throw e;
    }
  }
}

/** zlib's async gzip runs on the thread pool, so a large rotated file never stalls the event loop */
async function gzipInBackground(path: string, log: Logger) {
  try {
    const data = await fsp.readFile(path);
    const gz = await new Promise<Uint8Array>((res, rej) => zlib.gzip(data, (e, out) => (e ? rej(e) : res(out))));
    await fsp.writeFile(`${path}.gz.tmp`, gz);
    await fsp.rename(`${path}.gz.tmp`, `${path}.gz`);
    await fsp.unlink(path);
  } catch (e) {
    log(`cannot compress ${path}: ${errText(e)}`);
    await fsp.unlink(`${path}.gz.tmp`).catch(() => {});
  }
}

export interface JsonExportOptions {
  /** "-" = standard output */
  file: string;
  pretty: boolean;
  queue_size: number;
  rotate: { max_size: number; keep: number; compress: boolean };
}

const enc = new TextEncoder();

export class JsonExporter implements Exporter {
  readonly name: string;
  private readonly sink: FileSink;
  private readonly pump: Pump<string>;
  private readonly errors: ErrorReporter;

  constructor(private readonly opts: JsonExportOptions, metrics: ExportMetrics, log: Logger = stderrLog, name = "json") {
    this.name = name;
    this.errors = new ErrorReporter(name, metrics, log);
    this.sink = new FileSink({
      path: opts.file,
      maxSize: opts.rotate?.max_size ?? 0,
      keep: opts.rotate?.keep ?? 0,
      compress: opts.rotate?.compress ?? false,
      log: (m) => log(`export ${name}: ${m}`),
    });
    this.pump = new Pump<string>(opts.queue_size, name, metrics, log, this.errors, (b) => this.flush(b));
  }

  async start() {
    try {
      await this.sink.open();
    } catch (e) {
      // the monitor runs on without this export; the pump retries the open with every batch
      this.errors.error(`cannot open ${this.opts.file}: ${errText(e)} (will retry)`);
    }
  }

  push(_ev: PipelineEvent, line: string) {
    try {
      this.pump.push(line);
    } catch {
      // push must never throw into the receive path
    }
  }

  private async flush(lines: string[]) {
    const chunks = new Array<Uint8Array>(lines.length);
    for (let i = 0; i < lines.length; i++) {
      let s = lines[i]!;
      if (this.opts.pretty) {
        try {
          s = JSON.stringify(JSON.parse(s), null, 2);
        } catch {
          // not JSON after all: write it as it came rather than lose it
        }
      }
      chunks[i] = enc.encode(s + "\n");
    }
    await this.sink.write(chunks);
  }

  reopen() {
    this.sink.reopen();
    this.pump.kick();
  }

  /** events still queued */
  get queued() {
    return this.pump.length;
  }

  async close() {
    await this.pump.drain(5000);
    await this.sink.close();
  }
}
