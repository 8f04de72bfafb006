// Bad input never throws and is always counted: truncated messages, bad nlmsg_len, bad attribute
// lengths, unknown message types and attribute numbers; then a seeded fuzz over the kernel fixtures
// through the pipeline, watching nlmon_netlink_errors_total{kind="decode"}.
import { describe, expect, test } from "bun:test";
import { NLA_HDRLEN, nlaAlign, walkAttrs } from "../../src/codec/attr.ts";
import { NLMSG_HDRLEN, nlmsgAlign, readHeader } from "../../src/codec/nlmsg.ts";
import { BasicContext } from "../../src/decode/context.ts";
import { protocolName } from "../../src/decode/message.ts";
import { Names } from "../../src/decode/names.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { Pipeline, serialise } from "../../src/pipeline/pipeline.ts";
import {
  IFA_CACHEINFO, NAMES, NETLINK_ROUTE, NLA_TYPE_MASK, NLM_F_ACK_TLVS, NLMSG_MIN_TYPE,
  OFFSETOF, RTA_TABLE, RTA_VIA, RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_DELNETCONF, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_DELRULE,
  RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWNETCONF, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE, SIZEOF,
} from "../../src/uapi/linux.gen.ts";
import { bareNames, decodeBytes, dv, errorTotal, fixtureBytes, fixtureNames } from "../fixtures/load.ts";

const ROUTE = protocolName(NETLINK_ROUTE);
const ALL = fixtureNames();
const SINGLE = ALL.filter((n) => !n.startsWith("datagram-"));

/** fixed header in front of each object's attributes */
const HDR = new Map<number, number>([
  [RTM_NEWLINK, SIZEOF.ifinfomsg], [RTM_DELLINK, SIZEOF.ifinfomsg],
  [RTM_NEWADDR, SIZEOF.ifaddrmsg], [RTM_DELADDR, SIZEOF.ifaddrmsg],
  [RTM_NEWROUTE, SIZEOF.rtmsg], [RTM_DELROUTE, SIZEOF.rtmsg],
  [RTM_NEWNEIGH, SIZEOF.ndmsg], [RTM_DELNEIGH, SIZEOF.ndmsg],
  [RTM_NEWRULE, SIZEOF.fib_rule_hdr], [RTM_DELRULE, SIZEOF.fib_rule_hdr],
  [RTM_NEWNEXTHOP, SIZEOF.nhmsg], [RTM_DELNEXTHOP, SIZEOF.nhmsg],
  [RTM_NEWNETCONF, SIZEOF.netconfmsg], [RTM_DELNETCONF, SIZEOF.netconfmsg],
]);

function setLen(b: Uint8Array, len: number) {
  dv(b).setUint32(OFFSETOF["nlmsghdr.nlmsg_len"], len >>> 0, true);
}

/** top-level attributes of an object message: [headerOffset, payloadLen] each */
function topAttrs(b: Uint8Array): { start: number; list: [number, number][] } {
  const h = readHeader(dv(b), 0);
  const start = NLMSG_HDRLEN + nlmsgAlign(HDR.get(h.type)!);
  const list: [number, number][] = [];
  walkAttrs(dv(b), start, h.len, (_t, off, len) => list.push([off - NLA_HDRLEN, len]));
  return { start, list };
}

function newPipeline() {
  const metrics = nlmonMetrics();
  const p = new Pipeline({ names: new Names(), metrics, deterministic: true });
  const events: string[] = [];
  // every event that comes out must serialise
  p.onEvent((pe) => events.push(serialise(pe.event)));
  const decodeErrors = () => metrics.errors.get({ protocol: ROUTE, kind: "decode" });
  const unknownAttrs = () => metrics.errors.get({ protocol: ROUTE, kind: "unknown_attr" });
  const ingest = (b: Uint8Array, protocol = NETLINK_ROUTE) => p.ingestDatagram(protocol, dv(b), 0, b.length, 0n);
  return { p, metrics, events, decodeErrors, unknownAttrs, ingest };
}

