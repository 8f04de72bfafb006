// The codec without any family: nlmsghdr framing, nlattr walking, NLMSG_ERROR / extended ack,
// NLMSG_DONE. Layouts come from OFFSETOF/SIZEOF; real bytes from test/fixtures/rtnl.
import { describe, expect, test } from "bun:test";
import { AttrWriter, NLA_HDRLEN, nlaAlign, walkAttrs } from "../../src/codec/attr.ts";
import { describeError, errnoName, parseError } from "../../src/codec/errors.ts";
import { cstring } from "../../src/codec/format.ts";
import { buildMessage, NLMSG_HDRLEN, nlmsgAlign, nlmsgSeq, readHeader, setNlmsgSeq, walkMessages, type NlMsgHeader } from "../../src/codec/nlmsg.ts";
import { dumpRequest } from "../../src/codec/request.ts";
import { BasicContext } from "../../src/decode/context.ts";
import { decodeMessage } from "../../src/decode/message.ts";
import {
  EINVAL, ENETUNREACH, NETLINK_ROUTE, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP,
  NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS,
  OFFSETOF, RTM_GETLINK, RTM_NEWADDR, RTM_NEWROUTE, SIZEOF,
} from "../../src/uapi/linux.gen.ts";
import { bareNames, decodeAll, dv, fixtureBytes, ipText } from "../fixtures/load.ts";

interface Seen { hdr: NlMsgHeader; bodyOff: number; end: number; msgOff: number }

