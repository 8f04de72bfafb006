import { fs } from "../node-lazy.ts";
import type { ErrorObject, ValidateFunction } from "ajv";
import { checkFilterSettings } from "../filter/config.ts";
import { offsetInSource } from "../filter/source.ts";
import { closest } from "../filter/near.ts";
// compiled from schema.json by scripts/gen-validator.ts: no ajv compiler at run time
import { validate as generatedValidator } from "./validate.gen.js";
import { exportDirProblem } from "./paths.ts";
import { missingNamespace, namespacePath, namespaceSpecProblem } from "../backend/netns-path.ts";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Scalar, type YAMLError } from "yaml";
import defaultYaml from "../../config/nlmon.yaml" with { type: "text" };
import schema from "./schema.json";
import type { NlmonConfig } from "./types.ts";
import { ConfigError } from "./error.ts";
import { parseBoolWord, readOverrides } from "./env.ts";

export { ConfigError };
import { addConfigNote, liftNetlinkKeys } from "./lift.ts";

/** The shipped default (config/nlmon.yaml), bundled so the compiled binary needs no file beside it. */
export const DEFAULT_CONFIG_TEXT: string = defaultYaml as string;

export interface LoadConfigOptions {
  /** file to read; with `text` it only names the source in messages */
  path?: string;
  /** YAML source given directly (wins over reading `path`) */
  text?: string;
  /** for ${VAR} and the NLMON_* overrides; default process.env */
  env?: Record<string, string | undefined>;
}

type Seg = string | number;
interface Problem {
  /** source offset; -1 (sorted first) or Infinity (sorted last) for no place in the file */
  offset: number;
  text: string;
}

export function loadConfig(opts: LoadConfigOptions = {}): NlmonConfig {
  const env = opts.env ?? process.env;
  let label: string;
  let src: string;
  if (opts.text !== undefined) {
    src = opts.text;
    label = opts.path ?? "<text>";
    const nul = src.indexOf("\0");
    if (nul >= 0) throw new ConfigError(`${label}: not a text file (NUL character at offset ${nul})`);
  } else if (opts.path !== undefined) {
    label = opts.path;
    let bytes: Buffer;
    try {
      bytes = fs().readFileSync(opts.path);
    } catch (e) {
      throw new ConfigError(`${label}: cannot read: ${readReason(e)}`);
    }
    // A binary file would otherwise be parsed as one long scalar and echoed back in the message.
    const nul = bytes.indexOf(0);
    if (nul >= 0) throw new ConfigError(`${label}: not a text file (NUL byte at offset ${nul})`);
    src = bytes.toString("utf8");
  } else {
    src = DEFAULT_CONFIG_TEXT;
    label = "<embedded default>";
  }

  // Bad override values are checked first: a file that says ${NLMON_USE_LIBNL} would otherwise
  // report a confusing type error at that line for what is really an environment mistake.
  const overrides = readOverrides(env);

  const lc = new LineCounter();
  // resolveKnownTags: false keeps tags from other schemas (!!binary, !!set, !!timestamp, !!omap)
  // from being resolved into values no setting takes; they come back as "Unresolved tag" warnings,
  // which are reported like errors, as are tags nothing resolves (!!js/function, !foo).
  const doc = parseDocument(src, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, resolveKnownTags: false });
  const fail = (problems: Problem[]): never => {
    const lines = sortProblems(problems).map((p) => {
      if (p.offset < 0 || p.offset === Infinity) return `${label}: ${p.text}`;
      const { line, col } = lc.linePos(p.offset);
      return `${label}:${line}:${col}: ${p.text}`;
    });
    throw new ConfigError(lines.join("\n"), lines);
  };

  if (doc.errors.length > 0 || doc.warnings.length > 0) fail(syntaxProblems(doc, lc));

  const lift = liftNetlinkKeys(doc, ROOT_SCHEMA);
  if (lift.conflicts.length > 0) {
    fail(lift.conflicts.map((c) => ({ offset: c.offset, text: `${c.key}: written both at the top level and under netlink; keep one (at the top level it means netlink.${c.key})` })));
  }

  // Substituting in the parsed tree rather than the source text keeps every position exact and
  // keeps a variable's value from ever being parsed as YAML structure.
  const substProblems = substituteEnv(doc, src, env);
  if (substProblems.length > 0) fail(substProblems);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (e) {
    // yaml throws a ReferenceError for an alias bomb ("billion laughs")
    if (!(e instanceof ReferenceError)) throw e;
    fail([{ offset: firstAlias(doc), text: `YAML aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} copies of anchored content); write the values out instead` }]);
  }
  const validate = getValidator();
  if (!validate(data)) fail(schemaProblems(validate.errors ?? [], doc, data));
  const cfg = data as NlmonConfig;
  splitFamilyGroups(cfg);

  if (overrides.useLibnl !== undefined) cfg.netlink.use_libnl = overrides.useLibnl;
  if (overrides.libnlPath !== undefined) cfg.netlink.libnl.library = overrides.libnlPath;

  const cross = crossChecks(cfg, doc, src);
  if (cross.length > 0) fail(cross);
  for (const l of lift.lifted) {
    const { line, col } = lc.linePos(l.offset);
    addConfigNote(cfg, `${label}:${line}:${col}: ${l.key} at the top level is read as netlink.${l.key}`);
  }
  return cfg;
}