describe("truncated messages", () => {
  test("every cut of every fixture, as received (nlmsg_len now runs past the datagram): a framing error each", () => {
    const { decodeErrors, ingest, events } = newPipeline();
    let cuts = 0;
    for (const n of SINGLE) {
      const b = fixtureBytes(n);
      for (let L = 1; L < b.length; L++) {
        const before = decodeErrors();
        ingest(b.slice(0, L));
        expect(decodeErrors() - before).toBe(1);
        cuts++;
      }
    }
    expect(cuts).toBeGreaterThan(1000);
    expect(events).toHaveLength(0);
  });

  test("every cut with nlmsg_len fixed up: counted unless the cut falls between whole attributes", () => {
    let strict = 0;
    for (const n of SINGLE) {
      const orig = fixtureBytes(n);
      const h = readHeader(dv(orig), 0);
      const hdr = HDR.get(h.type);
      // points where a cut leaves only whole attributes (in body coordinates)
      const clean = new Set<number>();
      if (hdr !== undefined) {
        const { start, list } = topAttrs(orig);
        for (let o = NLMSG_HDRLEN + hdr; o <= start; o++) clean.add(o - NLMSG_HDRLEN);
        for (const [off, len] of list) {
          for (let o = off + NLA_HDRLEN + len; o <= off + nlaAlign(NLA_HDRLEN + len); o++) clean.add(o - NLMSG_HDRLEN);
        }
      }
      for (let L = NLMSG_HDRLEN; L < orig.length; L++) {
        const b = orig.slice(0, L);
        setLen(b, L);
        const ctx = new BasicContext(bareNames());
        const d = decodeBytes(b, ctx);
        expect(d).toHaveLength(1);
        for (const x of d) if (x.ev) serialise(x.ev);
        if (hdr === undefined) continue; // NLMSG_ERROR / NLMSG_DONE: only "no throw"
        const body = L - NLMSG_HDRLEN;
        const expectError = h.type === RTM_NEWNETCONF ? body === 0 || (body > hdr && !clean.has(body)) : !clean.has(body);
        if (body < hdr && h.type !== RTM_NEWNETCONF) expect(ctx.counts.truncated).toBe(1);
        expect([n, L, errorTotal(ctx) > 0]).toEqual([n, L, expectError]);
        if (expectError) expect(d[0]!.ev!.decode_error).toBeDefined();
        strict++;
      }
    }
    expect(strict).toBeGreaterThan(1000);
  });
});

describe("bad nlmsg_len", () => {
  for (const [what, f] of [
    ["zero", () => 0], ["below a header", () => NLMSG_HDRLEN - 1], ["one past the datagram", (n: number) => n + 1],
    ["all ones", () => 0xffffffff],
  ] as [string, (n: number) => number][]) {
    test(what, () => {
      const { decodeErrors, ingest, events, p } = newPipeline();
      for (const n of SINGLE) {
        const b = fixtureBytes(n);
        setLen(b, f(b.length));
        const before = decodeErrors();
        ingest(b);
        expect(decodeErrors() - before).toBe(1);
      }
      expect(p.ctx.counts.bad_length).toBe(SINGLE.length);
      expect(events).toHaveLength(0);
    });
  }

  test("a bad second message keeps the first", () => {
    const { decodeErrors, ingest, events } = newPipeline();
    const a = fixtureBytes("route-new-v4-gw-table10-proto186");
    const bad = fixtureBytes("addr-new-v4");
    setLen(bad, 3);
    const d = new Uint8Array(nlmsgAlign(a.length) + bad.length);
    d.set(a);
    d.set(bad, nlmsgAlign(a.length));
    ingest(d);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!).type).toBe("route");
    expect(decodeErrors()).toBe(1);
  });
});

/** The message with attribute `type` cut to `keep` payload bytes, everything after it moved up, lengths fixed. */
function shrinkAttr(orig: Uint8Array, type: number, keep: number): Uint8Array {
  const hit = topAttrs(orig).list.find(([off]) => dv(orig).getUint16(off + OFFSETOF["nlattr.nla_type"], true) === type);
  if (!hit) throw new Error(`no attribute ${type}`);
  const [off, len] = hit;
  const oldEnd = off + nlaAlign(NLA_HDRLEN + len);
  const newEnd = off + nlaAlign(NLA_HDRLEN + keep);
  const b = new Uint8Array(orig.length - (oldEnd - newEnd));
  b.set(orig.subarray(0, off + NLA_HDRLEN + keep));
  b.set(orig.subarray(oldEnd), newEnd);
  dv(b).setUint16(off + OFFSETOF["nlattr.nla_len"], NLA_HDRLEN + keep, true);
  setLen(b, b.length);
  return b;
}

