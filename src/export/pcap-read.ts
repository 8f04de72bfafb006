/**
 * Reads netlink captures for --replay: classic pcap (micro- and nanosecond magics, either byte
 * order) and pcapng (SHB, IDB, EPB, SPB and the obsolete PB, each interface with its own link type
 * and timestamp resolution). Records that are not netlink are skipped and counted in CaptureStats,
 * so the caller can say so. A record whose netlink framing is bad is skipped too, but reported one
 * by one (record number and byte offset): the file's own framing still says where the next record
 * starts, so the rest of the capture need not be lost, and a replay that skipped garbage silently
 * would hide exactly the bug it is run to find. A broken container (a truncated end, a bad block
 * length) leaves nothing to resynchronise on and throws a CaptureFormatError naming the offset.
 */
import { ARPHRD_NETLINK } from "../uapi/linux.gen.ts";
import { COOKED_HDR_LEN, LINKTYPE_NETLINK, NLMSG_HDRLEN, PCAP_MAGIC_NS, PCAP_MAGIC_US } from "./pcap.ts";

/** LINKTYPE_LINUX_SLL: what an older libpcap writes for an nlmon device (same 16-byte header) */
export const LINKTYPE_LINUX_SLL = 113;

export interface CapturedMessage {
  /** netlink protocol (NETLINK_ROUTE ...) */
  protocol: number;
  /** capture time, ns since the epoch */
  tsNs: bigint;
  /** one netlink message, header included */
  message: Uint8Array;
  /** byte offset of the record in the file */
  offset: number;
  /** 1-based number of the record among all packet records of the file, as tshark numbers frames */
  record: number;
  /** the pseudo-header's packet type: PACKET_OUTGOING from an nlmon device's tap, PACKET_HOST from nlmon's own export */
  pkttype: number;
}

/** A netlink record whose messages could not all be framed; those before the bad one were yielded. */
export interface MalformedRecord {
  record: number;
  /** byte offset in the file of the bad netlink header (of the record's data when it has none) */
  offset: number;
  /** netlink protocol, when the pseudo-header was there to say */
  protocol?: number;
  what: string;
}

/** What a read went through besides the messages it yielded. */
export interface CaptureStats {
  /** records that held netlink traffic */
  records: number;
  /**
   * records skipped because they are not netlink, by link type; LINKTYPE_LINUX_SLL counts only
   * the records of a device other than ARPHRD_NETLINK
   */
  skipped: Map<number, number>;
  /** netlink records skipped (in part or whole) because their framing was bad */
  malformed: number;
  /** told of each malformed record as the reader reaches it */
  onMalformed?: (m: MalformedRecord) => void;
}

export function newCaptureStats(onMalformed?: (m: MalformedRecord) => void): CaptureStats {
  return { records: 0, skipped: new Map(), malformed: 0, onMalformed };
}

export class CaptureFormatError extends Error {
  constructor(readonly offset: number, what: string) {
    super(`capture: ${what} at byte offset ${offset}`);
    this.name = "CaptureFormatError";
  }
}

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const PCAPNG_IDB = 1;
const PCAPNG_PB = 2;
const PCAPNG_SPB = 3;
const PCAPNG_EPB = 6;
const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/** netlink messages themselves are in the capturing host's order; we read little-endian hosts' */
const NL_LE = true;

function need(buf: Uint8Array, off: number, n: number, what: string) {
  if (buf.length - off < n) throw new CaptureFormatError(off, `truncated ${what} (need ${n} bytes, ${Math.max(0, buf.length - off)} left)`);
}

/** Where a record came from, for the messages it yields and the problems it reports. */
interface RecordAt {
  tsNs: bigint;
  /** byte offset of the record in the file */
  off: number;
  record: number;
  stats: CaptureStats;
}

function malformed(at: RecordAt, offset: number, what: string, protocol?: number) {
  at.stats.malformed++;
  at.stats.onMalformed?.({ record: at.record, offset, protocol, what });
}

function zeros(u: Uint8Array, from: number): boolean {
  for (let i = from; i < u.length; i++) if (u[i] !== 0) return false;
  return true;
}

/** Splits a record's netlink payload (after the pseudo-header) into messages. */
function* messages(payload: Uint8Array, protocol: number, at: RecordAt, payloadOff: number, pkttype: number): Generator<CapturedMessage> {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let o = 0;
  while (o < payload.length) {
    // a request sent from a larger zeroed buffer is captured with its zeros (iproute2 does this);
    // the kernel stops at them without complaint, and so does the replay
    if (zeros(payload, o)) return;
    // nothing after a bad length can be trusted to be aligned: the rest of the record is skipped
    if (payload.length - o < NLMSG_HDRLEN)
      return malformed(at, payloadOff + o, `netlink header truncated (${payload.length - o} bytes)`, protocol);
    const len = v.getUint32(o, NL_LE);
    if (len < NLMSG_HDRLEN || len > payload.length - o)
      return malformed(at, payloadOff + o, `bad nlmsg_len ${len} (${payload.length - o} bytes in record)`, protocol);
    yield { protocol, tsNs: at.tsNs, message: payload.slice(o, o + len), offset: at.off, record: at.record, pkttype };
    o += Math.min((len + 3) & ~3, payload.length - o);
  }
}

