/**
 * The overrun report's arithmetic and wording, fed as the monitor feeds it (ENOBUFS, the kernel's
 * drop counter once drained, events a re-dump made). test/live/overrun-report.test.ts does it
 * against the kernel.
 */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import type { NlEvent } from "../../src/event/model.ts";
import type { Log } from "../../src/log.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { rtnlGroups } from "../../src/monitor/groups.ts";
import { OverrunReports } from "../../src/monitor/overrun-report.ts";
import { cacheKinds } from "../../src/monitor/monitor.ts";
import { NETLINK_GENERIC, NETLINK_ROUTE } from "../../src/uapi/linux.gen.ts";

function setup(yaml: string) {
  const cfg = loadConfig({ text: yaml, env: {} });
  const metrics = nlmonMetrics();
  const lines: string[] = [];
  const log = { warn: (_m: string, t: string) => lines.push(t) } as unknown as Log;
  const r = new OverrunReports({ cfg, log, metrics, cached: cacheKinds(cfg), routeGroups: rtnlGroups(cfg).names, resyncIdle: () => true });
  const lost = (p = "NETLINK_ROUTE") => ({
    recovered: metrics.eventsLost.get({ protocol: p, kind: "recovered" }),
    unrecovered: metrics.eventsLost.get({ protocol: p, kind: "unrecovered" }),
  });
  return { r, lines, lost, metrics };
}
const resyncEvent = { type: "route", protocol: NETLINK_ROUTE, resync: true } as unknown as NlEvent;

describe("overrun report", () => {
  test("series exist at 0 for each protocol opened", () => {
    const { r, metrics } = setup("netlink: {protocols: {generic: true}}\n");
    r.open([NETLINK_ROUTE, NETLINK_GENERIC]);
    const series = [...metrics.eventsLost.series.values()].map((s) => `${s.labels.protocol} ${s.labels.kind} ${s.value}`);
    expect(series.sort()).toEqual([
      "NETLINK_GENERIC recovered 0", "NETLINK_GENERIC unrecovered 0", "NETLINK_ROUTE recovered 0", "NETLINK_ROUTE unrecovered 0",
    ]);
  });

  test("one line for a burst of many ENOBUFS: the kernel's count, what came back, what is gone, what would have helped", () => {
    const { r, lines, lost } = setup("netlink: {buffer_size: {receive: 32768}}\n");
    r.open([NETLINK_ROUTE]);
    for (let i = 1; i <= 7; i++) r.overrun(NETLINK_ROUTE, i);
    r.drops(NETLINK_ROUTE, 500);
    for (let i = 0; i < 20; i++) r.observe(resyncEvent);
    r.flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("(ENOBUFS #7, 7 in this burst");
    expect(lines[0]).toContain("the kernel dropped 500 notifications");
    expect(lines[0]).toContain('Re-dumped link, addr: 20 missed changes were re-emitted marked "resync"');
    expect(lines[0]).toContain("Lost for good: 480 notifications (route, neigh, rule, nexthop, netconf, nsid, prefix changes");
    expect(lines[0]).toContain("netlink.caching.route_cache: true would have repaired the routes");
    expect(lines[0]).toContain("above 32768 bytes would have kept them all");
    expect(lost()).toEqual({ recovered: 20, unrecovered: 480 });
  });

  test("the next burst counts only its own drops; a new socket's counter starts again", () => {
    const { r, lost } = setup("netlink: {}\n");
    r.overrun(NETLINK_ROUTE, 1);
    r.drops(NETLINK_ROUTE, 100);
    r.flush();
    r.overrun(NETLINK_ROUTE, 2);
    r.drops(NETLINK_ROUTE, 130);
    r.flush();
    expect(lost().unrecovered).toBe(130);
    // after a reconnect the kernel's counter is a new socket's
    r.overrun(NETLINK_ROUTE, 1);
    r.drops(NETLINK_ROUTE, 5);
    r.flush();
    expect(lost().unrecovered).toBe(135);
    // and when the monitor says the sockets were replaced, even a larger count is the new socket's own
    r.socketsReplaced();
    r.overrun(NETLINK_ROUTE, 1);
    r.drops(NETLINK_ROUTE, 50);
    r.flush();
    expect(lost().unrecovered).toBe(185);
  });

  test("without the kernel's counter: at least one per ENOBUFS, said as such", () => {
    const { r, lines, lost } = setup("netlink: {}\n");
    r.overrun(NETLINK_ROUTE, 1);
    r.overrun(NETLINK_ROUTE, 2);
    r.drops(NETLINK_ROUTE, undefined);
    r.flush();
    expect(lines[0]).toContain("the kernel dropped at least 2 notifications");
    expect(lost().unrecovered).toBe(2);
  });

  test("caches off: the report names the caches to enable", () => {
    const { r, lines } = setup("netlink: {caching: {enabled: false}}\n");
    r.overrun(NETLINK_ROUTE, 1);
    r.drops(NETLINK_ROUTE, 3);
    r.flush();
    expect(lines[0]).not.toContain("Re-dumped");
    expect(lines[0]).toContain("Lost for good: 3 notifications (link, addr, route,");
    expect(lines[0]).toContain("netlink.caching.enabled: true with netlink.caching.link_cache: true, netlink.caching.addr_cache: true, netlink.caching.route_cache: true would have repaired the links, addresses, routes");
  });

  test("everything re-emitted: nothing lost for good, the buffer would have avoided the overrun", () => {
    const { r, lines, lost } = setup("netlink: {caching: {route_cache: true}}\n");
    r.overrun(NETLINK_ROUTE, 1);
    r.drops(NETLINK_ROUTE, 4);
    for (let i = 0; i < 4; i++) r.observe(resyncEvent);
    r.flush();
    expect(lines[0]).toContain("Nothing is lost for good");
    expect(lines[0]).toContain("would have avoided the overrun");
    expect(lost()).toEqual({ recovered: 4, unrecovered: 0 });
  });
});
