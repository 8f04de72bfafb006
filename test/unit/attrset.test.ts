/**
 * The attribute-set language and its compiled decoder: every kind a YNL spec can state (integers of
 * each width and sign, network byte order, be64, strings, flags, binary with display hints, nests,
 * indexed arrays, repeated attributes, enums, bit flags, sub-messages chosen by a sibling sent after
 * them), and bad input (short values, malformed headers, unknown numbers) as counted errors.
 */
import { describe, expect, test } from "bun:test";
import { AttrWriter } from "../../src/codec/attr.ts";
import { AttrReader } from "../../src/codec/reader.ts";
import type { AttrSet } from "../../src/decode/attrset.ts";
import { compileSet } from "../../src/decode/compile.ts";
import { BasicContext } from "../../src/decode/context.ts";
import { Names } from "../../src/decode/names.ts";
import { NLA_F_NET_BYTEORDER } from "../../src/uapi/linux.gen.ts";

const ctx = () => new BasicContext(new Names());
const dvOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const be = (n: number, bytes: number) => {
  const b = new Uint8Array(bytes);
  for (let i = bytes - 1; i >= 0; i--) { b[i] = n & 255; n = Math.floor(n / 256); }
  return b;
};

const inner: AttrSet = { name: "t.inner", attrs: { 1: { name: "a", type: "u16" }, 2: { name: "b", type: "string" } } };
const kindA: AttrSet = { name: "t.kind_a", attrs: { 1: { name: "x", type: "u32" } } };
const kindB: AttrSet = { name: "t.kind_b", attrs: { 1: { name: "y", type: "string" } } };
const SET: AttrSet = {
  name: "t",
  attrs: {
    1: { name: "u8", type: "u8" }, 2: { name: "s16", type: "s16" }, 3: { name: "s32", type: "s32" },
    4: { name: "u64", type: "u64" }, 5: { name: "be64", type: "u64", byteOrder: "big-endian" },
    6: { name: "be16", type: "u16", byteOrder: "big-endian" }, 7: { name: "name", type: "string" },
    8: { name: "on", type: "flag" }, 9: { name: "addr", type: "binary", display: "ip" },
    10: { name: "mac", type: "binary", display: "mac" }, 11: { name: "inner", type: "nest", nested: inner },
    12: { name: "list", type: "indexed-array", nested: inner }, 13: { name: "tag", type: "u32", multi: true },
    14: { name: "state", type: "u8", enum: { 1: "UP", 2: "DOWN" } },
    15: { name: "bits", type: "u32", flags: [[1, "one"], [4, "four"]] },
    16: { name: "data", type: "sub-message", selector: "kind", formats: { a: kindA, b: kindB } },
    17: { name: "kind", type: "string" }, 18: { name: "s64", type: "s64" }, 19: { name: "ignored", type: "unused" },
  },
};
const decode = compileSet(SET);

describe("compiled attribute sets", () => {
  test("every kind decodes to its value", () => {
    const list = new AttrWriter().nested(1, new AttrWriter().u16(1, 7)).nested(2, new AttrWriter().u16(1, 8).string(2, "z"));
    const w = new AttrWriter()
      .u8(1, 200).bytes(2, Uint8Array.of(0xfe, 0xff)).bytes(3, Uint8Array.of(0xff, 0xff, 0xff, 0xff))
      .bytes(4, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)).bytes(5, be(2 ** 40 + 5, 8)).bytes(6, be(443, 2)).string(7, "eth0")
      .flag(8).bytes(9, Uint8Array.of(192, 0, 2, 1)).bytes(10, Uint8Array.of(2, 0, 0, 0, 0, 1))
      .nested(11, new AttrWriter().u16(1, 3).string(2, "in")).nested(12, list).u32(13, 1).u32(13, 2).u8(14, 2).u32(15, 5)
      // the sub-message comes before its selector, as the kernel may send it
      .nested(16, new AttrWriter().string(1, "bee")).string(17, "b")
      .bytes(18, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).u32(19, 9);
    const c = ctx();
    const b = w.finish();
    expect(decode(dvOf(b), 0, b.length, c)).toEqual({
      u8: 200, s16: -2, s32: -1, u64: 1, be64: 2 ** 40 + 5, be16: 443, name: "eth0", on: true, addr: "192.0.2.1",
      mac: "02:00:00:00:00:01", inner: { a: 3, b: "in" }, list: [{ a: 7 }, { a: 8, b: "z" }], tag: [1, 2], state: "DOWN",
      bits: ["one", "four"], data: { y: "bee" }, kind: "b", s64: -1,
    });
    expect(c.total).toBe(0);
  });

  test("u64 beyond 2^53 is exact decimal text", () => {
    const b = new AttrWriter().bytes(5, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).finish();
    expect(decode(dvOf(b), 0, b.length, ctx()).be64).toBe("18446744073709551615");
  });

  test("NLA_F_NET_BYTEORDER on the attribute makes a u16 big-endian", () => {
    const b = new AttrWriter().bytes(6, be(8080, 2)).finish();
    const dv = dvOf(b);
    expect(decode(dv, 0, b.length, ctx()).be16).toBe(8080);
    const set: AttrSet = { name: "n", attrs: { 6: { name: "port", type: "u16" } } };
    dv.setUint16(2, 6 | NLA_F_NET_BYTEORDER, true);
    expect(compileSet(set)(dv, 0, b.length, ctx()).port).toBe(8080);
  });

  test("an unnamed enum value stays a number; a sub-message with an unknown selector stays bytes", () => {
    const b = new AttrWriter().u8(14, 9).string(17, "zzz").nested(16, new AttrWriter().u32(1, 1)).finish();
    const v = decode(dvOf(b), 0, b.length, ctx());
    expect(v.state).toBe(9);
    expect(v.data).toBe("08000100 01000000".replace(" ", ""));
  });

  test("short values, unknown numbers and a malformed header are counted, never thrown", () => {
    const b = new AttrWriter().bytes(3, Uint8Array.of(1, 2)).u32(99, 1).u8(1, 5).finish();
    const c = ctx();
    expect(decode(dvOf(b), 0, b.length, c)).toEqual({ u8: 5 });
    expect(c.counts.bad_attr_len).toBe(1);
    expect(c.counts.unknown_attr).toBe(1);
    const bad = Uint8Array.of(...b, 50, 0, 1, 0);
    const c2 = ctx();
    decode(dvOf(bad), 0, bad.length, c2);
    expect(c2.recent.at(-1)).toBe(`t: malformed attribute at byte ${b.length}`);
  });

  test("the reader's getters report a short value once and return 0", () => {
    const b = new AttrWriter().bytes(1, Uint8Array.of(1)).bytes(2, Uint8Array.of(1)).finish();
    const r = new AttrReader(dvOf(b), 0, b.length);
    const got: number[] = [];
    while (r.next()) got.push(r.u32());
    expect(got).toEqual([0, 0]);
    expect(r.err).toBe("attribute 1 has 1 bytes, needs 4");
  });
});
