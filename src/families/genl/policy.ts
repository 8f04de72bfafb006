/**
 * Any generic netlink family, typed by the kernel's own word: nlctrl's CTRL_CMD_GETPOLICY dump
 * says, for each of a family's commands, which policy checks its attributes, and for each policy
 * every attribute's type (u8…s64, string, flag, nested with its sub-policy, nested array, binary,
 * bitfield32). A family nlmon has no table for is decoded by that, without anyone writing a table.
 *
 * Notifications are not commands: a family's events may reuse a command's number for other
 * attributes (ethtool's kernel-to-user message numbers differ from its requests'; mptcp_pm's events
 * carry MPTCP_ATTR_*, its commands MPTCP_PM_ATTR_*). So the command's policy is taken per attribute
 * only where the bytes fit the type it names; anything else is read by its shape (NLA_F_NESTED
 * nests, bytes otherwise) and carries no `kind`, so a reader can tell a typed value from a guess.
 */
import { AttrReader } from "../../codec/reader.ts";
import { hex } from "../../codec/format.ts";
import { AttrWriter, walkAttrs } from "../../codec/attr.ts";
import { genlReplies, genlRequest } from "./message.ts";
import {
  CTRL_ATTR_FAMILY_ID, CTRL_ATTR_OP_POLICY, CTRL_ATTR_POLICY, CTRL_ATTR_POLICY_DO, CTRL_ATTR_POLICY_DUMP, CTRL_CMD_GETPOLICY,
  GENL_ID_CTRL, NAMES, NL_POLICY_TYPE_ATTR_POLICY_IDX, NL_POLICY_TYPE_ATTR_TYPE, NLM_F_DUMP, NLM_F_REQUEST,
} from "../../uapi/linux.gen.ts";

/** an attribute as a policy describes it: the kernel's type name (NL_ATTR_TYPE_* lowercased, without the prefix) */
export interface PolicyAttr {
  kind: string;
  /** for nested and nested-array: the policy inside */
  policy?: number;
}

export interface FamilyPolicy {
  /** policy index → attribute number → what the policy says of it */
  policies: Map<number, Map<number, PolicyAttr>>;
  /** command → the policy its `do` (else `dump`) request is checked with */
  ops: Map<number, number>;
}

const ATTR_TYPE = NAMES.nl_attr_type as Record<number, string>;

function kindName(t: number): string {
  const n = ATTR_TYPE[t];
  return n ? n.replace(/^NL_ATTR_TYPE_/, "").toLowerCase() : `type_${t}`;
}

/** nlctrl's dump of one family's policies (every command's), by family id */
export function getPolicyDump(familyId: number): Uint8Array {
  return genlRequest(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, CTRL_CMD_GETPOLICY, 1, new AttrWriter().u16(CTRL_ATTR_FAMILY_ID, familyId));
}

/** The policy dump's datagrams (every reply message of it) into one FamilyPolicy. Malformed parts are skipped. */
export function parsePolicyDump(datagrams: readonly Uint8Array[]): FamilyPolicy {
  const fp: FamilyPolicy = { policies: new Map(), ops: new Map() };
  genlReplies(datagrams, GENL_ID_CTRL, (_cmd, _version, dv, off, end) => {
    walkAttrs(dv, off, end, (t, o, l) => {
      if (t === CTRL_ATTR_POLICY) readPolicies(dv, o, o + l, fp);
      else if (t === CTRL_ATTR_OP_POLICY) readOps(dv, o, o + l, fp);
    });
  });
  return fp;
}

function readPolicies(dv: DataView, start: number, end: number, fp: FamilyPolicy) {
  // policy index → (attribute number → its properties)
  walkAttrs(dv, start, end, (idx, o, l) => {
    const p = fp.policies.get(idx) ?? new Map<number, PolicyAttr>();
    fp.policies.set(idx, p);
    walkAttrs(dv, o, o + l, (attr, ao, al) => {
      let kind: string | undefined;
      let policy: number | undefined;
      walkAttrs(dv, ao, ao + al, (pt, po, pl) => {
        if (pt === NL_POLICY_TYPE_ATTR_TYPE && pl >= 4) kind = kindName(dv.getUint32(po, true));
        else if (pt === NL_POLICY_TYPE_ATTR_POLICY_IDX && pl >= 4) policy = dv.getUint32(po, true);
      });
      if (kind !== undefined) p.set(attr, policy === undefined ? { kind } : { kind, policy });
    });
  });
}

function readOps(dv: DataView, start: number, end: number, fp: FamilyPolicy) {
  walkAttrs(dv, start, end, (op, o, l) => {
    let doP: number | undefined;
    let dumpP: number | undefined;
    walkAttrs(dv, o, o + l, (t, po, pl) => {
      if (pl < 4) return;
      if (t === CTRL_ATTR_POLICY_DO) doP = dv.getUint32(po, true);
      else if (t === CTRL_ATTR_POLICY_DUMP) dumpP = dv.getUint32(po, true);
    });
    const p = doP ?? dumpP;
    if (p !== undefined) fp.ops.set(op, p);
  });
}

