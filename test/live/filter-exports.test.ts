/**
 * Named filters and per-export filters in dist/nlmon, live in a namespace: one monitor writes every
 * event to a JSON file and only the routes of protocol 201 to a pcap (which `--replay` then reads
 * back), drops a device's events everywhere (action drop) and logs big-MTU links (action log).
 * A filter setting that names no filter and is no expression stops nlmon with exit status 2.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { NlEvent } from "../../src/event/model.ts";
import { delNs, ensureBinary, ip, makeNs, nsName, runNlmon, sleep, startNlmon, tempDir, writeConfig } from "./lib.ts";

let dir = "";
const ns = nsName("filtexp");

beforeAll(async () => {
  ensureBinary();
  dir = tempDir("filter-exports");
  await makeNs(ns);
}, 600_000);

afterAll(() => {
  delNs(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function events(file: string): NlEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as NlEvent);
}

async function until(f: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (f()) return true;
    await sleep(50);
  }
  return f();
}

const routeOf = (e: NlEvent) => `${e.netlink.msg_type_name} ${e.netlink.route?.dst} ${e.netlink.route?.protocol}`;

describe("dist/nlmon with named and per-export filters", () => {
  test("everything to JSON, protocol 201's routes to a pcap; drop and log act on their events", async () => {
    const all = join(dir, "all.json");
    const pcap = join(dir, "daemon.pcap");
    const cfg = writeConfig(dir, "exports.yaml", `
netlink: { use_libnl: false }
filters:
  daemon:
    expr: 'type == route and netlink.route.protocol == 201 and netlink.route.dst in 172.29.0.0/16'
    description: the routing daemon's routes
  no_v1:
    expr: 'netlink.link.ifname == v1'
    action: drop
  big_mtu:
    expr: 'type == link and netlink.link.mtu > 9000'
    action: log
export:
  json: { enabled: true, file: ${all} }
  pcap: { enabled: true, file: ${pcap}, filter: daemon }
`);
    const child = startNlmon({ ns, args: ["--config", cfg] });
    try {
      expect(await child.err.waitLine((l) => l.includes("receive buffer"), 20_000)).toBeGreaterThanOrEqual(0);
      ip(ns, "route", "add", "172.29.1.0/24", "via", "10.9.0.2", "table", "15", "proto", "201");
      ip(ns, "route", "add", "172.29.2.0/24", "via", "10.9.0.2", "table", "15", "proto", "static");
      ip(ns, "route", "add", "172.30.3.0/24", "via", "10.9.0.2", "table", "15", "proto", "201");
      ip(ns, "link", "set", "v1", "mtu", "9100");
      ip(ns, "link", "set", "v0", "mtu", "9200");
      ip(ns, "route", "add", "172.29.4.0/24", "via", "10.9.0.2", "table", "16", "proto", "201");
      // events leave in order: once the last is in the file, everything before it is too
      expect(await until(() => events(all).some((e) => e.netlink.route?.dst === "172.29.4.0/24"), 15_000)).toBe(true);
    } finally {
      expect(await child.stop()).toBe(0);
    }

    const written = events(all);
    expect(written.filter((e) => e.type === "route").map(routeOf)).toEqual([
      "RTM_NEWROUTE 172.29.1.0/24 201", "RTM_NEWROUTE 172.29.2.0/24 4", "RTM_NEWROUTE 172.30.3.0/24 201", "RTM_NEWROUTE 172.29.4.0/24 201",
    ]);
    // v1's change was dropped everywhere; v0's went out, and was logged
    expect(written.filter((e) => e.netlink.link?.ifname === "v1")).toEqual([]);
    const v0 = written.filter((e) => e.netlink.link?.ifname === "v0" && e.netlink.link.mtu === 9200);
    expect(v0.length).toBeGreaterThanOrEqual(1);
    const logged = child.err.lines.filter((l) => l.startsWith("nlmon: filter: "));
    expect(logged.length).toBe(v0.length);
    for (const [i, l] of logged.entries()) expect(l).toBe(`nlmon: filter: big_mtu: ${JSON.stringify(v0[i])}`);

    // the capture holds the daemon's routes alone, after the state nlmon started from (which
    // replays as snapshot events, so devices have names)
    const replayCfg = writeConfig(dir, "replay.yaml", `export:\n  json: { enabled: true, file: ${join(dir, "replayed.json")} }\n`);
    const r = runNlmon({ args: ["--config", replayCfg, "--replay", pcap] });
    expect(r.code, r.err).toBe(0);
    const replayed = events(join(dir, "replayed.json"));
    expect(replayed.filter((e) => !e.snapshot).map(routeOf)).toEqual(["RTM_NEWROUTE 172.29.1.0/24 201", "RTM_NEWROUTE 172.29.4.0/24 201"]);
    expect(replayed.filter((e) => !e.snapshot).map((e) => e.netlink.route?.dev)).toEqual(["v0", "v0"]);
    expect(new Set(replayed.filter((e) => e.snapshot).map((e) => e.type))).toEqual(new Set(["link", "addr"]));
  }, 60_000);

  test("an export filter naming no filter is a located config error, exit status 2", () => {
    const f = writeConfig(dir, "bad.yaml", "filters:\n  daemon: { expr: 'netlink.route.protocol == 201' }\nexport:\n  pcap: { file: /tmp/x.pcap, filter: deamon }\n");
    const r = runNlmon({ args: ["--config", f, "--dump-events"] });
    expect(r.code).toBe(2);
    expect(r.err).toBe(`nlmon: config error:\n${f}:4:38: export.pcap.filter: 'deamon' is neither a named filter (did you mean 'daemon'?) nor an expression (a test needs an operator: FIELD == VALUE)\n`);
    expect(r.out).toBe("");
  });
});
