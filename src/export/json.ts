/** NDJSON export: one event per line, to stdout or a rotated file. */
import type { PipelineEvent } from "../event/model.ts";
import { FileSink } from "./file-sink.ts";
import { ErrorReporter, errText, Pump, stderrLog, type ExportMetrics, type Logger } from "./queue.ts";
import type { Exporter } from "./types.ts";

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
