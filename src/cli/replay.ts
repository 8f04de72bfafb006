/**
 * --replay FILE: a netlink capture (nlmon's own pcap export, or tcpdump on a Linux nlmon device)
 * decoded by the same pipeline and exported as if it were live, with the capture's timestamps.
 */
import { readFile } from "node:fs/promises";
import type { NlmonConfig } from "../config/types.ts";
import { Names } from "../decode/names.ts";
import { CaptureFormatError, LINKTYPE_LINUX_SLL, newCaptureStats, readCapture } from "../export/pcap-read.ts";
import { parseFilter } from "../filter/expr.ts";
import type { Log } from "../log.ts";
import { nlmonMetrics } from "../metrics/registry.ts";
import { Pipeline } from "../pipeline/pipeline.ts";
import { buildExporters } from "./exporters.ts";
import type { Exporter } from "../export/types.ts";

/** A path the user got wrong: exit 2, as for a --config path, and before any exporter starts. */
const BAD_PATH = new Set(["ENOENT", "EACCES", "EISDIR", "ENOTDIR", "ELOOP", "ENAMETOOLONG", "EPERM"]);

/**
 * A capture is read far faster than exports write, and unlike live traffic it can wait: let the
 * queues drain instead of overflowing. An export that makes no progress for 10 s (a dead
 * collector) is not waited for; its drops are counted as they would be live.
 */
async function drainExports(exporters: Exporter[]) {
  const HIGH = 8192;
  let last = Infinity;
  let since = Date.now();
  for (;;) {
    const q = Math.max(0, ...exporters.map((e) => e.queued ?? 0));
    if (q <= HIGH) return;
    if (q < last) {
      last = q;
      since = Date.now();
    } else if (Date.now() - since > 10000) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

export async function runReplay(cfg: NlmonConfig, file: string, log: Log): Promise<number> {
  let buf: Uint8Array;
  try {
    buf = new Uint8Array(await readFile(file));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // node's message ends in ", open '/path'": the path already leads ours
    const reason = (err?.message ?? String(e)).replace(/, (open|read|stat)( '.*')?$/, "");
    log.error("replay", `${file}: cannot read: ${reason}`);
    return err?.code !== undefined && BAD_PATH.has(err.code) ? 2 : 1;
  }

  const metrics = nlmonMetrics();
  const exporters = buildExporters(cfg, metrics, log.as("export", "warn"));
  const pipeline = new Pipeline({
    names: new Names(), metrics, filter: cfg.filter ? parseFilter(cfg.filter) : undefined, exporters, log: log.as("decode", "warn"),
  });
  for (const ex of exporters) await ex.start();
  const stats = newCaptureStats();
  let n = 0;
  let rc = 0;
  try {
    for (const m of readCapture(buf, stats)) {
      const dv = new DataView(m.message.buffer, m.message.byteOffset, m.message.byteLength);
      pipeline.ingestDatagram(m.protocol, dv, 0, m.message.byteLength, m.tsNs);
      n++;
      if ((n & 1023) === 0) await drainExports(exporters);
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
  // a capture of the wrong interface would otherwise replay nothing and succeed
  let skipped = 0;
  for (const [linktype, count] of [...stats.skipped].sort((a, b) => a[0] - b[0])) {
    skipped += count;
    const why = linktype === LINKTYPE_LINUX_SLL
      ? `link type ${linktype} (Linux cooked capture) of a device that is not netlink`
      : `link type ${linktype} is not netlink`;
    log.warn("replay", `${file}: ${count} record${count === 1 ? "" : "s"} skipped (${why})`);
  }
  if (rc === 0 && n === 0 && skipped > 0) {
    log.error("replay", `${file}: no netlink messages replayed`);
    rc = 1;
  }
  for (const ex of exporters) await ex.close();
  log.debug("replay", `${n} messages replayed from ${file}`);
  return rc;
}
