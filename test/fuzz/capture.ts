/**
 * Fuzz inputs wrapped as captures for the replay path: nlmon's own pcap, classic pcap of the other
 * byte order and resolution, pcapng with enhanced and simple packet blocks; sometimes the
 * container itself is damaged (record headers, block lengths, a cut end).
 */
import { LINKTYPE_NETLINK, PCAP_MAGIC_NS, PCAP_MAGIC_US, pcapGlobalHeader, pcapRecord, COOKED_HDR_LEN } from "../../src/export/pcap.ts";
import { LINKTYPE_LINUX_SLL } from "../../src/export/pcap-read.ts";
import { ARPHRD_NETLINK } from "../../src/uapi/linux.gen.ts";
import type { Rng } from "./rng.ts";

function cat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function cooked(protocol: number, d: Uint8Array, hatype = ARPHRD_NETLINK): Uint8Array {
  const b = new Uint8Array(COOKED_HDR_LEN + d.length);
  const v = new DataView(b.buffer);
  v.setUint16(2, hatype, false);
  v.setUint16(14, protocol, false);
  b.set(d, COOKED_HDR_LEN);
  return b;
}

function classic(le: boolean, ns: boolean, linktype: number, recs: Uint8Array[]): Uint8Array {
  const h = new DataView(new ArrayBuffer(24));
  h.setUint32(0, ns ? PCAP_MAGIC_NS : PCAP_MAGIC_US, le);
  h.setUint16(4, 2, le);
  h.setUint16(6, 4, le);
  h.setUint32(16, 262144, le);
  h.setUint32(20, linktype, le);
  const parts: Uint8Array[] = [new Uint8Array(h.buffer)];
  recs.forEach((d, i) => {
    const rh = new DataView(new ArrayBuffer(16));
    rh.setUint32(0, 1_700_000_000 + i, le);
    rh.setUint32(4, i, le);
    rh.setUint32(8, d.length, le);
    rh.setUint32(12, d.length, le);
    parts.push(new Uint8Array(rh.buffer), d);
  });
  return cat(parts);
}

function block(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, le);
  v.setUint32(4, total, le);
  b.set(body, 8);
  v.setUint32(total - 4, total, le);
  return b;
}

function fields(le: boolean, f: [16 | 32, number][]): Uint8Array {
  const v = new DataView(new ArrayBuffer(f.reduce((n, [bits]) => n + bits / 8, 0)));
  let o = 0;
  for (const [bits, x] of f) {
    if (bits === 16) v.setUint16(o, x, le); else v.setUint32(o, x, le);
    o += bits / 8;
  }
  return new Uint8Array(v.buffer);
}

// pcapng block types and the section header's byte-order magic (pcapng spec, section 4)
const SHB = 0x0a0d0d0a, IDB = 1, SPB = 3, EPB = 6, BOM = 0x1a2b3c4d;

function pcapng(le: boolean, linktype: number, recs: Uint8Array[], r: Rng): Uint8Array {
  const parts = [
    block(le, SHB, fields(le, [[32, BOM], [16, 1], [16, 0], [32, 0xffffffff], [32, 0xffffffff]])),
    block(le, IDB, fields(le, [[16, linktype], [16, 0], [32, 0]])),
  ];
  recs.forEach((d, i) => {
    parts.push(r.chance(0.1)
      ? block(le, SPB, cat([fields(le, [[32, d.length]]), d]))
      : block(le, EPB, cat([fields(le, [[32, 0], [32, 0], [32, i], [32, d.length], [32, d.length]]), d])));
  });
  return cat(parts);
}

/** a datagram as nlmon's own pcap export writes it, or (already a capture) as it is */
export function captureOf(protocol: number, b: Uint8Array): Uint8Array {
  if (b.length >= 4) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if ([PCAP_MAGIC_NS, PCAP_MAGIC_US, SHB].some((m) => m === v.getUint32(0, true) || m === v.getUint32(0, false))) return b;
  }
  return cat([pcapGlobalHeader(), pcapRecord(protocol, 0n, b)]);
}

/** the datagrams as one capture, in a random format, possibly damaged */
export function makeCapture(r: Rng, protocol: number, datagrams: Uint8Array[]): Uint8Array {
  const sll = r.chance(0.1);
  const recs = datagrams.map((d) => cooked(protocol, d, sll && r.chance(0.2) ? r.below(0x10000) : ARPHRD_NETLINK));
  const linktype = sll ? LINKTYPE_LINUX_SLL : r.chance(0.02) ? r.below(300) : LINKTYPE_NETLINK;
  let buf: Uint8Array;
  const k = r.below(4);
  if (k === 0 && linktype === LINKTYPE_NETLINK) {
    // byte for byte what nlmon's pcap export writes
    buf = cat([pcapGlobalHeader(), ...datagrams.map((d, i) => pcapRecord(protocol, BigInt(i), d))]);
  } else if (k <= 1) buf = classic(r.chance(0.5), r.chance(0.5), linktype, recs);
  else buf = pcapng(r.chance(0.5), linktype, recs, r);
  if (!r.chance(0.25)) return buf;
  // container damage: a few bytes anywhere, a length word, or a cut
  const b = buf.slice();
  switch (r.below(3)) {
    case 0:
      for (let n = 1 + r.below(4); n > 0; n--) b[r.below(b.length)] = r.next() & 0xff;
      return b;
    case 1: {
      const o = 4 * r.below(b.length >> 2);
      new DataView(b.buffer).setUint32(o, r.pick([0, 1, 12, 0xffffffff, r.next(), b.length - o]), r.chance(0.5));
      return b;
    }
    default:
      return b.subarray(0, r.below(b.length));
  }
}