/**
 * `generic_families` entries written `{name, groups}` become the name, with the groups kept in
 * generic_groups: everything past loading reads the families as names.
 */
function splitFamilyGroups(cfg: NlmonConfig): void {
  const entries = cfg.netlink.generic_families as (string | { name: string; groups?: string[] })[];
  const groups: Record<string, string[]> = {};
  cfg.netlink.generic_families = entries.map((e) => {
    if (typeof e === "string") return e;
    if (e.groups) groups[e.name] = e.groups;
    return e.name;
  });
  if (Object.keys(groups).length) cfg.netlink.generic_groups = groups;
}

/** Longest value or key quoted in a message, in characters: a junk file must not be echoed whole. */
const MAX_SHOWN = 60;

/** yaml's own guard against alias bombs: nodes under an anchor times the aliases to it */
const MAX_ALIAS_COUNT = 100;

/** Offset of the first alias (`*name`) in the document, for the alias-bomb message. */
function firstAlias(doc: Document): number {
  let at = -1;
  visit(doc, {
    Alias(_key, node) {
      at = rangeStart(node) ?? -1;
      return visit.BREAK;
    },
  });
  return at;
}

// ---------------------------------------------------------------------------------------------
// environment

const REF = /(\$?)\$\{([^}]*)(\}?)/g;
const REF_BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

function substituteEnv(doc: Document, src: string, env: Record<string, string | undefined>): Problem[] {
  const problems: Problem[] = [];
  const visitNode = (node: unknown, segs: Seg[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        visitNode(pair.value, [...segs, k]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visitNode(item, [...segs, i]));
    } else if (isScalar(node) && typeof node.value === "string" && node.value.includes("${")) {
      substituteScalar(node, segs);
    }
  };

  const substituteScalar = (node: Scalar, segs: Seg[]): void => {
    const raw = node.value as string;
    const start = node.range?.[0] ?? 0;
    const end = node.range?.[1] ?? src.length;
    const placeOf = (ref: string): number => {
      const i = src.indexOf(ref, start);
      return i >= 0 && i < end ? i : start;
    };
    let bad = false;
    const text = raw.replace(REF, (whole: string, escape: string, body: string, close: string) => {
      if (escape === "$") return whole.slice(1);
      if (close !== "}") {
        problems.push({ offset: placeOf(whole), text: `unterminated variable reference ${JSON.stringify(whole)}` });
        bad = true;
        return whole;
      }
      const m = REF_BODY.exec(body);
      if (!m) {
        problems.push({
          offset: placeOf(whole),
          text: `bad variable reference ${JSON.stringify(whole)}; write \${NAME} or \${NAME:-default}`,
        });
        bad = true;
        return whole;
      }
      const name = m[1] as string;
      const dflt = m[2];
      const val = env[name];
      if (dflt !== undefined && (val === undefined || val === "")) return dflt;
      if (val === undefined) {
        problems.push({
          offset: placeOf(whole),
          text: `environment variable ${name} is not set (use \${${name}:-default} to give a default)`,
        });
        bad = true;
        return whole;
      }
      return val;
    });
    if (bad) return;
    node.value = typeSubstituted(text, schemaTypeAt(segs));
  };

  visitNode(doc.contents, []);
  return problems;
}

