/**
 * Alerts in the real daemon (dist/nlmon), watching a network namespace (netlink.namespace) from the
 * host's, so that its webhook reaches a Bun.serve in this test on 127.0.0.1 and its syslog action a
 * socket this test binds: the shipped link-flap rule against real link flaps, the shipped
 * implicit-removal rule against routes the kernel drops without a word, resolution, Prometheus'
 * view of it, and a reload that removes a rule.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { AlertBody, NlEvent } from "../../src/event/model.ts";
import { loadConfig } from "../../src/config/load.ts";
import { parseFilter } from "../../src/filter/expr.ts";
import { dgramListener } from "../unit/hooks-helpers.ts";
import { delNs, ensureBinary, EventStream, ip, must, nlmonMark, nsName, ROOT, sleep, startNlmon, syncMark, tempDir, writeConfig } from "./lib.ts";

let dir = "";
const ns = nsName("alerts");

beforeAll(() => {
  ensureBinary();
  dir = tempDir("alerts");
  must(["ip", "netns", "add", ns]);
  ip(ns, "link", "set", "lo", "up");
  ip(ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
  ip(ns, "link", "set", "v1", "up");
  ip(ns, "link", "set", "v0", "up");
}, 600_000);

afterAll(() => {
  delNs(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const shipped = (f: string) => readFileSync(join(ROOT, "docs/examples", f), "utf8");
const isAlert = (name: string, state: string, group?: string) => (e: NlEvent) =>
  e.type === "alert" && e.netlink.alert?.name === name && e.netlink.alert.state === state && (group === undefined || e.netlink.alert.group === group);

function webhookReceiver() {
  const bodies: string[] = [];
  let first = true;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      bodies.push(await req.text());
      // the first delivery fails once: nlmon must try again
      if (first) {
        first = false;
        return new Response("busy", { status: 503 });
      }
      return new Response("ok");
    },
  });
  return { bodies, url: `http://127.0.0.1:${server.port}/alert`, stop: () => server.stop(true) };
}

async function until<T>(get: () => T, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (ok(v) || Date.now() > end) return v;
    await sleep(50);
  }
}

describe("dist/nlmon raises alerts", () => {
  test("docs/examples/alert-link-flap.yaml on real flaps: quiet at five, fires at six; log, syslog, webhook, stream, metrics", async () => {
    const hook = webhookReceiver();
    const sock = join(dir, "syslog.sock");
    const rx = dgramListener(sock);
    const port = 19000 + (process.pid % 1000);
    // the shipped rule, with a webhook beside its actions, watched from the host's namespace
    const rule = shipped("alert-link-flap.yaml").replace("      - type: syslog\n", `      - type: syslog\n      - type: webhook\n        url: ${hook.url}\n`);
    expect(rule).toContain(hook.url);
    const f = writeConfig(dir, "flap.yaml", `${rule}
netlink:
  namespace: ${ns}
control: {enabled: false}
export:
  prometheus: {enabled: true, address: 127.0.0.1, port: ${port}}
`);
    const child = startNlmon({ args: ["--config", f], env: { NLMON_LOG_SOCKET: sock } });
    const s = new EventStream(child);
    try {
      await syncMark(ns, [{ lines: child.out, match: nlmonMark }], 20_000);
      const from = s.cursor();
      // the rule's own condition: a veth that goes down and up again can report more than one
      // down state per flap (admin down, then up before its carrier), and each is a counted event
      const when = parseFilter(loadConfig({ text: rule }).alerts[0]!.when);
      const counted = () => s.since(from, (e) => when(e) && e.netlink.link?.ifname === "v0");
      for (let i = 0; i < 10 && s.since(from, isAlert("link_flap", "firing", "v0")).length === 0; i++) {
        ip(ns, "link", "set", "v0", "down");
        ip(ns, "link", "set", "v0", "up");
        await sleep(300);
      }
      const ev = await s.waitFor("link_flap firing for v0", isAlert("link_flap", "firing", "v0"), from, 5000);
      const a = ev.netlink.alert as AlertBody;
      expect(a).toMatchObject({ severity: "critical", group_by: "netlink.link.ifname", group: "v0", count: 6, threshold: 6, window_s: 60 });
      // quiet through the fifth counted event, fired right after the sixth
      const at = s.events.indexOf(ev);
      const downs = counted().map((e) => s.events.indexOf(e));
      expect(downs.length).toBeGreaterThanOrEqual(6);
      expect(downs[5]!).toBeLessThan(at);
      expect(downs[6] ?? Infinity).toBeGreaterThan(at);
      expect(s.since(from, (e) => e.type === "alert" && e.netlink.alert?.group === "v0")).toEqual([ev]);
      // log (stderr: critical is an error), syslog, webhook (after one 503)
      expect(await child.err.waitLine((l) => l === `nlmon: error: alerts: ${a.summary}`, 5000)).toBeGreaterThanOrEqual(0);
      const dgrams = await until(() => rx.drain(), (d) => d.length > 0, 5000);
      expect(dgrams[0]).toMatch(/^<26>1 \S+ \S+ nlmon \d+ alert - \{/);
      expect((JSON.parse(dgrams[0]!.slice(dgrams[0]!.indexOf(" - ") + 3)) as NlEvent).netlink.alert).toEqual(a);
      await until(() => hook.bodies.length, (n) => n >= 2, 5000);
      expect(hook.bodies.map((b) => (JSON.parse(b) as NlEvent).netlink.alert)).toEqual([a, a]);
      expect(hook.bodies[1]).toBe(child.out.lines[at]);
      // Prometheus: the gauge, the counters
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('nlmon_alerts_active{alert="link_flap",severity="critical"} ');
      expect(Number(/nlmon_alerts_active\{alert="link_flap",severity="critical"\} (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(1);
      expect(metrics).toContain('nlmon_alert_notifications_total{alert="link_flap",state="firing"} ');
      expect(metrics).toContain('nlmon_alert_action_failures_total{alert="link_flap",action="webhook"} 0');
    } finally {
      await child.stop();
      hook.stop();
      rx.close();
    }
  }, 90_000);

  test("docs/examples/alert-implicit-route-removal.yaml: a link goes down, its protocol 201 routes vanish without RTM_DELROUTE, the alert fires", async () => {
    ip(ns, "link", "set", "v0", "up");
    ip(ns, "addr", "add", "10.66.0.1/24", "dev", "v0");
    const f = writeConfig(dir, "implicit.yaml", `${shipped("alert-implicit-route-removal.yaml").replace("    route_cache: true\n", `    route_cache: true\n  namespace: ${ns}\n`)}
control: {enabled: false}
`);
    // the shipped file's netlink: section takes the namespace too
    expect(readFileSync(f, "utf8")).toContain(`    route_cache: true\n  namespace: ${ns}\n`);
    const child = startNlmon({ args: ["--config", f] });
    const s = new EventStream(child);
    try {
      await syncMark(ns, [{ lines: child.out, match: nlmonMark }], 20_000);
      ip(ns, "route", "add", "172.30.10.0/24", "via", "10.66.0.2", "table", "10", "proto", "201");
      ip(ns, "route", "add", "172.30.11.0/24", "via", "10.66.0.2", "table", "10", "proto", "static");
      const from = s.cursor();
      await s.waitFor("the routes added", (e) => e.netlink.route?.dst === "172.30.11.0/24", 0, 5000);
      ip(ns, "link", "set", "v0", "down");
      const gone = await s.waitFor("the implicit removal", (e) => e.implicit === true && e.netlink.route?.dst === "172.30.10.0/24", from, 10_000);
      expect(gone.netlink.msg_type_name).toBe("RTM_DELROUTE");
      const ev = await s.waitFor("proto201_routes_vanished", isAlert("proto201_routes_vanished", "firing", "10"), from, 5000);
      expect(s.events.indexOf(ev)).toBeGreaterThan(s.events.indexOf(gone));
      expect(ev.netlink.alert).toMatchObject({ severity: "critical", count: 1 });
      // the static route went too, implicitly, and did not count
      await s.waitFor("the static route's implicit removal", (e) => e.implicit === true && e.netlink.route?.dst === "172.30.11.0/24", from, 5000);
      await sleep(200);
      expect(s.since(from, (e) => e.type === "alert")).toHaveLength(1);
    } finally {
      await child.stop();
      ip(ns, "link", "set", "v0", "up");
    }
  }, 90_000);

  test("resolution after resolve_after_s, and a reload that removes a rule resolves its alert", async () => {
    const rules = (both: boolean) => `
netlink:
  namespace: ${ns}
control: {enabled: false}
alerts:
  - name: quick
    when: type == route && netlink.route.table == 20
    resolve_after_s: 1
${both ? `  - name: kept_active
    when: type == route && netlink.route.table == 21
    resolve_after_s: 600
` : ""}`;
    const f = writeConfig(dir, "resolve.yaml", rules(true));
    const child = startNlmon({ args: ["--config", f] });
    const s = new EventStream(child);
    try {
      await syncMark(ns, [{ lines: child.out, match: nlmonMark }], 20_000);
      const from = s.cursor();
      ip(ns, "route", "add", "blackhole", "172.30.20.0/24", "table", "20");
      ip(ns, "route", "add", "blackhole", "172.30.21.0/24", "table", "21");
      const fired = await s.waitFor("quick firing", isAlert("quick", "firing"), from, 5000);
      await s.waitFor("kept_active firing", isAlert("kept_active", "firing"), from, 5000);
      const resolved = await s.waitFor("quick resolved", isAlert("quick", "resolved"), from, 5000);
      const dt = Date.parse(resolved.timestamp!) - Date.parse(fired.timestamp!);
      expect(dt).toBeGreaterThanOrEqual(950);
      // resolve_after_s is 1: resolved by the quiet-period timer, however late a loaded machine runs it
      expect(dt).toBeLessThan(10_000);
      // a reload without kept_active: its alert resolves, so no receiver keeps it forever
      writeConfig(dir, "resolve.yaml", rules(false));
      const before = s.cursor();
      child.proc.kill("SIGHUP");
      await s.waitFor("kept_active resolved by the reload", isAlert("kept_active", "resolved"), before, 10_000);
    } finally {
      await child.stop();
    }
  }, 90_000);
});
