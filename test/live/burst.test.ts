/**
 * Bursts at `ip -batch` speed while nlmon runs: 100,000 route adds across tables 10-19 with a
 * 64 MiB receive buffer, with `ip monitor route` listening too for comparison (its counts are
 * reported, not asserted: iproute2 makes no promise under a burst); and 10,000 with the embedded
 * default config. nlmon must capture every route: distinct (table, dst) of RTM_NEWROUTE proto 201.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import {
  type Child, delNs, ensureBinary, ensureLibnl, ipBatchAsync, ipMonMark, makeNs, nlmonMark, nsName, startIpMonitor, startNlmon, syncMark,
  tempDir, writeConfig,
} from "./lib.ts";

const nsBig = nsName("burst100k");
const nsDefault = nsName("burst10k");
let dir = "";
const children: Child[] = [];

beforeAll(async () => {
  ensureBinary();
  ensureLibnl();
  dir = tempDir("burst");
  await makeNs(nsBig);
  await makeNs(nsDefault);
}, 600_000);

afterAll(async () => {
  try {
    await Promise.all(children.map((c) => c.stop()));
  } finally {
    delNs(nsBig);
    delNs(nsDefault);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

/** n route adds, /32s under 10.<base>+.x.y, table 10 + i % 10, proto 201; the "table dst" keys expected */
function burst(n: number, base: number): { cmds: string[]; keys: Set<string> } {
  const cmds: string[] = [];
  const keys = new Set<string>();
  for (let i = 0; i < n; i++) {
    const dst = `10.${base + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const t = 10 + (i % 10);
    cmds.push(`route add ${dst}/32 via 10.9.0.2 table ${t} proto 201`);
    keys.add(`${t} ${dst}/32`);
  }
  return { cmds, keys };
}

/** distinct "table dst" of nlmon's RTM_NEWROUTE proto 201 events in tables 10-19 */
function nlmonCaptured(lines: string[]): Set<string> {
  const got = new Set<string>();
  for (const l of lines) {
    if (!l.includes('"RTM_NEWROUTE"')) continue;
    const e = JSON.parse(l) as { netlink: { route?: { protocol: number; table: number; dst: string } } };
    const r = e.netlink.route;
    if (r && r.protocol === 201 && r.table >= 10 && r.table <= 19) got.add(`${r.table} ${r.dst}`);
  }
  return got;
}

/** the same from `ip -o monitor route` lines ("10.100.0.1 via 10.9.0.2 dev v0 table 11 proto 201") */
function ipMonCaptured(lines: string[]): Set<string> {
  const got = new Set<string>();
  for (const l of lines) {
    const m = /^(?:\[ROUTE\])?(\d+\.\d+\.\d+\.\d+) via \S+ dev \S+ table (\d+) proto 201\b/.exec(l);
    if (m && Number(m[2]) >= 10 && Number(m[2]) <= 19) got.add(`${m[2]} ${m[1]}/32`);
  }
  return got;
}

const countIn = (got: Set<string>, want: Set<string>) => [...want].filter((k) => got.has(k)).length;

describe("route bursts", () => {
  test("100,000 route adds with a 64 MiB receive buffer: nlmon captures all of them", async () => {
    const cfg = writeConfig(dir, "big.yaml", [
      "netlink:",
      "  use_libnl: ${NLMON_USE_LIBNL:-true}",
      "  buffer_size:",
      "    receive: 67108864",
      "",
    ].join("\n"));
    const { cmds, keys } = burst(100_000, 100);
    const nl = startNlmon({ ns: nsBig, args: ["--config", cfg] });
    const mon = startIpMonitor(nsBig, ["route"], ["-o"]);
    children.push(nl, mon);
    await syncMark(nsBig, [{ lines: nl.out, match: nlmonMark }, { lines: mon.out, match: ipMonMark }]);
    expect(nl.err.lines.join("\n")).toContain("receive buffer 67108864 bytes");

    const t0 = performance.now();
    await ipBatchAsync(nsBig, cmds);
    const batchMs = performance.now() - t0;
    // a mark after the burst: once nlmon prints it, it has printed everything before it
    const nlEnd = await syncMark(nsBig, [{ lines: nl.out, match: nlmonMark }], 90_000);
    const nlMs = performance.now() - t0;
    // ip monitor may lag or have lost its place; give it a moment to reach the mark
    const monEnd = await mon.out.waitLine((l) => ipMonMark(l, nlEnd.dst), 10_000);
    await Promise.all([nl.stop(), mon.stop()]);

    const mine = countIn(nlmonCaptured(nl.out.lines), keys);
    const theirs = countIn(ipMonCaptured(mon.out.lines), keys);
    const overruns = nl.err.lines.filter((l) => l.includes("overrun")).length;
    const ipErrors = mon.err.lines.filter((l) => l.trim()).length;
    console.log(`burst 100k (ip -n NS -batch, 100000 x "route add 10.X.Y.Z/32 via 10.9.0.2 table 10..19 proto 201"): ` +
      `batch took ${Math.round(batchMs)} ms, nlmon had printed all by ${Math.round(nlMs)} ms; ` +
      `nlmon captured ${mine}/100000 (${overruns} overrun warnings), ip monitor route captured ${theirs}/100000` +
      `${monEnd < 0 ? " (never reached the end mark)" : ""} (${ipErrors} stderr lines${ipErrors ? `: ${mon.err.lines.find((l) => l.trim())}` : ""})`);
    const notes = nl.err.lines.filter((l) => l.trim() && !l.includes("receive buffer"));
    if (notes.length) console.log(`nlmon stderr:\n  ${notes.slice(0, 20).join("\n  ")}`);
    expect(overruns).toBe(0);
    expect(mine).toBe(100_000);
  }, 110_000);

  test("10,000 route adds with the embedded default config (no --config): captured whole", async () => {
    const { cmds, keys } = burst(10_000, 200);
    const nl = startNlmon({ ns: nsDefault });
    children.push(nl);
    await syncMark(nsDefault, [{ lines: nl.out, match: nlmonMark }]);
    expect(nl.err.lines.join("\n")).toContain("receive buffer 33554432 bytes");
    await ipBatchAsync(nsDefault, cmds);
    await syncMark(nsDefault, [{ lines: nl.out, match: nlmonMark }], 60_000);
    expect(await nl.stop()).toBe(0);
    const mine = countIn(nlmonCaptured(nl.out.lines), keys);
    console.log(`burst 10k, embedded config: nlmon captured ${mine}/10000`);
    const notes = nl.err.lines.filter((l) => l.trim() && !l.includes("receive buffer"));
    if (notes.length) console.log(`nlmon stderr:\n  ${notes.slice(0, 20).join("\n  ")}`);
    expect(nl.err.lines.filter((l) => l.includes("overrun"))).toEqual([]);
    expect(mine).toBe(10_000);
  }, 60_000);
});