/**
 * The result is re-read as a YAML scalar so `${FLAG:-true}` gives a boolean and `${PORT:-514}` a
 * number, but the schema has the last word: a string field keeps the text even if it looks like a
 * number, and a boolean field also takes the yes/no/1/0 words NLMON_USE_LIBNL accepts, since a
 * variable that feeds both the file and the override must mean the same in each. Quoting does not
 * force a string here, because `{port: "${PORT}"}` is the only way to write a reference inside a
 * flow mapping.
 */
function typeSubstituted(text: string, want: string | undefined): unknown {
  if (want === "string") return text;
  if (want === "boolean") {
    const b = parseBoolWord(text);
    if (b !== undefined) return b;
  }
  const d = parseDocument(text, { prettyErrors: false, resolveKnownTags: false });
  if (d.errors.length === 0 && d.warnings.length === 0 && isScalar(d.contents)) return d.contents.value;
  return text;
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  enum?: readonly unknown[];
  description?: string;
}

const ROOT_SCHEMA = schema as unknown as SchemaNode;

function schemaAt(segs: readonly Seg[]): SchemaNode | undefined {
  let s: SchemaNode | undefined = ROOT_SCHEMA;
  for (const seg of segs) {
    if (s === undefined) return undefined;
    if (typeof seg === "number") s = s.items;
    else s = s.properties?.[seg] ?? (typeof s.additionalProperties === "object" ? s.additionalProperties : undefined);
  }
  return s;
}

function schemaTypeAt(segs: readonly Seg[]): string | undefined {
  return schemaAt(segs)?.type;
}

// ---------------------------------------------------------------------------------------------
// schema validation

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  validator ??= generatedValidator as unknown as ValidateFunction;
  return validator;
}

/**
 * A value checked against alternatives (anyOf: a family as a name or as {name, groups}) fails
 * every alternative; what it was meant to be is the alternative whose type it has, so only that
 * one's problems are told. A value of none of the types gets one message naming them.
 */
function pickAlternatives(errors: ErrorObject[]): ErrorObject[] {
  const branch = (e: ErrorObject) => /^(.*\/anyOf)\/(\d+)\//.exec(e.schemaPath);
  const typeMiss = new Set<string>();
  for (const e of errors) {
    const b = branch(e);
    if (b && e.keyword === "type" && e.schemaPath === `${b[1]}/${b[2]}/type`) typeMiss.add(`${e.instancePath}\0${b[1]}/${b[2]}`);
  }
  return errors.filter((e) => {
    if (e.keyword === "anyOf") {
      // kept only when no alternative had the value's type: the message names them all
      const branches = errors.filter((x) => branch(x)?.[1] === e.schemaPath && x.instancePath.startsWith(e.instancePath));
      const none = branches.length > 0 && branches.every((x) => x.keyword === "type" && typeMiss.has(`${x.instancePath}\0${branch(x)![1]}/${branch(x)![2]}`));
      // describeError words it from the types the alternatives take
      if (none) (e.params as Record<string, unknown>).types = branches.map((x) => (x.params as { type: string }).type);
      return none;
    }
    const b = branch(e);
    if (!b) return true;
    // the problems of an alternative the value does not even have the type of are noise
    const root = e.instancePath.split("/").slice(0, 4).join("/");
    for (const k of typeMiss) if (k.endsWith(`\0${b[1]}/${b[2]}`) && (k.startsWith(`${e.instancePath}\0`) || k.startsWith(`${root}\0`))) return false;
    return true;
  });
}