function walk(b: Uint8Array, start = 0, end = b.length) {
  const msgs: Seen[] = [];
  const errors: [string, number][] = [];
  walkMessages(dv(b), start, end, {
    message: (hdr, _d, bodyOff, e, msgOff) => msgs.push({ hdr, bodyOff, end: e, msgOff }),
    framingError: (k, off) => errors.push([k, off]),
  });
  return { msgs, errors };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

describe("nlmsghdr walk", () => {
  test("a kernel dump datagram: several messages, NLM_F_MULTI, ends in NLMSG_DONE", () => {
    const d = fixtureBytes("datagram-dump-multi");
    const { msgs, errors } = walk(d);
    expect(errors).toEqual([]);
    expect(msgs.length).toBeGreaterThanOrEqual(3);
    let off = 0;
    for (const m of msgs) {
      expect(m.msgOff).toBe(off);
      expect(m.msgOff % 4).toBe(0);
      expect(m.bodyOff).toBe(m.msgOff + NLMSG_HDRLEN);
      expect(m.end).toBe(m.msgOff + m.hdr.len);
      expect(m.hdr.flags & NLM_F_MULTI).toBe(NLM_F_MULTI);
      // header fields read straight from the bytes
      expect(m.hdr.len).toBe(dv(d).getUint32(off + OFFSETOF["nlmsghdr.nlmsg_len"], true));
      expect(m.hdr.type).toBe(dv(d).getUint16(off + OFFSETOF["nlmsghdr.nlmsg_type"], true));
      off += nlmsgAlign(m.hdr.len);
    }
    expect(off).toBe(d.length);
    // one sequence number per dump
    expect(new Set(msgs.map((m) => m.hdr.seq)).size).toBe(1);
  });

  test("NLMSG_DONE of a dump is multipart and carries no event", () => {
    const done = fixtureBytes("done-dump-link");
    const { msgs } = walk(done);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.hdr.type).toBe(NLMSG_DONE);
    expect(msgs[0]!.hdr.flags & NLM_F_MULTI).toBe(NLM_F_MULTI);
    const ctx = new BasicContext(bareNames());
    expect(decodeAll("done-dump-link", ctx)[0]!.ev).toBeNull();
    expect(Object.values(ctx.counts).every((v) => v === 0)).toBe(true);
  });

  test("messages whose length is not a multiple of four are padded to the next", () => {
    const a = buildMessage(RTM_NEWADDR, 0, 1, Uint8Array.of(1, 2, 3, 4, 5)); // len 21, 24 on the wire
    const b = buildMessage(RTM_NEWROUTE, 0, 2, Uint8Array.of(9)); // len 17
    expect(a.length).toBe(nlmsgAlign(NLMSG_HDRLEN + 5));
    expect(dv(a).getUint32(0, true)).toBe(NLMSG_HDRLEN + 5);
    // the last message may come without its padding
    const d = concat(a, b.subarray(0, NLMSG_HDRLEN + 1));
    const { msgs, errors } = walk(d);
    expect(errors).toEqual([]);
    expect(msgs.map((m) => [m.msgOff, m.hdr.len, m.end - m.bodyOff, m.hdr.seq])).toEqual([
      [0, NLMSG_HDRLEN + 5, 5, 1],
      [a.length, NLMSG_HDRLEN + 1, 1, 2],
    ]);
    expect(d[msgs[0]!.bodyOff + 4]).toBe(5);
  });

  test("a walk over a sub-range of a buffer stays inside it", () => {
    const m = buildMessage(RTM_NEWADDR, 0, 7, new Uint8Array(8));
    const d = concat(Uint8Array.of(0xee, 0xee, 0xee, 0xee), m, Uint8Array.of(0xee, 0xee));
    const { msgs, errors } = walk(d, 4, 4 + m.length);
    expect(errors).toEqual([]);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.msgOff).toBe(4);
  });

  test("framing errors: short header, length below a header, length past the datagram, zero length", () => {
    const m = buildMessage(RTM_NEWADDR, 0, 1, new Uint8Array(8));
    expect(walk(concat(m, new Uint8Array(8))).errors).toEqual([["truncated_header", m.length]]);
    const small = m.slice();
    dv(small).setUint32(0, NLMSG_HDRLEN - 1, true);
    expect(walk(small).errors).toEqual([["bad_length", 0]]);
    const big = m.slice();
    dv(big).setUint32(0, m.length + 4, true);
    expect(walk(big).errors).toEqual([["bad_length", 0]]);
    const zero = concat(m, m.slice());
    dv(zero).setUint32(m.length, 0, true);
    const r = walk(zero);
    expect(r.msgs).toHaveLength(1);
    expect(r.errors).toEqual([["bad_length", m.length]]);
  });

  test("readHeader, seq helpers, dump requests", () => {
    const m = buildMessage(RTM_NEWROUTE, NLM_F_REQUEST, 0x01020304, new Uint8Array(4), 77);
    expect(readHeader(dv(m), 0)).toEqual({ len: NLMSG_HDRLEN + 4, type: RTM_NEWROUTE, flags: NLM_F_REQUEST, seq: 0x01020304, pid: 77 });
    expect(nlmsgSeq(m)).toBe(0x01020304);
    setNlmsgSeq(m, 9);
    expect(dv(m).getUint32(OFFSETOF["nlmsghdr.nlmsg_seq"], true)).toBe(9);
    const req = dumpRequest(RTM_GETLINK, new Uint8Array(SIZEOF.ifinfomsg), 5);
    const h = readHeader(dv(req), 0);
    expect(h.flags).toBe(NLM_F_REQUEST | NLM_F_DUMP);
    expect(h.len).toBe(NLMSG_HDRLEN + SIZEOF.ifinfomsg);
    expect(h.seq).toBe(5);
  });
});

/** an nlattr by hand, from the struct layout */
function nla(type: number, payload: Uint8Array, lenOverride?: number): Uint8Array {
  const b = new Uint8Array(nlaAlign(NLA_HDRLEN + payload.length));
  dv(b).setUint16(OFFSETOF["nlattr.nla_len"], lenOverride ?? NLA_HDRLEN + payload.length, true);
  dv(b).setUint16(OFFSETOF["nlattr.nla_type"], type, true);
  b.set(payload, NLA_HDRLEN);
  return b;
}

function attrs(b: Uint8Array, start = 0, end = b.length) {
  const seen: [number, number, number, boolean, boolean][] = [];
  const bad = walkAttrs(dv(b), start, end, (t, off, len, nested, nbo) => seen.push([t, off, len, nested, nbo]));
  return { seen, bad };
}

