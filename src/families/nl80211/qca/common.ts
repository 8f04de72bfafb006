/**
 * What the QCA vendor sets share: a set over a generated attribute enum, value names shortened
 * from the header's (QCA_WLAN_VENDOR_THERMAL_LEVEL_SEVERE → "severe"), bit tables for the enums
 * that are BIT() masks, and parsers for values whose width the header leaves open.
 */
import type { AttrDef, AttrSet } from "../../../decode/attrset.ts";
import { knownSet } from "../../../decode/attrset.ts";
import { shortNames as withoutPrefix } from "../../../decode/names.ts";
import { QCA_ENUMS, type QcaEnum } from "../qca-vendor.gen.ts";

/** a set over one of the header's attribute enums; problems are reported as nl80211.vendor.qca.NAME */
export function qcaSet(name: string, names: QcaEnum | Readonly<Record<number, string>>, attrs: Record<number, AttrDef>): AttrSet {
  return knownSet(`nl80211.vendor.qca.${name}`, typeof names === "string" ? QCA_ENUMS[names as QcaEnum] : names, attrs);
}

/**
 * value → name with the prefix all of an enum's names share removed, lowercased: the header's
 * QCA_WLAN_HANG_SCAN_REQ_EXPIRED is "scan_req_expired". The prefix is cut at an underscore and
 * never takes a whole name.
 */
export function shortNames(table: Readonly<Record<number, string>>): Readonly<Record<number, string>> {
  const names = Object.values(table);
  let prefix = names[0] ?? "";
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  // cut at an underscore, so every name is longer than the prefix it loses
  return withoutPrefix(table, prefix.slice(0, prefix.lastIndexOf("_") + 1));
}

/** a BIT() enum as flag names for AttrDef.flags: [mask, short name] */
export function bitNames(table: Readonly<Record<number, string>>): readonly (readonly [number, string])[] {
  return Object.entries(shortNames(table)).map(([v, n]) => [Number(v), n] as const);
}

/** the enum's short names, for AttrDef.enum */
export function valueNames(e: QcaEnum): Readonly<Record<number, string>> {
  return shortNames(QCA_ENUMS[e]);
}

/**
 * An unsigned integer of 1, 2, 4 or 8 bytes (host order), for attributes the header documents
 * only by meaning ("number of peers", "Type = enum wifi_channel_width"). Other lengths are
 * malformed.
 */
export function anyUint(dv: DataView, off: number, len: number): number | string | undefined {
  switch (len) {
    case 1: return dv.getUint8(off);
    case 2: return dv.getUint16(off, true);
    case 4: return dv.getUint32(off, true);
    case 8: {
      const v = dv.getBigUint64(off, true);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    }
    default: return undefined;
  }
}

/** a packed array of u32 (host order); a length that is not a multiple of 4 is malformed */
export function u32Array(dv: DataView, off: number, len: number): number[] | undefined {
  if (len % 4) return undefined;
  const out: number[] = [];
  for (let i = 0; i < len; i += 4) out.push(dv.getUint32(off + i, true));
  return out;
}

/** key material (PMK, KCK, KEK) is not put into events: only its length */
export function redacted(_dv: DataView, _off: number, len: number): string {
  return `<redacted, ${len} bytes>`;
}

/** an integer whose width the header does not state */
export const uint = (name: string): AttrDef => ({ name, type: "binary", parse: anyUint });
export const u32 = (name: string): AttrDef => ({ name, type: "u32" });
export const u8 = (name: string): AttrDef => ({ name, type: "u8" });
export const mac = (name: string): AttrDef => ({ name, type: "binary", display: "mac" });
export const blob = (name: string): AttrDef => ({ name, type: "binary", display: "hex" });