describe("bad attribute lengths", () => {
  const objects = SINGLE.filter((n) => HDR.has(readHeader(dv(fixtureBytes(n)), 0).type));

  test("nla_len below the header in the first attribute", () => {
    for (const n of objects) {
      const b = fixtureBytes(n);
      const { list } = topAttrs(b);
      if (!list.length) continue;
      dv(b).setUint16(list[0]![0] + OFFSETOF["nlattr.nla_len"], NLA_HDRLEN - 1, true);
      const ctx = new BasicContext(bareNames());
      const ev = decodeBytes(b, ctx)[0]!.ev!;
      expect([n, ctx.counts.bad_attr_len]).toEqual([n, 1]);
      expect(ev.decode_error).toContain("malformed attribute");
    }
  });

  test("nla_len past the end of the message in the last attribute", () => {
    for (const n of objects) {
      const b = fixtureBytes(n);
      const { list } = topAttrs(b);
      if (!list.length) continue;
      const [off] = list[list.length - 1]!;
      dv(b).setUint16(off + OFFSETOF["nlattr.nla_len"], b.length - off + 4, true);
      const ctx = new BasicContext(bareNames());
      decodeBytes(b, ctx);
      expect([n, ctx.counts.bad_attr_len]).toEqual([n, 1]);
    }
  });

  test("shrinkAttr keeps a well-formed message", () => {
    const b = fixtureBytes("route-new-v4-gw-table10-proto186");
    const ctx = new BasicContext(bareNames());
    const same = decodeBytes(shrinkAttr(b, RTA_TABLE, 4), ctx)[0]!.ev!;
    expect(errorTotal(ctx)).toBe(0);
    expect(same.netlink.route!.table).toBe(decodeBytes(b, ctx)[0]!.ev!.netlink.route!.table);
  });

  test("a fixed-size attribute too short for its type (RTA_TABLE as u16)", () => {
    const b = fixtureBytes("route-new-v4-gw-table10-proto186");
    const ctx = new BasicContext(bareNames());
    const good = decodeBytes(b, ctx)[0]!.ev!.netlink.route!;
    const { list } = topAttrs(b);
    expect(list.length).toBeGreaterThan(3);
    const ctx2 = new BasicContext(bareNames());
    const r = decodeBytes(shrinkAttr(b, RTA_TABLE, 2), ctx2)[0]!.ev!;
    expect(ctx2.counts.bad_attr_len).toBe(1);
    expect(r.decode_error).toContain("needs 4");
    // the rest of the route is still there
    expect(r.netlink.route!.gateway).toBe(good.gateway!);
  });

  // struct-valued attributes (parsed by a table's parse()) must count a value too short for the struct
  test("a struct-valued attribute too short for its struct is counted (IFA_CACHEINFO, RTA_VIA)", () => {
    for (const [name, type] of [["addr-new-v4", IFA_CACHEINFO], ["route-new-v4-via-inet6-table16", RTA_VIA]] as const) {
      const b = shrinkAttr(fixtureBytes(name), type, 1);
      const ctx = new BasicContext(bareNames());
      decodeBytes(b, ctx);
      expect([name, ctx.counts.bad_attr_len]).toEqual([name, 1]);
    }
  });
});