describe("nlattr walk", () => {
  test("NLA_F_NESTED and NLA_F_NET_BYTEORDER are masked off the type and reported apart", () => {
    const b = concat(nla(5 | NLA_F_NESTED, new Uint8Array(4)), nla(6 | NLA_F_NET_BYTEORDER, Uint8Array.of(0, 80)),
      nla(7 | NLA_F_NESTED | NLA_F_NET_BYTEORDER, new Uint8Array(0)));
    const { seen, bad } = attrs(b);
    expect(bad).toBe(-1);
    expect(seen).toEqual([
      [5, NLA_HDRLEN, 4, true, false],
      [6, 8 + NLA_HDRLEN, 2, false, true],
      [7, 16 + NLA_HDRLEN, 0, true, true],
    ]);
  });

  test("nested attributes walk inside their parent's payload", () => {
    const inner = new AttrWriter().u32(1, 0xdeadbeef).string(2, "eth0");
    const outer = new AttrWriter().u8(3, 7).nested(4, inner).finish();
    const top = attrs(outer);
    expect(top.bad).toBe(-1);
    const n = top.seen.find((s) => s[0] === 4)!;
    expect(n[3]).toBe(true);
    const sub = attrs(outer, n[1], n[1] + n[2]);
    expect(sub.bad).toBe(-1);
    expect(sub.seen.map((s) => s[0])).toEqual([1, 2]);
    expect(dv(outer).getUint32(sub.seen[0]![1], true)).toBe(0xdeadbeef);
    expect(cstring(dv(outer), sub.seen[1]![1], sub.seen[1]![2])).toBe("eth0");
  });

  test("AttrWriter lays out lengths and padding like the kernel", () => {
    const b = new AttrWriter().u8(1, 0xab).u16(2, 0x1234).u32(3, 1).flag(4).string(5, "ab").finish();
    const { seen, bad } = attrs(b);
    expect(bad).toBe(-1);
    expect(seen.map((s) => [s[0], s[2]])).toEqual([[1, 1], [2, 2], [3, 4], [4, 0], [5, 3]]);
    expect(b.length).toBe(8 + 8 + 8 + 4 + 8);
    expect(dv(b).getUint16(OFFSETOF["nlattr.nla_len"], true)).toBe(NLA_HDRLEN + 1);
  });

  test("the last attribute may leave out its padding", () => {
    const b = nla(1, Uint8Array.of(1)).subarray(0, NLA_HDRLEN + 1);
    expect(attrs(b)).toEqual({ seen: [[1, NLA_HDRLEN, 1, false, false]], bad: -1 });
  });

  test("bad lengths stop the walk at the bad attribute", () => {
    const good = nla(1, new Uint8Array(4));
    // nla_len below the header
    expect(attrs(concat(good, nla(2, new Uint8Array(4), 2))).bad).toBe(good.length);
    expect(attrs(concat(good, nla(2, new Uint8Array(4), 0))).bad).toBe(good.length);
    // nla_len past the region
    const over = attrs(concat(good, nla(2, new Uint8Array(4), 12)));
    expect(over.bad).toBe(good.length);
    expect(over.seen).toHaveLength(1);
    // trailing bytes too short for a header
    expect(attrs(concat(good, Uint8Array.of(8, 0))).bad).toBe(good.length);
  });
});

/** struct nlmsgerr + TLVs, from OFFSETOF/SIZEOF */
function errorMessage(error: number, flags: number, orig: Uint8Array, tlvs: Uint8Array): Uint8Array {
  const body = new Uint8Array(OFFSETOF["nlmsgerr.msg"] + nlmsgAlign(orig.length) + tlvs.length);
  dv(body).setInt32(OFFSETOF["nlmsgerr.error"], error, true);
  body.set(orig, OFFSETOF["nlmsgerr.msg"]);
  body.set(tlvs, OFFSETOF["nlmsgerr.msg"] + nlmsgAlign(orig.length));
  return buildMessage(NLMSG_ERROR, flags, 0, body);
}

function parse(m: Uint8Array) {
  const h = readHeader(dv(m), 0);
  return parseError(dv(m), NLMSG_HDRLEN, h.len, h.flags);
}

