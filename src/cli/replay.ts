/**
 * --replay FILE: a netlink capture (nlmon's own pcap export, or tcpdump on a Linux nlmon device)
 * decoded by the same pipeline and exported as if it were live, with the capture's timestamps.
 *
 * Exit status: 0 everything replayed; 3 replayed to the end but malformed records were skipped;
 * 1 the capture could not be read to its end (or held no netlink at all); 2 the path is wrong.
 */
import { fsp } from "../node-lazy.ts";
import type { NlmonConfig } from "../config/types.ts";
import { protocolName } from "../decode/message.ts";
import { Names } from "../decode/names.ts";
import {
  CaptureFormatError, LINKTYPE_LINUX_SLL, newCaptureStats, readCapture, type CaptureStats, type MalformedRecord,
} from "../export/pcap-read.ts";
import type { Log } from "../log.ts";
import { nlmonMetrics, type NlmonMetrics } from "../metrics/registry.ts";
import { Pipeline } from "../pipeline/pipeline.ts";
import { NLM_F_MULTI, PACKET_OUTGOING } from "../uapi/linux.gen.ts";
import { buildExporters } from "../export/build.ts";
import type { Exporter } from "../export/types.ts";

export const EXIT_MALFORMED = 3;

/** malformed records named one by one before the rest are only counted */
const LIST_MALFORMED = 10;

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

/**
 * A replayed event from a dump reply rather than a notification. A capture starts with state (the
 * dump nlmon primes its caches from, or the links a rotated file begins with, flagged NLM_F_MULTI
 * like the dump): live, nlmon learned device names from it but emitted no events; replayed, those
 * messages still name devices, and their events say they are state, not changes.
 */

export function markSnapshots(pipeline: Pipeline): void {
  pipeline.observe((pe) => {
    if (pe.event.netlink.msg_flags & NLM_F_MULTI) pe.event.snapshot = true;
  });
}

/**
 * Every message of a capture through the pipeline, in order, counted in `fed`; with `onceEach`,
 * copies of one broadcast (BroadcastCopies) go through once. Yields every 1024 messages, so the
 * caller may let exports drain. Throws CaptureFormatError where the file's own
 * framing breaks, after ingesting everything before it.
 */
export function* feedCapture(buf: Uint8Array, pipeline: Pipeline, stats: CaptureStats, fed: Fed = { messages: 0, copies: 0 }, onceEach = false): Generator<void> {
  const copies = onceEach ? new BroadcastCopies() : undefined;
  for (const m of readCapture(buf, stats)) {
    // only an nlmon device's tap holds copies; nlmon's own export holds what one socket received
    if (m.pkttype === PACKET_OUTGOING && copies?.seen(m.protocol, m.tsNs, m.message)) {
      fed.copies++;
      continue;
    }
    pipeline.ingestDatagram(m.protocol, new DataView(m.message.buffer, m.message.byteOffset, m.message.byteLength), 0, m.message.byteLength, m.tsNs);
    if ((++fed.messages & 1023) === 0) yield;
  }
}

export interface Fed {
  messages: number;
  /** copies of one broadcast, one per listening socket, replayed once */
  copies: number;
}

/**
 * An nlmon device captures a multicast notification once per socket it is delivered to (the tap
 * runs per delivery; its records say PACKET_OUTGOING), so a capture holds one copy for each listener: `iw event`, hostapd, each
 * monitor. Live, a monitor receives it once. A message whose bytes equal one of the last 64 of its
 * protocol, captured within 50 ms of it, is such a copy and is replayed once (and counted). The
 * copies are not captured at once: in the Wi-Fi VM (qemu without KVM) they were 3-7 ms apart.
 */
class BroadcastCopies {
  private readonly recent: { protocol: number; tsNs: bigint; bytes: Uint8Array }[] = [];
  seen(protocol: number, tsNs: bigint, bytes: Uint8Array): boolean {
    for (const r of this.recent) {
      if (r.protocol !== protocol || r.bytes.length !== bytes.length) continue;
      const d = tsNs - r.tsNs;
      if (d < -50_000_000n || d > 50_000_000n) continue;
      let same = true;
      for (let i = 0; i < bytes.length && same; i++) same = bytes[i] === r.bytes[i];
      if (same) return true;
    }
    this.recent.push({ protocol, tsNs, bytes });
    if (this.recent.length > 64) this.recent.shift();
    return false;
  }
}

function reportMalformed(file: string, log: Log, metrics: NlmonMetrics) {
  let first: MalformedRecord | undefined;
  return {
    get first() { return first; },
    on(m: MalformedRecord, count: number) {
      first ??= m;
      // counted as a live datagram with bad framing would be
      if (m.protocol !== undefined) metrics.errors.inc({ protocol: protocolName(m.protocol), kind: "decode" });
      if (count <= LIST_MALFORMED) log.warn("replay", `${file}: record ${m.record} (byte offset ${m.offset}): ${m.what}; rest of the record skipped`);
      else if (count === LIST_MALFORMED + 1) log.warn("replay", `${file}: further malformed records are counted, not listed`);
    },
  };
}

export async function runReplay(cfg: NlmonConfig, file: string, log: Log): Promise<number> {
  let buf: Uint8Array;
  try {
    buf = new Uint8Array(await fsp().readFile(file));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // node's message ends in ", open '/path'": the path already leads ours
    const reason = (err?.message ?? String(e)).replace(/, (open|read|stat)( '.*')?$/, "");
    log.error("replay", `${file}: cannot read: ${reason}`);
    return err?.code !== undefined && BAD_PATH.has(err.code) ? 2 : 1;
  }

  const metrics = nlmonMetrics();
  // `nlmon --replay f | head` ends when head does, as a live run does
  let readerGone = false;
  const exporters = await buildExporters(cfg, metrics, log.as("export", "warn"), () => { readerGone = true; });
  const pipeline = new Pipeline({
    names: new Names(), metrics, exporters, log: log.as("decode", "warn"),
  });
  pipeline.applyFilters(cfg, log);
  markSnapshots(pipeline);
  for (const ex of exporters) await ex.start();
  const bad = reportMalformed(file, log, metrics);
  const stats: CaptureStats = newCaptureStats((m) => bad.on(m, stats.malformed));
  const fed: Fed = { messages: 0, copies: 0 };
  let rc = 0;
  try {
    for (const _ of feedCapture(buf, pipeline, stats, fed, true)) {
      await drainExports(exporters);
      if (readerGone) break;
    }
  } catch (e) {
    if (e instanceof CaptureFormatError) {
      log.error("replay", `${file}: ${e.message} (after ${fed.messages} messages)`);
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
  if (stats.malformed > 0) {
    const f = bad.first!;
    log.error("replay", `${file}: ${stats.malformed} malformed record${stats.malformed === 1 ? "" : "s"} skipped (first: record ${f.record}, byte offset ${f.offset}); ${fed.messages} messages replayed`);
    if (rc === 0) rc = EXIT_MALFORMED;
  }
  if (rc === 0 && fed.messages === 0 && skipped > 0) {
    log.error("replay", `${file}: no netlink messages replayed`);
    rc = 1;
  }
  for (const ex of exporters) await ex.close();
  if (fed.copies) log.info("replay", `${file}: ${fed.copies} copies of notifications delivered to several sockets were replayed once each`);
  log.debug("replay", `${fed.messages} messages replayed from ${file}`);
  return rc;
}
