/**
 * gen-qca-vendor.ts — generate src/families/nl80211/qca-vendor.gen.ts from hostap's
 * src/common/qca-vendor.h: the QCA vendor subcommand numbers (OUI 00:13:74) and the attribute and
 * value enums of the subcommands nlmon decodes (src/families/nl80211/qca/). Numbers and names only:
 * the header's documentation is not copied, and the types of the attributes are written by hand in
 * the attribute sets.
 *
 * Usage:
 *   node_modules/.bin/bun scripts/gen-qca-vendor.ts <qca-vendor.h> <commit> [<commit date>] [--repo=URL] [--out=FILE]
 *
 * The header is not part of the kernel's UAPI, so it is read from a hostap checkout (or a copy of
 * the file) whose commit the caller names; the commit and its date go into the generated file's
 * header comment, and nothing else varies between runs: the same header gives the same bytes.
 *
 * Enum values are computed as the C compiler would: a member without a value is the previous one
 * plus one, and values may be expressions of numbers, earlier members, BIT(n), <<, |, + and -.
 * The "keep last" sentinels (FOO_AFTER_LAST and FOO_MAX = FOO_AFTER_LAST - 1, or any X with a
 * following MAX = X - 1) are left out of the name tables; a member defined as another member of the
 * same enum (an alias) keeps the first name in the name table and is exported as a constant too.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const DEFAULT_REPO = "https://w1.fi/hostap.git (read from the GitHub mirror sailfishos-mirror/hostap)";
const HEADER_PATH = "src/common/qca-vendor.h";
const SUBCMD_ENUM = "qca_nl80211_vendor_subcmds";
const SUBCMD_PREFIX = "QCA_NL80211_VENDOR_SUBCMD_";

/** the enums the attribute sets in src/families/nl80211/qca/ use, in the order they are written out */
export const ENUMS = [
  // the generic attribute enum: QCA_WLAN_VENDOR_ATTR_TEST (8) is the test subcommand's attribute
  "qca_wlan_vendor_attr",
  // ROAM_EVENTS
  "qca_wlan_vendor_attr_roam_events",
  "qca_wlan_vendor_attr_roam_events_candidate_info",
  "qca_wlan_vendor_roam_event_type",
  "qca_wlan_vendor_roam_scan_state",
  "qca_vendor_roam_triggers",
  "qca_vendor_roam_fail_reasons",
  "qca_vendor_roam_invoke_fail_reasons",
  // ROAM_SCAN_EVENT
  "qca_wlan_vendor_attr_roam_scan",
  "qca_wlan_roam_scan_event_type",
  "qca_wlan_roam_scan_trigger_reason",
  // KEY_MGMT_ROAM_AUTH
  "qca_wlan_vendor_attr_roam_auth",
  "qca_roam_reason",
  "qca_wlan_vendor_attr_mlo_links",
  // LL_STATS_{RADIO,IFACE,PEERS}_RESULTS
  "qca_wlan_vendor_attr_ll_stats_results",
  "qca_wlan_vendor_attr_ll_stats_type",
  "qca_wlan_vendor_attr_ll_stats_snr",
  // LL_STATS_EXT
  "qca_wlan_vendor_attr_ll_stats_ext",
  // GET_STA_INFO
  "qca_wlan_vendor_attr_get_sta_info",
  "qca_vendor_wlan_sta_flags",
  "qca_vendor_wlan_sta_guard_interval",
  "qca_disconnect_reason_codes",
  "qca_sta_connect_fail_reason_codes",
  "qca_wlan_vendor_attr_nss_pkt",
  "qca_wlan_vendor_attr_mcs_pkt",
  "qca_wlan_vendor_attr_bw_pkt",
  "qca_wlan_vendor_attr_cca_stat",
  "qca_wlan_vendor_attr_beacon_miss_stat",
  // ASYNC_GET_STATION
  "qca_wlan_vendor_async_get_station_attr",
  // HANG
  "qca_wlan_vendor_attr_hang",
  "qca_wlan_vendor_hang_reason",
  // THERMAL_EVENT
  "qca_wlan_vendor_attr_thermal_event",
  "qca_wlan_vendor_thermal_level",
] as const;

export interface EnumMember {
  name: string;
  value: number;
  /** the member is defined as another member of the same enum */
  aliasOf?: string;
  /** a "keep last" sentinel: FOO_AFTER_LAST, FOO_MAX = FOO_AFTER_LAST - 1 */
  sentinel: boolean;
}

/** comments out, newlines kept (so a problem can name its line) */
function stripComments(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
    .replace(/\/\/[^\n]*/g, (c) => " ".repeat(c.length));
}