describe("NLMSG_ERROR", () => {
  test("a real extended ack from the kernel: errno, text as ip prints it, the request echoed", () => {
    const reply = fixtureBytes("error-newroute-bad-gateway");
    const req = fixtureBytes("error-newroute-bad-gateway.request");
    const h = readHeader(dv(reply), 0);
    expect(h.type).toBe(NLMSG_ERROR);
    expect(h.flags & NLM_F_ACK_TLVS).toBe(NLM_F_ACK_TLVS);
    const e = parse(reply)!;
    expect(e.error).toBe(-ENETUNREACH);
    expect(e.error_name).toBe("ENETUNREACH");
    // ip prints "Error: <NLMSGERR_ATTR_MSG>."
    const ipSays = ipText("error-newroute-bad-gateway")!.trim();
    expect(ipSays).toBe(`Error: ${e.message}.`);
    expect(e.message!.length).toBeGreaterThan(5);
    expect(e.orig_msg_type).toBe(RTM_NEWROUTE);
    expect(e.orig_seq).toBe(nlmsgSeq(req));
    const ctx = new BasicContext(bareNames());
    const ev = decodeAll("error-newroute-bad-gateway", ctx)[0]!.ev!;
    expect(ev.type).toBe("error");
    expect(ev.netlink.error).toEqual(e);
    expect(ev.decode_error).toBeUndefined();
  });

  test("capped extended ack built by hand: message, offset, missing type", () => {
    const orig = buildMessage(RTM_NEWROUTE, NLM_F_REQUEST, 31, new Uint8Array(40)).subarray(0, NLMSG_HDRLEN);
    const tlvs = new AttrWriter().string(NLMSGERR_ATTR_MSG, "bad thing").u32(NLMSGERR_ATTR_OFFS, 36)
      .u32(NLMSGERR_ATTR_MISS_TYPE, 15).finish();
    const m = errorMessage(-EINVAL, NLM_F_ACK_TLVS | NLM_F_CAPPED, orig, tlvs);
    const e = parse(m)!;
    expect(e).toEqual({ error: -EINVAL, error_name: "EINVAL", orig_msg_type: RTM_NEWROUTE, orig_seq: 31, message: "bad thing", offset: 36, missing_type: 15 });
    expect(describeError(e)).toBe("EINVAL (-22): bad thing at offset 36");
  });

  test("uncapped: TLVs follow the whole echoed request", () => {
    const orig = buildMessage(RTM_NEWROUTE, NLM_F_REQUEST, 32, new Uint8Array(SIZEOF.rtmsg + 2));
    const tlvs = new AttrWriter().string(NLMSGERR_ATTR_MSG, "whole request").finish();
    const e = parse(errorMessage(-EINVAL, NLM_F_ACK_TLVS, orig, tlvs))!;
    expect(e.message).toBe("whole request");
    expect(e.orig_seq).toBe(32);
  });

  test("an ack and an error without TLVs", () => {
    const orig = buildMessage(RTM_NEWROUTE, NLM_F_REQUEST, 3, new Uint8Array(0));
    const ack = parse(errorMessage(0, 0, orig, new Uint8Array(0)))!;
    expect(ack).toEqual({ error: 0, error_name: "OK", orig_msg_type: RTM_NEWROUTE, orig_seq: 3 });
    const err = parse(errorMessage(-ENETUNREACH, 0, orig, new AttrWriter().string(NLMSGERR_ATTR_MSG, "ignored").finish()))!;
    expect(err.message).toBeUndefined();
    expect(describeError(err)).toBe(`ENETUNREACH (${-ENETUNREACH})`);
  });

  test("errno names", () => {
    expect(errnoName(-EINVAL)).toBe("EINVAL");
    expect(errnoName(EINVAL)).toBe("EINVAL");
    expect(errnoName(0)).toBe("OK");
    expect(errnoName(-9999)).toBe("E9999");
  });

  test("a body too short for struct nlmsgerr is counted as truncated", () => {
    const m = buildMessage(NLMSG_ERROR, 0, 1, new Uint8Array(SIZEOF.nlmsgerr - 1));
    expect(parse(m)).toBeUndefined();
    const ctx = new BasicContext(bareNames());
    const h = readHeader(dv(m), 0);
    const ev = decodeMessage(NETLINK_ROUTE, h, dv(m), NLMSG_HDRLEN, h.len, ctx)!;
    expect(ev.type).toBe("error");
    expect(ctx.counts.truncated).toBe(1);
  });
});
