/**
 * What every export shares: a bounded queue drained by an async pump, and failure accounting that
 * logs once per run of failures rather than once per event.
 */
import type { Counter } from "../metrics/registry.ts";

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
  constructor(private readonly name: string, private readonly metrics: ExportMetrics, private readonly log: Logger) {
    // at 0 from the start, so rate() and increase() see the first failure
    metrics.exportErrors.slot({ export: name });
  }

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
 *
 * Capacity and drops count events: an item may carry several (a block of lines written as bytes),
 * and `weigh` says how many.
 */
export class Pump<T> {
  private items: T[] = [];
  /** events the queued items hold */
  private size = 0;
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
    private readonly weigh: (item: T) => number = () => 1,
  ) {
    if (!(capacity >= 1)) this.capacity = 1;
    metrics.exportDropped.slot({ export: name });
  }

  /** events queued */
  get length() {
    return this.size;
  }

  push(item: T): boolean {
    if (this.stopped) return false;
    const w = this.weigh(item);
    if (this.size + w > this.capacity) {
      this.drop(w);
      return false;
    }
    this.items.push(item);
    this.size += w;
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
        this.size = 0;
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
        if (this.inDropBurst && this.size <= this.capacity / 2) this.inDropBurst = false;
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
    let size = 0;
    let keep = 0;
    for (; keep < merged.length; keep++) {
      const w = this.weigh(merged[keep]!);
      if (size + w > this.capacity) break;
      size += w;
    }
    let over = 0;
    for (let i = keep; i < merged.length; i++) over += this.weigh(merged[i]!);
    merged.length = keep;
    this.drop(over);
    this.items = merged;
    this.size = size;
  }

  /** the consumer is gone for good: stop, and let go of what was queued for it */
  abandon() {
    this.stopped = true;
    this.items = [];
    this.size = 0;
    this.wake?.();
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
      this.drop(this.size, true);
      this.items = [];
      this.size = 0;
    }
  }
}

/** An error from FileSink.write: `done` chunks were written whole before `cause` struck. */
