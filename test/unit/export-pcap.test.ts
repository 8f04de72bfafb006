import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import {
  LINKTYPE_NETLINK, PcapExporter, pcapGlobalHeader, pcapRecord, splitNetlink,
} from "../../src/export/pcap.ts";
import {
  CaptureFormatError, LINKTYPE_LINUX_SLL, newCaptureStats, readCapture, readCaptureFile, type CapturedMessage,
} from "../../src/export/pcap-read.ts";
import { FileSink } from "../../src/export/file-sink.ts";
import { runReplay } from "../../src/cli/replay.ts";
import { loadConfig } from "../../src/config/load.ts";
import { recorder } from "./log-recorder.ts";
import { ARPHRD_NETLINK, NETLINK_ROUTE, NETLINK_GENERIC, NLM_F_MULTI, OFFSETOF, PACKET_HOST, RTM_DELLINK, RTM_NEWLINK, RTM_NEWROUTE, SIZEOF } from "../../src/uapi/linux.gen.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-pcap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** a netlink message of `len` bytes (len >= 16) with a recognisable body */
function nlmsg(len: number, type = RTM_NEWLINK, seq = 1): Uint8Array {
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, type, true);
  v.setUint32(8, seq, true);
  for (let i = 16; i < len; i++) b[i] = (i * 7 + seq) & 0xff;
  return b;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const pad4 = (b: Uint8Array) => cat(b, new Uint8Array((4 - (b.length % 4)) % 4));

describe("writer layout", () => {
  test("global header: nanosecond magic, v2.4, LINKTYPE_NETLINK", () => {
    const h = pcapGlobalHeader();
    const v = new DataView(h.buffer);
    expect(h.length).toBe(24);
    expect(v.getUint32(0, true)).toBe(0xa1b23c4d);
    expect([v.getUint16(4, true), v.getUint16(6, true)]).toEqual([2, 4]);
    expect(v.getUint32(20, true)).toBe(LINKTYPE_NETLINK);
  });
  test("record: ts split in s/ns, pseudo-header with ARPHRD_NETLINK and protocol in network order", () => {
    const m = nlmsg(20);
    const r = pcapRecord(NETLINK_GENERIC, 1_700_000_000_123_456_789n, m);
    const v = new DataView(r.buffer);
    expect(v.getUint32(0, true)).toBe(1_700_000_000);
    expect(v.getUint32(4, true)).toBe(123_456_789);
    expect(v.getUint32(8, true)).toBe(36);
    expect(v.getUint32(12, true)).toBe(36);
    expect(v.getUint16(18, false)).toBe(ARPHRD_NETLINK);
    expect(Array.from(r.subarray(20, 30))).toEqual(new Array(10).fill(0));
    expect(v.getUint16(30, false)).toBe(NETLINK_GENERIC);
    expect(r.subarray(32)).toEqual(m);
  });
  test("datagrams split by nlmsg_len with alignment; a bad tail is kept and flagged", () => {
    const a = nlmsg(18), b = nlmsg(24, RTM_NEWLINK, 2);
    const ok = splitNetlink(cat(pad4(a), b));
    expect(ok.malformed).toBe(false);
    expect(ok.msgs).toEqual([a, b]);
    const bad = cat(a, new Uint8Array([0, 0]), new Uint8Array([1, 2, 3, 4, 5]));
    const r = splitNetlink(bad);
    expect(r.malformed).toBe(true);
    expect(r.msgs.length).toBe(2);
    expect(r.msgs[1]).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
  });
});

