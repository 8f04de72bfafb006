// --replay over damaged captures: a record whose netlink framing is bad is counted, named (record
// number, byte offset) and skipped, and the rest of the file still replays; a broken file end still
// stops the replay. Events from dump replies (the state a capture starts with) say so.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_MALFORMED, feedCapture, runReplay } from "../../src/cli/replay.ts";
import { Pipeline } from "../../src/pipeline/pipeline.ts";
import { Names } from "../../src/decode/names.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { loadConfig } from "../../src/config/load.ts";
import { newCaptureStats, readCapture, type MalformedRecord } from "../../src/export/pcap-read.ts";
import { LINKTYPE_NETLINK, pcapGlobalHeader, pcapRecord } from "../../src/export/pcap.ts";
import { recorder } from "./log-recorder.ts";
import { ARPHRD_NETLINK, NETLINK_ROUTE, NLM_F_MULTI, OFFSETOF, PACKET_OUTGOING } from "../../src/uapi/linux.gen.ts";
import { dv, fixtureBytes } from "../fixtures/load.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINK = fixtureBytes("link-new-veth-v0");
const ROUTES = ["route-new-v4-gw-table10-proto186", "route-new-v4-onlink-table12", "route-new-v6-gw-table19-proto186", "route-new-v4-blackhole-table17"].map(fixtureBytes);

function cat(...p: Uint8Array[]) {
  const o = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
  let i = 0;
  for (const x of p) { o.set(x, i); i += x.length; }
  return o;
}

function withLen(m: Uint8Array, len: number) {
  const b = m.slice();
  dv(b).setUint32(OFFSETOF["nlmsghdr.nlmsg_len"], len, true);
  return b;
}

/** a classic pcap of records (each a datagram), plus the byte offset of each record */
function capture(datagrams: Uint8Array[]) {
  const recs = datagrams.map((d, i) => pcapRecord(NETLINK_ROUTE, 1_700_000_000_000_000_000n + BigInt(i), d));
  const offsets: number[] = [];
  let o = 24;
  for (const r of recs) { offsets.push(o); o += r.length; }
  return { buf: cat(pcapGlobalHeader(), ...recs), offsets };
}

/** byte offset of a record's first netlink header: record header, then the pseudo-header */
const msgAt = (recOff: number) => recOff + 16 + 16;


