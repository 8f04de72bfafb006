/**
 * The Prometheus export as Prometheus itself sees it: promtool's linter accepts the exposition, and
 * a real prometheus server on loopback scrapes it and answers a query with a counter that grew after
 * the test incremented it. Needs prometheus (Debian package prometheus, which ships promtool);
 * installed here if missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { nlmonMetrics, routeLabels } from "../../src/metrics/registry.ts";
import { parse as parseYaml } from "yaml";
import { PrometheusExporter } from "../../src/export/prometheus.ts";
import { ensureTool } from "./lib.ts";


const dir = mkdtempSync(join(tmpdir(), "nlmon-prom-"));
const m = nlmonMetrics();
const exp = new PrometheusExporter({ address: "127.0.0.1", port: 0, path: "/metrics" }, m.registry);
let server: Subprocess | undefined;

beforeAll(async () => {
  ensureTool("promtool", "prometheus");
  ensureTool("prometheus", "prometheus");
  await exp.start();
}, { timeout: 600_000 });

afterAll(async () => {
  if (server) {
    server.kill("SIGKILL");
    await server.exited;
  }
  await exp.close();
  rmSync(dir, { recursive: true, force: true });
});

async function freeTcpPort() {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}

describe("prometheus export, live", () => {
  test("promtool check metrics accepts the exposition, awkward label values included", async () => {
    m.events.inc({ protocol: "NETLINK_ROUTE", type: 'odd "quoted" \\ value\nwith newline' }, 2);
    m.routes.set(routeLabels("inet", 254, 2, "kernel"), 7);
    m.protocolOpened("NETLINK_ROUTE");
    m.latency.observe(0.0003);
    m.latency.observe(9);
    m.exportErrors.inc({ export: "json" });
    const body = await (await fetch(`http://127.0.0.1:${exp.port}/metrics`)).text();
    const r = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: Buffer.from(body), stdout: "pipe", stderr: "pipe" });
    expect(r.stdout.toString() + r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });

  test("a real prometheus scrapes it; a counter incremented by the test goes up in its query API", async () => {
    const webPort = await freeTcpPort();
    const cfg = join(dir, "prometheus.yml");
    writeFileSync(cfg, [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: nlmon",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${exp.port}"]`,
      "",
    ].join("\n"));
    server = Bun.spawn([
      "prometheus", `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${webPort}`, "--log.level=warn",
    ], { stdout: "ignore", stderr: "ignore" });
    const api = `http://127.0.0.1:${webPort}`;

    const query = async (q: string): Promise<number | undefined> => {
      try {
        const r = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
          data?: { result?: { value: [number, string] }[] };
        };
        const v = r.data?.result?.[0]?.value[1];
        return v === undefined ? undefined : Number(v);
      } catch {
        return undefined;
      }
    };
    const until = async (cond: (v: number | undefined) => boolean, q: string, ms: number) => {
      const end = Date.now() + ms;
      let v: number | undefined;
      while (Date.now() < end) {
        v = await query(q);
        if (cond(v)) return v;
        await Bun.sleep(250);
      }
      return v;
    };

    const q = 'nlmon_export_dropped_total{export="live-test"}';
    m.exportDropped.inc({ export: "live-test" }, 3);
    const before = await until((v) => v === 3, q, 40_000);
    expect(before).toBe(3);
    expect(await query('up{job="nlmon"}')).toBe(1);

    m.exportDropped.inc({ export: "live-test" }, 4);
    const after = await until((v) => v !== undefined && v > 3, q, 20_000);
    expect(after).toBe(7);
    // the process metrics come through too
    expect((await query("process_resident_memory_bytes")) ?? 0).toBeGreaterThan(0);
  }, 90_000);

  test("docs: alert rules and every dashboard query are valid PromQL over metrics nlmon serves", async () => {
    const root = join(import.meta.dir, "../..");
    const rules = Bun.spawnSync(["promtool", "check", "rules", join(root, "docs/prometheus-alerts.yml")], { stdout: "pipe", stderr: "pipe" });
    expect(rules.stderr.toString()).toBe("");
    expect(rules.exitCode).toBe(0);

    const dash = JSON.parse(readFileSync(join(root, "docs/grafana-dashboard.json"), "utf8")) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    // Grafana's variables replaced by values Prometheus accepts, each query made a recording rule
    const asRules = ["groups:", "  - name: dashboard", "    rules:"];
    exprs.forEach((e, i) => {
      const q = e.replaceAll("$__rate_interval", "1m").replaceAll("$job", ".*").replaceAll("$instance", ".*");
      asRules.push(`      - record: dashboard:q${i}`, `        expr: ${JSON.stringify(q)}`);
    });
    const f = join(dir, "dashboard-rules.yml");
    writeFileSync(f, asRules.join("\n") + "\n");
    const r = Bun.spawnSync(["promtool", "check", "rules", f], { stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);

    const served = new Set((await exp.render()).split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]!));
    const used = new Set([...exprs, readFileSync(join(root, "docs/prometheus-alerts.yml"), "utf8")].flatMap((e) => e.match(/\b(nlmon|process)_[a-z_]+/g) ?? []));
    for (const name of used) expect(served.has(name.replace(/_(bucket|sum|count)$/, "")) ? name : `${name} (not served)`).toBe(name);
  });
  test("docs: every label the alert rules and dashboard group by, join on or print is one the metrics have", () => {
    const root = join(import.meta.dir, "../..");
    const labels = new Map(nlmonMetrics().registry.families.map((f) => [f.name, "labelNames" in f ? [...f.labelNames] : ["le"]]));
    const rules = (parseYaml(readFileSync(join(root, "docs/prometheus-alerts.yml"), "utf8")) as {
      groups: { rules: { alert: string; expr: string; annotations?: Record<string, string> }[] }[];
    }).groups.flatMap((g) => g.rules);
    const dash = JSON.parse(readFileSync(join(root, "docs/grafana-dashboard.json"), "utf8")) as {
      panels: { title: string; targets: { expr: string; legendFormat?: string }[] }[];
    };
    const uses = [
      ...rules.map((r) => ({ what: `alert ${r.alert}`, expr: r.expr, printed: Object.values(r.annotations ?? {}).join(" ") })),
      ...dash.panels.flatMap((p) => p.targets.map((t) => ({ what: `panel ${p.title}`, expr: t.expr, printed: t.legendFormat ?? "" }))),
    ];
    const bad: string[] = [];
    for (const u of uses) {
      const metrics = (u.expr.match(/\bnlmon_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, ""));
      if (metrics.length === 0) continue;
      const have = new Set(["instance", "job", ...metrics.flatMap((n) => labels.get(n) ?? [])]);
      const grouped = [...u.expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(",").map((l) => l.trim()).filter(Boolean));
      const printed = [...u.printed.matchAll(/\$labels\.([a-z_]+)|\{\{\s*([a-z_]+)\s*\}\}/g)].map((m) => m[1] ?? m[2]!);
      for (const l of [...grouped, ...printed]) if (!have.has(l)) bad.push(`${u.what}: label '${l}' is not on ${metrics.join(", ")}`);
    }
    expect(bad).toEqual([]);
  });

  test("docs: the alerts fire as described (promtool test rules)", () => {
    const root = join(import.meta.dir, "../..");
    const routes = (table: number) => `nlmon_routes{instance="h",job="nlmon",family="inet",table="${table}",route_protocol="201",route_protocol_name="201"}`;
    const errs = (kind: string) => `nlmon_netlink_errors_total{instance="h",job="nlmon",protocol="NETLINK_ROUTE",kind="${kind}"}`;
    const spec = {
      rule_files: [join(root, "docs/prometheus-alerts.yml")],
      evaluation_interval: "1m",
      tests: [{
        interval: "1m",
        input_series: [
          // table 10 withdrawn altogether, table 11 down by a fifth, table 12 steady
          { series: routes(10), values: "100x10 _x20" },
          { series: routes(11), values: "100x10 80x20" },
          { series: routes(12), values: "100x30" },
          // the series exists at 0 from the start, so the first overrun is an increase
          { series: errs("enobufs"), values: "0x5 1x10" },
          { series: errs("decode"), values: "0x15" },
        ],
        alert_rule_test: [
          {
            eval_time: "20m", alertname: "NlmonRouteTableDrained",
            exp_alerts: [{
              exp_labels: { severity: "warning", instance: "h", family: "inet", table: "10", route_protocol: "201", route_protocol_name: "201" },
              exp_annotations: {
                summary: "Table 10 (inet) lost most routes of protocol 201 on h",
                description: "0 routes of protocol 201 left, less than half of 10 minutes ago: the daemon that installs them withdrew them.",
              },
            }],
          },
          { eval_time: "5m", alertname: "NlmonRouteTableDrained", exp_alerts: [] },
          {
            eval_time: "8m", alertname: "NlmonNetlinkOverrun",
            exp_alerts: [{
              exp_labels: { severity: "warning", instance: "h", job: "nlmon", protocol: "NETLINK_ROUTE", kind: "enobufs" },
              exp_annotations: {
                summary: "Kernel dropped netlink notifications on h",
                description: "ENOBUFS on protocol NETLINK_ROUTE: the receive buffer overflowed and nlmon had to resync. Raise netlink.buffer_size.receive.",
              },
            }],
          },
          { eval_time: "8m", alertname: "NlmonDecodeErrors", exp_alerts: [] },
        ],
      }],
    };
    const f = join(dir, "alerts.test.yml");
    writeFileSync(f, JSON.stringify(spec, null, 2));
    const r = Bun.spawnSync(["promtool", "test", "rules", f], { stdout: "pipe", stderr: "pipe" });
    expect(r.stdout.toString() + r.stderr.toString()).toContain("SUCCESS");
    expect(r.exitCode).toBe(0);
  });
});
