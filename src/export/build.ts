/** Exports the config enables, built in one place. */
import type { NlmonConfig } from "../config/types.ts";
import { JsonExporter } from "./json.ts";
import type { Exporter } from "./types.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";

/**
 * `onNoReader` is called when standard output's reader went away (`nlmon | head -1`) and no
 * other export is left: like any Unix filter, nlmon then ends. With other exports left, the
 * stdout one is dropped with one line and they go on.
 *
 * Exports other than JSON load when enabled: a module loaded is memory kept for good, and the
 * default config uses only JSON.
 */
export async function buildExporters(cfg: NlmonConfig, metrics: NlmonMetrics, log: (m: string) => void, onNoReader?: () => void): Promise<Exporter[]> {
  const out: Exporter[] = [];
  const e = cfg.export;
  if (e.json.enabled) out.push(new JsonExporter(e.json, metrics, log));
  if (e.syslog.enabled) out.push(new (await import("./syslog.ts")).SyslogExporter(e.syslog, metrics, log));
  if (e.prometheus.enabled) out.push(new (await import("./prometheus.ts")).PrometheusExporter(e.prometheus, metrics.registry, log));
  if (e.pcap.enabled) out.push(new (await import("./pcap.ts")).PcapExporter(e.pcap, metrics, log));
  const live = new Set(out);
  for (const ex of out) {
    void ex.readerGone?.then(() => {
      live.delete(ex);
      if (live.size > 0) {
        log(`export ${ex.name}: standard output closed; export dropped, nlmon goes on with ${[...live].map((x) => x.name).join(", ")}`);
      } else {
        onNoReader?.();
      }
    });
  }
  return out;
}