async function replay(name: string, buf: Uint8Array) {
  const file = join(dir, `${name}.pcap`);
  const out = join(dir, `${name}.json`);
  writeFileSync(file, buf);
  const cfg = loadConfig({ text: `export:\n  json: { enabled: true, file: ${out} }\n`, env: {} });
  const { lines, log } = recorder();
  const rc = await runReplay(cfg, file, log);
  const events = readFileSync(out, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return { rc, lines, events, file };
}

describe("malformed records", () => {
  // 1: link; 2: bad nlmsg_len; 3: a route then a header cut short; 4: shorter than the pseudo-header; 5: a route
  const badLen = withLen(ROUTES[0]!, 3);
  // not zeros: a zeroed tail is a request's padding, which the kernel ignores (tested below)
  const cutTail = cat(ROUTES[1]!, new Uint8Array(8).fill(1));
  const { buf: base, offsets } = capture([LINK, badLen, cutTail, ROUTES[2]!, ROUTES[3]!]);
  // record 4 shortened to 10 bytes of data in place: the file's own framing stays intact
  const rec4 = base.slice(offsets[3]!, offsets[3]! + 16 + 10);
  new DataView(rec4.buffer).setUint32(8, 10, true);
  new DataView(rec4.buffer).setUint32(12, 10, true);
  const buf = cat(base.subarray(0, offsets[3]!), rec4, base.subarray(offsets[4]!));
  const off5 = offsets[3]! + rec4.length;

  test("zeros after a record's last message are padding, as the kernel reads them, not a malformed message", () => {
    // iproute2 sends `ip route show` from a zeroed 172-byte buffer holding a 36-byte request
    const padded = capture([cat(ROUTES[0]!, new Uint8Array(136)), ROUTES[1]!]);
    const seen: MalformedRecord[] = [];
    const got = [...readCapture(padded.buf, newCaptureStats((m) => seen.push(m)))];
    expect(got.map((g) => g.message)).toEqual([ROUTES[0]!, ROUTES[1]!]);
    expect(seen).toEqual([]);
  });

  test("the reader reports each by record number and offset, and goes on", () => {
    const seen: MalformedRecord[] = [];
    const stats = newCaptureStats((m) => seen.push(m));
    const got = [...readCapture(buf, stats)];
    expect(got.map((g) => [g.record, g.message])).toEqual([[1, LINK], [3, ROUTES[1]!], [5, ROUTES[3]!]]);
    expect(got.map((g) => g.offset)).toEqual([offsets[0], offsets[2], off5]);
    expect(stats.malformed).toBe(3);
    expect(seen).toEqual([
      { record: 2, offset: msgAt(offsets[1]!), protocol: NETLINK_ROUTE, what: `bad nlmsg_len 3 (${badLen.length} bytes in record)` },
      { record: 3, offset: msgAt(offsets[2]!) + ROUTES[1]!.length, protocol: NETLINK_ROUTE, what: "netlink header truncated (8 bytes)" },
      { record: 4, offset: offsets[3]! + 16, protocol: undefined, what: "record of 10 bytes is shorter than the 16-byte netlink pseudo-header" },
    ]);
  });

  test("--replay exports the rest, names every skipped record, ends with a summary and exit 3", async () => {
    const r = await replay("malformed", buf);
    expect(r.rc).toBe(EXIT_MALFORMED);
    expect(r.events.map((e) => e.type)).toEqual(["link", "route", "route"]);
    expect(r.events[2].netlink.route.dst).toBe("10.17.0.0/24");
    expect(r.lines).toEqual([
      `warn: replay: ${r.file}: record 2 (byte offset ${msgAt(offsets[1]!)}): bad nlmsg_len 3 (${badLen.length} bytes in record); rest of the record skipped`,
      `warn: replay: ${r.file}: record 3 (byte offset ${msgAt(offsets[2]!) + ROUTES[1]!.length}): netlink header truncated (8 bytes); rest of the record skipped`,
      `warn: replay: ${r.file}: record 4 (byte offset ${offsets[3]! + 16}): record of 10 bytes is shorter than the 16-byte netlink pseudo-header; rest of the record skipped`,
      `error: replay: ${r.file}: 3 malformed records skipped (first: record 2, byte offset ${msgAt(offsets[1]!)}); 3 messages replayed`,
    ]);
  });

  test("a clean capture still exits 0 without a word", async () => {
    const r = await replay("clean", capture([LINK, ...ROUTES]).buf);
    expect([r.rc, r.lines, r.events.length]).toEqual([0, [], 5]);
  });

  test("ten malformed records are all listed, without a word about further ones", async () => {
    const r = await replay("ten", capture([LINK, ...Array.from({ length: 10 }, () => withLen(ROUTES[0]!, 3))]).buf);
    expect(r.lines.filter((l) => l.includes("rest of the record skipped")).length).toBe(10);
    expect(r.lines.some((l) => l.includes("further"))).toBe(false);
  });

  test("many malformed records: the first ten are listed, all are counted", async () => {
    const { buf: many } = capture([LINK, ...Array.from({ length: 25 }, () => badLen), ROUTES[0]!]);
    const r = await replay("many", many);
    expect(r.rc).toBe(EXIT_MALFORMED);
    expect(r.events.length).toBe(2);
    expect(r.lines.filter((l) => l.includes("rest of the record skipped")).length).toBe(10);
    expect(r.lines).toContain(`warn: replay: ${r.file}: further malformed records are counted, not listed`);
    expect(r.lines.at(-1)).toMatch(/: 25 malformed records skipped \(first: record 2, byte offset \d+\); 2 messages replayed$/);
  });

  test("a truncated end of file still stops the replay (exit 1), after the malformed records are said", async () => {
    const cut = buf.subarray(0, buf.length - 5);
    const r = await replay("cut", cut);
    expect(r.rc).toBe(1);
    expect(r.events.map((e) => e.type)).toEqual(["link", "route"]);
    expect(r.lines.filter((l) => l.startsWith("error:"))).toEqual([
      `error: replay: ${r.file}: capture: truncated pcap record data (need ${16 + ROUTES[3]!.length} bytes, ${16 + ROUTES[3]!.length - 5} left) at byte offset ${off5 + 16} (after 2 messages)`,
      `error: replay: ${r.file}: 3 malformed records skipped (first: record 2, byte offset ${msgAt(offsets[1]!)}); 2 messages replayed`,
    ]);
  });
});

describe("timestamps", () => {
  /** pcapng, little-endian, default microseconds, one EPB per record (pcapng spec, section 4) */
  function pcapng(recs: { ts: bigint; data: Uint8Array }[]) {
    const block = (type: number, body: Uint8Array) => {
      const total = 12 + ((body.length + 3) & ~3);
      const b = new Uint8Array(total);
      const v = new DataView(b.buffer);
      v.setUint32(0, type, true);
      v.setUint32(4, total, true);
      b.set(body, 8);
      v.setUint32(total - 4, total, true);
      return b;
    };
    const words = (...w: number[]) => new Uint8Array(new Uint32Array(w).buffer);
    const cooked = (d: Uint8Array) => {
      const h = new Uint8Array(16);
      new DataView(h.buffer).setUint16(2, ARPHRD_NETLINK, false);
      return cat(h, d);
    };
    return cat(
      block(0x0a0d0d0a, cat(words(0x1a2b3c4d, 1), words(0xffffffff, 0xffffffff))),
      block(1, cat(new Uint8Array(new Uint16Array([LINKTYPE_NETLINK, 0]).buffer), words(0))),
      ...recs.map((r) => { const d = cooked(r.data); return block(6, cat(words(0, Number(r.ts >> 32n), Number(r.ts & 0xffffffffn), d.length, d.length), d)); }),
    );
  }

  test("a pcapng timestamp past what a date can hold is a malformed record, not a crash", async () => {
    const r = await replay("ts", pcapng([{ ts: 1_700_000_000_000_000n, data: LINK }, { ts: 0xffffffffffffffffn, data: ROUTES[0]! }, { ts: 1_700_000_000_000_001n, data: ROUTES[1]! }]));
    expect(r.rc).toBe(EXIT_MALFORMED);
    expect(r.events.map((e) => e.type)).toEqual(["link", "route"]);
    expect(r.lines[0]).toMatch(/: record 2 \(byte offset \d+\): timestamp 18446744073709551615000 ns is out of range; rest of the record skipped$/);
  });
});

describe("state at the head of a capture", () => {
  test("events of dump replies (NLM_F_MULTI) are marked snapshot; notifications are not", async () => {
    const dumped = LINK.slice();
    dv(dumped).setUint16(OFFSETOF["nlmsghdr.nlmsg_flags"], dv(dumped).getUint16(OFFSETOF["nlmsghdr.nlmsg_flags"], true) | NLM_F_MULTI, true);
    const r = await replay("snapshot", capture([dumped, LINK, ROUTES[0]!]).buf);
    expect(r.rc).toBe(0);
    expect(r.events.map((e) => [e.type, e.snapshot])).toEqual([["link", true], ["link", undefined], ["route", undefined]]);
    // the marker is the only difference
    const { snapshot: _, ...rest } = r.events[0];
    expect({ ...rest, timestamp: 0, netlink: { ...rest.netlink, msg_flags: 0 } }).toEqual({ ...r.events[1], timestamp: 0, netlink: { ...r.events[1].netlink, msg_flags: 0 } });
  });
});

describe("copies of one notification in an nlmon device's capture", () => {
  // an nlmon device taps each delivery: a notification two sockets listen for is captured twice,
  // a few ms apart, its pseudo-header saying PACKET_OUTGOING; nlmon's own export says PACKET_HOST
  const tapped = (buf: Uint8Array, offsets: number[]) => {
    for (const o of offsets) new DataView(buf.buffer).setUint16(o + 16, PACKET_OUTGOING, false);
    return buf;
  };
  const route = ROUTES[0]!;

  test("a device capture's copies are replayed once each, and counted", async () => {
    const { buf, offsets } = capture([route, route, ROUTES[1]!]);
    const r = await replay("tap-copies", tapped(buf, offsets));
    expect(r.rc).toBe(0);
    expect(r.events.length).toBe(2);
    // counted, as the replay's closing line reports them
    const fed = { messages: 0, copies: 0 };
    const p = new Pipeline({ names: new Names(), metrics: nlmonMetrics(), exporters: [] });
    for (const _ of feedCapture(buf, p, newCaptureStats(), fed, true));
    expect(fed).toEqual({ messages: 2, copies: 1 });
  });

  test("nlmon's own capture keeps two equal notifications: it received both", async () => {
    const { buf } = capture([route, route, ROUTES[1]!]);
    const r = await replay("own-equal", buf);
    expect(r.rc).toBe(0);
    expect(r.events.length).toBe(3);
  });
});
