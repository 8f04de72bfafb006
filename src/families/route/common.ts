/** Pieces the NETLINK_ROUTE object decoders share. */
import { NAMES } from "../../uapi/linux.gen.ts";
import type { AttrKind, AttrSpec, AttrTable } from "../../decode/table.ts";
import type { AttrDef, AttrSet } from "../../decode/attrset.ts";

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

/** Copy the listed keys that are present, in order, so events serialise with a stable key order. */
export function pick<T extends object>(target: T, src: Record<string, unknown>, keys: readonly string[]): void {
  const t = target as Record<string, unknown>;
  for (const k of keys) if (src[k] !== undefined) t[k] = src[k];
}

/**
 * An attribute set from its described attributes plus every other attribute the headers name for
 * it, marked unused: known to the kernel we were built against but not part of the event, so only
 * numbers the headers do not know count as unknown.
 */
export function knownSet(name: string, group: keyof typeof NAMES, attrs: Record<number, AttrDef>): AttrSet {
  const all: Record<number, AttrDef> = {};
  for (const [num, n] of Object.entries(NAMES[group] as Record<number, string>)) all[Number(num)] = { name: n.toLowerCase(), type: "unused" };
  return { name, attrs: Object.assign(all, attrs) };
}