/** Strips the LINKTYPE_NETLINK/SLL pseudo-header; records that are not netlink are only counted. */
function* fromLinkLayer(linktype: number, data: Uint8Array, at: RecordAt, dataOff: number): Generator<CapturedMessage> {
  const stats = at.stats;
  const skip = () => stats.skipped.set(linktype, (stats.skipped.get(linktype) ?? 0) + 1);
  if (linktype !== LINKTYPE_NETLINK && linktype !== LINKTYPE_LINUX_SLL) return skip();
  if (data.length < COOKED_HDR_LEN)
    return malformed(at, dataOff, `record of ${data.length} bytes is shorter than the ${COOKED_HDR_LEN}-byte netlink pseudo-header`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const hatype = v.getUint16(2, false);
  if (linktype === LINKTYPE_LINUX_SLL && hatype !== ARPHRD_NETLINK) return skip();
  stats.records++;
  const protocol = v.getUint16(14, false);
  yield* messages(data.subarray(COOKED_HDR_LEN), protocol, at, dataOff + COOKED_HDR_LEN, v.getUint16(0, false));
}

function* readPcap(buf: Uint8Array, stats: CaptureStats): Generator<CapturedMessage> {
  need(buf, 0, 24, "pcap global header");
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let le: boolean;
  const mLE = v.getUint32(0, true);
  if (mLE === PCAP_MAGIC_US || mLE === PCAP_MAGIC_NS) le = true;
  else if (v.getUint32(0, false) === PCAP_MAGIC_US || v.getUint32(0, false) === PCAP_MAGIC_NS) le = false;
  else throw new CaptureFormatError(0, `not a pcap file (magic 0x${mLE.toString(16)})`);
  const nsRes = v.getUint32(0, le) === PCAP_MAGIC_NS;
  const major = v.getUint16(4, le);
  if (major !== 2) throw new CaptureFormatError(4, `unsupported pcap version ${major}.${v.getUint16(6, le)}`);
  // the upper bits of the link-type word carry FCS flags, not the type
  const linktype = v.getUint32(20, le) & 0xffff;
  let off = 24;
  let record = 0;
  while (off < buf.length) {
    need(buf, off, 16, "pcap record header");
    record++;
    const sec = v.getUint32(off, le);
    const frac = v.getUint32(off + 4, le);
    const incl = v.getUint32(off + 8, le);
    if (frac >= (nsRes ? 1_000_000_000 : 1_000_000))
      throw new CaptureFormatError(off + 4, `timestamp fraction ${frac} out of range`);
    if (incl > 0x4000000) throw new CaptureFormatError(off + 8, `implausible record length ${incl}`);
    need(buf, off + 16, incl, "pcap record data");
    const tsNs = BigInt(sec) * 1_000_000_000n + BigInt(nsRes ? frac : frac * 1000);
    yield* fromLinkLayer(linktype, buf.subarray(off + 16, off + 16 + incl), { tsNs, off, record, stats }, off + 16);
    off += 16 + incl;
  }
}

interface Iface {
  linktype: number;
  /** units per second as a power: base 10 or 2, exponent */
  base: 10 | 2;
  exp: number;
  offsetSec: bigint;
}

/** the last instant an ECMAScript Date can hold (8.64e15 ms after the epoch), in ns */
const MAX_TS_NS = 8_640_000_000_000_000_000_000n;

function tsToNs(ifc: Iface, ts: bigint): bigint {
  let ns: bigint;
  if (ifc.base === 10) ns = ifc.exp <= 9 ? ts * 10n ** BigInt(9 - ifc.exp) : ts / 10n ** BigInt(ifc.exp - 9);
  else ns = (ts * 1_000_000_000n) >> BigInt(ifc.exp);
  return ns + ifc.offsetSec * 1_000_000_000n;
}

function* readPcapng(buf: Uint8Array, stats: CaptureStats): Generator<CapturedMessage> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let le = true;
  let ifaces: Iface[] = [];
  let off = 0;
  let lastTs = 0n;
  let record = 0;
  while (off < buf.length) {
    need(buf, off, 12, "pcapng block header");
    const typeLE = v.getUint32(off, true);
    if (typeLE === PCAPNG_SHB) {
      need(buf, off, 28, "section header block");
      const bom = v.getUint32(off + 8, true);
      if (bom === PCAPNG_BOM) le = true;
      else if (v.getUint32(off + 8, false) === PCAPNG_BOM) le = false;
      else throw new CaptureFormatError(off + 8, `bad byte-order magic 0x${bom.toString(16)}`);
      const major = v.getUint16(off + 12, le);
      if (major !== 1) throw new CaptureFormatError(off + 12, `unsupported pcapng version ${major}`);
      // interfaces are numbered per section
      ifaces = [];
    } else if (off === 0) {
      throw new CaptureFormatError(0, `not a pcapng file (first block type 0x${typeLE.toString(16)})`);
    }
    const type = v.getUint32(off, le);
    const total = v.getUint32(off + 4, le);
    if (total < 12 || total % 4 !== 0) throw new CaptureFormatError(off + 4, `bad block length ${total}`);
    need(buf, off, total, `pcapng block (type ${type}, ${total} bytes)`);
    if (v.getUint32(off + total - 4, le) !== total)
      throw new CaptureFormatError(off + total - 4, `block trailer length ${v.getUint32(off + total - 4, le)} does not match ${total}`);
    const body = off + 8;
    const bodyEnd = off + total - 4;
    switch (type) {
      case PCAPNG_IDB: {
        if (bodyEnd - body < 8) throw new CaptureFormatError(body, "interface description block too short");
        const ifc: Iface = { linktype: v.getUint16(body, le), base: 10, exp: 6, offsetSec: 0n };
        for (const [code, o, len] of options(v, le, body + 8, bodyEnd)) {
          if (code === IF_TSRESOL && len >= 1) {
            const r = buf[o]!;
            ifc.base = r & 0x80 ? 2 : 10;
            ifc.exp = r & 0x7f;
          } else if (code === IF_TSOFFSET && len >= 8) {
            ifc.offsetSec = v.getBigInt64(o, le);
          }
        }
        ifaces.push(ifc);
        break;
      }
      case PCAPNG_EPB:
      case PCAPNG_PB: {
        if (bodyEnd - body < 20) throw new CaptureFormatError(body, "packet block too short");
        const id = type === PCAPNG_EPB ? v.getUint32(body, le) : v.getUint16(body, le);
        const ifc = ifaces[id];
        if (!ifc) throw new CaptureFormatError(body, `packet for undeclared interface ${id}`);
        const ts = (BigInt(v.getUint32(body + 4, le)) << 32n) | BigInt(v.getUint32(body + 8, le));
        const cap = v.getUint32(body + 12, le);
        if (cap > bodyEnd - (body + 20)) throw new CaptureFormatError(body + 12, `captured length ${cap} exceeds the block`);
        const tsNs = tsToNs(ifc, ts);
        record++;
        if (tsNs < 0n || tsNs > MAX_TS_NS) {
          // 64 bits of units with an offset reach past any date a timestamp can be written as
          malformed({ tsNs: 0n, off, record, stats }, body + 4, `timestamp ${tsNs} ns is out of range`);
          break;
        }
        lastTs = tsNs;
        yield* fromLinkLayer(ifc.linktype, buf.subarray(body + 20, body + 20 + cap), { tsNs, off, record, stats }, body + 20);
        break;
      }
      case PCAPNG_SPB: {
        const ifc = ifaces[0];
        if (!ifc) throw new CaptureFormatError(body, "simple packet block before any interface");
        const orig = v.getUint32(body, le);
        const cap = Math.min(orig, bodyEnd - (body + 4));
        record++;
        // a simple packet block has no timestamp; the previous packet's is the best estimate
        yield* fromLinkLayer(ifc.linktype, buf.subarray(body + 4, body + 4 + cap), { tsNs: lastTs, off, record, stats }, body + 4);
        break;
      }
      default:
        // name resolution, statistics, decryption secrets, custom blocks: nothing for a replay
        break;
    }
    off += total;
  }
}

