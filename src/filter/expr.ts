/**
 * Event filter expressions, as the guide writes them: `netlink.protocol == NETLINK_ROUTE`.
 *
 *   or      := and (("||" | "or") and)*
 *   and     := unary (("&&" | "and") unary)*
 *   unary   := ("!" | "not") unary | "(" or ")" | test
 *   test    := FIELD ("==" | "!=" | "<" | "<=" | ">" | ">=") VALUE
 *            | FIELD ("=~" | "!~") REGEX
 *            | FIELD ["not"] "in" ("[" VALUE ("," VALUE)* [","] "]" | PREFIX)
 *            | FIELD ["not"] "contains" VALUE
 *
 * Fields and values are checked against the event model (fields.ts, check.ts) when the filter is
 * read: a filter that could never match because of a typo is an error, not a silent no-op. The
 * filter is then compiled once into closures, one per test, with the field's path walked by a
 * getter made for its length; nothing is looked up by name or interpreted per event.
 *
 * A field that holds several values (a list such as flags, or a field of the objects in a list
 * such as nexthops.gateway) passes a test when any of its values does; the negated tests
 * (!= !~ "not in" "not contains") pass when none does. A field the event lacks passes only those.
 */
import type { NlEvent } from "../event/model.ts";
import { insideTest, parsePrefix } from "./cidr.ts";
import { checkField, checkValue, isNumber, Problem, toNumber, type Value } from "./check.ts";
import type { FieldType } from "./fields.ts";

export class FilterError extends Error {
  /** offset in the filter text of what is wrong (0-based), for placing it in a config file */
  constructor(message: string, readonly column: number) {
    super(message);
  }

  /** the message without its leading "filter: ", for a caller that names the setting itself */
  get detail(): string {
    return this.message.replace(/^filter: /, "");
  }
}

/**
 * Deeper nesting of `!`/`not` and parentheses than anyone writes by hand. Bounded because parsing
 * and compiling recurse once per level: an unbounded filter would exhaust the stack.
 */
export const MAX_NESTING = 64;

export type Predicate = (ev: NlEvent) => boolean;
type Test = (x: unknown) => boolean;

type Kind = "op" | "str" | "word";
interface Token { t: string; at: number; k: Kind }

const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/y;
const OPERATOR = /&&|\|\||!=|==|<=|>=|=~|!~|<|>|!|\(|\)|\[|\]|,/y;
const WORD = /[A-Za-z0-9_.:/\-+]+/y;
/** after =~ and !~: an unquoted regular expression may also hold * ^ $ and [ ] (quote anything more) */
const REGEX_WORD = /[A-Za-z0-9_.:/\-+*^$[\]]+/y;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const COMPARE = new Set(["==", "!=", "<", "<=", ">", ">="]);
const OPERATORS = "(== != < <= > >= =~ !~ in contains)";

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
  const at = (re: RegExp): string | undefined => {
    re.lastIndex = pos;
    return re.exec(src)?.[0];
  };
  for (;;) {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
    if (pos >= src.length) return out;
    const prev = out[out.length - 1];
    const regexNext = prev?.k === "op" && (prev.t === "=~" || prev.t === "!~");
    let m: string | undefined;
    let k: Kind;
    if ((m = at(STRING)) !== undefined) k = "str";
    else if (regexNext && (m = at(REGEX_WORD)) !== undefined) k = "word";
    else if ((m = at(OPERATOR)) !== undefined) k = "op";
    else if ((m = at(WORD)) !== undefined) k = "word";
    else {
      const c = src[pos]!;
      const meant: Record<string, string> = { "=": "==", "&": "&&", "|": "||", "~": "=~" };
      const inRegex = "|?{}\\".includes(c) && out.some((t) => t.k === "op" && (t.t === "=~" || t.t === "!~"));
      const hint = inRegex ? "; quote a regular expression that holds ( ) | ? { } or \\" : meant[c] ? `; did you mean '${meant[c]}'?` : "";
      throw new FilterError(`filter: unexpected character at ${where(src, pos)}${hint}`, pos);
    }
    out.push({ t: m, at: pos, k });
    pos += m.length;
  }
}

