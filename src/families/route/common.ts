/** Pieces the NETLINK_ROUTE object decoders share. */
import { NAMES } from "../../uapi/linux.gen.ts";
import { type AttrDef, type AttrSet, knownSet } from "../../decode/attrset.ts";

/** Copy the listed keys that are present, in order, so events serialise with a stable key order. */
export function pick<T extends object>(target: T, src: Record<string, unknown>, keys: readonly string[]): void {
  const t = target as Record<string, unknown>;
  for (const k of keys) if (src[k] !== undefined) t[k] = src[k];
}

/** An attribute set of this family: the described attributes plus the rest the headers name (see knownSet). */
export function routeSet(name: string, group: keyof typeof NAMES, attrs: Record<number, AttrDef>): AttrSet {
  return knownSet(name, NAMES[group] as Record<number, string>, attrs);
}
