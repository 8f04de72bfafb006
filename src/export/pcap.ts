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
import { ARPHRD_NETLINK, NETLINK_ROUTE, NLM_F_MULTI, NLMSG_ALIGNTO, OFFSETOF, PACKET_HOST, RTM_DELLINK, RTM_NEWLINK, SIZEOF } from "../uapi/linux.gen.ts";
import { nowNs } from "../clock.ts";
import { FileExport } from "./file-export.ts";
import { PartialWriteError } from "./file-sink.ts";
import { stderrLog, type ExportMetrics, type Logger } from "./queue.ts";

export const LINKTYPE_NETLINK = 253;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const COOKED_HDR_LEN = 16;
/** snaplen: larger than any netlink message the kernel sends (dumps use up to 32 KiB pages) */
export const SNAPLEN = 262144;
export const NLMSG_HDRLEN = SIZEOF.nlmsghdr;
/** the per-record header of classic pcap: seconds, fraction, captured and original length */
const RECORD_HDR_LEN = 16;

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
  // received by this socket, as opposed to an nlmon device's tap (PACKET_OUTGOING)
  v.setUint16(16 + 0, PACKET_HOST, false);
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

export class PcapExporter extends FileExport<Uint8Array> {
  constructor(opts: PcapExportOptions, private readonly metrics: ExportMetrics, log: Logger = stderrLog, name = "pcap") {
    super(name, {
      path: opts.file,
      maxSize: opts.rotate?.max_size ?? 0,
      keep: opts.rotate?.keep ?? 0,
      compress: false,
      header: pcapGlobalHeader(),
      preamble: () => this.linkPreamble(),
    }, opts.queue_size, metrics, log);
  }

  /**
   * A new file's preamble must hold the links as of its first record, not as of the moment the
   * queue is drained (later records would name devices too early). So link state advances as
   * records are written: each write ends at a link record, whose update applies once it is out;
   * a rotation inside a write then sees exactly the records before it.
   */
  protected async flush(records: Uint8Array[]) {
    let from = 0;
    while (from < records.length) {
      let to = from;
      while (to < records.length && !this.isLinkRecord(records[to]!)) to++;
      to = Math.min(to + 1, records.length);
      try {
        await this.sink.write(records.slice(from, to));
      } catch (e) {
        if (e instanceof PartialWriteError) throw new PartialWriteError(from + e.done, e.cause, this.sink.path);
        throw e;
      }
      this.trackLink(records[to - 1]!);
      from = to;
    }
  }

  /** Records come from pushRaw, which sees every datagram; decoded events add nothing to a capture. */
  push(_ev: PipelineEvent, _line: string) {}
  /** the capture keeps datagrams (pushRaw), not lines */
  readonly pushBlock = () => {};

  /** the newest RTM_NEWLINK seen per ifindex, so each new file of a rotated capture can name devices */
  private readonly links = new Map<number, Uint8Array>();

  /** the message of a record made by pcapRecord, when it is an rtnetlink link message */
  private isLinkRecord(rec: Uint8Array): boolean {
    const m = RECORD_HDR_LEN + COOKED_HDR_LEN;
    if (rec.length < m + NLMSG_HDRLEN + SIZEOF.ifinfomsg) return false;
    const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    if (v.getUint16(RECORD_HDR_LEN + 14, false) !== NETLINK_ROUTE) return false;
    const type = v.getUint16(m + OFFSETOF["nlmsghdr.nlmsg_type"], LE);
    return type === RTM_NEWLINK || type === RTM_DELLINK;
  }

  private trackLink(rec: Uint8Array) {
    if (!this.isLinkRecord(rec)) return;
    const m = rec.subarray(RECORD_HDR_LEN + COOKED_HDR_LEN);
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const ifindex = v.getInt32(NLMSG_HDRLEN + OFFSETOF["ifinfomsg.ifi_index"], LE);
    if (v.getUint16(OFFSETOF["nlmsghdr.nlmsg_type"], LE) === RTM_DELLINK) this.links.delete(ifindex);
    else this.links.set(ifindex, m.slice());
  }

  /**
   * A file that rotation or SIGHUP starts begins with the links known so far, flagged NLM_F_MULTI
   * like the dump nlmon starts from, so --replay of that file alone names devices as live did.
   */
  private linkPreamble(): Uint8Array {
    if (!this.links.size) return new Uint8Array(0);
    const ts = nowNs();
    const recs = [...this.links.keys()].sort((a, b) => a - b).map((i) => {
      const m = this.links.get(i)!.slice();
      const v = new DataView(m.buffer);
      v.setUint16(OFFSETOF["nlmsghdr.nlmsg_flags"], v.getUint16(OFFSETOF["nlmsghdr.nlmsg_flags"], LE) | NLM_F_MULTI, LE);
      return pcapRecord(NETLINK_ROUTE, ts, m);
    });
    const out = new Uint8Array(recs.reduce((a, r) => a + r.length, 0));
    let o = 0;
    for (const r of recs) { out.set(r, o); o += r.length; }
    return out;
  }

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
}