describe("round trip", () => {
  test("exporter file reads back message for message", async () => {
    const file = join(dir, "rt.pcap");
    const m = nlmonMetrics();
    const exp = new PcapExporter({ file, queue_size: 1000, rotate: { max_size: 0, keep: 0 } }, m);
    await exp.start();
    const want: CapturedMessage[] = [];
    for (let i = 0; i < 50; i++) {
      const msgs = [nlmsg(16 + i, RTM_NEWLINK, i), nlmsg(40, RTM_NEWLINK + 1, i + 1000)];
      const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_001n;
      exp.pushRaw(i % 2 ? NETLINK_GENERIC : NETLINK_ROUTE, ts, cat(pad4(msgs[0]!), msgs[1]!));
      // one record per message, numbered from 1 like tshark's frames
      // PACKET_HOST: what one socket received (an nlmon device writes PACKET_OUTGOING)
      for (const msg of msgs) want.push({ protocol: i % 2 ? NETLINK_GENERIC : NETLINK_ROUTE, tsNs: ts, message: msg, offset: 0, record: want.length + 1, pkttype: PACKET_HOST });
    }
    await exp.close();
    const got: CapturedMessage[] = [];
    for await (const c of readCaptureFile(file)) got.push(c);
    expect(got.map((g) => ({ ...g, offset: 0 }))).toEqual(want);
    expect(m.exportDropped.get({ export: "pcap" })).toBe(0);
  });

  test("rotation starts every file with a header", async () => {
    const file = join(dir, "rot.pcap");
    const exp = new PcapExporter({ file, queue_size: 10000, rotate: { max_size: 2000, keep: 3 } }, nlmonMetrics());
    await exp.start();
    for (let i = 0; i < 200; i++) exp.pushRaw(NETLINK_ROUTE, BigInt(i), nlmsg(64, RTM_NEWROUTE, i));
    await exp.close();
    const seqs: number[] = [];
    for (const f of [`${file}.3`, `${file}.2`, `${file}.1`, file]) {
      const buf = new Uint8Array(await Bun.file(f).arrayBuffer());
      expect(buf.length).toBeLessThanOrEqual(2000);
      for (const c of readCapture(buf)) seqs.push(new DataView(c.message.buffer, c.message.byteOffset).getUint32(8, true));
    }
    expect(seqs.at(-1)).toBe(199);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
  });
});

describe("rotated files carry the links", () => {
  const link = (ifindex: number, type = RTM_NEWLINK, seq = 0) => {
    const m = nlmsg(SIZEOF.nlmsghdr + SIZEOF.ifinfomsg, type, seq);
    new DataView(m.buffer).setInt32(SIZEOF.nlmsghdr + OFFSETOF["ifinfomsg.ifi_index"], ifindex, true);
    return m;
  };
  test("each new file starts with the newest RTM_NEWLINK per device, flagged NLM_F_MULTI; deleted links are gone", async () => {
    const file = join(dir, "links.pcap");
    const exp = new PcapExporter({ file, queue_size: 10000, rotate: { max_size: 3000, keep: 50 } }, nlmonMetrics());
    await exp.start();
    exp.pushRaw(NETLINK_ROUTE, 1n, link(2));
    exp.pushRaw(NETLINK_ROUTE, 2n, link(3));
    exp.pushRaw(NETLINK_ROUTE, 3n, link(3, RTM_NEWLINK, 77));
    exp.pushRaw(NETLINK_ROUTE, 4n, link(2, RTM_DELLINK));
    for (let i = 0; i < 100; i++) exp.pushRaw(NETLINK_ROUTE, BigInt(10 + i), nlmsg(64, RTM_NEWROUTE, 1000 + i));
    await exp.close();
    // the live file was started by a rotation: it opens with link 3 (its newest message, seq 77) only
    const first = [...readCapture(new Uint8Array(await Bun.file(file).arrayBuffer()))][0]!;
    const v = new DataView(first.message.buffer, first.message.byteOffset);
    expect(v.getUint16(OFFSETOF["nlmsghdr.nlmsg_type"], true)).toBe(RTM_NEWLINK);
    expect(v.getUint32(OFFSETOF["nlmsghdr.nlmsg_seq"], true)).toBe(77);
    expect(v.getUint16(OFFSETOF["nlmsghdr.nlmsg_flags"], true) & NLM_F_MULTI).toBe(NLM_F_MULTI);
    expect(v.getInt32(SIZEOF.nlmsghdr + OFFSETOF["ifinfomsg.ifi_index"], true)).toBe(3);
    const second = [...readCapture(new Uint8Array(await Bun.file(file).arrayBuffer()))][1]!;
    expect(new DataView(second.message.buffer, second.message.byteOffset).getUint16(OFFSETOF["nlmsghdr.nlmsg_type"], true)).toBe(RTM_NEWROUTE);
  });
  test("a file's links are those of the records before it, even when later ones were already queued", async () => {
    const file = join(dir, "links-order.pcap");
    const exp = new PcapExporter({ file, queue_size: 10000, rotate: { max_size: 1200, keep: 50 } }, nlmonMetrics());
    await exp.start();
    // all pushed in one turn of the event loop: the queue holds everything before the first write
    for (let i = 0; i < 100; i++) {
      if (i % 20 === 0) exp.pushRaw(NETLINK_ROUTE, BigInt(i), link(100 + i));
      exp.pushRaw(NETLINK_ROUTE, BigInt(i), nlmsg(64, RTM_NEWROUTE, i));
    }
    await exp.close();
    const files = readdirSync(dir).filter((f) => /^links-order\.pcap(\.\d+)?$/.test(f))
      .sort((a, b) => Number(b.split(".")[2] ?? 0) - Number(a.split(".")[2] ?? 0));
    expect(files.length).toBeGreaterThan(5);
    const type = (c: CapturedMessage) => new DataView(c.message.buffer, c.message.byteOffset).getUint16(OFFSETOF["nlmsghdr.nlmsg_type"], true);
    const ifindex = (c: CapturedMessage) => new DataView(c.message.buffer, c.message.byteOffset).getInt32(SIZEOF.nlmsghdr + OFFSETOF["ifinfomsg.ifi_index"], true);
    const seen: number[] = [];
    for (const f of files) {
      const recs = [...readCapture(new Uint8Array(await Bun.file(join(dir, f)).arrayBuffer()))];
      const multi = (c: CapturedMessage) => (new DataView(c.message.buffer, c.message.byteOffset).getUint16(OFFSETOF["nlmsghdr.nlmsg_flags"], true) & NLM_F_MULTI) !== 0;
      const head = recs.filter(multi);
      // the preamble names exactly the links written before this file began
      expect([f, head.map(ifindex)]).toEqual([f, [...seen]]);
      for (const c of recs.filter((c) => !multi(c) && type(c) === RTM_NEWLINK)) seen.push(ifindex(c));
    }
    expect(seen).toEqual([100, 120, 140, 160, 180]);
  });
});