/** The filter as one predicate; "" passes everything. Throws FilterError, located, on any mistake. */
export function parseFilter(src: string): Predicate {
  const toks = tokenize(src);
  if (toks.length === 0) return () => true;
  let i = 0;
  let depth = 0;
  const is = (t: string, k: Kind = "op"): boolean => toks[i]?.t === t && toks[i]?.k === k;
  const fail = (what: string, at = toks[i]?.at ?? src.length, hint = ""): never => {
    throw new FilterError(`filter: ${what} at ${where(src, at)}${hint}`, at);
  };
  // a problem reported by check.ts is placed within the token it is about
  const within = <T>(tok: Token, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof Problem)) throw e;
      return fail(e.what, tok.at + (tok.k === "str" ? 1 : 0) + e.at, e.hint);
    }
  };

  const list = (sym: string, word: string, item: () => Predicate, join: (xs: Predicate[]) => Predicate): Predicate => {
    const xs = [item()];
    while (is(sym) || is(word, "word")) {
      i++;
      xs.push(item());
    }
    return xs.length === 1 ? xs[0]! : join(xs);
  };
  const or = (): Predicate => list("||", "or", and, anyOf);
  const and = (): Predicate => list("&&", "and", unary, allOf);
  const unary = (): Predicate => {
    if (!(is("!") || is("not", "word") || is("("))) return test();
    if (++depth > MAX_NESTING) fail(`more than ${MAX_NESTING} levels of '!' and parentheses`);
    let p: Predicate;
    if (is("(")) {
      i++;
      p = or();
      if (!is(")")) fail("expected ')'");
      i++;
    } else {
      i++;
      const a = unary();
      p = (ev) => !a(ev);
    }
    depth--;
    return p;
  };

  const value = (): Token => {
    const v = toks[i];
    if (!v || v.k === "op") fail("expected a value");
    i++;
    return v!;
  };
  const text = (v: Token): string => (v.k === "str" ? v.t.slice(1, -1).replace(/\\(.)/g, "$1") : v.t);

  const test = (): Predicate => {
    const ft = toks[i++];
    if (!ft || ft.k !== "word" || !FIELD.test(ft.t)) fail("expected a field name", ft?.at);
    const { segs, type } = within(ft!, () => checkField(ft!.t));
    const path = ft!.t;
    // set where a test is plain equality with a value of the one kind the field holds
    let exact: string | number | undefined;
    const opTok = toks[i];
    let negate = false;
    if (opTok?.k === "word" && opTok.t === "not" && toks[i + 1]?.k === "word" && (toks[i + 1]!.t === "in" || toks[i + 1]!.t === "contains")) {
      negate = true;
      i++;
    }
    const op = toks[i++];
    if (!op || (op.k === "op" ? !COMPARE.has(op.t) && op.t !== "=~" && op.t !== "!~" : op.t !== "in" && op.t !== "contains")) {
      return fail(`expected an operator ${OPERATORS}`, op?.at);
    }
    let t: Test;
    switch (op.t) {
      case "=~":
      case "!~": {
        const v = value();
        let re: RegExp;
        try {
          re = new RegExp(text(v));
        } catch (e) {
          return fail(`bad regular expression (${(e as Error).message})`, v.at);
        }
        t = (x) => x !== undefined && x !== null && re.test(typeof x === "string" ? x : String(x));
        negate = op.t === "!~";
        break;
      }
      case "in":
        t = is("[") ? inList(path, type) : inPrefix(path, type, value());
        break;
      case "contains": {
        const v = value();
        if (type.list) t = equals(within(v, () => checkValue(text(v), v.k === "str", path, type)));
        else if (type.string) {
          const s = text(v);
          t = (x) => typeof x === "string" && x.includes(s);
        } else {
          return fail(`'contains' needs a list or a text field; ${path} holds ${kindOf(type)}: compare it with ==`, op.at);
        }
        break;
      }
      default: {
        const v = value();
        const val = within(v, () => checkValue(text(v), v.k === "str", path, type));
        if (op.t === "==" || op.t === "!=") {
          t = equals(val);
          negate = op.t === "!=";
          if (typeof val === "string" && type.string && !type.number && !type.boolean) exact = val;
          else if (typeof val === "string" && !type.string && !type.number && !type.boolean && type.literals.includes(val)) exact = val;
          else if (typeof val === "number" && type.number && !type.string && !type.boolean && type.literals.length === 0) exact = val;
        } else {
          t = ordered(op.t, val);
        }
      }
    }
    const pos: Predicate = type.list ? anyElement(getter(segs, true), t) : fieldTest(segs, t, exact);
    return negate ? (ev) => !pos(ev) : pos;
  };

  const inList = (path: string, type: FieldType): Test => {
    const open = toks[i++]!;
    const tests: Test[] = [];
    const values: Value[] = [];
    for (;;) {
      if (is("]")) {
        if (tests.length === 0 && values.length === 0) fail("an empty list matches nothing; name at least one value");
        i++;
        break;
      }
      const v = value();
      const s = text(v);
      // an address or prefix is a prefix test in a text field; quoted, it is the text itself
      const p = v.k === "word" && type.string ? parsePrefix(s) : undefined;
      if (p !== undefined && typeof p !== "string") tests.push(insideTest(p));
      else if (typeof p === "string" && /^[0-9a-fA-F.:]*[.:][0-9a-fA-F.:]*\/\S*$/.test(s)) fail(p, v.at);
      else values.push(within(v, () => checkValue(s, v.k === "str", path, type)));
      if (is(",")) i++;
      else if (!is("]")) fail(toks[i] ? "expected ',' or ']'" : `expected ']' to close the list opened at column ${open.at + 1}`);
    }
    if (values.length) tests.push(oneOf(values, type));
    return tests.length === 1 ? tests[0]! : (x) => {
      for (let k = 0; k < tests.length; k++) if (tests[k]!(x)) return true;
      return false;
    };
  };

  const inPrefix = (path: string, type: FieldType, v: Token): Test => {
    const p = parsePrefix(text(v));
    if (typeof p === "string") {
      return fail(/^[0-9a-fA-F.:]+(\/.*)?$/.test(text(v)) && /[.:]/.test(text(v)) ? p : "'in' takes a list [a, b, …] or an address prefix (10.0.0.0/8, 2001:db8::/32)", v.at);
    }
    if (!type.string) return fail(`${path} holds ${kindOf(type)}, not addresses: 'in' with a prefix needs an address field such as netlink.route.dst`, v.at);
    return insideTest(p);
  };

  const root = or();
  if (i < toks.length) fail("unexpected text", toks[i]!.at, toks[i]!.k === "word" ? "; join tests with 'and' or 'or'" : "");
  return root;
}

