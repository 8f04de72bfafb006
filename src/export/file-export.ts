/**
 * The shell the file exports (JSON, pcap) share: a bounded queue feeding a rotating file, an open
 * that never fails the monitor, reopen for logrotate, a bounded drain at shutdown, and an end when
 * standard output's reader goes away.
 */
import type { PipelineEvent } from "../event/model.ts";
import { FileSink, ReaderGoneError, type FileSinkOptions } from "./file-sink.ts";
import { ErrorReporter, errText, Pump, type ExportMetrics, type Logger } from "./queue.ts";
import type { Exporter } from "./types.ts";

export abstract class FileExport<T> implements Exporter {
  protected readonly sink: FileSink;
  protected readonly pump: Pump<T>;
  protected readonly errors: ErrorReporter;
  private leave!: () => void;
  /** resolves when standard output's reader has gone (`nlmon | head -1`); never for a file */
  readonly readerGone = new Promise<void>((r) => (this.leave = r));

  constructor(readonly name: string, sink: Omit<FileSinkOptions, "log">, queueSize: number, metrics: ExportMetrics, log: Logger,
    weigh?: (item: T) => number) {
    this.errors = new ErrorReporter(name, metrics, log);
    this.sink = new FileSink({ ...sink, log: (m) => log(`export ${name}: ${m}`) });
    this.pump = new Pump<T>(queueSize, name, metrics, log, this.errors, (b) => this.deliver(b), undefined, weigh);
  }

  private async deliver(items: T[]) {
    try {
      await this.flush(items);
    } catch (e) {
      if (!(e instanceof ReaderGoneError)) throw e;
      // what was queued has no reader left; the caller decides whether nlmon goes on (build.ts)
      this.pump.abandon();
      this.leave();
    }
  }

  /** write one batch of queued items; throwing makes the pump retry it */
  protected abstract flush(items: T[]): Promise<void>;

  abstract push(ev: PipelineEvent, line: string): void;

  async start() {
    try {
      await this.sink.open();
    } catch (e) {
      // the monitor runs on without this export; the pump retries the open with every batch
      this.errors.error(`cannot open ${this.sink.path}: ${errText(e)} (will retry)`);
    }
  }

  reopen() {
    this.sink.reopen();
    this.pump.kick();
  }

  /** items still queued */
  get queued() {
    return this.pump.length;
  }

  async close() {
    await this.pump.drain(5000);
    await this.sink.close();
  }
}