/** hand-built captures in the formats other tools write */
function classicPcap(le: boolean, ns: boolean, recs: { ts: [number, number]; data: Uint8Array }[], linktype = LINKTYPE_NETLINK) {
  const parts: Uint8Array[] = [];
  const h = new DataView(new ArrayBuffer(24));
  h.setUint32(0, ns ? 0xa1b23c4d : 0xa1b2c3d4, le);
  h.setUint16(4, 2, le);
  h.setUint16(6, 4, le);
  h.setUint32(16, 65535, le);
  h.setUint32(20, linktype, le);
  parts.push(new Uint8Array(h.buffer));
  for (const r of recs) {
    const rh = new DataView(new ArrayBuffer(16));
    rh.setUint32(0, r.ts[0], le);
    rh.setUint32(4, r.ts[1], le);
    rh.setUint32(8, r.data.length, le);
    rh.setUint32(12, r.data.length, le);
    parts.push(new Uint8Array(rh.buffer), r.data);
  }
  return cat(...parts);
}

function cooked(protocol: number, msg: Uint8Array) {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint16(2, ARPHRD_NETLINK, false);
  v.setUint16(14, protocol, false);
  return cat(b, msg);
}

function block(le: boolean, type: number, body: Uint8Array) {
  const padded = pad4(body);
  const total = 12 + padded.length;
  const b = new DataView(new ArrayBuffer(total));
  b.setUint32(0, type, le);
  b.setUint32(4, total, le);
  new Uint8Array(b.buffer).set(padded, 8);
  b.setUint32(total - 4, total, le);
  return new Uint8Array(b.buffer);
}

function u(le: boolean, ...fields: [bits: 16 | 32, v: number][]) {
  const n = fields.reduce((s, [b]) => s + b / 8, 0);
  const v = new DataView(new ArrayBuffer(n));
  let o = 0;
  for (const [bits, x] of fields) {
    if (bits === 16) v.setUint16(o, x, le);
    else v.setUint32(o, x, le);
    o += bits / 8;
  }
  return new Uint8Array(v.buffer);
}

function pcapng(le: boolean, tsresol: number | undefined, pkts: { ts: bigint; data: Uint8Array }[], simple?: Uint8Array) {
  const shb = block(le, 0x0a0d0d0a, cat(u(le, [32, 0x1a2b3c4d], [16, 1], [16, 0], [32, 0xffffffff], [32, 0xffffffff])));
  const opts = tsresol === undefined ? new Uint8Array(0) : cat(u(le, [16, 9], [16, 1]), new Uint8Array([tsresol, 0, 0, 0]), u(le, [16, 0], [16, 0]));
  const idb = block(le, 1, cat(u(le, [16, LINKTYPE_NETLINK], [16, 0], [32, 0]), opts));
  const nrb = block(le, 4, u(le, [16, 0], [16, 0]));
  const epbs = pkts.map((p) =>
    block(le, 6, cat(u(le, [32, 0], [32, Number(p.ts >> 32n)], [32, Number(p.ts & 0xffffffffn)], [32, p.data.length], [32, p.data.length]), p.data)));
  const spb = simple ? [block(le, 3, cat(u(le, [32, simple.length]), simple))] : [];
  return cat(shb, idb, nrb, ...epbs, ...spb);
}

