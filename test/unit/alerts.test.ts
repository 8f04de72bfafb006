// Alert rules over a real pipeline: counted in a sliding window per group, firing, suppressed,
// resolved; their actions delivered to a real HTTP server, a real command and a real datagram
// socket; their events put back into the stream.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkAutomation, startAutomation } from "../../src/automation/index.ts";
import type { AlertBody, NlEvent } from "../../src/event/model.ts";
import { renderRegistry } from "../../src/export/prometheus.ts";
import { config, dgramListener, linkEvent, memLog, pipeline, routeEvent, until } from "./hooks-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-alerts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const sub = (tag: string) => {
  const d = join(dir, `${tag}-${++n}`);
  mkdirSync(d);
  return d;
};

const alertsIn = (seen: NlEvent[]) => seen.filter((e) => e.type === "alert").map((e) => e.netlink.alert!);

interface Hit { body: string; status: number }

/** a webhook receiver on 127.0.0.1 that answers each request with the next status of `script` (then 200) */
function receiver(script: (number | "hang")[] = []) {
  const hits: Hit[] = [];
  let i = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.text();
      const s = script[i++] ?? 200;
      if (s === "hang") {
        hits.push({ body, status: 0 });
        await Bun.sleep(5000);
        return new Response("late");
      }
      hits.push({ body, status: s });
      return new Response(s === 200 ? "ok" : "no", { status: s });
    },
  });
  return { hits, url: `http://127.0.0.1:${server.port}/hook`, stop: () => server.stop(true) };
}

