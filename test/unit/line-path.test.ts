/**
 * Live lines written straight from messages (pipeline/line-path.ts) against the object path: every
 * captured NETLINK_ROUTE message through two pipelines, one whose export takes lines as bytes and
 * one whose export takes only strings. What reaches the export must be the same bytes in the same
 * order, with the same counters, and the line path must actually take the routes (or a burst would
 * quietly go the slow way). Anything that needs an event's object turns the path off for it.
 */
import { describe, expect, test } from "bun:test";
import type { DatagramBatch } from "../../src/backend/types.ts";
import { Names } from "../../src/decode/names.ts";
import type { EventType } from "../../src/event/model.ts";
import type { Exporter, LineBlock } from "../../src/export/types.ts";
import { renderRegistry } from "../../src/export/prometheus.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { Pipeline, type PipelineOptions } from "../../src/pipeline/pipeline.ts";
import { NETLINK_ROUTE } from "../../src/uapi/linux.gen.ts";
import { fixtureBytes, fixtureNames } from "../fixtures/load.ts";

const enc = new TextEncoder();

class Collect implements Exporter {
  readonly name = "collect";
  chunks: Uint8Array[] = [];
  strings = 0;
  blocks = 0;
  blockLines = 0;
  pushBlock?: (b: LineBlock) => void;
  constructor(takesBlocks: boolean) {
    if (takesBlocks) {
      this.pushBlock = (b) => {
        this.blocks++;
        this.blockLines += b.lines;
        this.chunks.push(b.bytes.slice());
      };
    }
  }
  async start() {}
  async close() {}
  push(_: unknown, line: string) {
    this.strings++;
    this.chunks.push(enc.encode(line + "\n"));
  }
  text() {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/** every fixture as one datagram, batched eight at a time, receive times crossing second boundaries */
function batches(): DatagramBatch[] {
  const out: DatagramBatch[] = [];
  const names = fixtureNames();
  let t = 1_795_912_948_999_999_000n;
  for (let i = 0; i < names.length; i += 8) {
    const parts = names.slice(i, i + 8).map(fixtureBytes);
    const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    const offsets = new Uint32Array(parts.length + 1);
    const stamps = new BigInt64Array(parts.length);
    parts.forEach((p, k) => {
      data.set(p, offsets[k]!);
      offsets[k + 1] = offsets[k]! + p.length;
      stamps[k] = t;
      t += 333_333_337n;
    });
    out.push({ protocol: NETLINK_ROUTE, data, offsets, stamps, sentMono: 0 });
  }
  return out;
}

function run(takesBlocks: boolean, o: Partial<PipelineOptions> = {}, setup?: (p: Pipeline) => void) {
  const ex = new Collect(takesBlocks);
  const metrics = nlmonMetrics();
  const p = new Pipeline({ names: new Names(), metrics, exporters: [ex], ...o });
  setup?.(p);
  for (const b of batches()) p.ingestBatch(b);
  return { ex, p, metrics };
}

const routeLines = (text: string) => text.split("\n").filter((l) => l.includes('"type":"route"')).length;

describe("the line path", () => {
  test("writes what the object path writes, byte for byte, and counts the same", () => {
    const slow = run(false);
    const fast = run(true);
    // the captured routes include multipath, metrics and encapsulation, which go the object way
    expect(fast.ex.blockLines).toBeGreaterThanOrEqual(routeLines(slow.ex.text()) / 2);
    expect(fast.ex.text()).toBe(slow.ex.text());
    expect(fast.ex.blockLines + fast.ex.strings).toBe(slow.ex.strings);
    expect(fast.p.decodedMessages).toBe(slow.p.decodedMessages);
    expect(fast.p.ctx.counts).toEqual(slow.p.ctx.counts);
    // every series but the latency histogram, which times the run
    const series = (m: ReturnType<typeof nlmonMetrics>) => renderRegistry(m.registry).filter((l) => !l.includes("latency")).join("\n");
    expect(series(fast.metrics)).toBe(series(slow.metrics));
    // live lines carry the receive time, seq and pid
    const route = fast.ex.text().split("\n").find((l) => l.includes('"RTM_NEWROUTE"'))!;
    const ev = JSON.parse(route);
    expect(ev.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(typeof ev.netlink.seq).toBe("number");
    expect(typeof ev.netlink.pid).toBe("number");
  });

  test("deterministic pipelines (replay) write the same lines without time, seq or pid", () => {
    const slow = run(false, { deterministic: true });
    const fast = run(true, { deterministic: true });
    expect(fast.ex.blockLines).toBeGreaterThanOrEqual(routeLines(slow.ex.text()) / 2);
    expect(fast.ex.text()).toBe(slow.ex.text());
    expect(fast.ex.text()).not.toContain('"timestamp"');
  });

  test("routes whose trails all differ (past the writer's bound on kept pieces) still come out right", () => {
    // RTM_NEWROUTE: table, destination, gateway, device, and a metric of its own each
    const msg = (i: number) => {
      const b = new Uint8Array(16 + 12 + 8 * 5);
      const d = new DataView(b.buffer);
      d.setUint32(0, b.length, true);
      d.setUint16(4, 24, true);
      d.setUint16(6, 0x600, true);
      b[16] = 2; b[17] = 32; b[20] = 252; b[21] = 201; b[23] = 1;
      let o = 28;
      const attr = (t: number, f: (p: number) => void) => {
        d.setUint16(o, 8, true);
        d.setUint16(o + 2, t, true);
        f(o + 4);
        o += 8;
      };
      attr(15, (p) => d.setUint32(p, 10 + (i % 10), true));
      attr(1, (p) => d.setUint32(p, 0x0a400000 + i, false));
      attr(5, (p) => d.setUint32(p, 0x0a090002, false));
      attr(4, (p) => d.setUint32(p, 1 + (i % 7), true));
      attr(6, (p) => d.setUint32(p, i, true));
      return b;
    };
    const feed = (takesBlocks: boolean) => {
      const ex = new Collect(takesBlocks);
      const p = new Pipeline({ names: new Names(), metrics: nlmonMetrics(), exporters: [ex] });
      for (let k = 1; k <= 7; k++) p.ctx.setIfname(k, k === 3 ? `dev-${k}` : `eth${k}`);
      for (let i = 0; i < 9000; i++) {
        const data = msg(i);
        // a device renamed now and then
        if (i % 2000 === 1999) p.ctx.setIfname(3, `renamed-${i}`);
        p.ingestBatch({ protocol: NETLINK_ROUTE, data, offsets: Uint32Array.of(0, data.length), stamps: BigInt64Array.of(BigInt(i) * 1_000_003n), sentMono: 0 });
      }
      return ex;
    };
    const fast = feed(true);
    expect(fast.blockLines).toBe(9000);
    expect(fast.text()).toBe(feed(false).text());
  });

  test("is off for an event type an observer looks at, and entirely with a filter or an API listener", () => {
    const seen: EventType[] = [];
    const observed = run(true, {}, (p) => p.observe((pe) => seen.push(pe.event.type), (t) => t === "route"));
    expect(seen).toContain("route");
    expect(observed.ex.text()).toBe(run(false).ex.text());
    expect(run(true, { filter: () => true }).ex.blockLines).toBe(0);
    expect(run(true, {}, (p) => p.onEvent(() => {})).ex.blockLines).toBe(0);
    // an observer that names no types sees everything
    expect(run(true, {}, (p) => p.observe(() => {})).ex.blockLines).toBe(0);
  });
});
