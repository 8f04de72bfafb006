/**
 * pcap export: every netlink message as received, one record each, in the format an nlmon(4)
 * device capture has (LINKTYPE_NETLINK), so Wireshark/tshark dissect it as netlink and `--replay`
 * can feed it back through the decoders.
 *
 * Record payload = the 16-byte pseudo-header of LINKTYPE_NETLINK (tcpdump.org's linktype page):
 *   2 bytes unused (we put the SLL packet type, 0 = to us, as the kernel's nlmon does),
 *   2 bytes ARPHRD type, network order = ARPHRD_NETLINK,
 *   10 bytes unused (SLL address length and address: zero),
 *   2 bytes netlink protocol (NETLINK_ROUTE ...), network order,
 * then the netlink message in host byte order, exactly as the kernel wrote it.
 * Timestamps use the nanosecond-resolution magic, so the kernel-side receive time survives.
 */
import type { PipelineEvent } from "../event/model.ts";
import { ARPHRD_NETLINK, NLMSG_ALIGNTO } from "../uapi/linux.gen.ts";
import type { Exporter } from "./types.ts";
import { FileSink } from "./file-sink.ts";
import { ErrorReporter, Pump, stderrLog, type ExportMetrics, type Logger } from "./queue.ts";

export const LINKTYPE_NETLINK = 253;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const COOKED_HDR_LEN = 16;
/** snaplen: larger than any netlink message the kernel sends (dumps use up to 32 KiB pages) */
export const SNAPLEN = 262144;
export const NLMSG_HDRLEN = 16;

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function pcapGlobalHeader(linktype = LINKTYPE_NETLINK, snaplen = SNAPLEN): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  // host order, as libpcap writes: readers detect it from the magic
  v.setUint32(0, PCAP_MAGIC_NS, LE);
  v.setUint16(4, 2, LE);
  v.setUint16(6, 4, LE);
  v.setInt32(8, 0, LE);
  v.setUint32(12, 0, LE);
  v.setUint32(16, snaplen, LE);
  v.setUint32(20, linktype, LE);
  return b;
}

/** One pcap record: record header, LINKTYPE_NETLINK pseudo-header, message. */
export function pcapRecord(protocol: number, tsNs: bigint, msg: Uint8Array): Uint8Array {
  const len = COOKED_HDR_LEN + msg.length;
  const b = new Uint8Array(16 + len);
  const v = new DataView(b.buffer);
  const ts = tsNs < 0n ? 0n : tsNs;
  v.setUint32(0, Number(ts / 1_000_000_000n) >>> 0, LE);
  v.setUint32(4, Number(ts % 1_000_000_000n), LE);
  v.setUint32(8, len, LE);
  v.setUint32(12, len, LE);
  v.setUint16(16 + 0, 0, false);
  v.setUint16(16 + 2, ARPHRD_NETLINK, false);
  v.setUint16(16 + 14, protocol & 0xffff, false);
  b.set(msg, 16 + COOKED_HDR_LEN);
  return b;
}

const align = (n: number) => (n + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);

/**
 * Splits a datagram into its messages by nlmsg_len. A malformed tail (length too short or past the
 * end) comes back whole as the last piece, flagged, so the capture keeps every byte received.
 */
export function splitNetlink(dg: Uint8Array): { msgs: Uint8Array[]; malformed: boolean } {
  const v = new DataView(dg.buffer, dg.byteOffset, dg.byteLength);
  const msgs: Uint8Array[] = [];
  let off = 0;
  while (off < dg.length) {
    if (dg.length - off < NLMSG_HDRLEN) break;
    const len = v.getUint32(off, LE);
    if (len < NLMSG_HDRLEN || len > dg.length - off) break;
    msgs.push(dg.subarray(off, off + len));
    off += Math.min(align(len), dg.length - off);
  }
  if (off < dg.length) {
    msgs.push(dg.subarray(off));
    return { msgs, malformed: true };
  }
  return { msgs, malformed: false };
}

export interface PcapExportOptions {
  /** "-" = standard output */
  file: string;
  queue_size: number;
  rotate: { max_size: number; keep: number };
}

export class PcapExporter implements Exporter {
  readonly name: string;
  private readonly sink: FileSink;
  private readonly pump: Pump<Uint8Array>;
  private readonly errors: ErrorReporter;

  constructor(private readonly opts: PcapExportOptions, private readonly metrics: ExportMetrics, log: Logger = stderrLog, name = "pcap") {
    this.name = name;
    this.errors = new ErrorReporter(name, metrics, log);
    this.sink = new FileSink({
      path: opts.file,
      maxSize: opts.rotate?.max_size ?? 0,
      keep: opts.rotate?.keep ?? 0,
      compress: false,
      header: pcapGlobalHeader(),
      log: (m) => log(`export ${name}: ${m}`),
    });
    this.pump = new Pump<Uint8Array>(opts.queue_size, name, metrics, log, this.errors, (b) => this.sink.write(b));
  }

  async start() {
    try {
      await this.sink.open();
    } catch (e) {
      this.errors.error(`cannot open ${this.opts.file}: ${e instanceof Error ? e.message : String(e)} (will retry)`);
    }
  }

  /** Records come from pushRaw, which sees every datagram; decoded events add nothing to a capture. */
  push(_ev: PipelineEvent, _line: string) {}

  pushRaw(protocol: number, tsNs: bigint, datagram: Uint8Array) {
    try {
      const { msgs, malformed } = splitNetlink(datagram);
      if (malformed) this.metrics.exportErrors.inc({ export: this.name });
      // copy now: the receive buffer is reused for the next datagram
      for (const m of msgs) this.pump.push(pcapRecord(protocol, tsNs, m));
    } catch {
      // push must never throw into the receive path
    }
  }

  reopen() {
    this.sink.reopen();
    this.pump.kick();
  }

  get queued() {
    return this.pump.length;
  }

  async close() {
    await this.pump.drain(5000);
    await this.sink.close();
  }
}
