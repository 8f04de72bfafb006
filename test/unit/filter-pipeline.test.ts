// Named filters and per-export filters through a real Pipeline and the real exports the config
// builds: a JSON file, a pcap file and syslog over UDP to a socket of the test's, fed captured
// kernel messages. The global filter goes to the exports without their own; drop removes an event
// everywhere; log writes a line per matching event; alert filters are handed out by name.
import { afterAll, describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { Names } from "../../src/decode/names.ts";
import type { NlEvent } from "../../src/event/model.ts";
import { buildExporters } from "../../src/export/build.ts";
import { readCapture } from "../../src/export/pcap-read.ts";
import { buildFilterPlan } from "../../src/filter/plan.ts";
import { Log } from "../../src/log.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { Pipeline } from "../../src/pipeline/pipeline.ts";
import { NETLINK_ROUTE, NLMSG_DONE, OFFSETOF, RTM_NEWROUTE } from "../../src/uapi/linux.gen.ts";
import { dv, fixtureBytes } from "../fixtures/load.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-filter-pipeline-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** in order: what each fixture holds */
const FIXTURES = [
  "link-dump-lo", // lo, up
  "link-new-bridge-br0", // br0
  "route-new-v4-gw-table10-proto186", // 10.10.0.0/24, protocol 186 (bgp)
  "route-new-v4-metric50-table11-proto201", // 10.11.0.0/24, protocol 201
  "route-new-v6-gw-table19-proto186", // IPv6, protocol 186
  "neigh-new-v4-permanent", // 10.1.0.9
  "done-dump-link", // NLMSG_DONE: no event
];

function feed(p: Pipeline, names = FIXTURES) {
  names.forEach((n, i) => {
    const data = fixtureBytes(n);
    p.ingestBatch({ protocol: NETLINK_ROUTE, data, offsets: Uint32Array.of(0, data.length), stamps: BigInt64Array.of(1_700_000_000_000_000_000n + BigInt(i)), sentMono: 0 });
  });
}

/** what a line or message is, in a word: "link lo", "route 10.11.0.0/24", "done" */
function what(e: NlEvent): string {
  const b = e.netlink;
  return `${e.type} ${b.link?.ifname ?? b.route?.dst ?? b.neigh?.dst ?? ""}`.trim();
}
const linesOf = (file: string) => readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => what(JSON.parse(l) as NlEvent));

function messagesOf(file: string): string[] {
  return [...readCapture(new Uint8Array(readFileSync(file)))].map((m) => {
    const type = dv(m.message).getUint16(OFFSETOF["nlmsghdr.nlmsg_type"], true);
    return type === NLMSG_DONE ? "done" : type === RTM_NEWROUTE ? `route message ${m.message.length}` : `type ${type}`;
  });
}

/** a UDP socket standing in for a syslog collector: the JSON part of each message, in a word */
async function collector() {
  const got: string[] = [];
  const sock = createSocket("udp4");
  sock.on("message", (m) => {
    const text = m.toString();
    got.push(what(JSON.parse(text.slice(text.indexOf("{"))) as NlEvent));
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  return { got, port: sock.address().port, close: () => sock.close() };
}

/** stderr as the real Log writes it, kept while `f` runs */
async function stderrOf(f: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split("\n").filter(Boolean));
    return true;
  }) as typeof process.stderr.write;
  try {
    await f();
  } finally {
    process.stderr.write = write;
  }
  return lines;
}

async function run(yaml: string, name: string, extra?: (p: Pipeline) => void) {
  const syslog = await collector();
  const text = yaml.replaceAll("DIR", dir).replaceAll("PORT", String(syslog.port));
  const cfg = loadConfig({ path: `${name}.yaml`, text, env: {} });
  const metrics = nlmonMetrics();
  const log = new Log("info");
  const exporters = await buildExporters(cfg, metrics, log.as("export", "warn"));
  const p = new Pipeline({ names: new Names([]), metrics, exporters });
  p.applyFilters(cfg, log);
  const heard: string[] = [];
  p.onEvent((pe) => heard.push(what(pe.event)));
  extra?.(p);
  for (const ex of exporters) await ex.start();
  const logged = await stderrOf(async () => feed(p));
  for (const ex of exporters) await ex.close();
  // a datagram sent before close is delivered to the local socket; give its event a turn
  await new Promise((r) => setTimeout(r, 50));
  syslog.close();
  return { p, metrics, logged, heard, syslog: syslog.got };
}

