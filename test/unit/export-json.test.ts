import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { PipelineEvent } from "../../src/event/model.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { JsonExporter, type JsonExportOptions } from "../../src/export/json.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-json-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pev = (i: number): PipelineEvent => ({
  event: { type: "link", protocol: 0, msg_type: 16, netlink: { protocol: 0, protocol_name: "NETLINK_ROUTE", msg_type: 16, msg_type_name: "RTM_NEWLINK", msg_flags: 0, seq: i } },
  tsNs: BigInt(i),
  recvMono: 0,
});
const line = (i: number) => JSON.stringify(pev(i).event);
const opts = (file: string, o: Partial<JsonExportOptions> = {}): JsonExportOptions => ({
  file, pretty: false, queue_size: 100000, rotate: { max_size: 0, keep: 0, compress: false }, ...o,
});
const waitFor = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(10);
  }
};
/** process.umask() with no argument is deprecated; setting it back is how to read it */
const currentUmask = () => {
  const m = process.umask(0o022);
  process.umask(m);
  return m;
};
const seqs = (text: string) => text.split("\n").filter(Boolean).map((l) => JSON.parse(l).netlink.seq as number);

describe("json export", () => {
  test("NDJSON, one event per line, in order", async () => {
    const file = join(dir, "a.json");
    const exp = new JsonExporter(opts(file), nlmonMetrics());
    await exp.start();
    for (let i = 0; i < 1000; i++) exp.push(pev(i), line(i));
    await exp.close();
    expect(seqs(readFileSync(file, "utf8"))).toEqual([...Array(1000).keys()]);
  });

  test("pretty output is indented JSON", async () => {
    const file = join(dir, "p.json");
    const exp = new JsonExporter(opts(file, { pretty: true }), nlmonMetrics());
    await exp.start();
    exp.push(pev(1), line(1));
    await exp.close();
    const t = readFileSync(file, "utf8");
    expect(t).toContain('\n  "type": "link",\n');
    expect(JSON.parse(t).netlink.seq).toBe(1);
  });

  test("a full queue drops, counts, and logs once per burst", async () => {
    const file = join(dir, "q.json");
    const m = nlmonMetrics();
    const logs: string[] = [];
    const exp = new JsonExporter(opts(file, { queue_size: 10 }), m, (s) => logs.push(s));
    await exp.start();
    for (let i = 0; i < 1000; i++) exp.push(pev(i), line(i));
    expect(m.exportDropped.get({ export: "json" })).toBe(990);
    await waitFor(() => exp.queued === 0);
    await Bun.sleep(20);
    for (let i = 0; i < 100; i++) exp.push(pev(i), line(i));
    await exp.close();
    expect(m.exportDropped.get({ export: "json" })).toBe(990 + 90);
    expect(logs.filter((l) => l.includes("queue full")).length).toBe(2);
  });

  test("blocks of lines written as bytes keep their place among string lines, and count as their lines", async () => {
    const file = join(dir, "blocks.json");
    const m = nlmonMetrics();
    const exp = new JsonExporter(opts(file, { queue_size: 25 }), m, () => {});
    await exp.start();
    const block = (from: number, n: number) => ({
      bytes: new TextEncoder().encode(Array.from({ length: n }, (_, k) => line(from + k) + "\n").join("")),
      lines: n,
    });
    exp.push(pev(0), line(0));
    exp.pushBlock!(block(1, 10));
    exp.push(pev(11), line(11));
    exp.pushBlock!(block(12, 10));
    expect(exp.queued).toBe(22);
    // 3 more lines fit: a block of 5 keeps its first 3 whole lines, the other 2 are dropped and counted
    exp.pushBlock!(block(22, 5));
    expect(exp.queued).toBe(25);
    expect(m.exportDropped.get({ export: "json" })).toBe(2);
    // full: a block is dropped whole, a line too
    exp.pushBlock!(block(27, 4));
    exp.push(pev(31), line(31));
    expect(m.exportDropped.get({ export: "json" })).toBe(2 + 4 + 1);
    await exp.close();
    const seqs = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).netlink.seq);
    expect(seqs).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  test("a block larger than the whole queue keeps as many lines as fit", async () => {
    const file = join(dir, "big-block.json");
    const m = nlmonMetrics();
    const exp = new JsonExporter(opts(file, { queue_size: 10 }), m, () => {});
    await exp.start();
    exp.pushBlock!({ bytes: new TextEncoder().encode(Array.from({ length: 30 }, (_, k) => line(k) + "\n").join("")), lines: 30 });
    await exp.close();
    expect(m.exportDropped.get({ export: "json" })).toBe(20);
    expect(readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).netlink.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  test("pretty output takes no blocks: it re-spaces each line's text", () => {
    expect(new JsonExporter(opts(join(dir, "p.json"), { pretty: true }), nlmonMetrics()).pushBlock).toBeUndefined();
  });

  test("rotation cuts blocks of lines between lines, never inside one", async () => {
    const file = join(dir, "rb.json");
    const exp = new JsonExporter(opts(file, { rotate: { max_size: 4000, keep: 20, compress: false } }), nlmonMetrics());
    await exp.start();
    for (let i = 0; i < 300; i += 30) {
      exp.pushBlock!({ bytes: new TextEncoder().encode(Array.from({ length: 30 }, (_, k) => line(i + k) + "\n").join("")), lines: 30 });
      await Bun.sleep(1);
    }
    await exp.close();
    const names = readdirSync(dir).filter((n) => n.startsWith("rb.json"));
    expect(names.length).toBeGreaterThan(3);
    let all: number[] = [];
    for (const n of names.sort((a, b) => Number(b.split(".")[2] ?? 0) - Number(a.split(".")[2] ?? 0))) {
      const raw = readFileSync(join(dir, n));
      expect(raw.length).toBeLessThanOrEqual(4000);
      all = all.concat(seqs(raw.toString()));
    }
    expect(all).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  test("rotation keeps N compressed files of whole lines", async () => {
    const file = join(dir, "r.json");
    const exp = new JsonExporter(opts(file, { rotate: { max_size: 4000, keep: 3, compress: true } }), nlmonMetrics());
    await exp.start();
    for (let i = 0; i < 500; i++) {
      exp.push(pev(i), line(i));
      if (i % 50 === 0) await Bun.sleep(1);
    }
    await exp.close();
    const names = readdirSync(dir).filter((n) => n.startsWith("r.json")).sort();
    expect(names).toEqual(["r.json", "r.json.1.gz", "r.json.2.gz", "r.json.3.gz"]);
    let all: number[] = [];
    for (const n of ["r.json.3.gz", "r.json.2.gz", "r.json.1.gz"]) {
      const raw = gunzipSync(readFileSync(join(dir, n)));
      expect(raw.length).toBeLessThanOrEqual(4000);
      expect(raw.at(-1)).toBe(10);
      all = all.concat(seqs(raw.toString()));
    }
    all = all.concat(seqs(readFileSync(file, "utf8")));
    expect(all.at(-1)).toBe(499);
    for (let i = 1; i < all.length; i++) expect(all[i]).toBe(all[i - 1]! + 1);
  });

  test("reopen() after a move writes a fresh file at the configured path", async () => {
    const file = join(dir, "h.json");
    const exp = new JsonExporter(opts(file), nlmonMetrics());
    await exp.start();
    exp.push(pev(1), line(1));
    await waitFor(() => existsSync(file) && readFileSync(file, "utf8").length > 0);
    renameSync(file, `${file}.moved`);
    exp.reopen();
    exp.push(pev(2), line(2));
    await exp.close();
    expect(seqs(readFileSync(`${file}.moved`, "utf8"))).toEqual([1]);
    expect(seqs(readFileSync(file, "utf8"))).toEqual([2]);
  });

  test("a missing directory is made, mode 0750 less the umask, and said once", async () => {
    const logs: string[] = [];
    const sub = join(dir, "made");
    const exp = new JsonExporter(opts(join(sub, "events.json")), nlmonMetrics(), (s) => logs.push(s));
    await exp.start();
    expect(statSync(sub).mode & 0o777).toBe(0o750 & ~currentUmask());
    exp.push(pev(1), line(1));
    await waitFor(() => existsSync(join(sub, "events.json")) && readFileSync(join(sub, "events.json"), "utf8").length > 0);
    await exp.close();
    expect(seqs(readFileSync(join(sub, "events.json"), "utf8"))).toEqual([1]);
    expect(logs).toEqual([`export json: created directory ${sub}`]);
  });

  test("a full disk is reported with path and errno, counted, and does not throw", async () => {
    const m = nlmonMetrics();
    const logs: string[] = [];
    const exp = new JsonExporter(opts("/dev/full"), m, (s) => logs.push(s));
    await exp.start();
    for (let i = 0; i < 10; i++) exp.push(pev(i), line(i));
    await waitFor(() => m.exportErrors.get({ export: "json" }) > 0);
    await exp.close();
    expect(logs.some((l) => l.includes("/dev/full") && l.includes("ENOSPC"))).toBe(true);
    expect(m.exportDropped.get({ export: "json" })).toBe(10);
  });
});
