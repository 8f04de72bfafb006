/**
 * Event filter expressions, as the guide writes them: `netlink.protocol == NETLINK_ROUTE`.
 * Grammar: or := and ("||" and)* ; and := not ("&&" not)* ; not := "!" not | "(" or ")" | cmp ;
 * cmp := path op value. Ops: == != < <= > >= =~ (regex). A path that holds a list (flags, or a
 * field of the objects in a list such as nexthops) matches == when any element does.
 * Paths and values are checked against the event model (fields.ts, check.ts) when the filter is
 * read: a filter that could never match because of a typo is an error, not a silent no-op.
 */
import type { NlEvent } from "../event/model.ts";
import { checkField, checkValue, Problem, type Value } from "./check.ts";

export class FilterError extends Error {
  /** offset in the filter text of what is wrong (0-based), for placing it in a config file */
  constructor(message: string, readonly column: number) {
    super(message);
  }
}

/**
 * Deeper nesting of `!` and parentheses than anyone writes by hand. Bounded because parsing and
 * evaluating recurse once per level: an unbounded filter would exhaust the stack.
 */
export const MAX_NESTING = 64;

type Node =
  | { k: "or" | "and"; xs: Node[] }
  | { k: "not"; a: Node }
  | { k: "cmp"; path: string[]; op: string; v: Value; re?: RegExp };

interface Token { t: string; at: number }

const TOKEN = /\s*(\(|\)|&&|\|\||!=|==|<=|>=|=~|<|>|!|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z0-9_.:/\-+*^$[\]]+)/y;
const OPS = ["==", "!=", "<", "<=", ">", ">=", "=~"];

/** `column N of "…text…"`, with long filters cut to the part around the column */
function where(src: string, at: number): string {
  const W = 40;
  if (src.length <= 2 * W) return `column ${at + 1} of ${JSON.stringify(src)}`;
  const from = Math.max(0, at - W);
  const to = Math.min(src.length, at + W);
  return `column ${at + 1} of ${from > 0 ? "…" : ""}${JSON.stringify(src.slice(from, to))}${to < src.length ? "…" : ""}`;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let pos = 0;
  for (;;) {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
    if (pos >= src.length) return out;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(src);
    if (!m) throw new FilterError(`filter: unexpected character at ${where(src, pos)}`, pos);
    out.push({ t: m[1]!, at: m.index + m[0].length - m[1]!.length });
    pos = TOKEN.lastIndex;
  }
}

export function parseFilter(src: string): (ev: NlEvent) => boolean {
  const toks = tokenize(src);
  let i = 0;
  let depth = 0;
  const peek = () => toks[i]?.t;
  const fail = (what: string, at = toks[i]?.at ?? src.length, hint = ""): never => {
    throw new FilterError(`filter: ${what} at ${where(src, at)}${hint}`, at);
  };
  const list = (k: "or" | "and", sep: string, item: () => Node): Node => {
    const xs = [item()];
    while (peek() === sep) {
      i++;
      xs.push(item());
    }
    return xs.length === 1 ? xs[0]! : { k, xs };
  };
  const or = (): Node => list("or", "||", and);
  const and = (): Node => list("and", "&&", not);
  const not = (): Node => {
    if (peek() === "!" || peek() === "(") {
      if (++depth > MAX_NESTING) fail(`more than ${MAX_NESTING} levels of '!' and parentheses`);
      let n: Node;
      if (peek() === "!") {
        i++;
        n = { k: "not", a: not() };
      } else {
        i++;
        n = or();
        if (peek() !== ")") fail("expected ')'");
        i++;
      }
      depth--;
      return n;
    }
    return cmp();
  };
  const cmp = (): Node => {
    const pt = toks[i++];
    if (!pt || !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(pt.t)) fail("expected a field name", pt?.at);
    const op = toks[i++];
    if (!op || !OPS.includes(op.t)) fail("expected an operator (== != < <= > >= =~)", op?.at);
    const vt = toks[i++];
    if (vt === undefined) fail("expected a value");
    // a problem with the field points into the path; one with the value at the value
    const at = <T>(tok: Token, f: () => T): T => {
      try {
        return f();
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        return fail(e.what, tok.at + e.at, e.hint);
      }
    };
    const { segs, type } = at(pt!, () => checkField(pt!.t));
    const quoted = /^["']/.test(vt!.t);
    const text = quoted ? vt!.t.slice(1, -1).replace(/\\(.)/g, "$1") : vt!.t;
    let re: RegExp | undefined;
    if (op!.t === "=~") {
      try { re = new RegExp(text); } catch (e) { fail(`bad regular expression (${(e as Error).message})`, vt!.at); }
    }
    const v = at(vt!, () => checkValue(text, quoted, pt!.t, type, op!.t));
    return { k: "cmp", path: segs, op: op!.t, v, re };
  };
  if (toks.length === 0) return () => true;
  const root = or();
  if (i < toks.length) fail("unexpected text");
  return (ev) => evaluate(root, ev);
}

/**
 * The value at `path`. Crossing a list (nexthops) collects that field of every element, so the
 * result is then a list too.
 */
function get(ev: unknown, path: string[]): unknown {
  let o: unknown = ev;
  for (let i = 0; i < path.length; i++) {
    if (Array.isArray(o)) {
      const rest = path.slice(i);
      const all = o.flatMap((e) => {
        const v = get(e, rest);
        return v === undefined ? [] : v;
      });
      return all.length ? all : undefined;
    }
    if (o === null || typeof o !== "object") return undefined;
    o = (o as Record<string, unknown>)[path[i]!];
  }
  return o;
}

function cmpOne(x: unknown, op: string, v: Value, re?: RegExp): boolean {
  if (x === undefined) return op === "!=";
  if (re) return re.test(String(x));
  // compare as numbers when either side is numeric, else as text
  const num = typeof x === "number" || typeof v === "number";
  const xs = num ? Number(x) : String(x);
  const vs = num ? Number(v) : String(v);
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
    case "or": return n.xs.some((x) => evaluate(x, ev));
    case "and": return n.xs.every((x) => evaluate(x, ev));
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
