// Every example in docs/ALERT_SYSTEM.md and every shipped rule in docs/examples/ is a config nlmon
// loads, and fires (or does not) as the text says.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { checkAutomation, startAutomation } from "../../src/automation/index.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { NlmonConfig } from "../../src/config/types.ts";
import type { AlertBody, NlEvent } from "../../src/event/model.ts";
import { conntrackEvent, config, dgramListener, linkEvent, memLog, pipeline, routeEvent, until } from "./hooks-helpers.ts";

const ROOT = resolve(import.meta.dir, "../..");
const DOC = readFileSync(join(ROOT, "docs/ALERT_SYSTEM.md"), "utf8");
const HOOKS_DOC = readFileSync(join(ROOT, "docs/EVENT_HOOKS.md"), "utf8");
const EXAMPLES = join(ROOT, "docs/examples");
const dir = mkdtempSync(join(tmpdir(), "nlmon-alerts-docs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const yamlBlocks = (md: string) => [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** feed events to a config's rules; the alerts that came out, and what the log said */
async function run(cfg: NlmonConfig, events: NlEvent[], opts: { syslogPath?: string } = {}) {
  const { p, emit, metrics, seen } = pipeline();
  const { log, lines } = memLog();
  const a = startAutomation(cfg, p, log, metrics, { syslogPath: opts.syslogPath ?? join(dir, "no-syslog.sock") });
  for (const e of events) emit(e);
  await Bun.sleep(0);
  const alerts = seen.filter((e) => e.type === "alert").map((e) => e.netlink.alert!);
  return { alerts, lines, metrics, a, p, emit, seen };
}

const times = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));

