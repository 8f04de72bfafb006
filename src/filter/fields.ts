/**
 * The field paths a filter may name, looked up in the table generated from the event model
 * (fields.gen.ts), so a path no event can have is caught when the filter is read.
 */
import { FIELD_TYPES } from "./fields.gen.ts";

export interface FieldType {
  /** as written in the table, for messages */
  text: string;
  /** the alternatives one by one ("number", "string[]", "'forever'") */
  alts: string[];
  number: boolean;
  string: boolean;
  boolean: boolean;
  object: boolean;
  /** the only strings the field takes, when the model names them ('link', 'forever') */
  literals: string[];
  /** holds several values (a list, or a field of objects in a list): a comparison matches any */
  list: boolean;
}

interface Node {
  type?: FieldType;
  children: Map<string, Node>;
}

function parseType(text: string): FieldType {
  const t: FieldType = { text, alts: text.split("|"), number: false, string: false, boolean: false, object: false, literals: [], list: false };
  for (let alt of text.split("|")) {
    if (alt.endsWith("[]")) {
      t.list = true;
      alt = alt.slice(0, -2);
    }
    if (alt.startsWith("'")) t.literals.push(alt.slice(1, -1));
    else if (alt === "number" || alt === "string" || alt === "boolean" || alt === "object") t[alt] = true;
    else throw new Error(`fields.gen.ts: unknown type '${alt}' in ${text}`);
  }
  return t;
}

let root: Node | undefined;

/**
 * The tree of paths, built when a filter is first read: most monitors have none, and the tree
 * (a node per path of every family's events) would be theirs for good.
 */
function tree(): Node {
  if (root) return root;
  root = { children: new Map() };
  for (const [path, text] of Object.entries(FIELD_TYPES)) {
    let n = root;
    for (const seg of path.split(".")) {
      let c = n.children.get(seg);
      if (!c) n.children.set(seg, (c = { children: new Map() }));
      n = c;
    }
    n.type = parseType(text);
  }
  return root;
}

export type Lookup =
  | { ok: true; type: FieldType }
  /** segs[0..at) exist; segs[at] is not a field of that prefix */
  | { ok: false; at: number; known: string[] };

export function lookupField(segs: readonly string[]): Lookup {
  let n = tree();
  for (let i = 0; i < segs.length; i++) {
    const c = n.children.get(segs[i]!) ?? n.children.get("*");
    if (!c) return { ok: false, at: i, known: [...n.children.keys()].filter((k) => k !== "*") };
    n = c;
  }
  return { ok: true, type: n.type! };
}

/** Every full path in the table (wildcards as "*"), for suggestions. */
export function fieldPaths(): readonly string[] {
  return Object.keys(FIELD_TYPES);
}

/** Field names one level below `segs` (without wildcards), for "compare one of its fields". */
export function childFields(segs: readonly string[]): string[] {
  let n: Node | undefined = tree();
  for (const s of segs) n = n?.children.get(s) ?? n?.children.get("*");
  return n ? [...n.children.keys()].filter((k) => k !== "*") : [];
}
