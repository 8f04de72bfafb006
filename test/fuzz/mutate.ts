/**
 * One fuzz input: a datagram built from a seed message of the family (captured, or made up from
 * the message types the family names) by a few mutations of four kinds: framing (nlmsg_len,
 * message type and flags, several messages in one datagram, cuts), lengths (of attributes and the
 * fixed header), attribute types (numbers, flag bits, repeats) and nesting depth.
 */
import { NLA_HDRLEN, nlaAlign } from "../../src/codec/attr.ts";
import { NLMSG_HDRLEN, nlmsgAlign } from "../../src/codec/nlmsg.ts";
import {
  NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, NLMSG_NOOP, NLMSG_OVERRUN, OFFSETOF,
} from "../../src/uapi/linux.gen.ts";
import type { Rng } from "./rng.ts";
import { allAttrs, parseMsg, writeMsg, type Attr, type Msg } from "./tree.ts";

export interface FamilySeeds {
  /** message types the family's decoder names */
  types: number[];
  /** captured messages, one each */
  corpus: Uint8Array[];
}

export type MutationKind = "framing" | "lengths" | "types" | "nesting" | "bytes";

const CONTROL = [NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN, NLMSG_MIN_TYPE - 1];
/** payload sizes around the fixed-width integers decoders read */
const EDGE_SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17];