/** "a number", "text or a number": what a field holds, for messages */
function kindOf(t: FieldType): string {
  const kinds = [t.number ? "a number" : "", t.string ? "text" : "", t.boolean ? "true or false" : "", t.literals.length ? `one of ${t.literals.join(", ")}` : ""];
  return kinds.filter(Boolean).join(" or ") || t.text;
}

function allOf(xs: Predicate[]): Predicate {
  if (xs.length === 2) {
    const [a, b] = xs as [Predicate, Predicate];
    return (ev) => a(ev) && b(ev);
  }
  if (xs.length === 3) {
    const [a, b, c] = xs as [Predicate, Predicate, Predicate];
    return (ev) => a(ev) && b(ev) && c(ev);
  }
  return (ev) => {
    for (let k = 0; k < xs.length; k++) if (!xs[k]!(ev)) return false;
    return true;
  };
}

function anyOf(xs: Predicate[]): Predicate {
  if (xs.length === 2) {
    const [a, b] = xs as [Predicate, Predicate];
    return (ev) => a(ev) || b(ev);
  }
  return (ev) => {
    for (let k = 0; k < xs.length; k++) if (xs[k]!(ev)) return true;
    return false;
  };
}

type Getter = (ev: NlEvent) => unknown;
type Rec = Record<string, unknown>;

/**
 * One test of a field through no list, as one closure with the path walked inline: tests run per
 * event, and a call to a getter and then to a test per field measured half again the cost of the
 * whole filter (the call sites are shared by every test, so the JIT cannot inline them). `exact`:
 * equality with a value of the field's own kind, compared with no call at all.
 */
function fieldTest(segs: string[], t: Test, exact: string | number | undefined): Predicate {
  const [a, b, c, d] = segs as [string, string, string, string];
  if (typeof exact === "string") {
    const v = exact;
    switch (segs.length) {
      case 1: return (ev) => (ev as unknown as Rec)[a] === v;
      case 2: return (ev) => child((ev as unknown as Rec)[a], b) === v;
      case 3: return (ev) => child(child((ev as unknown as Rec)[a], b), c) === v;
    }
  } else if (typeof exact === "number") {
    const v = exact;
    // a number field holds a number, or nothing; t covers anything else
    switch (segs.length) {
      case 1: return (ev) => {
        const x = (ev as unknown as Rec)[a];
        return x === v || (x !== undefined && typeof x !== "number" && t(x));
      };
      case 2: return (ev) => {
        const x = child((ev as unknown as Rec)[a], b);
        return x === v || (x !== undefined && typeof x !== "number" && t(x));
      };
      case 3: return (ev) => {
        const x = child(child((ev as unknown as Rec)[a], b), c);
        return x === v || (x !== undefined && typeof x !== "number" && t(x));
      };
    }
  }
  switch (segs.length) {
    case 1: return (ev) => t((ev as unknown as Rec)[a]);
    case 2: return (ev) => t(child((ev as unknown as Rec)[a], b));
    case 3: return (ev) => t(child(child((ev as unknown as Rec)[a], b), c));
    case 4: return (ev) => t(child(child(child((ev as unknown as Rec)[a], b), c), d));
    default: {
      const get = getter(segs, false);
      return (ev) => t(get(ev));
    }
  }
}