function* options(v: DataView, le: boolean, from: number, to: number): Generator<[number, number, number]> {
  let o = from;
  while (o + 4 <= to) {
    const code = v.getUint16(o, le);
    const len = v.getUint16(o + 2, le);
    if (code === OPT_ENDOFOPT) return;
    if (o + 4 + len > to) throw new CaptureFormatError(o, `option ${code} of ${len} bytes runs past its block`);
    yield [code, o + 4, len];
    o += 4 + ((len + 3) & ~3);
  }
}

/**
 * Every netlink message in a capture held in memory. Throws CaptureFormatError when the file's own
 * framing is broken. `stats`, if given, counts the records read, skipped and malformed (complete
 * once the generator is done) and reports each malformed record as it is reached.
 */
export function* readCapture(buf: Uint8Array, stats: CaptureStats = newCaptureStats()): Generator<CapturedMessage> {
  need(buf, 0, 4, "capture file magic");
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(0, true) === PCAPNG_SHB) yield* readPcapng(buf, stats);
  else yield* readPcap(buf, stats);
}

/** Reads a capture file; only errors of the input itself are CaptureFormatError, I/O errors pass through. */
export async function* readCaptureFile(path: string, stats?: CaptureStats): AsyncGenerator<CapturedMessage> {
  const buf = new Uint8Array(await Bun.file(path).arrayBuffer());
  yield* readCapture(buf, stats);
}
