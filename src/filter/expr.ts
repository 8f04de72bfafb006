/**
 * Event filter expressions, as the guide writes them: `netlink.protocol == NETLINK_ROUTE`.
 * Grammar: or := and ("||" and)* ; and := not ("&&" not)* ; not := "!" not | "(" or ")" | cmp ;
 * cmp := path op value. Ops: == != < <= > >= =~ (regex). A path that holds a list (flags)
 * matches == when the list contains the value. Bare words that name a kernel constant
 * (NETLINK_ROUTE, RTM_NEWROUTE, RTPROT_BGP) stand for its number.
 */
import * as K from "../uapi/linux.gen.ts";
import type { NlEvent } from "../event/model.ts";

export class FilterError extends Error {}

type Value = string | number | boolean;
type Node =
  | { k: "or" | "and"; a: Node; b: Node }
  | { k: "not"; a: Node }
  | { k: "cmp"; path: string[]; op: string; v: Value; re?: RegExp };

const TOKEN = /\s*(\(|\)|&&|\|\||!=|==|<=|>=|=~|<|>|!|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z0-9_.:/\-+*^$[\]]+)/y;

function tokenize(src: string): { t: string; at: number }[] {
  const out: { t: string; at: number }[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(src);
    if (!m) {
      const at = pos + (/^\s*/.exec(src.slice(pos))?.[0].length ?? 0);
      throw new FilterError(`filter: unexpected character at column ${at + 1}: ${JSON.stringify(src.slice(at, at + 10))}`);
    }
    out.push({ t: m[1]!, at: m.index + m[0].length - m[1]!.length });
    pos = TOKEN.lastIndex;
  }
  return out;
}

const CONSTS = K as unknown as Record<string, unknown>;

function literal(tok: string): Value {
  if (/^["']/.test(tok)) return tok.slice(1, -1).replace(/\\(.)/g, "$1");
  if (/^-?\d+$/.test(tok)) return Number(tok);
  if (/^0x[0-9a-f]+$/i.test(tok)) return Number(tok);
  if (tok === "true") return true;
  if (tok === "false") return false;
  if (/^[A-Z][A-Z0-9_]+$/.test(tok) && typeof CONSTS[tok] === "number") return CONSTS[tok] as number;
  return tok;
}

export function parseFilter(src: string): (ev: NlEvent) => boolean {
  const toks = tokenize(src);
  let i = 0;
  const peek = () => toks[i]?.t;
  const fail = (what: string): never => {
    const at = toks[i]?.at ?? src.length;
    throw new FilterError(`filter: ${what} at column ${at + 1} of ${JSON.stringify(src)}`);
  };
  const or = (): Node => {
    let a = and();
    while (peek() === "||") { i++; a = { k: "or", a, b: and() }; }
    return a;
  };
  const and = (): Node => {
    let a = not();
    while (peek() === "&&") { i++; a = { k: "and", a, b: not() }; }
    return a;
  };
  const not = (): Node => {
    if (peek() === "!") { i++; return { k: "not", a: not() }; }
    if (peek() === "(") {
      i++;
      const a = or();
      if (peek() !== ")") fail("expected ')'");
      i++;
      return a;
    }
    const p = toks[i++]?.t;
    if (!p || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(p)) fail("expected a field name");
    const op = toks[i++]?.t;
    if (!op || !["==", "!=", "<", "<=", ">", ">=", "=~"].includes(op)) fail("expected an operator (== != < <= > >= =~)");
    const vt = toks[i++]?.t;
    if (vt === undefined) fail("expected a value");
    const v = op === "=~" ? String(literal(vt!)) : literal(vt!);
    let re: RegExp | undefined;
    if (op === "=~") {
      try { re = new RegExp(String(v)); } catch (e) { fail(`bad regular expression (${(e as Error).message})`); }
    }
    return { k: "cmp", path: p!.split("."), op: op!, v, re };
  };
  if (toks.length === 0) return () => true;
  const root = or();
  if (i < toks.length) fail("unexpected text");
  return (ev) => evaluate(root, ev);
}

function get(ev: unknown, path: string[]): unknown {
  let o: unknown = ev;
  for (const p of path) {
    if (o === null || typeof o !== "object") return undefined;
    o = (o as Record<string, unknown>)[p];
  }
  return o;
}

function cmpOne(x: unknown, op: string, v: Value, re?: RegExp): boolean {
  if (x === undefined) return op === "!=";
  if (re) return re.test(String(x));
  // compare as numbers when both sides are numeric, else as text
  const xs = typeof x === "number" || typeof v === "number" ? Number(x) : String(x);
  const vs = typeof x === "number" || typeof v === "number" ? Number(v) : String(v);
  switch (op) {
    case "==": return xs === vs;
    case "!=": return xs !== vs;
    case "<": return xs < vs;
    case "<=": return xs <= vs;
    case ">": return xs > vs;
    case ">=": return xs >= vs;
  }
  return false;
}

function evaluate(n: Node, ev: NlEvent): boolean {
  switch (n.k) {
    case "or": return evaluate(n.a, ev) || evaluate(n.b, ev);
    case "and": return evaluate(n.a, ev) && evaluate(n.b, ev);
    case "not": return !evaluate(n.a, ev);
    case "cmp": {
      const x = get(ev, n.path);
      if (Array.isArray(x)) {
        const hit = x.some((e) => cmpOne(e, n.op === "!=" ? "==" : n.op, n.v, n.re));
        return n.op === "!=" ? !hit : hit;
      }
      return cmpOne(x, n.op, n.v, n.re);
    }
  }
}
