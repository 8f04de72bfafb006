/**
 * The guide's small receive buffer under a route burst, without the route cache: nlmon says once
 * per burst (not once per ENOBUFS) how many notifications the kernel dropped, that the route
 * changes among them are gone for good, and what would have kept them; nlmon_events_lost_total
 * exists at 0 from the start and then counts exactly the routes nlmon never reported. With the
 * route cache on, the same burst's losses are re-emitted instead.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKENDS, delNs, ensureBinary, ensureLibnl, ensureTool, ipBatchAsync, makeNs, nlmonMark, nsName, run, sleep, startNlmon, syncMark, tempDir } from "./lib.ts";

const dir = tempDir("overrun");
const made: string[] = [];
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
  ensureTool("curl", "curl");
}, 600_000);
afterAll(() => {
  for (const ns of made) delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});

const N = 10_000;
const PORT = 9090;

function lost(ns: string): { recovered: number; unrecovered: number } {
  const body = run(["ip", "netns", "exec", ns, "curl", "-sf", `http://127.0.0.1:${PORT}/metrics`]).out;
  const get = (kind: string) => {
    const m = new RegExp(`^nlmon_events_lost_total\\{protocol="NETLINK_ROUTE",kind="${kind}"\\} (\\d+)$`, "m").exec(body);
    if (!m) throw new Error(`no nlmon_events_lost_total{kind="${kind}"} series in:\n${body.split("\n").filter((l) => l.includes("lost")).join("\n")}`);
    return Number(m[1]);
  };
  return { recovered: get("recovered"), unrecovered: get("unrecovered") };
}

function burst(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < N; i++) lines.push(`route add 10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 via 10.9.0.2 table ${10 + (i % 10)} proto 201`);
  return lines;
}

for (const b of BACKENDS) {
  describe(`overrun burst (${b.name})`, () => {
    for (const routeCache of [false, true]) {
      test(`${N} routes into a 4 KiB receive buffer, route_cache ${routeCache}: one report, exact loss counts`, async () => {
        const ns = nsName(`ovr${b.name}${routeCache}`);
        made.push(ns);
        await makeNs(ns);
        const cfg = join(dir, `cfg-${b.name}-${routeCache}.yaml`);
        writeFileSync(cfg, `netlink:
  buffer_size: { receive: 4096 }
  caching: { enabled: true, link_cache: true, addr_cache: true, route_cache: ${routeCache} }
export:
  json: { enabled: true, file: "-", queue_size: 1000000 }
  prometheus: { enabled: true, address: 127.0.0.1, port: ${PORT} }
`);
        const mon = startNlmon({ ns, args: ["--config", cfg], env: b.env });
        let report = "";
        try {
          await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000);
          // past the start-up dump: a change made during it is part of the state nlmon starts from
          await syncMark(ns, [{ lines: mon.out, match: nlmonMark }]);
          // the series exist before anything was lost, at 0
          expect(lost(ns)).toEqual({ recovered: 0, unrecovered: 0 });
          await ipBatchAsync(ns, burst());
          const at = await mon.err.waitLine((l) => l.includes("receive queue overrun on NETLINK_ROUTE"), 30_000);
          if (at < 0) throw new Error(`no overrun report within 30 s; nlmon's stderr:\n${mon.err.lines.join("\n")}`);
          report = mon.err.lines[at]!;
          // everything before a later mark route has been through nlmon: the burst's live events too
          await syncMark(ns, [{ lines: mon.out, match: nlmonMark }], 30_000);
          // and every report of it is out: nothing new on stderr for three seconds (a burst closes
          // after a quiet second and a word from the receive thread)
          for (let n = -1; n !== mon.err.lines.length;) {
            n = mon.err.lines.length;
            await sleep(3000);
          }
          const reports = mon.err.lines.filter((l) => l.includes("receive queue overrun"));
          const enobufs = Number(/ENOBUFS #(\d+)/.exec(report)![1]);
          const droppedEach = reports.map((l) => Number(/the kernel dropped (\d+) notifications/.exec(l)![1]));
          const dropped = droppedEach.reduce((a, x) => a + x, 0);
          const routeLines = mon.out.lines.filter((l) => l.includes('"RTM_NEWROUTE"') && l.includes('"protocol":201'));
          const dstOf = (l: string) => /"dst":"([^"]+)"/.exec(l)![1]!;
          const captured = new Set(routeLines.filter((l) => !l.includes('"resync":true')).map(dstOf));
          const resynced = routeLines.filter((l) => l.includes('"resync":true')).map(dstOf);
          const m = lost(ns);
          console.log(`${b.name}, route_cache ${routeCache}: ${captured.size}/${N} routes reported live, ${resynced.length} re-emitted, ${enobufs} ENOBUFS, ${reports.length} report(s) (dropped ${droppedEach.join(" + ")}); metric ${JSON.stringify(m)}\n  ${reports.join("\n  ")}`);
          // one line for the burst, however many ENOBUFS it raised (usually dozens); a receive
          // thread starved for over a second by a loaded machine sees two bursts, and says so
          expect(enobufs).toBeGreaterThanOrEqual(1);
          expect(reports.length).toBeGreaterThanOrEqual(1);
          expect(reports.length).toBeLessThanOrEqual(2);
          expect(m.recovered + m.unrecovered).toBe(dropped);
          // the burst held only route notifications: what the kernel dropped is what nlmon never reported live
          expect(dropped).toBe(N - captured.size);
          expect(report).toContain("above 4096 bytes");
          if (!routeCache) {
            expect(m).toEqual({ recovered: 0, unrecovered: N - captured.size });
            expect(resynced).toEqual([]);
            expect(report).toContain(`Lost for good: ${droppedEach[0]} notifications (route,`);
            expect(report).toContain("netlink.caching.route_cache: true would have repaired the routes");
          } else {
            // every dropped route came back from a re-dump, drops after the last ENOBUFS included,
            // and only those: each route once, live or re-emitted
            expect(m).toEqual({ recovered: dropped, unrecovered: 0 });
            expect(new Set(resynced).size).toBe(resynced.length);
            expect(resynced.filter((d) => captured.has(d))).toEqual([]);
            expect(captured.size + resynced.length).toBe(N);
            expect(report).toContain(`Re-dumped link, addr, route: ${droppedEach[0]} missed changes were re-emitted`);
            expect(report).toContain("Nothing is lost for good");
          }
        } finally {
          expect(await mon.stop()).toBe(0);
        }
      }, 120_000);
    }
  });
}