describe("an alert fires, is suppressed, fires again, resolves", () => {
  test("short windows; webhook retried once; events in the stream; gauge and counters", async () => {
    const hook = receiver([503]);
    const cfg = config(`
alerts:
  - name: flap
    when: type == link && netlink.link.operstate == DOWN
    threshold: 3
    window_s: 2
    group_by: netlink.link.ifname
    severity: critical
    min_interval_s: 0.3
    resolve_after_s: 0.5
    actions:
      - type: log
      - type: webhook
        url: ${hook.url}
        timeout_ms: 2000
        retries: 2
`);
    const { p, emit, metrics, seen } = pipeline();
    const { log, lines } = memLog();
    const a = startAutomation(cfg, p, log, metrics, { backoffMs: 50 });
    const gauge = () => metrics.alertsActive.get({ alert: "flap", severity: "critical" });
    const notes = (state: string) => metrics.alertNotifications.get({ alert: "flap", state });

    emit(linkEvent("eth0", false));
    emit(linkEvent("eth0", true)); // up: not counted
    emit(linkEvent("eth0", false));
    emit(linkEvent("eth1", false)); // another group
    await Bun.sleep(20);
    expect(alertsIn(seen)).toEqual([]);
    expect(gauge()).toBe(0);

    emit(linkEvent("eth0", false)); // the third on eth0
    await Bun.sleep(0);
    let al = alertsIn(seen);
    expect(al).toHaveLength(1);
    expect(al[0]).toMatchObject({ name: "flap", state: "firing", severity: "critical", group_by: "netlink.link.ifname", group: "eth0", count: 3, threshold: 3, suppressed: 0 });
    expect(al[0]!.summary).toBe("alert flap (critical) firing for netlink.link.ifname=eth0: 3 matching events within 2 s (threshold 3)");
    expect(gauge()).toBe(1);
    // the alert event is a whole event of the stream, after the event that caused it
    const ev = seen[seen.length - 1]!;
    expect(ev).toMatchObject({ type: "alert", protocol: -1, netlink: { protocol: -1, protocol_name: "nlmon", msg_type_name: "NLMON_ALERT" } });
    expect(seen[seen.length - 2]!.type).toBe("link");
    expect(lines).toContain(`error: alerts: ${al[0]!.summary}`);

    emit(linkEvent("eth0", false)); // within min_interval_s: suppressed
    emit(linkEvent("eth0", false));
    await Bun.sleep(0);
    expect(alertsIn(seen)).toHaveLength(1);
    expect(notes("suppressed")).toBe(2);
    const st = a.status().alerts[0] as { active: number; alerts: { group: string; state: string; suppressed: number }[] };
    expect(st.active).toBe(1);
    expect(st.alerts).toEqual([expect.objectContaining({ group: "eth0", state: "suppressed", suppressed: 2 })]);

    await Bun.sleep(350);
    emit(linkEvent("eth0", false)); // min_interval_s passed: fires again, saying what was suppressed
    await Bun.sleep(0);
    al = alertsIn(seen);
    expect(al).toHaveLength(2);
    expect(al[1]).toMatchObject({ state: "firing", group: "eth0", suppressed: 2, matches: 6 });
    expect(al[1]!.summary).toEndWith("; 2 firings suppressed since the last notification");

    // quiet for resolve_after_s
    al = await until(() => alertsIn(seen), (x) => x.length >= 3, 3000);
    expect(al[2]).toMatchObject({ state: "resolved", group: "eth0", matches: 6 });
    expect(gauge()).toBe(0);
    expect([notes("firing"), notes("suppressed"), notes("resolved")]).toEqual([2, 2, 1]);
    expect(lines).toContain(`info: alerts: ${al[2]!.summary}`);

    // the first POST got a 503 and was retried; the receiver has every notification, as the stream has it
    await until(() => hook.hits.length, (x) => x >= 4, 3000);
    expect(hook.hits.map((h) => h.status)).toEqual([503, 200, 200, 200]);
    const posted = hook.hits.map((h) => (JSON.parse(h.body) as NlEvent).netlink.alert!);
    expect(posted.map((b) => b.state)).toEqual(["firing", "firing", "firing", "resolved"]);
    expect(posted.slice(1)).toEqual(al);
    expect(metrics.alertActionFailures.get({ alert: "flap", action: "webhook" })).toBe(0);

    // Prometheus sees the gauge and the counters
    const text = renderRegistry(metrics.registry).join("\n");
    expect(text).toContain('nlmon_alerts_active{alert="flap",severity="critical"} 0');
    expect(text).toContain('nlmon_alert_notifications_total{alert="flap",state="suppressed"} 2');
    await a.stop();
    hook.stop();
  });

  test("a named filter with action: alert raises the alert named after it on each match", async () => {
    const cfg = config(`
filters:
  ecmp: { expr: 'netlink.route.dst in 10.0.0.0/8', action: alert }
`);
    const { p, emit, metrics, seen } = pipeline();
    const { log, lines } = memLog();
    const a = startAutomation(cfg, p, log, metrics);
    emit(routeEvent("new", "192.168.0.0/16"));
    await Bun.sleep(20);
    expect(alertsIn(seen)).toHaveLength(0);
    emit(routeEvent("new", "10.1.0.0/16"));
    const got = await until(() => alertsIn(seen), (x) => x.length >= 1, 2000);
    expect(got[0]!.name).toBe("ecmp");
    expect(got[0]!.state).toBe("firing");
    expect(lines.some((l) => l.includes("ecmp"))).toBe(true);
    await a.stop();
  });

  test("a resolved alert counts afresh", async () => {
    const cfg = config(`
alerts:
  - {name: r, when: type == route, threshold: 2, window_s: 10, resolve_after_s: 0.1, min_interval_s: 0}
`);
    const { p, emit, metrics, seen } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    emit(routeEvent("new", "10.0.0.0/8"));
    emit(routeEvent("new", "10.0.0.0/8"));
    await until(() => alertsIn(seen), (x) => x.length >= 2, 2000);
    expect(alertsIn(seen).map((b) => b.state)).toEqual(["firing", "resolved"]);
    emit(routeEvent("new", "10.0.0.0/8"));
    await Bun.sleep(200);
    expect(alertsIn(seen)).toHaveLength(2);
    emit(routeEvent("new", "10.0.0.0/8"));
    await Bun.sleep(0);
    expect(alertsIn(seen).map((b) => b.state)).toEqual(["firing", "resolved", "firing"]);
    await a.stop();
  });

  test("the window slides: events older than window_s do not count", async () => {
    const cfg = config(`
alerts:
  - {name: w, when: type == route, threshold: 3, window_s: 0.3, resolve_after_s: 60}
`);
    const { p, emit, metrics, seen } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    emit(routeEvent("new", "10.0.0.0/8"));
    emit(routeEvent("new", "10.0.0.0/8"));
    await Bun.sleep(350);
    emit(routeEvent("new", "10.0.0.0/8"));
    emit(routeEvent("new", "10.0.0.0/8"));
    await Bun.sleep(0);
    expect(alertsIn(seen)).toEqual([]);
    emit(routeEvent("new", "10.0.0.0/8"));
    await Bun.sleep(0);
    expect(alertsIn(seen).map((b) => [b.state, b.count])).toEqual([["firing", 3]]);
    await a.stop();
  });

  test("alert events do not feed alert rules, and pass the global filter like any event", async () => {
    const cfg = config(`
alerts:
  - {name: anything, when: type != link, threshold: 1, resolve_after_s: 60}
`);
    const { p, emit, metrics, seen } = pipeline({ filter: (e) => e.type === "route" });
    const a = startAutomation(cfg, p, memLog().log, metrics);
    emit(routeEvent("new", "10.0.0.0/8"));
    await Bun.sleep(20);
    // the alert was made (the rule did not count its own alert event), but the filter keeps routes only
    expect(metrics.alertNotifications.get({ alert: "anything", state: "firing" })).toBe(1);
    expect(metrics.alertNotifications.get({ alert: "anything", state: "suppressed" })).toBe(0);
    expect(seen.map((e) => e.type)).toEqual(["route"]);
    await a.stop();
  });
});