const child = (o: unknown, k: string): unknown => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined);

/**
 * The value at a path. For a path through no list, one function per length walks it with no loop
 * (these run once per test per event). Crossing a list collects that field of every element.
 */
function getter(segs: string[], many: boolean): Getter {
  if (many) return (ev) => collect(ev, segs, 0);
  const [a, b, c, d] = segs;
  switch (segs.length) {
    case 1: return (ev) => (ev as unknown as Record<string, unknown>)[a!];
    case 2: return (ev) => child((ev as unknown as Record<string, unknown>)[a!], b!);
    case 3: return (ev) => child(child((ev as unknown as Record<string, unknown>)[a!], b!), c!);
    case 4: return (ev) => child(child(child((ev as unknown as Record<string, unknown>)[a!], b!), c!), d!);
    default: return (ev) => {
      let o: unknown = ev;
      for (let k = 0; k < segs.length; k++) o = child(o, segs[k]!);
      return o;
    };
  }
}

function collect(o: unknown, path: string[], from: number): unknown {
  for (let k = from; k < path.length; k++) {
    if (Array.isArray(o)) {
      const all: unknown[] = [];
      for (const e of o) {
        const v = collect(e, path, k);
        if (Array.isArray(v)) all.push(...v);
        else if (v !== undefined) all.push(v);
      }
      return all.length ? all : undefined;
    }
    o = child(o, path[k]!);
  }
  return o;
}

function anyElement(get: Getter, t: Test): Predicate {
  return (ev) => {
    const x = get(ev);
    if (!Array.isArray(x)) return t(x);
    for (let k = 0; k < x.length; k++) if (t(x[k])) return true;
    return false;
  };
}

/** text as a number, NaN when it is none (Number("") would be 0) */
function num(x: unknown): number {
  if (typeof x === "number") return x;
  if (typeof x === "string") return isNumber(x.trim()) ? toNumber(x.trim()) : x.trim() === "" ? NaN : Number(x);
  if (typeof x === "boolean") return x ? 1 : 0;
  return NaN;
}

/** Comparisons are numeric when either side is a number, textual otherwise. */
function equals(v: Value): Test {
  if (typeof v === "number") return (x) => (typeof x === "number" ? x === v : num(x) === v);
  const vs = String(v);
  const vn = typeof v === "string" ? num(v) : NaN;
  return (x) => (typeof x === "string" ? x === vs : typeof x === "number" ? x === vn : x !== undefined && x !== null && String(x) === vs);
}

function ordered(op: string, v: Value): Test {
  const rel = op === "<" ? (a: number | string, b: number | string) => a < b
    : op === "<=" ? (a: number | string, b: number | string) => a <= b
      : op === ">" ? (a: number | string, b: number | string) => a > b
        : (a: number | string, b: number | string) => a >= b;
  if (typeof v === "number") return (x) => rel(typeof x === "number" ? x : num(x), v);
  const vs = String(v);
  const vn = num(v);
  return (x) => (typeof x === "number" ? rel(x, vn) : x !== undefined && x !== null && rel(String(x), vs));
}

/** `in [a, b, c]`: a set lookup when every value is of the one kind the field holds */
function oneOf(values: Value[], type: FieldType): Test {
  if (type.string && !type.number && !type.boolean && values.every((v) => typeof v === "string")) {
    const set = new Set(values as string[]);
    return (x) => typeof x === "string" && set.has(x);
  }
  if (type.number && !type.string && !type.boolean && type.literals.length === 0 && values.every((v) => typeof v === "number")) {
    const set = new Set(values as number[]);
    return (x) => (typeof x === "number" ? set.has(x) : set.has(num(x)));
  }
  const tests = values.map(equals);
  return (x) => {
    for (let k = 0; k < tests.length; k++) if (tests[k]!(x)) return true;
    return false;
  };
}