describe("unknown message types and attributes", () => {
  test("control type below NLMSG_MIN_TYPE that is not NLMSG_*", () => {
    const { decodeErrors, ingest, p, events } = newPipeline();
    const b = fixtureBytes("done-dump-link");
    dv(b).setUint16(OFFSETOF["nlmsghdr.nlmsg_type"], NLMSG_MIN_TYPE - 1, true);
    ingest(b);
    expect(p.ctx.counts.unknown_msg_type).toBe(1);
    expect(decodeErrors()).toBe(1);
    expect(JSON.parse(events[0]!)).toMatchObject({ type: "unknown", msg_type: NLMSG_MIN_TYPE - 1 });
  });

  test("a NETLINK_ROUTE type no header names", () => {
    const { decodeErrors, ingest, p, events } = newPipeline();
    const b = fixtureBytes("route-new-v4-gw-table10-proto186");
    dv(b).setUint16(OFFSETOF["nlmsghdr.nlmsg_type"], 0xffff, true);
    ingest(b);
    expect(p.ctx.counts.unknown_msg_type).toBe(1);
    expect(decodeErrors()).toBe(1);
    const ev = JSON.parse(events[0]!);
    expect(ev.type).toBe("unknown");
    expect(ev.netlink.raw).toBe(Buffer.from(b.subarray(NLMSG_HDRLEN)).toString("hex"));
    expect(ev.decode_error).toContain("message type 65535");
  });

  test("a protocol without a decoder", () => {
    // one past the highest protocol the headers name: nothing can have a decoder for it
    const proto = Math.max(...Object.keys(NAMES.netlink_protocol).map(Number)) + 1;
    const { p, metrics, ingest } = newPipeline();
    ingest(fixtureBytes("route-new-v4-gw-table10-proto186"), proto);
    expect(p.ctx.counts.unknown_msg_type).toBe(1);
    expect(metrics.errors.get({ protocol: protocolName(proto), kind: "decode" })).toBe(1);
  });

  test("an attribute number no header names is counted as unknown_attr, not as a decode error", () => {
    const orig = fixtureBytes("route-new-v4-gw-table10-proto186");
    const unknownType = NLA_TYPE_MASK & 0xffff;
    const extra = new Uint8Array(NLA_HDRLEN + 4);
    dv(extra).setUint16(OFFSETOF["nlattr.nla_len"], extra.length, true);
    dv(extra).setUint16(OFFSETOF["nlattr.nla_type"], unknownType, true);
    const b = new Uint8Array(nlmsgAlign(orig.length) + extra.length);
    b.set(orig);
    b.set(extra, nlmsgAlign(orig.length));
    setLen(b, b.length);
    const { decodeErrors, unknownAttrs, ingest, p, events } = newPipeline();
    ingest(orig);
    ingest(b);
    expect(p.ctx.counts.unknown_attr).toBe(1);
    expect([...p.ctx.unknownAttrs.get("route")!]).toEqual([unknownType]);
    expect(unknownAttrs()).toBe(1);
    expect(decodeErrors()).toBe(0);
    // the rest decodes as before
    expect(JSON.parse(events[1]!).netlink.route).toEqual(JSON.parse(events[0]!).netlink.route);
    expect(JSON.parse(events[1]!).decode_error).toBeUndefined();
  });
});

describe("found by scripts/fuzz", () => {
  // NLMSG_ERROR with NLM_F_ACK_TLVS: the extended ack follows the echoed request, found by its
  // nlmsg_len; one of 2^31 or more was aligned with `& ~3` into a negative offset and thrown
  test("an extended ack whose echoed request length does not fit is counted, not thrown", () => {
    const orig = fixtureBytes("error-newroute-bad-gateway");
    expect(readHeader(dv(orig), 0).flags & NLM_F_ACK_TLVS).toBe(NLM_F_ACK_TLVS);
    const echoed = NLMSG_HDRLEN + OFFSETOF["nlmsgerr.msg"] + OFFSETOF["nlmsghdr.nlmsg_len"];
    for (const len of [0x80000000, 0xfffffffd, 0xffffffff, orig.length, NLMSG_HDRLEN - 1, 0]) {
      const b = orig.slice();
      dv(b).setUint32(echoed, len, true);
      const { decodeErrors, ingest, events } = newPipeline();
      ingest(b);
      expect([len, decodeErrors()]).toEqual([len, 1]);
      const ev = JSON.parse(events[0]!);
      expect(ev.type).toBe("error");
      expect(ev.decode_error).toContain("NLMSG_ERROR: malformed extended ack");
    }
  });
});

/** xorshift32: small, seeded, the same sequence on every run */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
  return { next, below: (n: number) => next() % n };
}