/** a C constant expression of the kinds the header uses */
function evaluate(expr: string, known: ReadonlyMap<string, number>, where: string): number {
  const tokens = expr.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|<<|>>|[()+\-|~]/g) ?? [];
  if (tokens.join("") !== expr.replace(/\s+/g, "")) throw new Error(`${where}: cannot read the expression "${expr}"`);
  let i = 0;
  const peek = () => tokens[i];
  const take = (t?: string) => {
    const v = tokens[i++];
    if (t !== undefined && v !== t) throw new Error(`${where}: expected "${t}" in "${expr}"`);
    if (v === undefined) throw new Error(`${where}: "${expr}" ends early`);
    return v;
  };
  const primary = (): number => {
    const t = take();
    if (t === "(") {
      const v = or();
      take(")");
      return v;
    }
    if (t === "-") return -primary();
    if (t === "~") return ~primary();
    if (/^\d|^0[xX]/.test(t)) return Number.parseInt(t.replace(/[uUlL]+$/, ""), t.startsWith("0x") || t.startsWith("0X") ? 16 : 10);
    if (t === "BIT") {
      take("(");
      const n = or();
      take(")");
      return 2 ** n;
    }
    const v = known.get(t);
    if (v === undefined) throw new Error(`${where}: "${t}" is not a member defined before it`);
    return v;
  };
  const add = (): number => {
    let v = primary();
    while (peek() === "+" || peek() === "-") v = take() === "+" ? v + primary() : v - primary();
    return v;
  };
  const shift = (): number => {
    let v = add();
    while (peek() === "<<" || peek() === ">>") v = take() === "<<" ? v * 2 ** add() : Math.floor(v / 2 ** add());
    return v;
  };
  const or = (): number => {
    let v = shift();
    while (peek() === "|") {
      take();
      v = Number(BigInt(v) | BigInt(shift()));
    }
    return v;
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`${where}: trailing "${tokens.slice(i).join(" ")}" in "${expr}"`);
  return v;
}

/** every enum of the header, members with computed values */
export function parseEnums(src: string): Map<string, EnumMember[]> {
  const text = stripComments(src);
  const enums = new Map<string, EnumMember[]>();
  const known = new Map<string, number>();
  for (const m of text.matchAll(/\benum\s+(\w+)\s*\{([^}]*)\}/g)) {
    const name = m[1]!;
    const body = m[2]!;
    const line = text.slice(0, m.index).split("\n").length;
    if (body.includes("#")) throw new Error(`enum ${name} (line ${line}): preprocessor lines inside an enum are not handled`);
    const members: EnumMember[] = [];
    const exprs = new Map<string, string>();
    let next = 0;
    for (const raw of body.split(",")) {
      const item = raw.trim();
      if (!item) continue;
      const mm = /^([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+))?$/.exec(item);
      if (!mm) throw new Error(`enum ${name} (line ${line}): cannot read member "${item}"`);
      const [, mName, expr] = mm;
      const value = expr === undefined ? next : evaluate(expr.trim(), known, `enum ${name}.${mName}`);
      const member: EnumMember = { name: mName!, value, sentinel: false };
      if (expr !== undefined && /^[A-Za-z_]\w*$/.test(expr.trim()) && members.some((p) => p.name === expr.trim())) member.aliasOf = expr.trim();
      members.push(member);
      if (expr !== undefined) exprs.set(mName!, expr.replace(/\s+/g, " ").trim());
      known.set(mName!, value);
      next = value + 1;
    }
    // sentinels: FOO_AFTER_LAST, and "MAX = X - 1" with X a member of the same enum (then X too)
    for (const mem of members) {
      if (/_AFTER_LAST$/.test(mem.name)) mem.sentinel = true;
      const e = exprs.get(mem.name);
      const base = e && /^([A-Za-z_]\w*) - 1$/.exec(e)?.[1];
      const baseMember = base ? members.find((p) => p.name === base) : undefined;
      if (baseMember) {
        mem.sentinel = true;
        baseMember.sentinel = true;
        mem.aliasOf = undefined;
      }
    }
    if (enums.has(name)) throw new Error(`enum ${name} is defined twice`);
    enums.set(name, members);
  }
  return enums;
}

/** value → first name, sentinels left out */
function nameTable(members: readonly EnumMember[]): Map<number, string> {
  const t = new Map<number, string>();
  for (const m of members) if (!m.sentinel && !m.aliasOf && !t.has(m.value)) t.set(m.value, m.name);
  return t;
}

