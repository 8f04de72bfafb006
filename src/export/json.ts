/** NDJSON export: one event per line, to stdout or a rotated file. */
import type { PipelineEvent } from "../event/model.ts";
import { FileExport } from "./file-export.ts";
import { stderrLog, type ExportMetrics, type Logger } from "./queue.ts";
import type { LineBlock } from "./types.ts";
import { PartialWriteError } from "./file-sink.ts";

export interface JsonExportOptions {
  /** "-" = standard output */
  file: string;
  pretty: boolean;
  queue_size: number;
  rotate: { max_size: number; keep: number; compress: boolean };
}

const enc = new TextEncoder();

const weigh = (item: string | LineBlock) => (typeof item === "string" ? 1 : item.lines);

/** where the first n lines of a block end */
function lineEnd(b: Uint8Array, n: number): number {
  let at = 0;
  for (let i = 0; i < n; i++) at = b.indexOf(10, at) + 1;
  return at;
}

export class JsonExporter extends FileExport<string | LineBlock> {
  /** compact lines only: pretty output re-spaces each line's text */
  readonly pushBlock?: (block: LineBlock) => void;

  constructor(private readonly opts: JsonExportOptions, metrics: ExportMetrics, log: Logger = stderrLog, name = "json") {
    super(name, {
      path: opts.file,
      maxSize: opts.rotate?.max_size ?? 0,
      keep: opts.rotate?.keep ?? 0,
      compress: opts.rotate?.compress ?? false,
    }, opts.queue_size, metrics, log, weigh);
    if (!opts.pretty) {
      this.pushBlock = (block) => {
        try {
          // as many whole lines as the queue has room for: the rest is dropped and counted, as
          // single lines would have been
          const room = this.pump.capacity - this.pump.length;
          if (block.lines <= room || room <= 0) this.pump.push(block);
          else {
            const cut = lineEnd(block.bytes, room);
            this.pump.push({ bytes: block.bytes.subarray(0, cut), lines: room });
            this.pump.drop(block.lines - room);
          }
        } catch {
          // as push
        }
      };
    }
  }

  push(_ev: PipelineEvent, line: string) {
    try {
      this.pump.push(line);
    } catch {
      // push must never throw into the receive path
    }
  }

  protected async flush(items: (string | LineBlock)[]) {
    if (!this.opts.pretty && !(this.opts.rotate?.max_size > 0)) {
      // Without rotation the sink writes a batch as one buffer anyway (and on a failure retries it
      // whole), so a run of lines can be joined and encoded once: per-line encoding and the copy
      // that joined the pieces were ~13% of the main thread's samples in a 100k-route burst.
      const chunks: Uint8Array[] = [];
      let run: string[] = [];
      for (const it of items) {
        if (typeof it === "string") {
          run.push(it);
          continue;
        }
        if (run.length) chunks.push(enc.encode(run.join("\n") + "\n"));
        run = [];
        chunks.push(it.bytes);
      }
      if (run.length) chunks.push(enc.encode(run.join("\n") + "\n"));
      await this.sink.write(chunks);
      return;
    }
    // one chunk per line: the sink rotates between chunks and never tears one
    const chunks: Uint8Array[] = [];
    /** the item each chunk came from */
    const owner: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const s = items[i]!;
      if (typeof s === "string") {
        chunks.push(enc.encode((this.opts.pretty ? indentJson(s) : s) + "\n"));
        owner.push(i);
        continue;
      }
      for (let from = 0; from < s.bytes.length;) {
        const nl = s.bytes.indexOf(10, from);
        const to = nl < 0 ? s.bytes.length : nl + 1;
        chunks.push(s.bytes.subarray(from, to));
        owner.push(i);
        from = to;
      }
    }
    try {
      await this.sink.write(chunks);
    } catch (e) {
      if (e instanceof PartialWriteError && e.done < chunks.length) throw partly(e, items, chunks, owner);
      throw e;
    }
  }
}

/**
 * The failed write as the queue counts: `done` items went out whole. A block cut short keeps only
 * its lines not written, so the retry neither loses nor repeats a line.
 */
function partly(e: PartialWriteError, items: (string | LineBlock)[], chunks: Uint8Array[], owner: number[]): Error {
  const i = owner[e.done]!;
  const it = items[i]!;
  const first = owner.indexOf(i);
  if (typeof it !== "string" && e.done > first) {
    let written = 0;
    for (let c = first; c < e.done; c++) written += chunks[c]!.length;
    // a new item in the batch the queue puts back: the block itself is shared with other exports
    items[i] = { bytes: it.bytes.subarray(written), lines: it.lines - (e.done - first) };
  }
  return Object.assign(new Error(e.message, { cause: e.cause }), { done: i });
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