describe("fuzz", () => {
  test("4000 seeded mutations of the fixtures through Pipeline.ingestDatagram", () => {
    const r = prng(0x6e6c6d6f);
    const { decodeErrors, ingest, p, events } = newPipeline();
    const pool = ALL.map(fixtureBytes);
    const objects = SINGLE.map(fixtureBytes).filter((b) => HDR.has(readHeader(dv(b), 0).type));
    let mustCount = 0;
    const ops = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      let b: Uint8Array;
      let broken = false;
      const op = r.below(8);
      if (op === 0) {
        // bit flips
        b = pool[r.below(pool.length)]!.slice();
        for (let k = 1 + r.below(4); k > 0; k--) b[r.below(b.length)]! ^= 1 << r.below(8);
      } else if (op === 1) {
        // byte insertions
        const s = pool[r.below(pool.length)]!;
        const at = r.below(s.length + 1);
        const n = 1 + r.below(8);
        b = new Uint8Array(s.length + n);
        b.set(s.subarray(0, at));
        for (let k = 0; k < n; k++) b[at + k] = r.below(256);
        b.set(s.subarray(at), at + n);
      } else if (op === 2) {
        // byte deletions
        const s = pool[r.below(pool.length)]!;
        const at = r.below(s.length);
        const n = Math.min(1 + r.below(8), s.length - at);
        b = new Uint8Array(s.length - n);
        b.set(s.subarray(0, at));
        b.set(s.subarray(at + n), at);
      } else if (op === 3) {
        // nlmsg_len below a header or past the datagram: always a framing error
        b = pool[r.below(pool.length)]!.slice();
        setLen(b, r.below(2) ? r.below(NLMSG_HDRLEN) : b.length + 1 + r.below(1 << 16));
        broken = true;
      } else if (op === 4) {
        // nlmsg_len anywhere
        b = pool[r.below(pool.length)]!.slice();
        setLen(b, r.next());
      } else if (op === 5) {
        // a top-level nla_len below a header or past the message: always bad_attr_len
        b = objects[r.below(objects.length)]!.slice();
        const { list } = topAttrs(b);
        const [off] = list[r.below(list.length)]!;
        dv(b).setUint16(off + OFFSETOF["nlattr.nla_len"], r.below(2) ? r.below(NLA_HDRLEN) : b.length - off + 1 + r.below(64), true);
        broken = true;
      } else if (op === 6) {
        // nla_len anywhere (nested ones included: any 4-aligned u16 after the headers)
        b = objects[r.below(objects.length)]!.slice();
        const at = NLMSG_HDRLEN + 4 * r.below((b.length - NLMSG_HDRLEN) / 4);
        dv(b).setUint16(at, r.below(0x10000), true);
      } else {
        // several messages in one datagram, one of them cut short
        const parts = [0, 1, 2].map(() => pool[r.below(pool.length)]!);
        const total = parts.reduce((s, x) => s + nlmsgAlign(x.length), 0);
        b = new Uint8Array(total);
        let o = 0;
        for (const x of parts) { b.set(x, o); o += nlmsgAlign(x.length); }
        b = b.subarray(0, r.below(total));
      }
      ops.set(String(op), (ops.get(String(op)) ?? 0) + 1);
      const before = decodeErrors();
      ingest(b);
      if (broken) {
        mustCount++;
        expect(decodeErrors()).toBeGreaterThan(before);
      }
    }
    expect(mustCount).toBeGreaterThan(500);
    expect(ops.size).toBe(8);
    expect(p.decodedMessages).toBeGreaterThan(2000);
    expect(decodeErrors()).toBeGreaterThan(mustCount);
    expect(events.length).toBeGreaterThan(1000);
  });

  test("the unbroken fixtures through the same pipeline count no decode error", () => {
    const { decodeErrors, ingest, events, p } = newPipeline();
    // links first, as a dump would deliver them
    for (const n of [...ALL.filter((x) => x.startsWith("link-")), ...ALL.filter((x) => !x.startsWith("link-"))]) ingest(fixtureBytes(n));
    expect(decodeErrors()).toBe(0);
    expect(p.ctx.counts.truncated + p.ctx.counts.bad_attr_len + p.ctx.counts.bad_length + p.ctx.counts.unknown_msg_type).toBe(0);
    // NLMSG_DONE (alone and at the end of the dump datagram) makes no event
    const dones = ALL.filter((n) => n.startsWith("done-")).length + 1;
    expect(events.length).toBe(p.decodedMessages - dones);
  });
});