describe("reader", () => {
  const m1 = nlmsg(20, RTM_NEWLINK, 7);
  const m2 = nlmsg(28, RTM_NEWLINK, 8);

  for (const le of [true, false])
    for (const ns of [true, false])
      test(`classic pcap, ${le ? "little" : "big"}-endian, ${ns ? "ns" : "us"} magic`, () => {
        const buf = classicPcap(le, ns, [{ ts: [1_700_000_000, ns ? 5 : 5], data: cooked(NETLINK_ROUTE, cat(pad4(m1), m2)) }]);
        const got = [...readCapture(buf)];
        expect(got.map((g) => g.message)).toEqual([m1, m2]);
        expect(got[0]!.tsNs).toBe(1_700_000_000_000_000_000n + (ns ? 5n : 5000n));
        expect(got[0]!.protocol).toBe(NETLINK_ROUTE);
      });

  test("records of other link types are skipped, and counted by link type", () => {
    const buf = classicPcap(true, false, [{ ts: [1, 0], data: new Uint8Array(60) }, { ts: [2, 0], data: new Uint8Array(42) }], 1);
    const stats = newCaptureStats();
    expect([...readCapture(buf, stats)]).toEqual([]);
    expect(stats).toEqual({ records: 0, skipped: new Map([[1, 2]]), malformed: 0 });
  });

  test("Linux SLL records count as netlink only for ARPHRD_NETLINK", () => {
    const ether = cooked(NETLINK_ROUTE, m1);
    new DataView(ether.buffer, ether.byteOffset).setUint16(2, 1, false); // ARPHRD_ETHER
    const buf = classicPcap(true, true, [{ ts: [1, 0], data: cooked(NETLINK_ROUTE, m1) }, { ts: [2, 0], data: ether }], LINKTYPE_LINUX_SLL);
    const stats = newCaptureStats();
    expect([...readCapture(buf, stats)].map((c) => c.message)).toEqual([m1]);
    expect(stats).toEqual({ records: 1, skipped: new Map([[LINKTYPE_LINUX_SLL, 1]]), malformed: 0 });
  });

  test("netlink records are counted, messages or not", () => {
    const stats = newCaptureStats();
    const buf = pcapng(true, undefined, [{ ts: 1n, data: cooked(NETLINK_ROUTE, cat(pad4(m1), m2)) }, { ts: 2n, data: cooked(NETLINK_ROUTE, new Uint8Array(0)) }]);
    expect([...readCapture(buf, stats)].length).toBe(2);
    expect(stats).toEqual({ records: 2, skipped: new Map(), malformed: 0 });
  });

  for (const le of [true, false])
    test(`pcapng ${le ? "LE" : "BE"}: default microseconds, EPB and SPB`, () => {
      const buf = pcapng(le, undefined, [{ ts: 1_700_000_000_000_001n, data: cooked(NETLINK_GENERIC, m1) }], cooked(NETLINK_ROUTE, m2));
      const got = [...readCapture(buf)];
      expect(got.map((g) => [g.protocol, g.tsNs, g.message])).toEqual([
        [NETLINK_GENERIC, 1_700_000_000_000_001_000n, m1],
        [NETLINK_ROUTE, 1_700_000_000_000_001_000n, m2],
      ]);
    });

  test("pcapng if_tsresol: 10^-9 and 2^-10", () => {
    const ns = [...readCapture(pcapng(true, 9, [{ ts: 1_700_000_000_123_456_789n, data: cooked(0, m1) }]))];
    expect(ns[0]!.tsNs).toBe(1_700_000_000_123_456_789n);
    const bin = [...readCapture(pcapng(true, 0x80 | 10, [{ ts: 3n * 1024n + 512n, data: cooked(0, m1) }]))];
    expect(bin[0]!.tsNs).toBe(3_500_000_000n);
  });

  test("every truncation of a valid file fails with an offset, never another exception", () => {
    const files = [
      classicPcap(true, true, [{ ts: [1, 2], data: cooked(0, cat(pad4(m1), m2)) }, { ts: [3, 4], data: cooked(0, m2) }]),
      pcapng(false, 9, [{ ts: 5n, data: cooked(0, m1) }], cooked(0, m2)),
    ];
    for (const f of files) {
      for (let n = 0; n < f.length; n++) {
        try {
          [...readCapture(f.subarray(0, n))];
        } catch (e) {
          expect(e).toBeInstanceOf(CaptureFormatError);
          expect((e as Error).message).toMatch(/at byte offset \d+/);
          continue;
        }
        // a cut exactly between records is a shorter, valid file: that is all that may pass
      }
    }
  });

  test("a truncated record names its offset", () => {
    const f = classicPcap(true, true, [{ ts: [1, 2], data: cooked(0, m1) }, { ts: [3, 4], data: cooked(0, m2) }]);
    const second = 24 + 16 + 16 + m1.length;
    expect(() => [...readCapture(f.subarray(0, second + 10))]).toThrow(`truncated pcap record header (need 16 bytes, 10 left) at byte offset ${second}`);
    expect(() => [...readCapture(f.subarray(0, second + 20))]).toThrow(`truncated pcap record data (need 44 bytes, 4 left) at byte offset ${second + 16}`);
    expect(() => [...readCapture(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))]).toThrow(/at byte offset 0/);
  });

  test("random corruption yields messages or a CaptureFormatError, nothing else", () => {
    const base = pcapng(true, 9, [{ ts: 5n, data: cooked(0, m1) }, { ts: 6n, data: cooked(0, m2) }]);
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 3000; i++) {
      const f = base.slice();
      for (let k = 0; k < 3; k++) f[rnd() % f.length] = rnd() & 0xff;
      try {
        [...readCapture(f)];
      } catch (e) {
        expect(e).toBeInstanceOf(CaptureFormatError);
      }
    }
  });
});