function literal(v: number): string {
  return v >= 0x10000 && Number.isInteger(Math.log2(v)) ? `0x${v.toString(16)}` : String(v);
}

export interface GenOptions {
  header: string;
  commit: string;
  date?: string;
  repo?: string;
}

export function generate(src: string, opts: GenOptions): { text: string; subcmds: number } {
  const enums = parseEnums(src);
  const subs = enums.get(SUBCMD_ENUM);
  if (!subs) throw new Error(`enum ${SUBCMD_ENUM} not found in ${opts.header}`);
  const entries = subs.filter((m) => !m.sentinel);
  for (const m of entries) if (!m.name.startsWith(SUBCMD_PREFIX)) throw new Error(`${SUBCMD_ENUM}: ${m.name} lacks the ${SUBCMD_PREFIX} prefix`);
  const subTable = nameTable(entries);
  const out: string[] = [];
  const date = opts.date ?? "not given";
  out.push(
    "// GENERATED FILE: generated by scripts/gen-qca-vendor.ts; do not edit.",
    `// Source: hostap, ${HEADER_PATH}`,
    `//   repository: ${opts.repo ?? DEFAULT_REPO}`,
    `//   commit: ${opts.commit} (${date})`,
    `// Regenerate: node_modules/.bin/bun scripts/gen-qca-vendor.ts <path to qca-vendor.h> ${opts.commit}${opts.date ? ` ${opts.date}` : ""}`,
    "// Numbers and names only: what each attribute holds is written in src/families/nl80211/qca/.",
    "",
    `export const QCA_VENDOR_SOURCE = {`,
    `  repo: ${JSON.stringify(opts.repo ?? DEFAULT_REPO)},`,
    `  path: ${JSON.stringify(HEADER_PATH)},`,
    `  commit: ${JSON.stringify(opts.commit)},`,
    `  date: ${JSON.stringify(date)},`,
    `  /** members of enum ${SUBCMD_ENUM} (no sentinels) */`,
    `  subcmds: ${entries.length},`,
    `} as const;`,
    "",
    `// ---- enum ${SUBCMD_ENUM} ----`,
  );
  for (const m of entries) out.push(`export const ${m.name} = ${literal(m.value)};`);
  out.push(
    "",
    `/** enum ${SUBCMD_ENUM}: number → name without ${SUBCMD_PREFIX}, lowercased */`,
    "export const QCA_SUBCMDS: Readonly<Record<number, string>> = {",
  );
  for (const [v, n] of [...subTable].sort((a, b) => a[0] - b[0])) out.push(`  ${v}: ${JSON.stringify(n.slice(SUBCMD_PREFIX.length).toLowerCase())},`);
  out.push("};", "");

  const tables: string[] = [];
  for (const e of ENUMS) {
    const members = enums.get(e);
    if (!members) throw new Error(`enum ${e} not found in ${opts.header}`);
    out.push(`// ---- enum ${e} ----`);
    for (const m of members) if (!m.sentinel) out.push(`export const ${m.name} = ${literal(m.value)};`);
    out.push("");
    tables.push(`  ${e}: {`);
    for (const [v, n] of [...nameTable(members)].sort((a, b) => a[0] - b[0])) tables.push(`    ${literal(v)}: ${JSON.stringify(n)},`);
    tables.push("  },");
  }
  out.push(
    `export type QcaEnum =\n${ENUMS.map((e) => `  | ${JSON.stringify(e)}`).join("\n")};`,
    "",
    "/** value → the header's name, per enum (sentinels left out, an alias under its first name) */",
    "export const QCA_ENUMS: { readonly [E in QcaEnum]: Readonly<Record<number, string>> } = {",
    ...tables,
    "};",
    "",
  );
  return { text: out.join("\n"), subcmds: entries.length };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const opt = (k: string) => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const pos = args.filter((a) => !a.startsWith("--"));
  if (pos.length < 2) {
    process.stderr.write("usage: bun scripts/gen-qca-vendor.ts <qca-vendor.h> <commit> [<commit date>] [--repo=URL] [--out=FILE]\n");
    process.exit(2);
  }
  const [header, commit, date] = pos as [string, string, string | undefined];
  const outFile = resolve(opt("out") ?? join(import.meta.dir, "../src/families/nl80211/qca-vendor.gen.ts"));
  const { text, subcmds } = generate(readFileSync(header, "utf8"), { header, commit, date, repo: opt("repo") });
  writeFileSync(outFile, text);
  process.stderr.write(`gen-qca-vendor: ${subcmds} subcommands, ${ENUMS.length} enums -> ${outFile}\n`);
}