function schemaProblems(all: ErrorObject[], doc: Document, data: unknown): Problem[] {
  const errors = pickAlternatives(all);
  const out: Problem[] = [];
  const seen = new Set<string>();
  // A value of the wrong type also fails its range, length and pattern checks; only the type
  // error says what is wrong.
  const wrongType = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword !== "type" && wrongType.has(e.instancePath)) continue;
    const p = describeError(e, doc, data);
    if (p === undefined) continue;
    const key = `${p.offset}\0${p.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

function describeError(e: ErrorObject, doc: Document, data: unknown): Problem | undefined {
  const segs = pointerToSegs(e.instancePath, data);
  const here = displayPath(segs);
  const got = `got ${show(e.data)}`;
  const params = e.params as Record<string, unknown>;
  // propertyNames reports the failing name on the inner error; the outer one adds nothing.
  if (e.keyword === "propertyNames") return undefined;
  if (e.propertyName !== undefined) {
    const at = [...segs, e.propertyName];
    // a key from a fixed list (logging.modules): name the list, or the entry it was meant to be
    if (e.keyword === "enum") {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const near = closest(e.propertyName, allowed);
      const hint = near !== undefined ? `; did you mean '${near}'?` : ` (allowed: ${allowed.join(", ")})`;
      return { offset: locate(doc, at, "key"), text: `${displayPath(at)}: unknown name${hint}` };
    }
    return { offset: locate(doc, at, "key"), text: `${displayPath(at)}: invalid name (${e.message ?? "bad name"})` };
  }
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const at = [...segs, key];
      const allowed = Object.keys((e.parentSchema as SchemaNode | undefined)?.properties ?? {});
      const near = closest(key, allowed);
      let text = `${displayPath(at)}: unknown key`;
      if (near !== undefined) text += `; did you mean '${near}'?`;
      else {
        const elsewhere = KEY_HOMES.get(key)?.filter((p) => p !== displayPath(at));
        if (elsewhere && elsewhere.length > 0) text += `; did you mean '${elsewhere[0]}'?`;
        else if (allowed.length > 0) text += ` (allowed: ${allowed.join(", ")})`;
      }
      return { offset: locate(doc, at, "key"), text };
    }
    case "type":
      return { offset: locate(doc, segs, "value"), text: `${here}: must be ${typeName(String(params.type))}, ${got}` };
    case "anyOf": {
      const types = (params.types as string[] | undefined) ?? [];
      return { offset: locate(doc, segs, "value"), text: `${here}: must be ${types.map((t) => typeName(t)).join(" or ")}, ${got}` };
    }
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map(String);
      let text = `${here}: must be one of ${allowed.join(", ")}, ${got}`;
      if (typeof e.data === "string") {
        const near = closest(e.data, allowed);
        if (near !== undefined) text += `; did you mean '${near}'?`;
      }
      return { offset: locate(doc, segs, "value"), text };
    }
    case "minimum":
    case "maximum":
      return {
        offset: locate(doc, segs, "value"),
        text: `${here}: must be ${e.keyword === "minimum" ? ">=" : "<="} ${String(params.limit)}, ${got}`,
      };
    case "minLength":
      return {
        offset: locate(doc, segs, "value"),
        text:
          params.limit === 1
            ? `${here}: must not be empty`
            : `${here}: must be at least ${String(params.limit)} characters, ${got}`,
      };
    case "maxLength":
      return { offset: locate(doc, segs, "value"), text: `${here}: must be at most ${String(params.limit)} characters, ${got}` };
    case "pattern": {
      const desc = (e.parentSchema as SchemaNode | undefined)?.description;
      const why = desc ? ` (${desc})` : "";
      return { offset: locate(doc, segs, "value"), text: `${here}: must match /${String(params.pattern)}/${why}, ${got}` };
    }
    case "uniqueItems": {
      const a = Number(params.i);
      const b = Number(params.j);
      const later = Math.max(a, b);
      const at = [...segs, later];
      return { offset: locate(doc, at, "value"), text: `${displayPath(at)}: duplicate of ${here}[${Math.min(a, b)}]` };
    }
    default:
      return { offset: locate(doc, segs, "value"), text: `${here}: ${e.message ?? e.keyword}` };
  }
}

/** For a key written at the wrong level: every place in the schema where that key name lives. */
const KEY_HOMES: Map<string, string[]> = (() => {
  const homes = new Map<string, string[]>();
  const walk = (s: SchemaNode, segs: Seg[]): void => {
    for (const [k, sub] of Object.entries(s.properties ?? {})) {
      const at = [...segs, k];
      const list = homes.get(k) ?? [];
      list.push(displayPath(at));
      homes.set(k, list);
      walk(sub, at);
    }
  };
  walk(ROOT_SCHEMA, []);
  return homes;
})();

function typeName(t: string): string {
  if (t === "object") return "a mapping";
  if (t === "array") return "a list";
  return t;
}

function clip(s: string): string {
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…` : s;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return v instanceof Uint8Array ? "binary data" : "a mapping";
  if (typeof v === "string") {
    // quoted and escaped, then cut at MAX_SHOWN characters of the quoted form (never inside an escape)
    let q = "";
    for (const ch of v) {
      const e = JSON.stringify(ch).slice(1, -1);
      if (q.length + e.length > MAX_SHOWN) return `"${q}…"`;
      q += e;
    }
    return `"${q}"`;
  }
  return clip(String(v));
}