describe("docs/ALERT_SYSTEM.md", () => {
  const blocks = yamlBlocks(DOC);

  test("every YAML example loads and its rules can run", () => {
    expect(blocks.length).toBe(3);
    for (const b of blocks) expect(checkAutomation(config(b))).toEqual([]);
  });

  test("the first example: six link-down events on one interface fire for that interface; the JSON shown is what it makes", async () => {
    const cfg = config(blocks[0]!);
    const r = await run(cfg, [...times(5, () => linkEvent("eth0", false)), ...times(5, () => linkEvent("eth1", false))]);
    expect(r.alerts).toEqual([]);
    r.emit(linkEvent("eth1", false));
    await Bun.sleep(0);
    const ev = r.seen[r.seen.length - 1]!;
    const shown = JSON.parse(/```json\n([\s\S]*?)```/.exec(DOC)![1]!) as NlEvent;
    // the same event but for the times
    const clean = (e: NlEvent) => ({ ...e, timestamp: "", netlink: { ...e.netlink, alert: { ...e.netlink.alert!, since: "" } } });
    expect(clean(ev)).toEqual(clean(shown));
    // the default action: the log, at error for a critical alert
    expect(r.lines).toContain(`error: alerts: ${shown.netlink.alert!.summary}`);
    await r.a.stop();
  });

  test("the actions example: log, syslog, webhook and exec all get the alert", async () => {
    const posts: string[] = [];
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, async fetch(req) { posts.push(await req.text()); return new Response("ok"); } });
    const sock = join(dir, "actions.sock");
    const rx = dgramListener(sock);
    const text = blocks[1]!.replace("http://alertmanager.example:9095/nlmon", `http://127.0.0.1:${server.port}/nlmon`).replaceAll("/var/log/nlmon", dir);
    const cfg = config(text);
    expect(cfg.alerts[0]!.actions.map((x) => x.type)).toEqual(["log", "syslog", "webhook", "exec"]);
    const churn = times(100, (i) => routeEvent(i % 2 ? "del" : "new", `10.${i}.0.0/16`, { table: 10, protocol: 201 }));
    const r = await run(cfg, [...churn.slice(0, 99), routeEvent("new", "10.200.0.0/16", { table: 11, protocol: 201 })], { syslogPath: sock });
    expect(r.alerts).toEqual([]);
    r.emit(churn[99]!);
    await Bun.sleep(0);
    const fired = r.seen.filter((e) => e.type === "alert").map((e) => e.netlink.alert!);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ name: "vrf10_route_churn", state: "firing", severity: "warning", count: 100 });
    await until(() => posts.length, (n) => n >= 1, 3000);
    const file = join(dir, "alerts.jsonl");
    await until(() => { try { return readFileSync(file, "utf8"); } catch { return ""; } }, (t) => t.endsWith("\n"), 3000);
    expect(r.lines).toContain(`warn: alerts: ${fired[0]!.summary}`);
    expect(rx.drain()).toEqual([expect.stringMatching(/^<28>1 .* nlmon \d+ alert - \{.*"name":"vrf10_route_churn"/)]);
    expect((JSON.parse(posts[0]!) as NlEvent).netlink.alert).toEqual(fired[0]!);
    expect((JSON.parse(readFileSync(file, "utf8")) as NlEvent).netlink.alert).toEqual(fired[0]!);
    await r.a.stop();
    server.stop(true);
    rx.close();
  });

  test("the logging example loads as it reads", () => {
    const cfg = config(blocks[2]!);
    expect(cfg.logging).toEqual({ level: "info", target: "syslog", modules: { alerts: "debug", hooks: "debug", libnl: "debug" } });
  });

  test("the error shown for a webhook without url is the one nlmon prints", () => {
    const line = /^nlmon: (alerts\[.*)$/m.exec(DOC)![1]!;
    const c = config(`
alerts:
  - {name: first, when: type == link}
  - name: vrf10_route_churn
    when: type == route
    actions: [{type: log}, {type: syslog}, {type: webhook}]
`);
    expect(checkAutomation(c)).toEqual([line]);
  });

  test("the settings table gives the schema's defaults", () => {
    const c = config(`alerts:\n  - {name: d, when: type == link}\n`).alerts[0]!;
    const row = (key: string) => new RegExp(`^\\| \`${key}\` \\| ([^|]+) \\|`, "m").exec(DOC)![1]!.trim();
    expect(Number(row("threshold"))).toBe(c.threshold);
    expect(Number(row("window_s"))).toBe(c.window_s);
    expect(row("severity")).toBe(c.severity);
    expect(Number(row("resolve_after_s"))).toBe(c.resolve_after_s);
    expect(Number(row("min_interval_s"))).toBe(c.min_interval_s);
    expect(Number(row("timeout_ms"))).toBe(c.actions[0]!.timeout_ms);
    expect(Number(row("retries"))).toBe(c.actions[0]!.retries);
  });
});

