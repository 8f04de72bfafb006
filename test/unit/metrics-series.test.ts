// Series an operator alerts on exist before anything goes wrong, and the route metrics' labels
// cannot be mistaken for the netlink protocol label of the other metrics.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderRegistry } from "../../src/export/prometheus.ts";
import { JsonExporter } from "../../src/export/json.ts";
import { SyslogExporter, type SyslogExportOptions } from "../../src/export/syslog.ts";
import { NETLINK_ERROR_KINDS, nlmonMetrics, routeLabels } from "../../src/metrics/registry.ts";
import { RTPROT_BGP } from "../../src/uapi/linux.gen.ts";

const quiet = () => {};

describe("error series start at 0", () => {
  test("an opened protocol has every error kind at 0", () => {
    const m = nlmonMetrics();
    expect(renderRegistry(m.registry).filter((l) => l.startsWith("nlmon_netlink_errors_total"))).toEqual([]);
    m.protocolOpened("NETLINK_ROUTE");
    const lines = renderRegistry(m.registry).filter((l) => l.startsWith("nlmon_netlink_errors_total"));
    expect(lines).toEqual(NETLINK_ERROR_KINDS.map((k) => `nlmon_netlink_errors_total{protocol="NETLINK_ROUTE",kind="${k}"} 0`));
    // the first error then counts on the series that was already there
    m.errors.inc({ protocol: "NETLINK_ROUTE", kind: "enobufs" });
    expect(renderRegistry(m.registry)).toContain('nlmon_netlink_errors_total{protocol="NETLINK_ROUTE",kind="enobufs"} 1');
    expect(m.errors.series.size).toBe(NETLINK_ERROR_KINDS.length);
  });

  test("every export built has its error and drop series at 0, before it is started", () => {
    const dir = mkdtempSync(join(tmpdir(), "nlmon-series-"));
    try {
      const m = nlmonMetrics();
      new JsonExporter({ file: join(dir, "e.json"), pretty: false, queue_size: 10, rotate: { max_size: 0, keep: 0, compress: false } }, m, quiet);
      const syslog: SyslogExportOptions = {
        transport: "unix", path: join(dir, "log"), host: "", port: 514, format: "rfc5424", facility: "daemon",
        app_name: "nlmon", max_message_size: 2048, queue_size: 10,
      };
      new SyslogExporter(syslog, m, quiet);
      const out = renderRegistry(m.registry);
      for (const ex of ["json", "syslog"]) {
        expect(out).toContain(`nlmon_export_errors_total{export="${ex}"} 0`);
        expect(out).toContain(`nlmon_export_dropped_total{export="${ex}"} 0`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("route metric labels", () => {
  test("route_protocol is the number, route_protocol_name the rt_protos name; no `protocol` label", () => {
    const m = nlmonMetrics();
    m.routes.set(routeLabels("inet", 17, RTPROT_BGP, "bgp"), 3);
    m.routeChanges.inc({ ...routeLabels("inet6", 254, 201, "201"), op: "add" });
    const out = renderRegistry(m.registry);
    expect(out).toContain(`nlmon_routes{family="inet",table="17",route_protocol="${RTPROT_BGP}",route_protocol_name="bgp"} 3`);
    expect(out).toContain('nlmon_route_changes_total{family="inet6",table="254",route_protocol="201",route_protocol_name="201",op="add"} 1');
    expect(m.routes.labelNames).not.toContain("protocol");
    expect(m.routeChanges.labelNames).not.toContain("protocol");
    expect(m.messages.labelNames).toContain("protocol");
  });
});
