/**
 * The JSON export under load, checked with jq: 100k events through size rotation must come out as
 * whole lines only, all of them, in order; an unwritable path is counted and retried while the
 * rest of the process carries on, and written once its directory can be made. Needs jq (Debian
 * package jq); installed here if missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PipelineEvent } from "../../src/event/model.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { JsonExporter } from "../../src/export/json.ts";
import { ensureTool } from "./lib.ts";


const dir = mkdtempSync(join(tmpdir(), "nlmon-json-live-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => ensureTool("jq", "jq"), { timeout: 600_000 });

const pev = (i: number): PipelineEvent => ({
  event: {
    type: "route", protocol: 0, msg_type: 24,
    netlink: {
      protocol: 0, protocol_name: "NETLINK_ROUTE", msg_type: 24, msg_type_name: "RTM_NEWROUTE", msg_flags: 0, seq: i,
      route: {
        family: "inet", type: 1, type_name: "unicast", dst: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`, table: 254,
        table_name: "main", protocol: 4, protocol_name: "static", scope: 0, scope_name: "global", flags: [], flags_raw: 0,
        // variable length, so rotation boundaries fall everywhere within lines
        dev: "x".repeat(i % 97),
      },
    },
  },
  tsNs: BigInt(i),
  recvMono: 0,
});

function jq(args: string[], input: string) {
  const r = Bun.spawnSync(["jq", ...args], { stdin: Buffer.from(input), stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** pushes like a busy receive loop: bursts, with the event loop turning between datagrams */
async function feed(exp: JsonExporter, n: number) {
  for (let i = 0; i < n; i++) {
    const e = pev(i);
    exp.push(e, JSON.stringify(e.event));
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
}

function rotated(base: string) {
  const names = readdirSync(dir).filter((n) => n === base || n.startsWith(base + "."));
  const num = (n: string) => (n === base ? 0 : Number(n.slice(base.length + 1)));
  return names.sort((a, b) => num(b) - num(a));
}

describe("json export, live", () => {
  test("100k events, small max_size: every line parses with jq, none torn, none lost", async () => {
    const file = join(dir, "all.json");
    const m = nlmonMetrics();
    const max = 256 * 1024;
    const exp = new JsonExporter({ file, pretty: false, queue_size: 200_000, rotate: { max_size: max, keep: 1000, compress: false } }, m);
    await exp.start();
    await feed(exp, 100_000);
    await exp.close();
    expect(m.exportDropped.get({ export: "json" })).toBe(0);
    const files = rotated("all.json");
    expect(files.length).toBeGreaterThan(50);
    let text = "";
    for (const f of files) {
      const t = readFileSync(join(dir, f), "utf8");
      expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(max);
      expect(t.endsWith("\n")).toBe(true);
      text += t;
    }
    const r = jq(["-c", ".netlink.seq"], text);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const seqs = r.out.trim().split("\n").map(Number);
    expect(seqs.length).toBe(100_000);
    seqs.forEach((s, i) => expect(s).toBe(i));
  }, 120_000);

  test("keep N: exactly N rotated files remain, the newest events intact", async () => {
    const file = join(dir, "keep.json");
    const exp = new JsonExporter({ file, pretty: false, queue_size: 200_000, rotate: { max_size: 32 * 1024, keep: 3, compress: false } }, nlmonMetrics());
    await exp.start();
    await feed(exp, 20_000);
    await exp.close();
    expect(rotated("keep.json")).toEqual(["keep.json.3", "keep.json.2", "keep.json.1", "keep.json"]);
    const text = rotated("keep.json").map((f) => readFileSync(join(dir, f), "utf8")).join("");
    const r = jq(["-s", "map(.netlink.seq) | [length, first, last]"], text);
    expect(r.code).toBe(0);
    const [n, first, last] = JSON.parse(r.out) as number[];
    expect(last).toBe(19_999);
    expect(last! - first! + 1).toBe(n!);
  }, 60_000);

  test("unwritable path: reported with path and errno, counted, retried until it works; others carry on", async () => {
    const m = nlmonMetrics();
    const logs: string[] = [];
    // two levels missing: nlmon makes only the last directory itself
    const missingParent = join(dir, "later");
    const missingDir = join(missingParent, "deeper");
    const bad = new JsonExporter({ file: join(missingDir, "x.json"), pretty: false, queue_size: 1000, rotate: { max_size: 0, keep: 0, compress: false } }, m, (s) => logs.push(s));
    const goodFile = join(dir, "good.json");
    const good = new JsonExporter({ file: goodFile, pretty: false, queue_size: 1000, rotate: { max_size: 0, keep: 0, compress: false } }, m, (s) => logs.push(s), "json2");
    await bad.start();
    await good.start();
    for (let i = 0; i < 10; i++) {
      const e = pev(i), l = JSON.stringify(e.event);
      bad.push(e, l);
      good.push(e, l);
    }
    await Bun.sleep(300);
    expect(m.exportErrors.get({ export: "json" })).toBeGreaterThan(0);
    expect(m.exportErrors.get({ export: "json2" })).toBe(0);
    expect(logs.some((l) => l.includes(join(missingDir, "x.json")) && l.includes("ENOENT"))).toBe(true);
    expect(readFileSync(goodFile, "utf8").trim().split("\n").length).toBe(10);

    mkdirSync(missingParent);
    const end = Date.now() + 10_000;
    let got = "";
    while (Date.now() < end) {
      try {
        got = readFileSync(join(missingDir, "x.json"), "utf8");
        // the recovery is logged once the retried write has finished, which may be after the bytes land
        if (got.split("\n").length > 10 && logs.some((l) => l.includes("export json: recovered"))) break;
      } catch {
        // not created yet
      }
      await Bun.sleep(50);
    }
    expect(jq(["-s", "length"], got).out.trim()).toBe("10");
    expect(logs.some((l) => l.includes("export json: recovered"))).toBe(true);
    await bad.close();
    await good.close();
  }, 30_000);
});