describe("actions", () => {
  test("webhook: 5xx retried up to retries, then counted failed; 4xx not retried; no answer times out", async () => {
    const always = receiver([500, 500, 500, 500]);
    const client = receiver([404]);
    const hang = receiver(["hang", "hang"]);
    const cfg = config(`
alerts:
  - name: a5
    when: type == route
    resolve_after_s: 60
    actions: [{type: webhook, url: "${always.url}", retries: 2, timeout_ms: 1000}]
  - name: a4
    when: type == route
    resolve_after_s: 60
    actions: [{type: webhook, url: "${client.url}", retries: 3}]
  - name: hang
    when: type == route
    resolve_after_s: 60
    actions: [{type: webhook, url: "${hang.url}", retries: 1, timeout_ms: 200}]
`);
    const { p, emit, metrics } = pipeline();
    const { log, lines } = memLog();
    const a = startAutomation(cfg, p, log, metrics, { backoffMs: 20 });
    const fails = () => ["a5", "a4", "hang"].map((x) => metrics.alertActionFailures.get({ alert: x, action: "webhook" }) ?? 0);
    emit(routeEvent("new", "10.0.0.0/8"));
    // the event loop is not held by deliveries in flight: emit returns before any has ended
    expect(fails()).toEqual([0, 0, 0]);
    await until(fails, (f) => f.every((x) => x === 1), 5000);
    expect(fails()).toEqual([1, 1, 1]);
    expect(always.hits.map((h) => h.status)).toEqual([500, 500, 500]);
    expect(client.hits.map((h) => h.status)).toEqual([404]);
    expect(hang.hits).toHaveLength(2);
    expect(lines.join("\n")).toContain(`warn: alerts: a5: webhook ${always.url}: HTTP 500; 3 attempts, giving up`);
    expect(lines.join("\n")).toContain(`warn: alerts: hang: webhook ${hang.url}: no answer within 200 ms; 2 attempts, giving up`);
    const st = a.status().alerts as { name: string; action_failures: Record<string, number> }[];
    expect(st.map((s) => s.action_failures)).toEqual([{ webhook: 1 }, { webhook: 1 }, { webhook: 1 }]);
    await a.stop();
    for (const r of [always, client, hang]) r.stop();
  });

  test("exec: the alert event on stdin, NLMON_ALERT_* in the environment", async () => {
    const out = sub("exec");
    const script = join(out, "rec.sh");
    // written aside and renamed: a file that exists is complete
    writeFileSync(script, `#!/bin/sh\ncat > "${out}/stdin.$NLMON_ALERT_STATE"\nenv | grep '^NLMON_' | sort > "${out}/tmp.$$"\nmv "${out}/tmp.$$" "${out}/env.$NLMON_ALERT_STATE"\n`);
    chmodSync(script, 0o755);
    const cfg = config(`
alerts:
  - name: vrf_churn
    when: type == route && netlink.route.table == 10
    threshold: 2
    group_by: netlink.route.table
    severity: info
    resolve_after_s: 0.2
    actions: [{type: exec, command: ["${script}"]}]
`);
    const { p, emit, metrics, seen } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    emit(routeEvent("new", "172.20.10.0/24", { table: 10, protocol: 201 }));
    emit(routeEvent("del", "172.20.10.0/24", { table: 10, protocol: 201 }));
    await until(() => readdirSync(out).filter((f) => f.startsWith("env.")).length, (x) => x >= 2, 3000);
    const body = JSON.parse(readFileSync(join(out, "stdin.firing"), "utf8")).netlink.alert as AlertBody;
    expect(body).toEqual(alertsIn(seen)[0]!);
    expect(readFileSync(join(out, "env.firing"), "utf8")).toContain("NLMON_ALERT_NAME=vrf_churn\nNLMON_ALERT_SEVERITY=info\nNLMON_ALERT_STATE=firing\n");
    expect(readFileSync(join(out, "env.firing"), "utf8")).toContain("NLMON_ALERT_GROUP=10\n");
    expect(readFileSync(join(out, "env.resolved"), "utf8")).toContain("NLMON_ALERT_STATE=resolved\n");
    await a.stop();
  });

  test("syslog: RFC 5424 to the local socket, severity from the rule, notice when resolved", async () => {
    const out = sub("syslog");
    const sock = join(out, "log.sock");
    const rx = dgramListener(sock);
    const cfg = config(`
alerts:
  - {name: s, when: type == route, severity: critical, resolve_after_s: 0.1, actions: [{type: syslog}]}
`);
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics, { syslogPath: sock });
    emit(routeEvent("new", "10.0.0.0/8"));
    const got: string[] = [];
    await until(() => (got.push(...rx.drain()), got.length), (x) => x >= 2, 3000);
    // daemon (3) * 8 + crit (2) = 26; + notice (5) = 29
    expect(got[0]).toMatch(new RegExp(`^<26>1 \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z \\S+ nlmon ${process.pid} alert - \\{`));
    expect(got[1]).toStartWith("<29>1 ");
    const msg = JSON.parse(got[0]!.slice(got[0]!.indexOf(" - ") + 3)) as NlEvent;
    expect(msg.netlink.alert).toMatchObject({ name: "s", state: "firing", severity: "critical" });
    expect(metrics.alertActionFailures.get({ alert: "s", action: "syslog" })).toBe(0);
    await a.stop();
    rx.close();
  });

  test("syslog: a socket nobody listens on is a counted failure, not an exception", async () => {
    const cfg = config(`
alerts:
  - {name: s, when: type == route, resolve_after_s: 60, actions: [{type: syslog}]}
`);
    const { p, emit, metrics } = pipeline();
    const { log, lines } = memLog();
    const a = startAutomation(cfg, p, log, metrics, { syslogPath: join(dir, "nobody.sock") });
    emit(routeEvent("new", "10.0.0.0/8"));
    await Bun.sleep(10);
    expect(metrics.alertActionFailures.get({ alert: "s", action: "syslog" })).toBe(1);
    expect(lines.join("\n")).toContain("warn: alerts: s: syslog action: connect");
    await a.stop();
  });
});

