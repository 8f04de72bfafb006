/**
 * The attribute-table interpreter nlmon decoded with before attribute sets were compiled
 * (src/decode/compile.ts), kept here as the prototype benchmark's baseline: a table maps an
 * attribute number to a name and a wire type, and a callback walk fills a record from it.
 */
import { walkAttrs } from "../../src/codec/attr.ts";
import { cstring, ipAddr, lladdr } from "../../src/codec/format.ts";
import type { DecodeContext } from "../../src/decode/context.ts";
import { NAMES } from "../../src/uapi/linux.gen.ts";

export type AttrKind =
  | "u8" | "u16" | "u32" | "s32" | "u64" | "be16" | "be32"
  | "string" | "addr" | "lladdr" | "flag" | "binary" | "nested" | "skip";

export interface AttrSpec {
  name: string;
  kind: AttrKind;
  /** for "nested" */
  table?: AttrTable;
  /** for values needing more than a wire type (structs, arrays) */
  parse?: (dv: DataView, off: number, len: number, ctx: DecodeContext) => unknown;
}

export type AttrTable = readonly (AttrSpec | undefined)[];

/** Build a dense lookup array from [number, name, kind] rows. */
export function attrTable(rows: readonly (readonly [number, string, AttrKind] | readonly [number, string, AttrKind, Partial<AttrSpec>])[]): AttrTable {
  const t: (AttrSpec | undefined)[] = [];
  for (const r of rows) t[r[0]] = { name: r[1], kind: r[2], ...(r[3] ?? {}) };
  return t;
}

const MIN_LEN: Partial<Record<AttrKind, number>> = { u8: 1, u16: 2, be16: 2, u32: 4, s32: 4, be32: 4, u64: 8 };

export type AttrValues = Record<string, unknown>;

/**
 * Decode attributes [start, end) by table. Unknown attribute numbers are kept by number under
 * `unknown` (and counted) rather than dropped, so nothing the kernel said is silently lost.
 */
export function decodeAttrs(dv: DataView, start: number, end: number, table: AttrTable, ctx: DecodeContext, where: string): AttrValues {
  const out: AttrValues = {};
  const bad = walkAttrs(dv, start, end, (type, off, len) => {
    const spec = table[type];
    if (!spec) {
      ctx.unknownAttr(where, type);
      return;
    }
    if (spec.kind === "skip") return;
    const min = MIN_LEN[spec.kind];
    if (min !== undefined && len < min) {
      ctx.error("bad_attr_len", `${where}: attribute ${spec.name} (${type}) has ${len} bytes, needs ${min}`);
      return;
    }
    if (spec.parse) {
      // parsers return undefined for a value too short for its struct
      const v = spec.parse(dv, off, len, ctx);
      if (v === undefined) ctx.error("bad_attr_len", `${where}: attribute ${spec.name} (${type}) is malformed (${len} bytes)`);
      else out[spec.name] = v;
      return;
    }
    switch (spec.kind) {
      case "u8": out[spec.name] = dv.getUint8(off); break;
      case "u16": out[spec.name] = dv.getUint16(off, true); break;
      case "be16": out[spec.name] = dv.getUint16(off, false); break;
      case "u32": out[spec.name] = dv.getUint32(off, true); break;
      case "be32": out[spec.name] = dv.getUint32(off, false); break;
      case "s32": out[spec.name] = dv.getInt32(off, true); break;
      case "u64": {
        const v = dv.getBigUint64(off, true);
        out[spec.name] = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
        break;
      }
      case "string": out[spec.name] = cstring(dv, off, len); break;
      case "addr": out[spec.name] = ipAddr(dv, off, len); break;
      case "lladdr": out[spec.name] = lladdr(dv, off, len); break;
      case "flag": out[spec.name] = true; break;
      case "binary": out[spec.name] = new Uint8Array(dv.buffer, dv.byteOffset + off, len).slice(); break;
      case "nested": out[spec.name] = decodeAttrs(dv, off, off + len, spec.table ?? [], ctx, `${where}.${spec.name}`); break;
    }
  });
  if (bad >= 0) ctx.error("bad_attr_len", `${where}: malformed attribute at byte ${bad}`);
  return out;
}

/**
 * A table from explicit rows plus every other name the headers define for that attribute set,
 * marked "skip": known to the kernel we were built against but not part of the event. Only numbers
 * the headers do not know are then reported as unknown.
 */
export function knownTable(group: keyof typeof NAMES, rows: readonly (readonly [number, string, AttrKind] | readonly [number, string, AttrKind, Partial<AttrSpec>])[]): AttrTable {
  const t: (AttrSpec | undefined)[] = [];
  for (const [num, name] of Object.entries(NAMES[group] as Record<number, string>)) {
    t[Number(num)] = { name: name.toLowerCase(), kind: "skip" };
  }
  for (const r of rows) t[r[0]] = { name: r[1], kind: r[2], ...(r[3] ?? {}) };
  return t;
}

