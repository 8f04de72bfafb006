/**
 * Prototype measurement (issue 11): the route message's attributes decoded three ways over the
 * same 10,000 BGP-like routes: the table interpreter nlmon had (decodeAttrs with a callback walk),
 * the compiled attribute set written as a TypeScript table, and the same set read from YNL-shaped
 * YAML. Run: node_modules/.bin/bun bench/prototype/attrsets.ts
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Bench } from "tinybench";
import { AttrWriter } from "../../src/codec/attr.ts";
import { compileSet } from "../../src/decode/compile.ts";
import { BasicContext } from "../../src/decode/context.ts";
import { Names } from "../../src/decode/names.ts";
import { ROUTE_ATTRS } from "../../src/families/route/route.ts";
import { type AttrKind, decodeAttrs, knownTable } from "./interpreter.ts";
import { AF_INET, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY, RTA_TABLE, SIZEOF } from "../../src/uapi/linux.gen.ts";
import { loadYnlSet } from "./ynl.ts";

const routes: DataView[] = [];
for (let i = 0; i < 10000; i++) {
  const a = new AttrWriter()
    .u32(RTA_TABLE, 10 + (i % 10))
    .bytes(RTA_DST, Uint8Array.of(172, 16 + (i >> 16), (i >> 8) & 255, i & 255))
    .u32(RTA_PRIORITY, 100)
    .bytes(RTA_GATEWAY, Uint8Array.of(10, 9, 0, 2))
    .u32(RTA_OIF, 3)
    .finish();
  const m = new Uint8Array(SIZEOF.rtmsg + a.length);
  m[0] = AF_INET;
  m.set(a, SIZEOF.rtmsg);
  routes.push(new DataView(m.buffer));
}

// the interpreter's rows, from the same definitions (addresses were its "addr" kind)
const rows = Object.entries(ROUTE_ATTRS.attrs).filter(([, d]) => d.type !== "unused").map(([n, d]) =>
  [Number(n), d.name, (d.display === "ip" ? "addr" : d.type === "nest" ? "nested" : d.type) as AttrKind, d.parse ? { parse: d.parse } : {}] as const);
const oldTable = knownTable("rta", rows);
const parsers = Object.fromEntries(Object.values(ROUTE_ATTRS.attrs).filter((d) => d.parse).map((d) => [d.name, d.parse]));
const yamlSet = loadYnlSet(readFileSync(join(import.meta.dir, "rt-route.yaml"), "utf8"), "route",
  { metrics: parsers.metrics, multipath: parsers.nexthops, via: parsers.via });
const fromTs = compileSet(ROUTE_ATTRS);
const fromYaml = compileSet(yamlSet);

const ctx = new BasicContext(new Names());
let sink = 0;
const H = SIZEOF.rtmsg;
const bench = new Bench({ time: 1000 });
bench
  .add("interpreter (decodeAttrs)", () => { for (const dv of routes) sink += Object.keys(decodeAttrs(dv, H, dv.byteLength, oldTable, ctx, "route")).length; })
  .add("compiled, TypeScript table", () => { for (const dv of routes) sink += Object.keys(fromTs(dv, H, dv.byteLength, ctx)).length; })
  .add("compiled, YNL-shaped YAML", () => { for (const dv of routes) sink += Object.keys(fromYaml(dv, H, dv.byteLength, ctx)).length; });
await bench.run();
for (const t of bench.tasks) {
  const r = t.result as { latency?: { mean: number }; mean?: number } | undefined;
  const ms = r?.latency?.mean ?? r?.mean ?? NaN;
  console.log(`${t.name.padEnd(30)} ${(ms * 1e6 / routes.length).toFixed(1).padStart(7)} ns/route`);
}
if (sink < 0) console.log(sink);