describe("groups", () => {
  test("a rule keeps each group's count apart, and a group_by field an event lacks is the group ''", async () => {
    const cfg = config(`
alerts:
  - {name: g, when: type == route, threshold: 2, group_by: netlink.route.dev, resolve_after_s: 60}
`);
    const { p, emit, metrics, seen } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    emit(routeEvent("new", "10.0.0.0/8", { dev: "a" }));
    emit(routeEvent("new", "10.0.0.0/8", { dev: "b" }));
    const nodev = routeEvent("new", "10.0.0.0/8");
    delete nodev.netlink.route!.dev;
    emit(nodev);
    await Bun.sleep(0);
    expect(alertsIn(seen)).toEqual([]);
    emit(routeEvent("new", "10.0.0.0/8", { dev: "b" }));
    emit(nodev);
    await Bun.sleep(0);
    expect(alertsIn(seen).map((b) => b.group)).toEqual(["b", ""]);
    expect(metrics.alertsActive.get({ alert: "g", severity: "warning" })).toBe(2);
    await a.stop();
  });
});

describe("reload", () => {
  test("a removed rule's active alerts resolve; a kept rule keeps its state", async () => {
    const yaml = (rules: string) => config(`alerts:\n${rules}`);
    const keep = "  - {name: keep, when: type == route, threshold: 1, resolve_after_s: 60}\n";
    const gone = "  - {name: gone, when: type == route, threshold: 1, resolve_after_s: 60}\n";
    const { p, emit, metrics, seen } = pipeline();
    const a = startAutomation(yaml(keep + gone), p, memLog().log, metrics);
    emit(routeEvent("new", "10.0.0.0/8"));
    await Bun.sleep(0);
    expect(alertsIn(seen).map((b) => `${b.name} ${b.state}`)).toEqual(["keep firing", "gone firing"]);
    a.reload(yaml(keep));
    await Bun.sleep(0);
    expect(alertsIn(seen).map((b) => `${b.name} ${b.state}`)).toEqual(["keep firing", "gone firing", "gone resolved"]);
    expect(metrics.alertsActive.get({ alert: "gone", severity: "warning" })).toBe(0);
    expect(metrics.alertsActive.get({ alert: "keep", severity: "warning" })).toBe(1);
    expect((a.status().alerts as { name: string; active: number }[]).map((s) => [s.name, s.active])).toEqual([["keep", 1]]);
    await a.stop();
  });
});

