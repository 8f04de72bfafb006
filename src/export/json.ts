/** NDJSON export: one event per line, to stdout or a rotated file. */
import type { PipelineEvent } from "../event/model.ts";
import { FileExport } from "./file-export.ts";
import { stderrLog, type ExportMetrics, type Logger } from "./queue.ts";

export interface JsonExportOptions {
  /** "-" = standard output */
  file: string;
  pretty: boolean;
  queue_size: number;
  rotate: { max_size: number; keep: number; compress: boolean };
}

const enc = new TextEncoder();

export class JsonExporter extends FileExport<string> {
  constructor(private readonly opts: JsonExportOptions, metrics: ExportMetrics, log: Logger = stderrLog, name = "json") {
    super(name, {
      path: opts.file,
      maxSize: opts.rotate?.max_size ?? 0,
      keep: opts.rotate?.keep ?? 0,
      compress: opts.rotate?.compress ?? false,
    }, opts.queue_size, metrics, log);
  }

  push(_ev: PipelineEvent, line: string) {
    try {
      this.pump.push(line);
    } catch {
      // push must never throw into the receive path
    }
  }

  protected async flush(lines: string[]) {
    if (!this.opts.pretty && !(this.opts.rotate?.max_size > 0)) {
      // Without rotation the sink writes a batch as one buffer anyway (and on a failure retries it
      // whole), so the lines can be joined and encoded once: per-line encoding and the copy that
      // joined the pieces were ~13% of the main thread's samples in a 100k-route burst.
      await this.sink.write([enc.encode(lines.join("\n") + "\n")]);
      return;
    }
    const chunks = new Array<Uint8Array>(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const s = lines[i]!;
      chunks[i] = enc.encode((this.opts.pretty ? indentJson(s) : s) + "\n");
    }
    await this.sink.write(chunks);
  }
}

/**
 * Compact JSON text laid out as JSON.stringify(value, null, 2) would lay it out, without parsing it
 * back into objects: a line is serialised once, and pretty output only re-spaces its text.
 * (Text that is not compact JSON comes out re-spaced but otherwise as it was.)
 */
export function indentJson(s: string): string {
  let out = "";
  let depth = 0;
  let from = 0;
  const nl = (d: number) => "\n" + "  ".repeat(d);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 /* " */) {
      // to the closing quote: a backslash escapes the next character
      for (i++; i < s.length; i++) {
        const d = s.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
      continue;
    }
    if (c === 123 /* { */ || c === 91 /* [ */) {
      const close = c === 123 ? 125 : 93;
      if (s.charCodeAt(i + 1) === close) {
        i++;
        continue;
      }
      out += s.slice(from, i + 1) + nl(++depth);
      from = i + 1;
    } else if (c === 125 || c === 93) {
      out += s.slice(from, i) + nl(--depth) + s[i];
      from = i + 1;
    } else if (c === 44 /* , */) {
      out += s.slice(from, i + 1) + nl(depth);
      from = i + 1;
    } else if (c === 58 /* : */) {
      out += s.slice(from, i + 1) + " ";
      from = i + 1;
    }
  }
  return out + s.slice(from);
}
