// Every example in docs/EVENT_HOOKS.md is a config nlmon loads, and does what the text says.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { checkAutomation, startAutomation } from "../../src/automation/index.ts";
import type { NlmonConfig } from "../../src/config/types.ts";
import { serialise } from "../../src/event/line.ts";
import type { NlEvent } from "../../src/event/model.ts";
import { parseFilter } from "../../src/filter/expr.ts";
import { config, linkEvent, memLog, pipeline, routeEvent, until } from "./hooks-helpers.ts";

const ROOT = resolve(import.meta.dir, "../..");
const DOC = readFileSync(join(ROOT, "docs/EVENT_HOOKS.md"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "nlmon-hooks-docs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

export function yamlBlocks(md: string): string[] {
  return [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** the doc's block, with its log directory pointed at the test's */
const blocks = yamlBlocks(DOC).map((b) => b.replaceAll("/var/log/nlmon", dir));
const cfgs = blocks.map((b) => config(b));
const hookNamed = (name: string): NlmonConfig => {
  const c = cfgs.find((x) => x.hooks.some((h) => h.name === name));
  if (!c) throw new Error(`docs/EVENT_HOOKS.md has no example hook ${name}`);
  return c;
};

async function fire(cfg: NlmonConfig, events: NlEvent[], hook: string, runs: number) {
  const { p, emit, metrics } = pipeline();
  const a = startAutomation(cfg, p, memLog().log, metrics);
  for (const e of events) emit(e);
  const done = () => ["ok", "failed", "timeout"].reduce((n, r) => n + metrics.hookRuns.get({ hook, result: r }), 0);
  await until(done, (v) => v >= runs, 5000);
  await Bun.sleep(100);
  const result = { ok: metrics.hookRuns.get({ hook, result: "ok" }), all: done() };
  await a.stop();
  return result;
}

describe("docs/EVENT_HOOKS.md", () => {
  test("every YAML example loads and its hooks can run", () => {
    expect(blocks.length).toBe(4);
    for (const c of cfgs) expect(checkAutomation(c)).toEqual([]);
  });

  test("every example hook has its behaviour checked below", () => {
    const names = cfgs.flatMap((c) => c.hooks.map((h) => h.name)).sort();
    expect(names).toEqual(["critical_alerts", "failover_to_wan1", "link_down_log", "vrf10_routes"]);
  });

  test("link_down_log: tee appends each link-down event's line, nothing else", async () => {
    const down = linkEvent("eth0", false);
    const r = await fire(hookNamed("link_down_log"), [linkEvent("eth0", true), down, routeEvent("new", "10.0.0.0/8")], "link_down_log", 1);
    expect(r).toEqual({ ok: 1, all: 1 });
    expect(readFileSync(join(dir, "link-down.jsonl"), "utf8")).toBe(serialise(down) + "\n");
  });

  test("vrf10_routes: the BGP daemon's table 10 routes, one line each from the environment", async () => {
    const evs = [
      routeEvent("new", "172.20.10.0/24", { table: 10, protocol: 201 }),
      routeEvent("new", "172.20.11.0/24", { table: 11, protocol: 201 }),
      routeEvent("new", "172.21.10.0/24", { table: 10, protocol: 186 }),
    ];
    const r = await fire(hookNamed("vrf10_routes"), evs, "vrf10_routes", 1);
    expect(r).toEqual({ ok: 1, all: 1 });
    expect(readFileSync(join(dir, "vrf10.log"), "utf8")).toBe("RTM_NEWROUTE 172.20.10.0/24 via 10.9.0.2\n");
  });

  test("failover_to_wan1: its condition takes wan0 going down only (test/live/hooks.test.ts runs it on real links)", () => {
    const h = hookNamed("failover_to_wan1").hooks[0]!;
    const when = parseFilter(h.when);
    expect(when(linkEvent("wan0", false))).toBe(true);
    expect(when(linkEvent("wan0", true))).toBe(false);
    expect(when(linkEvent("wan1", false))).toBe(false);
    expect(h).toMatchObject({ command: ["ip", "link", "set", "dev", "wan1", "up"], max_concurrent: 1, rate_limit: 0.2, timeout_ms: 3000 });
    // the shipped file is the same hook
    const shipped = config(readFileSync(join(ROOT, "docs/examples/hooks-failover.yaml"), "utf8"));
    expect(shipped.hooks).toEqual([h]);
  });

  test("critical_alerts: a firing critical alert's event is kept; warnings and resolutions are not", async () => {
    const c = hookNamed("critical_alerts");
    const rules = config(`
alerts:
  - {name: crit, when: type == link && netlink.link.ifname == eth0, severity: critical, resolve_after_s: 0.2}
  - {name: warn, when: type == link && netlink.link.ifname == eth1, severity: warning, resolve_after_s: 0.2}
`);
    c.alerts = rules.alerts;
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(c, p, memLog().log, metrics);
    emit(linkEvent("eth1", false));
    emit(linkEvent("eth0", false));
    // both resolve, and the hook has had its chance at every alert event
    await until(() => metrics.alertNotifications.get({ alert: "crit", state: "resolved" }) + metrics.alertNotifications.get({ alert: "warn", state: "resolved" }), (v) => v >= 2, 3000);
    await Bun.sleep(200);
    expect(metrics.hookRuns.get({ hook: "critical_alerts", result: "ok" })).toBe(1);
    await a.stop();
    const kept = readFileSync(join(dir, "critical-alerts.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as NlEvent);
    expect(kept.map((e) => e.netlink.alert && [e.netlink.alert.name, e.netlink.alert.state])).toEqual([["crit", "firing"]]);
  });

  test("the error shown for a command not found is the one nlmon prints", () => {
    const line = /^nlmon: (hooks\[.*)$/m.exec(DOC)![1]!;
    const c = config(`
hooks:
  - {name: a, when: type == link, command: ["true"]}
  - {name: b, when: type == link, command: ["true"]}
  - {name: failover, when: type == link, command: ["ip-up-wan1"]}
`);
    expect(checkAutomation(c)).toEqual([line]);
  });

  test("the settings table gives the schema's defaults", () => {
    const c = config(`hooks:\n  - {name: d, when: type == link, command: ["true"]}\n`);
    const row = (key: string) => new RegExp(`^\\| \`${key}\` \\| ([^|]+) \\|`, "m").exec(DOC)![1]!.trim();
    expect(Number(row("timeout_ms"))).toBe(c.hooks[0]!.timeout_ms);
    expect(Number(row("max_concurrent"))).toBe(c.hooks[0]!.max_concurrent);
    expect(Number(row("rate_limit"))).toBe(c.hooks[0]!.rate_limit);
    expect(existsSync(join(ROOT, "docs/ALERT_SYSTEM.md"))).toBe(true);
  });
});