describe("rules that cannot run are errors at start", () => {
  test("webhook without url or with a bad one, exec without command or not found, keys for another type", () => {
    const cfg = config(`
alerts:
  - name: bad
    when: type == link
    actions:
      - {type: webhook}
      - {type: webhook, url: "ftp://example.org/x"}
      - {type: webhook, url: "not a url"}
      - {type: exec}
      - {type: exec, command: ["nlmon-no-such-command"]}
      - {type: log, url: "http://127.0.0.1/"}
`);
    expect(checkAutomation(cfg)).toEqual([
      "alerts[0] (bad): actions[0] (webhook): needs a url",
      "alerts[0] (bad): actions[1] (webhook): url 'ftp://example.org/x' is not http or https",
      "alerts[0] (bad): actions[2] (webhook): url 'not a url' is not a URL",
      "alerts[0] (bad): actions[3] (exec): needs a command (an argv list, run without a shell)",
      "alerts[0] (bad): actions[4] (exec): command 'nlmon-no-such-command' not found (searched PATH)",
      "alerts[0] (bad): actions[5] (log): url is only for webhook actions",
    ]);
  });

  test("group_by that names no field is a config error at its place", () => {
    expect(() => config(`
alerts:
  - {name: g, when: type == link, group_by: netlink.link.ifnmae}
`)).toThrow(/test\.yaml:3:\d+: alerts\[0\]\.group_by: .*did you mean 'ifname'\?/);
  });

  test("the default action is log", () => {
    const cfg = config(`
alerts:
  - {name: d, when: type == link}
`);
    expect(cfg.alerts[0]!.actions).toEqual([{ type: "log", timeout_ms: 5000, retries: 3 }]);
  });
});

test("the metrics exist at zero from start, so rate() sees the first firing", () => {
  const cfg = config(`
alerts:
  - {name: z, when: type == link, severity: info}
`);
  const { p, metrics } = pipeline();
  const a = startAutomation(cfg, p, memLog().log, metrics);
  const text = renderRegistry(metrics.registry).join("\n");
  expect(text).toContain('nlmon_alerts_active{alert="z",severity="info"} 0');
  expect(text).toContain('nlmon_alert_notifications_total{alert="z",state="firing"} 0');
  void a.stop();
});
