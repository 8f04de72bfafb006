/**
 * The route cache stays equal to the kernel: after overruns of a deliberately small receive
 * buffer (resync), after a link goes down (implicit removals), and --dump-cache shows it. Also:
 * the two backends' live streams are identical but for timestamps, and configured generic
 * families are resolved or refused by name.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Child, delNs, ensureBinary, ensureLibnl, ip, ipBatchAsync, makeNs, type Mark, nlmonMark, nsName, run, runNlmon, sleep, startNlmon, syncMark, textOf, until,
} from "./lib.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-cache-"));
const made: string[] = [];
afterAll(() => {
  for (const ns of made) delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
}, 600_000);

/** iproute2's routes as "table dst dev" lines, the way the acceptance checks compare them */
function ipRoutes(ns: string): string[] {
  const out: string[] = [];
  for (const fam of ["-4", "-6"]) {
    const rs = JSON.parse(run(["ip", "-n", ns, "-j", fam, "route", "show", "table", "all"]).out) as Record<string, string | number>[];
    for (const r of rs) {
      const t = r.table === undefined ? 254 : r.table === "main" ? 254 : r.table === "local" ? 255 : r.table === "default" ? 253 : Number(r.table);
      let d = String(r.dst);
      if (d === "default") d = fam === "-4" ? "0.0.0.0/0" : "::/0";
      else if (!d.includes("/")) d += fam === "-4" ? "/32" : "/128";
      out.push(`${t} ${d} ${r.dev ?? "-"}`);
    }
  }
  return out.sort();
}

function cacheRoutes(file: string): string[] {
  return readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l))
    .filter((e) => e.type === "route").map((e) => `${e.netlink.route.table} ${e.netlink.route.dst} ${e.netlink.route.dev ?? "-"}`).sort();
}

/** SIGUSR1 until the cache file equals what iproute2 lists (the monitor may still be catching up) */
async function cacheMatches(mon: Child, ns: string, file: string, timeoutMs: number): Promise<{ same: boolean; mine: string[]; theirs: string[] }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    rmSync(file, { force: true });
    mon.proc.kill("SIGUSR1");
    const t = Date.now() + 5000;
    while (Date.now() < t) {
      await sleep(100);
      try { if (readFileSync(file, "utf8").endsWith("\n")) break; } catch { /* not yet written */ }
    }
    const mine = cacheRoutes(file);
    const theirs = ipRoutes(ns);
    const same = mine.length === theirs.length && mine.every((l, i) => l === theirs[i]);
    if (same || Date.now() > end) return { same, mine, theirs };
    await sleep(500);
  }
}

const r0 = (ns: string) => ipRoutes(ns).length;

function overruns(err: string[]): number {
  let n = 0;
  for (const l of err) {
    const m = /ENOBUFS #(\d+)/.exec(l);
    if (m) n = Math.max(n, Number(m[1]));
  }
  return n;
}

for (const libnl of ["true", "false"]) {
  describe(`route cache stays exact (NLMON_USE_LIBNL=${libnl})`, () => {
    test("100,000-route burst with a 4 KiB receive buffer: overruns repaired by resync", async () => {
      const ns = nsName(`cache${libnl}`);
      made.push(ns);
      await makeNs(ns);
      const cfg = join(dir, `small-${libnl}.yaml`);
      const dump = join(dir, `cache-${libnl}.json`);
      const events = join(dir, `ev-${libnl}.json`);
      writeFileSync(cfg, `netlink:\n  buffer_size: { receive: 4096 }\n  caching: { enabled: true, route_cache: true }\nexport:\n  json: { enabled: true, file: ${events}, queue_size: 1000000 }\n`);
      const mon = startNlmon({ ns, args: ["--config", cfg], env: { NLMON_USE_LIBNL: libnl, NLMON_CACHE_DUMP: dump } });
      try {
        await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000);
        const lines: string[] = [];
        for (let i = 0; i < 100_000; i++) {
          lines.push(`route add 10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 via 10.9.0.2 table ${10 + (i % 10)} proto 201`);
        }
        await ipBatchAsync(ns, lines);
        const r = await cacheMatches(mon, ns, dump, 90_000);
        expect(r.same).toBe(true);
        expect(r.theirs.length).toBeGreaterThan(100_000);
        // what the overruns hid came back as events marked resync
        if (overruns(mon.err.lines) > 0) expect(await linesIn(events, (l) => l.includes('"resync":true'), 1)).toBeGreaterThanOrEqual(1);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
      const summary = mon.err.lines.find((l) => l.includes("at exit:")) ?? "at exit: 0 receive-queue overruns, 0 resyncs";
      console.log(`NLMON_USE_LIBNL=${libnl}: 100,000-route burst with a 4 KiB buffer; ${summary.replace(/.*at exit: /, "")}; the route cache equalled ip route (${r0(ns)} routes)`);
    }, 240_000);

    test("a link going down: the routes it takes are removed as implicit events; the cache equals ip route", async () => {
      const ns = nsName(`down${libnl}`);
      made.push(ns);
      await makeNs(ns);
      const cfg = join(dir, `down-${libnl}.yaml`);
      const dump = join(dir, `down-cache-${libnl}.json`);
      const events = join(dir, `down-ev-${libnl}.json`);
      writeFileSync(cfg, `netlink:\n  caching: { enabled: true, route_cache: true }\nexport:\n  json: { enabled: true, file: ${events} }\n`);
      const mon = startNlmon({ ns, args: ["--config", cfg], env: { NLMON_USE_LIBNL: libnl, NLMON_CACHE_DUMP: dump } });
      try {
        await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000);
        const lines: string[] = [];
        for (let i = 0; i < 10_000; i++) lines.push(`route add 10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 via 10.9.0.2 table ${10 + (i % 10)} proto 201`);
        await ipBatchAsync(ns, lines);
        expect((await cacheMatches(mon, ns, dump, 30_000)).same).toBe(true);
        const before = ipRoutes(ns).length;
        ip(ns, "link", "set", "v0", "down");
        const r = await cacheMatches(mon, ns, dump, 30_000);
        expect(r.same).toBe(true);
        expect(r.theirs.length).toBeLessThan(before - 10_000);
        expect(await linesIn(events, (l) => l.includes('"implicit":true') && l.includes("RTM_DELROUTE"), 10_000)).toBeGreaterThanOrEqual(10_000);
        expect(overruns(mon.err.lines)).toBe(0);
        // and the link coming back (routes marked linkdown elsewhere recover too)
        ip(ns, "link", "set", "v0", "up");
        ip(ns, "route", "add", "10.99.0.0/24", "via", "10.9.0.2", "table", "13", "proto", "201");
        expect((await cacheMatches(mon, ns, dump, 30_000)).same).toBe(true);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
    }, 120_000);
  });
}