function pointerToSegs(pointer: string, data: unknown): Seg[] {
  if (pointer === "") return [];
  const segs: Seg[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split("/")) {
    const s = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      const i = Number(s);
      segs.push(i);
      cur = cur[i];
    } else {
      segs.push(s);
      cur = cur !== null && typeof cur === "object" ? (cur as Record<string, unknown>)[s] : undefined;
    }
  }
  return segs;
}

function displayPath(segs: readonly Seg[]): string {
  if (segs.length === 0) return "top level";
  let out = "";
  for (const seg of segs) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const s = clip(seg);
      out += out === "" ? s : `.${s}`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// positions

/**
 * Offset of the node at `segs`: its key (for "unknown key"-style problems) or its value. A path
 * that only exists because a default filled it falls back to the deepest part written in the
 * file, so a problem with a defaulted value still points at the section it belongs to.
 */
function locate(doc: Document, segs: readonly Seg[], what: "key" | "value"): number {
  let node: unknown = doc.contents;
  let best = rangeStart(node) ?? 0;
  for (let i = 0; i < segs.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = segs[i];
    const last = i === segs.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (pair === undefined) return best;
      const keyAt = rangeStart(pair.key);
      if (keyAt !== undefined) best = keyAt;
      if (last && what === "key") return best;
      node = pair.value;
      // An empty value (`key:`) has no useful position of its own; the key is the place.
      const valueAt = isScalar(node) && node.value === null ? undefined : rangeStart(node);
      if (valueAt !== undefined) best = valueAt;
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg];
      const at = rangeStart(node);
      if (at === undefined) return best;
      best = at;
    } else {
      return best;
    }
  }
  return best;
}

function rangeStart(node: unknown): number | undefined {
  if (node !== null && typeof node === "object" && "range" in node) {
    const r = (node as { range?: [number, number, number] | null }).range;
    if (r) return r[0];
  }
  return undefined;
}

function sortProblems(problems: Problem[]): Problem[] {
  return problems.map((p, i) => ({ p, i })).sort((a, b) => a.p.offset - b.p.offset || a.i - b.i).map((x) => x.p);
}

// ---------------------------------------------------------------------------------------------
// checks the schema cannot express

