/**
 * --replay FILE: a netlink capture (nlmon's own pcap export, or tcpdump on a Linux nlmon device)
 * decoded by the same pipeline and exported as if it were live, with the capture's timestamps.
 */
import type { NlmonConfig } from "../config/types.ts";
import { Names } from "../decode/names.ts";
import { CaptureFormatError, readCaptureFile } from "../export/pcap-read.ts";
import { parseFilter } from "../filter/expr.ts";
import type { Log } from "../log.ts";
import { nlmonMetrics } from "../metrics/registry.ts";
import { Pipeline } from "../pipeline/pipeline.ts";
import { buildExporters } from "./exporters.ts";

export async function runReplay(cfg: NlmonConfig, file: string, log: Log): Promise<number> {
  const metrics = nlmonMetrics();
  const exporters = buildExporters(cfg, metrics, log.as("export", "warn"));
  const pipeline = new Pipeline({
    names: new Names(), metrics, filter: cfg.filter ? parseFilter(cfg.filter) : undefined, exporters, log: log.as("decode", "warn"),
  });
  for (const ex of exporters) await ex.start();
  let n = 0;
  let rc = 0;
  try {
    for await (const m of readCaptureFile(file)) {
      const dv = new DataView(m.message.buffer, m.message.byteOffset, m.message.byteLength);
      pipeline.ingestDatagram(m.protocol, dv, 0, m.message.byteLength, m.tsNs);
      n++;
    }
  } catch (e) {
    if (e instanceof CaptureFormatError) {
      log.error("replay", `${file}: ${e.message} (after ${n} messages)`);
      rc = 1;
    } else {
      log.error("replay", `${file}: ${(e as Error).message}`);
      rc = 1;
    }
  }
  for (const ex of exporters) await ex.close();
  log.debug("replay", `${n} messages replayed from ${file}`);
  return rc;
}