describe("--dump-cache", () => {
  test("prints the route cache in the --dump-events format: the same route lines", async () => {
    const ns = nsName("dumpcache");
    made.push(ns);
    await makeNs(ns);
    const cfg = join(dir, "dc.yaml");
    writeFileSync(cfg, "netlink:\n  caching: { enabled: true, route_cache: true }\n");
    const cache = runNlmon({ ns, args: ["--config", cfg, "--dump-cache"] });
    const events = runNlmon({ ns, args: ["--config", cfg, "--dump-events"] });
    expect(cache.code, cache.err).toBe(0);
    const routes = (s: string) => s.trim().split("\n").filter((l) => l.includes('"type":"route"'));
    expect(routes(cache.out).length).toBeGreaterThan(10);
    expect(routes(cache.out)).toEqual(routes(events.out));
  }, 60_000);
});

/** the number of the file's lines that satisfy pred, once there are at least `min` or 30 s have passed */
const linesIn = (file: string, pred: (l: string) => boolean, min: number) =>
  until(() => textOf(file).split("\n").filter(pred).length, (n) => n >= min, 30_000);

describe("the two backends' live streams", () => {
  test("are identical but for timestamps", async () => {
    const ns = nsName("twostreams");
    made.push(ns);
    await makeNs(ns);
    const mons = ["true", "false"].map((b) => startNlmon({ ns, env: { NLMON_USE_LIBNL: b } }));
    let mark: Mark | undefined;
    try {
      for (const m of mons) await m.err.waitLine((l) => l.includes("receive buffer"), 15_000);
      for (let t = 13; t <= 19; t++) {
        ip(ns, "route", "add", `172.30.${t}.0/24`, "via", "10.9.0.2", "table", `${t}`, "proto", "201");
        ip(ns, "route", "replace", `172.30.${t}.0/24`, "via", "10.9.0.3", "table", `${t}`, "proto", "201", "metric", "20");
      }
      ip(ns, "addr", "add", "10.9.0.7/24", "dev", "v0");
      ip(ns, "link", "set", "v1", "mtu", "1400");
      ip(ns, "neigh", "add", "10.9.0.50", "lladdr", "02:00:00:00:00:50", "dev", "v0", "nud", "permanent");
      ip(ns, "rule", "add", "from", "10.1.0.0/16", "table", "12", "pref", "1000");
      ip(ns, "route", "flush", "table", "13");
      // both have printed a mark route added last: each stream is complete up to it
      mark = await syncMark(ns, mons.map((m) => ({ lines: m.out, match: nlmonMark })), 30_000);
    } finally {
      for (const m of mons) expect(await m.stop()).toBe(0);
    }
    const strip = (ls: string[]) => ls.filter(Boolean).map((l) => { const e = JSON.parse(l); delete e.timestamp; return JSON.stringify(e); });
    const [a, b] = mons.map((m, i) => strip(m.out.lines.slice(0, mark!.at[i]! + 1)));
    expect(a!.length).toBeGreaterThan(20);
    expect(a).toEqual(b!);
  }, 60_000);
});

describe("generic netlink families", () => {
  test("a family the kernel has is resolved; one it lacks is a warning naming it, and nlmon runs on", async () => {
    const ns = nsName("genl");
    made.push(ns);
    await makeNs(ns);
    const bad = join(dir, "genl-bad.yaml");
    writeFileSync(bad, "netlink:\n  protocols: { route: true, generic: true }\n  generic_families: [nosuchfamily]\n");
    const r = startNlmon({ ns, args: ["--config", bad] });
    const warned = await r.err.waitLine((l) => l.includes("Failed to resolve family 'nosuchfamily'") && l.includes("nlctrl"), 15_000);
    expect(r.proc.exitCode).toBeNull();
    expect(await r.stop()).toBe(0);
    expect(warned).toBeGreaterThanOrEqual(0);
    const good = join(dir, "genl-good.yaml");
    writeFileSync(good, "netlink:\n  protocols: { route: true, generic: true }\n  generic_families: [nlctrl]\n");
    for (const libnl of ["true", "false"]) {
      const m = startNlmon({ ns, args: ["--config", good], env: { NLMON_USE_LIBNL: libnl } });
      const at = await m.err.waitLine((l) => l.includes("genl: families: nlctrl="), 15_000);
      expect(await m.stop()).toBe(0);
      expect(at).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);
});
