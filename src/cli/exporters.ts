/** Exports the config enables, built in one place. */
import type { NlmonConfig } from "../config/types.ts";
import { JsonExporter } from "../export/json.ts";
import { PcapExporter } from "../export/pcap.ts";
import { PrometheusExporter } from "../export/prometheus.ts";
import { SyslogExporter } from "../export/syslog.ts";
import type { Exporter } from "../export/types.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";

export function buildExporters(cfg: NlmonConfig, metrics: NlmonMetrics, log: (m: string) => void): Exporter[] {
  const out: Exporter[] = [];
  const e = cfg.export;
  if (e.json.enabled) out.push(new JsonExporter(e.json, metrics, log));
  if (e.syslog.enabled) out.push(new SyslogExporter(e.syslog, metrics, log));
  if (e.prometheus.enabled) out.push(new PrometheusExporter(e.prometheus, metrics.registry, log));
  if (e.pcap.enabled) out.push(new PcapExporter(e.pcap, metrics, log));
  return out;
}
