// The daemon's wrapper around each export (src/control/counted-export.ts): what it counts as
// written, and the order of events when a reload replaces an export that still has a backlog.
import { describe, expect, test } from "bun:test";
import { CountedExport } from "../../src/control/counted-export.ts";
import type { PipelineEvent } from "../../src/event/model.ts";
import type { Exporter, LineBlock } from "../../src/export/types.ts";
import { JsonExporter } from "../../src/export/json.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * An export that queues lines and delivers them to `sink` only when told (or when closed); an
 * eager one delivers as soon as the push returns, as a pump with nothing queued does.
 */
class SlowExport implements Exporter {
  private q: string[] = [];
  constructor(readonly name: string, private readonly sink: string[], private readonly eager = false) {}
  async start() {}
  push(_ev: PipelineEvent, line: string) {
    this.q.push(line);
    if (this.eager) queueMicrotask(() => this.deliver());
  }
  readonly pushBlock = (b: LineBlock) => {
    for (const l of new TextDecoder().decode(b.bytes).split("\n").filter(Boolean)) this.q.push(l);
    if (this.eager) queueMicrotask(() => this.deliver());
  };
  get queued() {
    return this.q.length;
  }
  deliver(n = this.q.length) {
    this.sink.push(...this.q.splice(0, n));
  }
  async close() {
    // a drain that takes a while, as a file export's does
    await new Promise((r) => setTimeout(r, 30));
    this.deliver();
  }
}

const ev = {} as PipelineEvent;
const block = (lines: string[]): LineBlock => ({ bytes: new TextEncoder().encode(lines.map((l) => l + "\n").join("")), lines: lines.length });

describe("CountedExport", () => {
  test("written: what left the queue, whether pushed one by one or as blocks", () => {
    const m = nlmonMetrics();
    const out: string[] = [];
    const inner = new SlowExport("json", out);
    const ex = new CountedExport(inner, m);
    for (let i = 0; i < 5; i++) ex.push(ev, `l${i}`);
    ex.pushBlock!(block(["b0", "b1", "b2"]));
    expect(ex.written).toBe(0);
    expect(ex.queued).toBe(8);
    inner.deliver(6);
    expect(ex.written).toBe(6);
    inner.deliver();
    expect(ex.written).toBe(8);
  });

  test("the real JSON export: queue drops are not written", async () => {
    const m = nlmonMetrics();
    const dir = mkdtempSync(join(tmpdir(), "nlm-counted-"));
    try {
      const f = join(dir, "x.json");
      const ex = new CountedExport(new JsonExporter({ file: f, pretty: false, queue_size: 10, rotate: { max_size: 0, keep: 0, compress: false } }, m, () => {}), m);
      await ex.start();
      for (let i = 0; i < 25; i++) ex.push(ev, `{"n":${i}}`);
      expect(ex.dropped).toBe(15);
      await ex.close();
      expect(readFileSync(f, "utf8").split("\n").filter(Boolean).length).toBe(10);
      expect(ex.written).toBe(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a replacement holds its events until the export it replaces has drained: one stream, in order", async () => {
    const m = nlmonMetrics();
    const out: string[] = [];
    const old = new CountedExport(new SlowExport("json", out), m);
    for (let i = 0; i < 3; i++) old.push(ev, `old${i}`);
    // the new export would write at once: only the hold keeps it behind the old one's backlog
    const nw = new CountedExport(new SlowExport("json", out, true), m);
    const replaced = nw.replace(old);
    nw.push(ev, "new0");
    nw.pushBlock!(block(["new1", "new2"]));
    expect(out).toEqual([]);
    expect(nw.queued).toBe(3);
    await replaced;
    await Promise.resolve();
    expect(out).toEqual(["old0", "old1", "old2", "new0", "new1", "new2"]);
    // the count goes on from the old export's
    expect(nw.written).toBe(6);
  });

  test("what a replacement cannot hold is dropped and counted, as a full queue would", async () => {
    const m = nlmonMetrics();
    const out: string[] = [];
    const old = new CountedExport(new SlowExport("syslog", out), m);
    const nw = new CountedExport(new SlowExport("syslog", out), m, 2);
    const replaced = nw.replace(old);
    for (let i = 0; i < 5; i++) nw.push(ev, `n${i}`);
    expect(m.exportDropped.get({ export: "syslog" })).toBe(3);
    await replaced;
    (nw.inner as SlowExport).deliver();
    expect(out).toEqual(["n0", "n1"]);
  });

  test("only the export's own paths exist: the pipeline plans by them", () => {
    const m = nlmonMetrics();
    const noBlocks: Exporter = { name: "syslog", start: async () => {}, push() {}, close: async () => {} };
    const ex = new CountedExport(noBlocks, m);
    expect(ex.pushBlock).toBeUndefined();
    expect(ex.pushRaw).toBeUndefined();
    expect(ex.written).toBeNull();
  });
});
