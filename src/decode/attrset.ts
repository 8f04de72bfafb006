/**
 * Attribute sets as data: what the kernel's YNL specs say about a family's attributes, written as
 * typed TypeScript tables (numbers from the generated UAPI module), and compiled once into a
 * decoder that reads a set with one AttrReader and no per-attribute dispatch beyond an array
 * index. docs/ARCHITECTURE.md records why tables rather than YAML, with the measurements.
 */
import type { DecodeContext } from "./context.ts";

export type IntType = "u8" | "u16" | "u32" | "u64" | "s8" | "s16" | "s32" | "s64";

/** how a binary attribute is shown (YNL's display-hint) */
export type Display = "ip" | "mac" | "hex";

export interface AttrDef {
  /** the field name in the event (iproute2's word where it has one) */
  name: string;
  type: IntType | "string" | "binary" | "flag" | "nest" | "indexed-array" | "sub-message" | "unused";
  /** integers the kernel sends in network order (be16, be32, be64) */
  byteOrder?: "big-endian";
  display?: Display;
  /** value names (from the UAPI headers): the field holds the name, or the number if unnamed */
  enum?: Readonly<Record<number, string>>;
  /** bit names: the field holds the list of set bits' names (unnamed bits as numbers) */
  flags?: readonly (readonly [number, string])[];
  /** for nest and indexed-array: the set inside */
  nested?: AttrSet;
  /** repeated attribute (YNL multi-attr): the field holds a list */
  multi?: boolean;
  /** for sub-message: the sibling attribute whose value chooses the set, and the sets by value */
  selector?: string;
  formats?: Readonly<Record<string, AttrSet>>;
  /** a value that is a struct or needs more than a wire type; undefined means malformed */
  parse?: (dv: DataView, off: number, len: number, ctx: DecodeContext) => unknown;
}

export interface AttrSet {
  /** where problems are reported (e.g. "route", "link.linkinfo") */
  name: string;
  attrs: Readonly<Record<number, AttrDef>>;
  /** the headers' names for the set's numbers (knownSet records them), e.g. 1: "RTA_DST" */
  uapi?: Readonly<Record<number, string>>;
}

export type AttrValues = Record<string, unknown>;

/**
 * A set from its described attributes plus every other attribute the headers name for it (`names`,
 * from the generated UAPI tables), marked unused: known to the kernel we were built against but
 * not part of the event, so only numbers the headers do not know count as unknown.
 */
export function knownSet(name: string, names: Readonly<Record<number, string>>, attrs: Record<number, AttrDef>): AttrSet {
  const all: Record<number, AttrDef> = {};
  for (const [num, n] of Object.entries(names)) all[Number(num)] = { name: n.toLowerCase(), type: "unused" };
  return { name, attrs: Object.assign(all, attrs), uapi: names };
}
