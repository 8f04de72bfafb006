/**
 * scripts/fuzz: seeded fuzzing of every registered family's decoders and of the replay path.
 *
 *   scripts/fuzz [--seed N] [--count M] [--family NAME]... [--json]
 *   scripts/fuzz --seed N --family NAME --only I       rebuild input I and run it alone
 *   scripts/fuzz --family NAME --hex HEX               run a crash report's bytes alone
 *
 * Same seed, count and families: the same inputs, byte for byte. Exit 1 when anything crashed.
 */
import { fuzzFamily, runOne, type Crash, type FamilyReport } from "./engine.ts";
import { fuzzFamilies, type FuzzFamily } from "./seeds.ts";

const USAGE = "usage: scripts/fuzz [--seed N] [--count M] [--family NAME]... [--only I] [--hex HEX] [--json]";
/** crash reports printed in full; the rest are counted */
const SHOW_CRASHES = 20;

interface Args { seed: number; count: number; families: string[]; only?: number; hex?: string; json: boolean }

function parse(argv: string[]): Args {
  const a: Args = { seed: 1, count: 1_000_000, families: [], json: false };
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} takes a whole number, not ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    if (f === "--seed") a.seed = num(f, argv[++i]);
    else if (f === "--count") a.count = num(f, argv[++i]);
    else if (f === "--only") a.only = num(f, argv[++i]);
    else if (f === "--family") a.families.push(...(argv[++i] ?? "").split(",").filter(Boolean));
    else if (f === "--hex") a.hex = argv[++i] ?? "";
    else if (f === "--json") a.json = true;
    else throw new Error(`unknown argument ${f}`);
  }
  return a;
}

function select(all: FuzzFamily[], names: string[]): FuzzFamily[] {
  if (!names.length) return all;
  return names.map((n) => {
    const f = all.find((x) => [x.name, String(x.protocol), `netlink_${x.name}`].includes(n.toLowerCase()));
    if (!f) throw new Error(`no family '${n}' (registered: ${all.map((x) => x.name).join(", ")})`);
    return f;
  });
}

function printCrash(c: Crash) {
  process.stdout.write(`CRASH family=${c.family} path=${c.path} seed=${c.seed} input=${c.index}\n` +
    `  ${c.error.split("\n").slice(0, 6).join("\n  ")}\n` +
    `  ${c.path === "decode" ? "datagram" : "capture"} (hex): ${c.hex}\n` +
    `  again: scripts/fuzz --seed ${c.seed} --family ${c.family} --only ${c.index}   or   --family ${c.family} --hex <the hex above>\n`);
}

const COLS: [string, (r: FamilyReport) => string | number][] = [
  ["family", (r) => r.family], ["inputs", (r) => r.inputs], ["messages", (r) => r.messages], ["events", (r) => r.events],
  ["decode_errors", (r) => r.decode_errors], ["unknown_attrs", (r) => r.unknown_attrs], ["captures", (r) => r.captures],
  ["records", (r) => r.records], ["malformed_records", (r) => r.malformed_records], ["capture_errors", (r) => r.capture_errors],
  ["replay_decode_errors", (r) => r.replay_decode_errors], ["crashes", (r) => r.crashes], ["fast_lines", (r) => r.fast_lines], ["live_lines", (r) => r.live_lines], ["max_input_ms", (r) => r.max_input_ms.toFixed(1)], ["slowest_input", (r) => r.max_input_index],
];

function table(reports: (FamilyReport & { seconds: number })[]): string {
  const rows = [[...COLS.map(([h]) => h), "seconds"], ...reports.map((r) => [...COLS.map(([, f]) => String(f(r))), r.seconds.toFixed(1)])];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join("  ")).join("\n") + "\n";
}

function main(argv: string[]): number {
  let a: Args;
  let fams: FuzzFamily[];
  try {
    a = parse(argv);
    fams = select(fuzzFamilies(), a.families);
  } catch (e) {
    process.stderr.write(`fuzz: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (a.hex !== undefined) {
    if (fams.length !== 1 || !/^([0-9a-f]{2})*$/i.test(a.hex)) {
      process.stderr.write(`fuzz: --hex takes one --family and an even number of hex digits\n${USAGE}\n`);
      return 2;
    }
    const r = runOne(fams[0]!, Uint8Array.from(Buffer.from(a.hex, "hex")));
    process.stdout.write(`decode path: ${r.decode ?? "no crash"}\nreplay path: ${r.replay ?? "no crash"}\n`);
    return r.decode || r.replay ? 1 : 0;
  }
  const count = a.only !== undefined ? 1 : a.count;
  if (!a.json) process.stdout.write(`nlmon fuzz: seed ${a.seed}, ${count} input${count === 1 ? "" : "s"} per family, families: ${fams.map((f) => f.name).join(" ")}\n`);
  const started = performance.now();
  const reports: (FamilyReport & { seconds: number })[] = [];
  let shown = 0;
  for (const f of fams) {
    const t = performance.now();
    const r = fuzzFamily(f, { seed: a.seed, count, from: a.only ?? 0, onCrash: (c) => { if (shown++ < SHOW_CRASHES) printCrash(c); } });
    reports.push({ ...r, seconds: (performance.now() - t) / 1000 });
  }
  const crashes = reports.reduce((n, r) => n + r.crashes, 0);
  const seconds = (performance.now() - started) / 1000;
  if (a.json) process.stdout.write(JSON.stringify({ seed: a.seed, count, seconds, crashes, families: reports }) + "\n");
  else {
    // which decoders the inputs reached: a family's sub-decoders (nl80211, taskstats) show here
    const reached = reports.map((r) => `${r.family}: ${Object.entries(r.event_types).sort((x, y) => y[1] - x[1]).map(([t, n]) => `${t} ${n}`).join(", ")}`).join("\n");
    process.stdout.write(table(reports) + `events by type\n${reached}\n${crashes} crash${crashes === 1 ? "" : "es"}; ${seconds.toFixed(1)} s\n`);
  }
  return crashes ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
