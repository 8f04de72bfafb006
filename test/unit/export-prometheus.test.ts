import { afterAll, describe, expect, test } from "bun:test";
import { nlmonMetrics, Registry } from "../../src/metrics/registry.ts";
import { CONTENT_TYPE, escapeLabelValue, PrometheusExporter, renderRegistry } from "../../src/export/prometheus.ts";

describe("text exposition", () => {
  test("label values escape backslash, quote and newline; HELP escapes backslash and newline", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const reg = new Registry();
    const c = reg.counter("t_total", "help with \\ and\nnewline", ["k"]);
    c.inc({ k: 'a"b\\c\nd' }, 3);
    const out = renderRegistry(reg);
    expect(out).toEqual([
      "# HELP t_total help with \\\\ and\\nnewline",
      "# TYPE t_total counter",
      't_total{k="a\\"b\\\\c\\nd"} 3',
    ]);
  });

  test("unlabelled families show a zero before their first change", () => {
    const reg = new Registry();
    reg.counter("x_total", "x");
    reg.gauge("g", "g", ["a"]);
    expect(renderRegistry(reg)).toEqual(["# HELP x_total x", "# TYPE x_total counter", "x_total 0", "# HELP g g", "# TYPE g gauge"]);
  });

  test("histograms are cumulative with +Inf, _sum and _count", () => {
    const reg = new Registry();
    const h = reg.histogram("lat_seconds", "latency", [0.1, 1]);
    for (const v of [0.05, 0.5, 0.5, 7]) h.observe(v);
    expect(renderRegistry(reg)).toEqual([
      "# HELP lat_seconds latency",
      "# TYPE lat_seconds histogram",
      'lat_seconds_bucket{le="0.1"} 1',
      'lat_seconds_bucket{le="1"} 3',
      'lat_seconds_bucket{le="+Inf"} 4',
      "lat_seconds_sum 8.05",
      "lat_seconds_count 4",
    ]);
  });
});

describe("HTTP endpoint", () => {
  const m = nlmonMetrics();
  const exp = new PrometheusExporter({ address: "127.0.0.1", port: 0, path: "/metrics" }, m.registry);
  afterAll(() => exp.close());

  test("serves /metrics with process metrics, 404 elsewhere", async () => {
    await exp.start();
    m.events.inc({ protocol: "NETLINK_ROUTE", type: "link" });
    const r = await fetch(`http://127.0.0.1:${exp.port}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe(CONTENT_TYPE);
    const body = await r.text();
    expect(body).toContain('nlmon_events_total{protocol="NETLINK_ROUTE",type="link"} 1');
    expect(body).toMatch(/^process_resident_memory_bytes [1-9]\d*$/m);
    expect(body).toMatch(/^process_cpu_seconds_total \d+(\.\d+)?$/m);
    const start = Number(/^process_start_time_seconds (\S+)$/m.exec(body)![1]);
    expect(Math.abs(start - (Date.now() / 1000 - performance.now() / 1000))).toBeLessThan(120);
    expect((await fetch(`http://127.0.0.1:${exp.port}/other`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${exp.port}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
