/**
 * What makes a comparison able to match: a field some event has, and a value of the kind that
 * field holds. Anything else would silently match nothing, so it is reported where it is written.
 */
import { constant, constantNames } from "./constants.ts";
import { childFields, fieldPaths, type FieldType, lookupField } from "./fields.ts";
import { closest } from "./near.ts";

export type Value = string | number | boolean;

/** A mistake in one token; `at` is its offset within that token. */
export class Problem {
  constructor(readonly what: string, readonly at = 0, readonly hint = "") {}
}

/** RTPROT_BGP, NETLINK_ROUTE: upper case with an underscore, as every kernel constant is written */
const CONSTANT_SHAPE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;
const NUMBER = /^-?(\d+(\.\d+)?|0x[0-9a-f]+)$/i;

/** a NUMBER token's value; Number() alone reads "-0x10" as NaN */
export function toNumber(tok: string): number {
  const neg = tok.startsWith("-");
  const body = neg ? tok.slice(1) : tok;
  const n = /^0x/i.test(body) ? parseInt(body.slice(2), 16) : Number(body);
  return neg ? -n : n;
}

export function isNumber(tok: string): boolean {
  return NUMBER.test(tok);
}

export function checkField(path: string): { segs: string[]; type: FieldType } {
  const segs = path.split(".");
  const r = lookupField(segs);
  if (r.ok) {
    if (r.type.object && !r.type.number && !r.type.string && !r.type.boolean && r.type.literals.length === 0) {
      throw new Problem(`'${path}' holds fields, not a value`, 0, `; compare one of its fields: ${list(childFields(segs))}`);
    }
    return { segs, type: r.type };
  }
  const at = segs.slice(0, r.at).reduce((n, s) => n + s.length + 1, 0);
  throw new Problem(`unknown field '${path}'`, at, fieldHint(segs, r.at, r.known));
}

function fieldHint(segs: string[], at: number, known: string[]): string {
  const path = segs.join(".");
  // `route.protocol` for `netlink.route.protocol`: the rest of the path is right
  const longer = fieldPaths().filter((p) => p.endsWith(`.${path}`));
  if (longer.length > 0 && longer.length <= 3) return `; did you mean ${longer.map((p) => `'${p}'`).join(" or ")}?`;
  // `netlink.link.protocol`: a field of other event bodies, not this one
  const rest = segs.slice(at).join(".");
  const owners = fieldPaths().filter((p) => p.endsWith(`.${rest}`)).map((p) => p.slice(0, -rest.length - 1));
  const prefix = segs.slice(0, at).join(".");
  if (owners.length && at === segs.length - 1) return `; '${rest}' is a field of ${list(owners)}${prefix ? `, not of ${prefix}` : ""}`;
  const near = closest(segs[at]!, known);
  if (near) return `; did you mean '${near}'?`;
  return prefix ? `; fields of ${prefix}: ${list(known)}` : `; top-level fields: ${list(known)}`;
}

function list(names: string[], max = 12): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")}, …`;
}

/**
 * The value a comparison with `field` uses for token `tok`: a number, a constant's number, true or
 * false, or text. `quoted` tokens are always text (but may still be numeric text).
 */
export function checkValue(tok: string, quoted: boolean, path: string, field: FieldType): Value {
  if (!quoted) {
    if (NUMBER.test(tok)) {
      if (field.number || field.string || (field.boolean && (tok === "0" || tok === "1"))) return toNumber(tok);
      throw mismatch(tok, path, field);
    }
    if (field.boolean && (tok === "true" || tok === "false")) return tok === "true";
    if (field.number) {
      // -EACCES: errno values are negative where the kernel reports them (NLMSG_ERROR)
      const neg = tok.startsWith("-");
      const name = neg ? tok.slice(1) : tok;
      const v = constant(name);
      if (v !== undefined) return neg ? -v : v;
      if (CONSTANT_SHAPE.test(name) && !field.string && !field.literals.includes(tok)) {
        throw new Problem(`unknown constant '${name}'`, neg ? 1 : 0, constantHint(name));
      }
    }
  }
  if (field.string || field.literals.includes(tok)) return tok;
  if (field.number && NUMBER.test(tok)) return toNumber(tok);
  if (field.boolean && (tok === "true" || tok === "false")) return tok === "true";
  throw mismatch(tok, path, field);
}

function mismatch(tok: string, path: string, field: FieldType): Problem {
  const takes: string[] = [];
  if (field.number) takes.push("a number or a kernel constant");
  if (field.boolean) takes.push("true or false");
  if (field.literals.length) takes.push(`one of ${list(field.literals)}`);
  if (takes.length === 0) takes.push(field.text);
  const near = field.literals.length ? closest(tok, field.literals) : undefined;
  const named = field.number && lookupField(`${path}_name`.split(".")).ok ? `; ${path}_name holds the name` : "";
  return new Problem(`${path} takes ${takes.join(", or ")}, not '${tok}'`, 0, near ? `; did you mean '${near}'?` : named);
}

function constantHint(tok: string): string {
  const prefix = tok.slice(0, tok.indexOf("_") + 1);
  const names = [...constantNames()];
  const family = names.filter((n) => n.startsWith(prefix));
  const near = closest(tok, family) ?? closest(tok, names);
  if (near) return `; did you mean '${near}'?`;
  if (family.length > 0 && family.length <= 24) return `; ${prefix}* constants: ${family.join(", ")}`;
  return "; not in the kernel headers nlmon was built with";
}