function crossChecks(cfg: NlmonConfig, doc: Document, src: string): Problem[] {
  const out: Problem[] = [];
  // `name` is the setting at fault; `where` is where to point when `name` was not written.
  const at = (name: Seg[], text: string, where: Seg[] = name): void => {
    out.push({ offset: locate(doc, doc.hasIn(name) ? name : where, "value"), text: `${displayPath(name)}: ${text}` });
  };
  const { json, pcap, syslog } = cfg.export;
  const nl = cfg.netlink;

  // Filters are compiled again where events flow; here a mistake in one gets a place in the file,
  // at the very character the message's column names when the file spells the expression out.
  for (const p of checkFilterSettings(cfg)) {
    const start = locate(doc, p.at, "value");
    const node = doc.getIn(p.at, true);
    const end = isScalar(node) && node.range ? node.range[1] : start;
    const inner = p.column === undefined ? undefined : offsetInSource(src.slice(start, end), p.value, p.column);
    out.push({ offset: inner === undefined ? start : start + inner, text: `${displayPath(p.at)}: ${p.detail}` });
  }

  // a family written twice (once as a name, once with groups) would be joined by both rules
  nl.generic_families.forEach((f, i) => {
    const first = nl.generic_families.indexOf(f);
    if (first !== i) at(["netlink", "generic_families", i], `'${f}' is already listed (item ${first + 1}); write it once`);
  });

  // a namespace that is not there is said at its line; one that cannot be entered is said at start
  if (nl.namespace !== "") {
    const bad = namespaceSpecProblem(nl.namespace);
    if (bad) at(["netlink", "namespace"], bad);
    else if (statErrno(namespacePath(nl.namespace)) === "ENOENT") at(["netlink", "namespace"], missingNamespace(nl.namespace));
    if (nl.namespaces === "all") at(["netlink", "namespaces"], "netlink.namespace already names one namespace; set one of the two");
  }
  // what rests on dumps sees one namespace, and the caches hold one namespace's objects (each
  // numbers its devices from 1): with several, only notifications are followed
  if (nl.namespaces === "all") {
    const one = "follows notifications only: what rests on dumps sees one namespace";
    if (nl.caching.enabled) at(["netlink", "namespaces"], `all ${one}; set netlink.caching.enabled: false (the caches hold one namespace's objects)`);
    if (nl.protocols.sock_diag) at(["netlink", "namespaces"], `all ${one}; sockets are compared by dumps: set netlink.protocols.sock_diag: false`);
    if (nl.protocols.netfilter && nl.netfilter.dump_on_start) at(["netlink", "namespaces"], `all ${one}; set netlink.netfilter.dump_on_start: false`);
    if (nl.protocols.netfilter && nl.netfilter.enable_accounting) at(["netlink", "namespaces"], "all: netlink.netfilter.enable_accounting sets sysctls of one namespace; set them in each namespace instead");
  }

  if (!nl.protocols.route && !nl.protocols.generic && !nl.protocols.sock_diag && !nl.protocols.netfilter) {
    at(["netlink", "protocols"], "at least one protocol must be enabled");
  }

  // Rotation renames the file under the writer; stdout cannot be renamed.
  if (json.rotate.max_size > 0 && json.file === "-") {
    at(["export", "json", "rotate", "max_size"], 'rotation needs a file, but export.json.file is "-" (stdout)');
  }
  if (pcap.rotate.max_size > 0 && pcap.file === "-") {
    at(["export", "pcap", "rotate", "max_size"], 'rotation needs a file, but export.pcap.file is "-" (stdout)');
  }

  // Settings that only matter once a section is switched on are checked only then, so a disabled
  // section can be left half-filled.
  if (pcap.enabled && pcap.file === "") {
    at(["export", "pcap", "file"], "required when export.pcap.enabled is true", ["export", "pcap", "enabled"]);
  }
  if (pcap.enabled && json.enabled && pcap.file === "-" && json.file === "-") {
    at(["export", "pcap", "file"], "export.json already writes to stdout; give pcap a file");
  }
  for (const [name, x] of [["json", json], ["pcap", pcap]] as const) {
    if (!x.enabled || x.file === "" || x.file === "-") continue;
    const problem = exportDirProblem(x.file);
    if (problem) at(["export", name, "file"], problem, ["export", name, "enabled"]);
  }
  if (syslog.enabled && (syslog.transport === "udp" || syslog.transport === "tcp") && syslog.host === "") {
    at(["export", "syslog", "host"], `required for transport ${syslog.transport}`, ["export", "syslog", "transport"]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// helpers

/**
 * One message per line, at most a handful: after the first syntax error the parser's later
 * complaints are mostly echoes of it.
 */
function syntaxProblems(doc: Document, lc: LineCounter): Problem[] {
  const MAX = 5;
  const out: Problem[] = [];
  const lines = new Set<number>();
  for (const e of [...doc.errors, ...doc.warnings].sort((a, b) => a.pos[0] - b.pos[0])) {
    const line = lc.linePos(e.pos[0]).line;
    if (lines.has(line)) continue;
    lines.add(line);
    out.push({ offset: e.pos[0], text: yamlMessage(e) });
  }
  if (out.length > MAX) {
    const more = out.length - MAX;
    out.length = MAX;
    out.push({ offset: Infinity, text: `(${more} more syntax error${more === 1 ? "" : "s"} on later lines)` });
  }
  return out;
}

/** The yaml library's wording where it speaks to a programmer rather than to whoever wrote the file. */
function yamlMessage(e: YAMLError): string {
  if (e.code === "MULTIPLE_DOCS") return "only one YAML document is allowed (remove the '---' line)";
  if (e.code === "TAG_RESOLVE_FAILED") {
    const m = /^Unresolved tag: (.*)$/.exec(e.message);
    if (m) {
      const tag = (m[1] as string).replace(/^tag:yaml\.org,2002:/, "!!");
      return `unsupported YAML tag ${clip(tag)} (nlmon settings take plain values; remove the tag)`;
    }
  }
  return e.message;
}

function statErrno(path: string): string | undefined {
  try {
    fs().statSync(path);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
}

function readReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  // Drop node's ", open '/path'" tail: the path already leads the message.
  const msg = (err?.message ?? String(e)).replace(/, (open|read|stat|scandir)( '.*')?$/, "");
  return msg;
}