describe("replay", () => {
  const cfg = () => loadConfig({ text: "export:\n  json: {enabled: false}\n", env: {} });

  test("a capture of another link type warns per link type and fails when nothing was replayed", async () => {
    const file = join(dir, "ether.pcap");
    writeFileSync(file, classicPcap(true, false, [{ ts: [1, 0], data: new Uint8Array(60) }, { ts: [2, 0], data: new Uint8Array(60) }], 1));
    const { lines, log } = recorder();
    expect(await runReplay(cfg(), file, log)).toBe(1);
    expect(lines).toEqual([
      `warn: replay: ${file}: 2 records skipped (link type 1 is not netlink)`,
      `error: replay: ${file}: no netlink messages replayed`,
    ]);
  });

  test("a mixed capture replays its netlink records and warns about the rest", async () => {
    const file = join(dir, "mixed.pcap");
    const ether = cooked(NETLINK_ROUTE, nlmsg(20));
    new DataView(ether.buffer, ether.byteOffset).setUint16(2, 1, false);
    writeFileSync(file, classicPcap(true, true, [{ ts: [1, 0], data: cooked(NETLINK_ROUTE, nlmsg(20)) }, { ts: [2, 0], data: ether }], LINKTYPE_LINUX_SLL));
    const { lines, log } = recorder();
    expect(await runReplay(cfg(), file, log)).toBe(0);
    expect(lines).toEqual([`warn: replay: ${file}: 1 record skipped (link type 113 (Linux cooked capture) of a device that is not netlink)`]);
  });

  test("a path that cannot be read is a usage mistake: exit 2, the path said once", async () => {
    const missing = join(dir, "absent.pcap");
    const sub = join(dir, "a-directory");
    mkdirSync(sub, { recursive: true });
    const { lines, log } = recorder();
    expect(await runReplay(cfg(), missing, log)).toBe(2);
    expect(await runReplay(cfg(), sub, log)).toBe(2);
    expect(lines).toEqual([
      `error: replay: ${missing}: cannot read: ENOENT: no such file or directory`,
      `error: replay: ${sub}: cannot read: EISDIR: illegal operation on a directory`,
    ]);
  });
});

describe("FileSink", () => {
  test("a header write that fails closes the file it opened: no descriptor leaks over retries", async () => {
    const sink = new FileSink({ path: "/dev/full", maxSize: 0, keep: 0, compress: false, header: pcapGlobalHeader(), log: () => {} });
    const fds = () => readdirSync("/proc/self/fd").length;
    await expect(sink.open()).rejects.toThrow(/ENOSPC/);
    const before = fds();
    for (let i = 0; i < 50; i++) await expect(sink.open()).rejects.toThrow(/ENOSPC/);
    expect(fds()).toBe(before);
    await sink.close();
  });
});