function dv(b: Uint8Array) {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A message of a type the family names, with random fixed header and attribute tree. */
function synthetic(r: Rng, s: FamilySeeds): Msg {
  const hdr = new Uint8Array(NLMSG_HDRLEN);
  dv(hdr).setUint16(OFFSETOF["nlmsghdr.nlmsg_type"], s.types.length ? r.pick(s.types) : NLMSG_MIN_TYPE + r.below(64), true);
  dv(hdr).setUint16(OFFSETOF["nlmsghdr.nlmsg_flags"], r.chance(0.2) ? NLM_F_MULTI : 0, true);
  const tree = (depth: number): Attr[] => {
    const out: Attr[] = [];
    for (let n = r.below(depth ? 5 : 12); n > 0; n--) {
      const type = r.below(48) | (r.chance(0.1) ? NLA_F_NESTED : 0);
      if (depth < 4 && r.chance(0.25)) out.push({ type, payload: new Uint8Array(0), kids: tree(depth + 1) });
      else out.push({ type, payload: r.bytes(r.chance(0.7) ? r.pick(EDGE_SIZES) : r.below(64)) });
    }
    return out;
  };
  return { hdr, fixed: r.bytes(4 * r.below(9)), attrs: tree(0) };
}

function seedMsg(r: Rng, s: FamilySeeds): Msg {
  return s.corpus.length && r.chance(0.75) ? parseMsg(r.pick(s.corpus)) : synthetic(r, s);
}

function wrap(node: Attr, type: number, depth: number): Attr {
  for (let i = 0; i < depth; i++) node = { type, payload: new Uint8Array(0), kids: [node] };
  return node;
}

/**
 * Thousands of levels, written as bytes rather than as a tree (whose writer recurses): the
 * deepest a nest can go is where nla_len's 16 bits run out, about 16,000 levels.
 */
function deepChain(node: Attr, type: number, depth: number): Attr {
  const leaf = node.kids ? writeMsg({ hdr: new Uint8Array(NLMSG_HDRLEN), fixed: new Uint8Array(0), attrs: [node] }).subarray(NLMSG_HDRLEN)
    : (() => {
      const b = new Uint8Array(nlaAlign(NLA_HDRLEN + node.payload.length));
      dv(b).setUint16(OFFSETOF["nlattr.nla_len"], NLA_HDRLEN + node.payload.length, true);
      dv(b).setUint16(OFFSETOF["nlattr.nla_type"], node.type, true);
      b.set(node.payload, NLA_HDRLEN);
      return b;
    })();
  const levels = Math.min(depth, Math.floor((0xffff - NLA_HDRLEN - leaf.length) / NLA_HDRLEN));
  const payload = new Uint8Array(levels * NLA_HDRLEN + leaf.length);
  const v = dv(payload);
  for (let i = 0; i < levels; i++) {
    v.setUint16(i * NLA_HDRLEN + OFFSETOF["nlattr.nla_len"], payload.length - i * NLA_HDRLEN, true);
    v.setUint16(i * NLA_HDRLEN + OFFSETOF["nlattr.nla_type"], type, true);
  }
  payload.set(leaf, levels * NLA_HDRLEN);
  return { type, payload };
}

/** a random attribute of the tree, if it has any */
function someAttr(r: Rng, m: Msg) {
  const all = allAttrs(m.attrs);
  return all.length ? r.pick(all) : undefined;
}

function mutateTree(r: Rng, m: Msg, s: FamilySeeds): MutationKind {
  const a = someAttr(r, m);
  switch (r.below(10)) {
    case 0: { // message type: another of the family's, a control type, anything
      const t = r.chance(0.6) && s.types.length ? r.pick(s.types) : r.chance(0.5) ? r.pick(CONTROL) : r.below(0x10000);
      dv(m.hdr).setUint16(OFFSETOF["nlmsghdr.nlmsg_type"], t, true);
      if (r.chance(0.3)) dv(m.hdr).setUint16(OFFSETOF["nlmsghdr.nlmsg_flags"], r.below(0x10000), true);
      return "framing";
    }
    case 1: { // fixed header cut, grown or scribbled on
      const f = m.fixed;
      if (r.chance(0.4)) m.fixed = f.slice(0, r.below(f.length + 1));
      else if (r.chance(0.3)) m.fixed = Uint8Array.from([...f, ...r.bytes(1 + r.below(8))]);
      else if (f.length) f[r.below(f.length)] = r.pick([0, 0xff, 0x80, 0x7f, r.below(256)]);
      return "lengths";
    }
    case 2: { // an attribute's payload at an edge size
      if (!a) return mutateTree(r, m, s);
      const at = a.list[a.at]!;
      const size = r.chance(0.6) ? r.pick(EDGE_SIZES) : r.below(at.payload.length + 9);
      const p = new Uint8Array(size);
      p.set(at.payload.subarray(0, size));
      a.list[a.at] = { type: at.type, payload: p };
      return "lengths";
    }
    case 3: case 4: { // attribute number or flag bits
      if (!a) return mutateTree(r, m, s);
      const at = a.list[a.at]!;
      const k = r.below(5);
      at.type = k === 0 ? r.below(64) : k === 1 ? r.below(0x10000) : k === 2 ? (at.type + (r.chance(0.5) ? 1 : -1)) & 0xffff
        : k === 3 ? at.type ^ NLA_F_NESTED : at.type ^ NLA_F_NET_BYTEORDER;
      return "types";
    }
    case 5: { // repeat, drop or move an attribute
      if (!a) return mutateTree(r, m, s);
      const k = r.below(3);
      if (k === 0) a.list.splice(a.at, 0, a.list[a.at]!);
      else if (k === 1) a.list.splice(a.at, 1);
      else m.attrs.push(...a.list.splice(a.at, 1));
      return "types";
    }
    case 6: case 7: { // nesting: wrap an attribute in levels of itself, a few or thousands
      if (!a) return mutateTree(r, m, s);
      const node = a.list[a.at]!;
      const wrapType = r.chance(0.7) ? node.type : r.below(64) | NLA_F_NESTED;
      a.list[a.at] = r.chance(0.97) ? wrap(node, wrapType, 1 + r.below(6)) : deepChain(node, wrapType, 100 + r.below(16000));
      return "nesting";
    }
    case 8: { // graft: a nest holding attributes from elsewhere, or a leaf turned into a nest
      if (!a) return mutateTree(r, m, s);
      const donor = parseMsg(s.corpus.length && r.chance(0.7) ? r.pick(s.corpus) : writeMsg(synthetic(r, s)));
      const kids = allAttrs(donor.attrs).slice(0, 1 + r.below(6)).map((d) => d.list[d.at]!);
      a.list[a.at] = { type: a.list[a.at]!.type, payload: new Uint8Array(0), kids };
      return "nesting";
    }
    default: { // a whole new attribute of any number and size
      const list = a && r.chance(0.5) ? a.list : m.attrs;
      list.splice(r.below(list.length + 1), 0, { type: r.below(64), payload: r.bytes(r.pick(EDGE_SIZES)) });
      return "types";
    }
  }
}

/** top-level nla_len positions of a written message, for byte-level length damage */
function attrOffsets(b: Uint8Array, fixedLen: number): number[] {
  const out: number[] = [];
  const v = dv(b);
  for (let o = NLMSG_HDRLEN + nlaAlign(fixedLen); o + NLA_HDRLEN <= b.length;) {
    out.push(o);
    const len = v.getUint16(o, true);
    if (len < NLA_HDRLEN) break;
    o += nlaAlign(len);
  }
  return out;
}

function mutateBytes(r: Rng, b: Uint8Array, fixedLen: number): Uint8Array {
  const v = dv(b);
  switch (r.below(5)) {
    case 0: // nlmsg_len at an edge
      v.setUint32(OFFSETOF["nlmsghdr.nlmsg_len"], r.pick([0, NLMSG_HDRLEN - 1, NLMSG_HDRLEN, b.length - 1, b.length + 1, b.length + 4, 0xffffffff, r.next()]), true);
      return b;
    case 1: { // a top-level nla_len at an edge (nested ones are reached by the tree mutations)
      const offs = attrOffsets(b, fixedLen);
      if (!offs.length) return b;
      const o = r.pick(offs);
      const len = v.getUint16(o, true);
      v.setUint16(o, r.pick([0, 1, 3, NLA_HDRLEN, len - 1, len + 1, len + 4, b.length - o + 1, 0xffff]) & 0xffff, true);
      return b;
    }
    case 2: // bit flips
      for (let k = 1 + r.below(4); k > 0; k--) b[r.below(b.length)]! ^= 1 << r.below(8);
      return b;
    case 3: // cut short, the length left claiming more
      return b.slice(0, r.below(b.length));
    default: { // trailing garbage
      const out = new Uint8Array(b.length + 1 + r.below(24));
      out.set(b);
      out.set(r.bytes(out.length - b.length), b.length);
      return out;
    }
  }
}

export interface Input {
  datagram: Uint8Array;
  kinds: MutationKind[];
}

/** One datagram: one to four mutated messages, back to back (aligned or not). */
export function makeInput(r: Rng, s: FamilySeeds): Input {
  const kinds: MutationKind[] = [];
  const parts: Uint8Array[] = [];
  const n = r.chance(0.8) ? 1 : 2 + r.below(3);
  if (n > 1) kinds.push("framing");
  for (let i = 0; i < n; i++) {
    const m = seedMsg(r, s);
    for (let k = 1 + r.below(3); k > 0; k--) kinds.push(mutateTree(r, m, s));
    let b = writeMsg(m);
    if (r.chance(0.35)) {
      b = mutateBytes(r, b, m.fixed.length);
      kinds.push("bytes");
    }
    parts.push(b);
  }
  const aligned = r.chance(0.8);
  let total = 0;
  for (const p of parts) total += aligned ? nlmsgAlign(p.length) : p.length;
  const datagram = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    datagram.set(p, o);
    o += aligned ? nlmsgAlign(p.length) : p.length;
  }
  return { datagram, kinds };
}
