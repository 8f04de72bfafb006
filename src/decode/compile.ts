/**
 * Compiles an attribute set (attrset.ts) into a decoder: an array indexed by attribute number
 * holds one reader closure per attribute, so decoding a message is one AttrReader walk with an
 * array lookup per attribute. Unknown numbers are counted and kept out; a malformed attribute
 * ends the walk with one error; sub-messages are decoded after the walk, when their selector
 * (which the kernel may send after them) is known.
 */
import { AttrReader } from "../codec/reader.ts";
import { ipAddr, lladdr, hex } from "../codec/format.ts";
import type { AttrDef, AttrSet, AttrValues } from "./attrset.ts";
import type { DecodeContext } from "./context.ts";
import { flagsToNames } from "./names.ts";

const MIN_LEN: Partial<Record<AttrDef["type"], number>> = { u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };

type Read = (r: AttrReader, out: AttrValues, ctx: DecodeContext, later: (() => void)[]) => void;

export type SetDecoder = (dv: DataView, start: number, end: number, ctx: DecodeContext) => AttrValues;

const compiled = new WeakMap<AttrSet, SetDecoder>();
const NO_LATER: (() => void)[] = Object.freeze([]) as unknown as (() => void)[];
const NO_BYTES = new DataView(new ArrayBuffer(0));

export function compileSet(set: AttrSet): SetDecoder {
  const have = compiled.get(set);
  if (have) return have;
  const readers: (Read | undefined)[] = [];
  // registered before the attributes compile, so a set may nest itself
  // only sub-messages defer work: other sets share one array nothing is ever pushed to
  const defers = Object.values(set.attrs).some((d) => d.type === "sub-message");
  // one reader per set, reused; a set met again inside itself (a nest of its own kind) gets a fresh one
  let spare: AttrReader | undefined;
  const decode: SetDecoder = (dv, start, end, ctx) => {
    const out: AttrValues = {};
    const later: (() => void)[] = defers ? [] : NO_LATER;
    const r = spare !== undefined ? spare.use(dv, start, end) : new AttrReader(dv, start, end);
    spare = undefined;
    while (r.next()) {
      const read = readers[r.type];
      if (read) read(r, out, ctx, later);
      else ctx.unknownAttr(set.name, r.type);
    }
    if (r.err) ctx.error("bad_attr_len", `${set.name}: ${r.err}`);
    // kept for the next message, but not the buffer: an idle daemon would hold its last batch
    r.dv = NO_BYTES;
    spare = r;
    for (const f of later) f();
    return out;
  };
  compiled.set(set, decode);
  for (const [n, def] of Object.entries(set.attrs)) readers[Number(n)] = reader(set, def);
  return decode;
}

function scalar(def: AttrDef): (r: AttrReader) => unknown {
  const be = def.byteOrder === "big-endian";
  switch (def.type) {
    case "u8": return (r) => r.u8();
    case "s8": return (r) => r.s8();
    case "u16": return be ? (r) => r.be16() : (r) => r.u16();
    case "s16": return (r) => r.s16();
    case "u32": return be ? (r) => r.be32() : (r) => r.u32();
    case "s32": return (r) => r.s32();
    case "u64": return be ? (r) => r.be64() : (r) => r.u64();
    case "s64": return (r) => r.s64();
    case "string": return (r) => r.string();
    case "flag": return () => true;
    case "binary":
      if (def.display === "ip") return (r) => ipAddr(r.dv, r.off, r.len);
      if (def.display === "mac") return (r) => lladdr(r.dv, r.off, r.len);
      if (def.display === "hex") return (r) => hex(r.bytes());
      return (r) => r.bytes().slice();
    default: return () => undefined;
  }
}

function named(def: AttrDef, get: (r: AttrReader) => unknown): (r: AttrReader) => unknown {
  if (def.enum) {
    const names = def.enum;
    return (r) => {
      const v = get(r) as number;
      return names[v] ?? v;
    };
  }
  if (def.flags) {
    const bits = def.flags;
    return (r) => flagsToNames(get(r) as number, bits);
  }
  return get;
}

function reader(set: AttrSet, def: AttrDef): Read | undefined {
  const key = def.name;
  const where = `${set.name}.${key}`;
  let value: (r: AttrReader, ctx: DecodeContext) => unknown;
  if (def.type === "unused") return () => {};
  if (def.parse) {
    const parse = def.parse;
    value = (r, ctx) => {
      const v = parse(r.dv, r.off, r.len, ctx);
      if (v === undefined) ctx.error("bad_attr_len", `${set.name}: attribute ${key} (${r.type}) is malformed (${r.len} bytes)`);
      return v;
    };
  } else if (def.type === "nest") {
    const inner = compileSet(def.nested ?? { name: where, attrs: {} });
    value = (r, ctx) => inner(r.dv, r.off, r.off + r.len, ctx);
  } else if (def.type === "indexed-array") {
    // each member is an attribute whose type is its index; its payload is the nested set or a scalar
    const inner = def.nested ? compileSet(def.nested) : undefined;
    const member = inner ? undefined : named(def, scalar({ ...def, type: "u32" }));
    value = (r, ctx) => {
      const list: unknown[] = [];
      const m = r.nest();
      while (m.next()) list.push(inner ? inner(m.dv, m.off, m.off + m.len, ctx) : member!(m));
      if (m.err) ctx.error("bad_attr_len", `${where}: ${m.err}`);
      return list;
    };
  } else if (def.type === "sub-message") {
    const sel = def.selector!;
    const formats = new Map(Object.entries(def.formats ?? {}).map(([v, f]) => [v, compileSet(f)]));
    return (r, out, ctx, later) => {
      const { dv, off, len } = r;
      later.push(() => {
        const f = formats.get(String(out[sel]));
        if (f) out[key] = f(dv, off, off + len, ctx);
        else out[key] = hex(new Uint8Array(dv.buffer, dv.byteOffset + off, len));
      });
    };
  } else {
    const get = named(def, scalar(def));
    const min = MIN_LEN[def.type] ?? 0;
    // a value too short for its type is reported and left out, never read as 0
    value = min
      ? (r, ctx) => {
        if (r.len >= min) return get(r);
        ctx.error("bad_attr_len", `${set.name}: attribute ${key} (${r.type}) has ${r.len} bytes, needs ${min}`);
        return undefined;
      }
      : (r) => get(r);
  }
  if (def.multi) {
    return (r, out, ctx) => {
      const v = value(r, ctx);
      if (v === undefined) return;
      const list = out[key] as unknown[] | undefined;
      if (list) list.push(v);
      else out[key] = [v];
    };
  }
  return (r, out, ctx) => {
    const v = value(r, ctx);
    if (v !== undefined) out[key] = v;
  };
}