describe("named and per-export filters, end to end through the exports", () => {
  test("each export writes what its filter passes; drop, log and alert do what they say", async () => {
    const r = await run(`
filter: 'type == link'
filters:
  daemon: { expr: 'type == route and netlink.route.protocol == 201 and netlink.route.dst in 10.0.0.0/8' }
  no_br0: { expr: 'netlink.link.ifname == br0', action: drop }
  neighbours: { expr: 'type == neigh', action: log }
  v6: { expr: 'netlink.route.family == inet6', action: alert }
export:
  json: { enabled: true, file: DIR/a.json }
  syslog: { enabled: true, transport: udp, host: 127.0.0.1, port: PORT, filter: daemon }
  pcap: { enabled: true, file: DIR/a.pcap, filter: 'type == route and netlink.route.protocol == RTPROT_BGP' }
`, "a");
    expect(linesOf(join(dir, "a.json"))).toEqual(["link lo"]);
    expect(r.syslog).toEqual(["route 10.11.0.0/24"]);
    // the capture holds the messages themselves, one record each, of the events its filter passed
    const bgpV4 = fixtureBytes("route-new-v4-gw-table10-proto186").length;
    const bgpV6 = fixtureBytes("route-new-v6-gw-table19-proto186").length;
    expect(messagesOf(join(dir, "a.pcap"))).toEqual([`route message ${bgpV4}`, `route message ${bgpV6}`]);
    // API listeners see what the global filter passes
    expect(r.heard).toEqual(["link lo"]);
    expect(r.logged.filter((l) => l.startsWith("nlmon: filter: "))).toEqual([
      expect.stringMatching(/^nlmon: filter: neighbours: \{"timestamp":"2023-11-14T22:13:20\.000000005Z","type":"neigh",.*"dst":"10\.1\.0\.9"/),
    ]);
    // br0 by the drop filter, the neighbour because nothing took it
    expect(r.metrics.filterDropped.get()).toBe(2);
    const alerts = r.p.alertFilters();
    expect([...alerts.keys()]).toEqual(["v6"]);
  });

  test("an export without a filter of its own takes the global one; the global filter runs once per event", async () => {
    let calls = 0;
    const r = await run(`
export:
  json: { enabled: true, file: DIR/b.json }
  syslog: { enabled: true, transport: udp, host: 127.0.0.1, port: PORT }
  pcap: { enabled: true, file: DIR/b.pcap }
`, "b", (p) => p.setFilter((ev) => {
      calls++;
      return ev.type === "route";
    }));
    expect(linesOf(join(dir, "b.json"))).toEqual(["route 10.10.0.0/24", "route 10.11.0.0/24", "route 2001:db8:19::/64"]);
    expect(r.syslog).toEqual(["route 10.10.0.0/24", "route 10.11.0.0/24", "route 2001:db8:19::/64"]);
    expect(messagesOf(join(dir, "b.pcap"))).toHaveLength(3);
    expect(calls).toBe(6);
  });

  test("without filters the capture keeps every datagram as received, NLMSG_DONE included", async () => {
    await run(`
export:
  json: { enabled: true, file: DIR/c.json }
  pcap: { enabled: true, file: DIR/c.pcap }
`, "c");
    expect(messagesOf(join(dir, "c.pcap"))).toContain("done");
    expect(linesOf(join(dir, "c.json"))).toEqual(["link lo", "link br0", "route 10.10.0.0/24", "route 10.11.0.0/24", "route 2001:db8:19::/64", "neigh 10.1.0.9"]);
  });

  test("a drop filter alone removes its events from every export, the capture included", async () => {
    const r = await run(`
filters:
  routes: { expr: 'type == route', action: drop }
export:
  json: { enabled: true, file: DIR/d.json }
  pcap: { enabled: true, file: DIR/d.pcap }
`, "d");
    expect(linesOf(join(dir, "d.json"))).toEqual(["link lo", "link br0", "neigh 10.1.0.9"]);
    expect(messagesOf(join(dir, "d.pcap")).filter((m) => m.startsWith("route"))).toEqual([]);
    expect(r.heard).toEqual(["link lo", "link br0", "neigh 10.1.0.9"]);
    expect(r.metrics.filterDropped.get()).toBe(3);
  });

  test("applyFilters again (a reload) replaces every filter; setFilter replaces the global one only", async () => {
    const cfg = (filter: string, own: string) => loadConfig({
      text: `filter: '${filter}'\nfilters:\n  bgp: { expr: 'netlink.route.protocol == 186' }\nexport:\n  json: { enabled: true, file: ${dir}/e.json, filter: '${own}' }\n`, env: {},
    });
    const out: string[] = [];
    const sink = { name: "json", start: async () => {}, close: async () => {}, push: (_: unknown, line: string) => out.push(what(JSON.parse(line) as NlEvent)) };
    const other = { ...sink, name: "other", push: (_: unknown, line: string) => out.push(`other: ${what(JSON.parse(line) as NlEvent)}`) };
    const p = new Pipeline({ names: new Names([]), metrics: nlmonMetrics(), exporters: [sink, other] });
    p.applyFilters(cfg("type == neigh", "bgp"));
    feed(p);
    expect(out.splice(0)).toEqual(["route 10.10.0.0/24", "route 2001:db8:19::/64", "other: neigh 10.1.0.9"]);
    p.setFilter((ev) => ev.type === "link");
    feed(p);
    expect(out.splice(0)).toEqual(["other: link lo", "other: link br0", "route 10.10.0.0/24", "route 2001:db8:19::/64"]);
    p.applyFilters(cfg("", ""));
    feed(p);
    expect(out.splice(0)).toHaveLength(12);
  });
});

describe("the plan", () => {
  test("one predicate per distinct expression, however many exports name it", () => {
    const cfg = loadConfig({
      text: `filter: 'type == link'\nfilters:\n  r: { expr: 'type == route' }\n  k: { expr: 'type == neigh', action: keep }\n`
        + `export:\n  json: { filter: r }\n  syslog: { filter: 'type == route' }\n  pcap: { filter: 'type == link' }\n`, env: {},
    });
    const plan = buildFilterPlan(cfg);
    expect(plan.tests).toHaveLength(2);
    expect(plan.exports.get("json")).toBe(plan.exports.get("syslog"));
    expect(plan.exports.get("pcap")).toBe(plan.global);
    expect([plan.drop.length, plan.log.length, plan.alert.size]).toEqual([0, 0, 0]);
  });
});
