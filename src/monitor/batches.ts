/**
 * Batches from the backend on their way to the pipeline. They wait until the start-up dump has
 * named the devices that already existed and filled the caches; then they go through as they
 * arrive or, in pull mode, when the application calls process().
 */
import type { DatagramBatch } from "../backend/types.ts";
import type { PipelineEvent } from "../event/model.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import { GcPacer } from "./gc-pacer.ts";

export class Batches {
  /** the start-up dump is done: batches may be decoded */
  ready = false;
  private held: DatagramBatch[] = [];
  private draining = false;
  private waiters: (() => void)[] = [];
  /** events a resync found while the application was not processing (pull mode) */
  private deferred: PipelineEvent[] = [];
  private readonly gc: GcPacer;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly pull: boolean,
    private readonly stopped: () => boolean,
    trimCaches: () => void,
    afterStartup?: () => void,
  ) {
    this.gc = new GcPacer(trimCaches, afterStartup);
  }

  /** Start-up is done (modules loaded, caches primed): its garbage can go once things are quiet. */
  started(): void {
    this.gc.collectSoon(true);
  }

  /** A batch the backend delivered. */
  add(batch: DatagramBatch): void {
    this.held.push(batch);
    for (const w of this.waiters.splice(0)) w();
    if (this.ready && !this.pull) this.scheduleDrain();
  }

  /** An event a resync made: to the pipeline now, or in pull mode with the next process(). */
  emit(pe: PipelineEvent): void {
    if (this.pull) this.deferred.push(pe);
    else this.pipeline.emit(pe);
  }

  /**
   * One batch per turn of the event loop, so exports get to write between batches: a burst then
   * flows through instead of piling up as queued lines.
   */
  private scheduleDrain() {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drainStep());
  }

  private drainStep() {
    if (!this.ready || this.stopped()) {
      this.draining = false;
      return;
    }
    this.processBatches(this.held.splice(0, 1));
    if (this.held.length) setImmediate(() => this.drainStep());
    else this.draining = false;
  }

  /** Decode what has arrived. In pull mode the API calls this; otherwise it runs on arrival. */
  process(): number {
    if (!this.ready) return 0;
    const n = this.processBatches(this.held.splice(0));
    for (const pe of this.deferred.splice(0)) this.pipeline.emit(pe);
    return n;
  }

  private processBatches(batches: DatagramBatch[]): number {
    let n = 0;
    for (const b of batches) {
      const before = this.pipeline.decodedMessages;
      this.pipeline.ingestBatch(b);
      n += this.pipeline.decodedMessages - before;
    }
    if (n) this.gc.noteWork(n);
    return n;
  }

  /** Resolves when batches wait for process() (pull mode), or after timeoutMs; returns how many wait. */
  waitPending(timeoutMs: number): Promise<number> {
    if (this.held.length) return Promise.resolve(this.held.length);
    return new Promise((res) => {
      const done = () => {
        clearTimeout(t);
        res(this.held.length);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        res(this.held.length);
      }, timeoutMs);
      this.waiters.push(done);
    });
  }

  stop(): void {
    this.gc.stop();
  }
}