/** One attribute as the event shows it; `kind` only when a policy typed it. */
export interface GenlAttr {
  type: number;
  /** the header's name for it, where one enum names a family's attributes (names.ts) */
  name?: string;
  len: number;
  nested: boolean;
  kind?: string;
  value?: number | string | boolean | GenlAttr[] | { value: number; selector: number };
}

const INT_SIZE: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8, s8: 1, s16: 2, s32: 4, s64: 8 };

/** the value an attribute's bytes hold as `kind`, or undefined when they do not fit it */
function typed(kind: string, r: AttrReader, policy: FamilyPolicy | undefined, sub: number | undefined, depth: number): GenlAttr["value"] | undefined {
  const len = r.len;
  const size = INT_SIZE[kind];
  if (size !== undefined) {
    if (len !== size) return undefined;
    switch (kind) {
      case "u8": return r.u8();
      case "u16": return r.u16();
      case "u32": return r.u32();
      case "s8": return r.s8();
      case "s16": return r.s16();
      case "s32": return r.s32();
      // beyond 2^53 the reader gives a string, which keeps the digits
      case "u64": return r.u64();
      case "s64": return r.s64();
    }
  }
  switch (kind) {
    case "flag": return len === 0 ? true : undefined;
    case "string":
    case "nul_string": {
      const u = new Uint8Array(r.dv.buffer, r.dv.byteOffset + r.off, len);
      let n = u.indexOf(0);
      if (n < 0) n = len;
      // text the kernel checks as a string: printable, else it was not one (a reused number)
      for (let i = 0; i < n; i++) if (u[i]! < 0x20 || u[i] === 0x7f) return undefined;
      return new TextDecoder().decode(u.subarray(0, n));
    }
    case "nested":
    case "nested_array": {
      return nestedAttrs(r.dv, r.off, r.off + len, policy, kind === "nested" ? sub : undefined, depth + 1, kind === "nested_array" ? sub : undefined);
    }
    case "bitfield32":
      return len === 8 ? { value: r.dv.getUint32(r.off, true), selector: r.dv.getUint32(r.off + 4, true) } : undefined;
    case "binary":
      return hex(new Uint8Array(r.dv.buffer, r.dv.byteOffset + r.off, len));
  }
  return undefined;
}

/** deeper than this, a nest is shown as bytes: the kernel nests a few levels; a loop of policies must not recurse forever */
const MAX_DEPTH = 16;

/**
 * Attributes in [start, end), typed by `policy`'s set `idx` where it fits, else by shape.
 * `arrayOf`: the elements of a nested array, each a nest of that policy whatever its number.
 * Returns undefined when the bytes are not attributes at all.
 */
export function nestedAttrs(dv: DataView, start: number, end: number, policy: FamilyPolicy | undefined, idx: number | undefined, depth = 0, arrayOf?: number): GenlAttr[] | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const set = idx === undefined ? undefined : policy?.policies.get(idx);
  const out: GenlAttr[] = [];
  const r = new AttrReader(dv, start, end);
  while (r.next()) {
    const a: GenlAttr = { type: r.type, len: r.len, nested: r.nested };
    const def: PolicyAttr | undefined = arrayOf !== undefined ? { kind: "nested", policy: arrayOf } : set?.get(r.type);
    const v = def ? typed(def.kind, r, policy, def.policy, depth) : undefined;
    if (v !== undefined) {
      a.kind = def!.kind;
      a.value = v;
    } else {
      const shaped = r.nested ? nestedAttrs(dv, r.off, r.off + r.len, policy, undefined, depth + 1) : undefined;
      a.value = shaped ?? hex(new Uint8Array(dv.buffer, dv.byteOffset + r.off, r.len));
    }
    out.push(a);
  }
  return r.badAt >= 0 ? undefined : out;
}

/**
 * A message's attributes for command `cmd` of a family: the command's policy where the kernel
 * gave one, by shape otherwise. undefined when they are malformed (the caller reports where).
 */
export function policyAttrs(dv: DataView, start: number, end: number, policy: FamilyPolicy | undefined, cmd: number): GenlAttr[] | undefined {
  return nestedAttrs(dv, start, end, policy, policy?.ops.get(cmd));
}

/** Policies by family id, fetched when a family is resolved; a family that goes away takes its policy with it. */
export class PolicyRegistry {
  private readonly byId = new Map<number, FamilyPolicy>();
  get(id: number): FamilyPolicy | undefined {
    return this.byId.get(id);
  }
  set(id: number, p: FamilyPolicy): void {
    this.byId.set(id, p);
  }
  remove(id: number): void {
    this.byId.delete(id);
  }
}

export const genlPolicies = new PolicyRegistry();