describe("docs/examples", () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml")).sort();
  const load = (f: string) => loadConfig({ path: join(EXAMPLES, f) });

  test("each file loads as a config whose hooks and rules can run, and the docs name every file", () => {
    expect(files).toEqual(["alert-conntrack-growth.yaml", "alert-implicit-route-removal.yaml", "alert-link-flap.yaml", "alert-route-churn.yaml", "hooks-failover.yaml"]);
    for (const f of files) {
      expect(checkAutomation(load(f))).toEqual([]);
      expect(DOC.includes(`(examples/${f})`) || HOOKS_DOC.includes(`(examples/${f})`)).toBe(true);
    }
  });

  test("alert-link-flap: more than 5 link-down events on the same ifname within 60 s", async () => {
    const cfg = load("alert-link-flap.yaml");
    const lowerDown = (name: string) => {
      const e = linkEvent(name, true);
      e.netlink.link!.operstate = "LOWERLAYERDOWN";
      return e;
    };
    const dellink = linkEvent("eth0", false);
    dellink.netlink.msg_type_name = "RTM_DELLINK";
    // ups, a removal and other interfaces do not count
    const r = await run(cfg, [
      ...times(3, () => linkEvent("eth0", false)), ...times(3, () => linkEvent("eth0", true)), dellink,
      ...times(5, () => linkEvent("eth1", false)), lowerDown("eth0"), linkEvent("eth0", false),
    ]);
    expect(r.alerts).toEqual([]);
    r.emit(lowerDown("eth0"));
    await Bun.sleep(0);
    const fired = r.seen.filter((e) => e.type === "alert").map((e) => e.netlink.alert!);
    expect(fired.map((a) => [a.name, a.group, a.severity, a.count])).toEqual([["link_flap", "eth0", "critical", 6]]);
    // its syslog action has nowhere to go here: counted, and the rule goes on
    expect(r.metrics.alertActionFailures.get({ alert: "link_flap", action: "syslog" })).toBe(1);
    await r.a.stop();
  });

  test("alert-route-churn: 100 RTM_NEWROUTE/RTM_DELROUTE of protocol 201 in table 10 within 10 s", async () => {
    const cfg = load("alert-route-churn.yaml");
    const r = await run(cfg, [
      ...times(99, (i) => routeEvent(i % 3 ? "new" : "del", `10.${i}.0.0/16`, { table: 10, protocol: 201 })),
      ...times(10, (i) => routeEvent("new", `10.${i}.0.0/16`, { table: 11, protocol: 201 })),
      ...times(10, (i) => routeEvent("new", `10.${i}.0.0/16`, { table: 10, protocol: 186 })),
    ]);
    expect(r.alerts).toEqual([]);
    r.emit(routeEvent("del", "10.1.0.0/16", { table: 10, protocol: 201 }));
    await Bun.sleep(0);
    expect(r.seen.filter((e) => e.type === "alert").map((e) => e.netlink.alert!.name)).toEqual(["vrf10_route_churn"]);
    await r.a.stop();
  });

  test("alert-implicit-route-removal: protocol 201 routes gone without RTM_DELROUTE, per table; the route cache is on", async () => {
    const cfg = load("alert-implicit-route-removal.yaml");
    expect(cfg.netlink.caching.route_cache).toBe(true);
    const r = await run(cfg, [
      routeEvent("del", "172.20.10.0/24", { table: 10, protocol: 201 }),
      routeEvent("del", "172.21.10.0/24", { table: 10, protocol: 186, implicit: true }),
    ]);
    expect(r.alerts).toEqual([]);
    r.emit(routeEvent("del", "172.20.10.0/24", { table: 10, protocol: 201, implicit: true }));
    r.emit(routeEvent("del", "172.20.11.0/24", { table: 11, protocol: 201, implicit: true }));
    await Bun.sleep(0);
    const fired = r.seen.filter((e) => e.type === "alert").map((e) => e.netlink.alert!) as AlertBody[];
    expect(fired.map((a) => [a.name, a.group, a.severity])).toEqual([
      ["proto201_routes_vanished", "10", "critical"], ["proto201_routes_vanished", "11", "critical"],
    ]);
    await r.a.stop();
  });

  test("alert-conntrack-growth: 1000 new conntrack entries within 10 s; netfilter is on", async () => {
    const cfg = load("alert-conntrack-growth.yaml");
    expect(cfg.netlink.protocols.netfilter).toBe(true);
    expect(cfg.netlink.netfilter.conntrack).toBe(true);
    const r = await run(cfg, [
      ...times(999, (i) => conntrackEvent("new", `10.0.${i >> 8}.${i & 255}`, 40000 + i)),
      ...times(50, (i) => conntrackEvent(i % 2 ? "update" : "destroy", "10.0.0.1", 40000 + i)),
    ]);
    expect(r.alerts).toEqual([]);
    r.emit(conntrackEvent("new", "10.9.9.9", 50000));
    await Bun.sleep(0);
    expect(r.seen.filter((e) => e.type === "alert").map((e) => [e.netlink.alert!.name, e.netlink.alert!.count])).toEqual([["conntrack_growth", 1000]]);
    await r.a.stop();
  });
});
