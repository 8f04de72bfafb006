/**
 * Names for kernel numbers. Kernel enumerations come from the generated UAPI tables; routing
 * tables and route protocols can also be named by the operator in iproute2's files
 * (rt_tables, rt_protos and their .d directories), so protocol 201 can read as the BGP daemon's name.
 */
import { fs } from "../node-lazy.ts";
import { FLAGS, NAMES } from "../uapi/linux.gen.ts";

type Table = Readonly<Record<number, string>>;
type FlagTable = readonly (readonly [number, string])[];

function stripped(table: Table, prefix: string, lower = true): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(table)) {
    const s = v.startsWith(prefix) ? v.slice(prefix.length) : v;
    m.set(Number(k), lower ? s.toLowerCase() : s);
  }
  return m;
}

function flagNames(table: FlagTable, prefix: string, lower: boolean, rename: Record<string, string> = {}): [number, string][] {
  return table.map(([bit, name]) => {
    const s = name.startsWith(prefix) ? name.slice(prefix.length) : name;
    const n = lower ? s.toLowerCase() : s;
    return [bit, rename[n] ?? n];
  });
}

export function flagsToNames(value: number, table: readonly (readonly [number, string])[]): string[] {
  let rest = value >>> 0;
  // most values name nothing (a route's flags are 0): no walk; an indexed loop, because iterating
  // and destructuring the table per call was the live path's most expensive line
  if (rest === 0) return [];
  const out: string[] = [];
  for (let i = 0; i < table.length; i++) {
    const e = table[i]!;
    const bit = e[0];
    if (bit !== 0 && (rest & bit) === bit) {
      out.push(e[1]);
      rest = (rest & ~bit) >>> 0;
    }
  }
  // bits the headers do not name are kept, in hex, rather than dropped
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}

/** Parse iproute2's "number name" files; comments and blank lines ignored. */
/**
 * A UAPI name table as events show its values: the names without their common prefix, lowercased
 * (NL80211_IFTYPE_AP -> "ap"); names without the prefix are left out.
 */
export function shortNames(names: Readonly<Record<number, string>>, prefix: string): Readonly<Record<number, string>> {
  const out: Record<number, string> = {};
  for (const [v, n] of Object.entries(names)) if (n.startsWith(prefix)) out[Number(v)] = n.slice(prefix.length).toLowerCase();
  return out;
}

export function parseIproute2Names(text: string, into: Map<number, string>): void {
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const m = /^(0x[0-9a-fA-F]+|\d+)\s+(\S+)/.exec(line);
    if (!m) continue;
    into.set(Number(m[1]), m[2]!);
  }
}

const IPROUTE2_DIRS = ["/usr/share/iproute2", "/usr/lib/iproute2", "/etc/iproute2"];

function readNameFiles(base: string, into: Map<number, string>, dirs: readonly string[]) {
  for (const dir of dirs) {
    const f = `${dir}/${base}`;
    try {
      if (fs().existsSync(f)) parseIproute2Names(fs().readFileSync(f, "utf8"), into);
    } catch { /* an unreadable names file only costs names */ }
    const d = `${f}.d`;
    try {
      if (fs().existsSync(d)) {
        for (const e of fs().readdirSync(d).filter((x) => x.endsWith(".conf")).sort()) {
          parseIproute2Names(fs().readFileSync(`${d}/${e}`, "utf8"), into);
        }
      }
    } catch { /* as above */ }
  }
}

export class Names {
  readonly rtprot = stripped(NAMES.rtprot, "RTPROT_");
  readonly rtTable = stripped(NAMES.rt_table, "RT_TABLE_");
  readonly rtnType = stripped(NAMES.rtn_type, "RTN_");
  readonly scope = stripped(NAMES.rt_scope, "RT_SCOPE_");
  readonly operstate = stripped(NAMES.if_oper, "IF_OPER_", false);
  readonly arphrd = stripped(NAMES.arphrd, "ARPHRD_");
  readonly frAct = stripped(NAMES.fr_act, "FR_ACT_");
  readonly af = stripped(NAMES.af, "AF_");
  readonly rtmType: Table = NAMES.rtm_type;

  readonly iff = flagNames(FLAGS.iff, "IFF_", false);
  readonly ifaF = flagNames(FLAGS.ifa_f, "IFA_F_", true);
  readonly nud = flagNames(FLAGS.nud, "NUD_", false);
  readonly ntf = flagNames(FLAGS.ntf, "NTF_", true);
  readonly rtnhF = flagNames(FLAGS.rtnh_f, "RTNH_F_", true);
  /** RTM_F_OFFLOAD and RTNH_F_OFFLOAD share a word in iproute2's output; prefix the route-level ones as ip does */
  readonly rtmF = flagNames(FLAGS.rtm_f, "RTM_F_", true, { offload: "rt_offload", trap: "rt_trap", offload_failed: "rt_offload_failed" });
  readonly fibRuleF = flagNames(FLAGS.fib_rule_f, "FIB_RULE_", true);

  constructor(dirs: readonly string[] = IPROUTE2_DIRS) {
    // iproute2 calls scope 0 "global"; the header calls it UNIVERSE. Operators read ip's word.
    const universe = [...this.scope].find(([, n]) => n === "universe");
    if (universe) this.scope.set(universe[0], "global");
    readNameFiles("rt_protos", this.rtprot, dirs);
    readNameFiles("rt_tables", this.rtTable, dirs);
  }

  protocol(n: number) { return this.rtprot.get(n) ?? String(n); }
  table(n: number) { return this.rtTable.get(n) ?? String(n); }
  routeType(n: number) { return this.rtnType.get(n) ?? String(n); }
  scopeName(n: number) { return this.scope.get(n) ?? String(n); }
  family(n: number) { return this.af.get(n) ?? String(n); }
}
