// nlmon's attribute tables against the kernel's own YNL specs (read from the installed
// linux-doc package, see test/fixtures/ynl.ts). Attributes are matched by NUMBER, not by nlmon's
// event field names (those are iproute2's words: "metric" for RTA_PRIORITY):
//  - the name the headers give that number (AttrSet.uapi, recorded by knownSet) must be the spec's
//    name, ignoring case, "-" against "_", the spec's name-prefix and the headers' common prefix
//    (RTA_DST ~ rta-dst, IFLA_INFO_KIND ~ kind, CTRL_ATTR_FAMILY_ID ~ family-id with ctrl-attr-);
//  - an attribute nlmon describes must have the spec's type (u8..s64, string, binary, flag, nest,
//    indexed-array, sub-message), byte order, display (ipv4/ipv6 hints are nlmon's "ip") and
//    multi-attr; nests, arrays and sub-message formats are followed into their sets;
//  - a number the spec has beyond the headers' last name is newer than the headers nlmon was
//    generated from, not a mismatch (nlmon counts it as unknown).
// Every other difference fails unless EXCEPTIONS lists it with the reason; an exception that no
// longer happens fails too, so the list stays true.
import { describe, expect, test } from "bun:test";
import type { AttrDef, AttrSet } from "../../src/decode/attrset.ts";
import { knownSet } from "../../src/decode/attrset.ts";
import { ADDR_ATTRS } from "../../src/families/route/addr.ts";
import { LINK_ATTRS } from "../../src/families/route/link.ts";
import { NEXTHOP_ATTRS, ROUTE_ATTRS } from "../../src/families/route/route.ts";
import { CTRL_ATTRS, GRP_ATTRS } from "../../src/families/genl/index.ts";
import { NAMES } from "../../src/uapi/linux.gen.ts";
import { loadSpec, specFile, specsDir, YNL_DEB, type YnlAttr, type YnlSet, type YnlSpec } from "../fixtures/ynl.ts";

/** problem key ("<nlmon set> ~ <spec>:<set>.<attr>: <what>") → why nlmon differs on purpose */
const EXCEPTIONS: Record<string, string> = {
  "addr ~ rt-addr:addr-attrs.ifa-anycast: display":
    "the spec gives IFA_ANYCAST no display-hint; it is an address like IFA_ADDRESS and nlmon shows it as one",
  "link ~ rt-link:link-attrs.target-netnsid: name":
    "the headers' enum names 46 IFLA_IF_NETNSID; IFLA_TARGET_NETNSID, the spec's name, is a #define alias of it in if_link.h",
  "genl.ctrl ~ nlctrl:ctrl-attrs.mcast-groups: type":
    "nlmon reads the indexed array of groups with its own parse into { name: id } (mcastGroups); the elements are checked as nlctrl:mcast-group-attrs",
};

interface Root {
  spec: string;
  set: string;
  nlmon: AttrSet;
  why?: string;
}

const ROOTS: Root[] = [
  { spec: "rt-route", set: "route-attrs", nlmon: ROUTE_ATTRS },
  { spec: "rt-route", set: "route-attrs", nlmon: NEXTHOP_ATTRS, why: "a multipath hop's attributes are RTA_* (the spec leaves rta-multipath binary)" },
  { spec: "rt-route", set: "rta-metrics", nlmon: knownSet("route.metrics", NAMES.rtax as Record<number, string>, {}), why: "names only: metrics() names RTA_METRICS' members from NAMES.rtax" },
  { spec: "rt-addr", set: "addr-attrs", nlmon: ADDR_ATTRS },
  { spec: "rt-link", set: "link-attrs", nlmon: LINK_ATTRS },
  { spec: "nlctrl", set: "ctrl-attrs", nlmon: CTRL_ATTRS },
  { spec: "nlctrl", set: "mcast-group-attrs", nlmon: GRP_ATTRS, why: "mcast_groups' elements, which nlmon reaches through its own parse" },
];

const DIR = specsDir();
const specs = new Map<string, YnlSpec>();
function spec(name: string): YnlSpec {
  if (DIR === undefined) {
    throw new Error(`no YNL specs under ${process.env.NLMON_YNL_SPECS || "/usr/share/doc/linux-doc-*/Documentation/netlink/specs"}: install ${YNL_DEB} (make debs installs the Makefile's TEST_DEBS)`);
  }
  let s = specs.get(name);
  if (!s) {
    const file = specFile(DIR, name);
    if (file === undefined) throw new Error(`${DIR} has no ${name}.yaml(.gz); ${YNL_DEB} ships it`);
    s = loadSpec(file);
    specs.set(name, s);
  }
  return s;
}

const norm = (s: string) => s.toLowerCase().replace(/-/g, "_");

/** the prefix all of a names table shares, up to its last "_" (RTA_, IFLA_INFO_, CTRL_ATTR_MCAST_GRP_) */
function commonPrefix(names: readonly string[]): string {
  let p = names[0] ?? "";
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  return p.slice(0, p.lastIndexOf("_") + 1);
}

function sameName(uapi: string, specName: string, namePrefix: string | undefined, group: string): boolean {
  const g = norm(group);
  const u = norm(uapi);
  let s = norm(specName);
  if (namePrefix !== undefined && s.startsWith(norm(namePrefix))) s = s.slice(norm(namePrefix).length);
  if (s.startsWith(g)) s = s.slice(g.length);
  return (u.startsWith(g) ? u.slice(g.length) : u) === s;
}

const DISPLAY: Record<string, AttrDef["display"]> = { ipv4: "ip", ipv6: "ip", "ipv4-or-v6": "ip", mac: "mac", hex: "hex" };
const SAME_TYPE = new Set(["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "string", "binary", "flag", "nest", "indexed-array", "sub-message"]);

interface Problem { key: string; detail: string }

class Comparison {
  readonly problems: Problem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly spec: YnlSpec) {}

  set(ys: YnlSet, ns: AttrSet): void {
    const visit = `${ns.name} ~ ${ys.name}`;
    if (this.seen.has(visit)) return;
    this.seen.add(visit);
    const where = (a: string) => `${ns.name} ~ ${this.spec.name}:${ys.name}.${a}`;
    const uapi = ns.uapi;
    if (!uapi) {
      this.problems.push({ key: `${ns.name}: uapi`, detail: `${ns.name} records no header names (made without knownSet)` });
      return;
    }
    const group = commonPrefix(Object.values(uapi));
    const last = Math.max(...Object.keys(uapi).map(Number));
    for (const a of ys.attrs) {
      const u = uapi[a.value];
      if (u === undefined) {
        // beyond the headers' last name: newer than the headers nlmon was generated from
        if (a.value <= last) this.problems.push({ key: `${where(a.name)}: name`, detail: `number ${a.value} has no name in the headers` });
      } else if (!sameName(u, a.name, ys.namePrefix, group)) {
        this.problems.push({ key: `${where(a.name)}: name`, detail: `number ${a.value} is ${u} in the headers` });
      }
      const def = ns.attrs[a.value];
      if (def && def.type !== "unused") this.attr(a, def, ys, ns, where(a.name));
    }
    for (const [n, u] of Object.entries(uapi)) {
      const num = Number(n);
      if (ys.byValue.has(num) || (num === 0 && /_UNSPEC$/.test(u))) continue;
      const def = ns.attrs[num];
      const described = def !== undefined && def.type !== "unused";
      this.problems.push({ key: `${ns.name} ~ ${this.spec.name}:${ys.name}: ${u}`, detail: `${u} (${num})${described ? `, nlmon's "${def.name}",` : ""} is not in the spec's set` });
    }
  }

  private attr(a: YnlAttr, def: AttrDef, ys: YnlSet, ns: AttrSet, where: string): void {
    const bad = (what: string, detail: string) => this.problems.push({ key: `${where}: ${what}`, detail });
    if (!SAME_TYPE.has(a.type) || a.type !== def.type) {
      bad("type", `spec ${a.type}${a.subType ? ` of ${a.subType}` : ""}${a.struct ? ` (struct ${a.struct})` : ""}, nlmon ${def.type}${def.parse ? " with its own parse" : ""}`);
      return;
    }
    const specBe = a.byteOrder === "big-endian";
    if (specBe !== (def.byteOrder === "big-endian")) bad("byte-order", `spec ${a.byteOrder ?? "host order"}, nlmon ${def.byteOrder ?? "host order"}`);
    const display = a.displayHint === undefined ? undefined : (DISPLAY[a.displayHint] ?? `(${a.displayHint})`);
    if (display !== def.display) bad("display", `spec display-hint ${a.displayHint ?? "none"}, nlmon display ${def.display ?? "none"}`);
    if (a.multiAttr !== (def.multi === true)) bad("multi", `spec multi-attr ${a.multiAttr}, nlmon multi ${def.multi === true}`);
    if (def.type === "nest" || def.type === "indexed-array") {
      if (def.nested === undefined) return; // nlmon's own parse reads it
      const inner = a.nestedAttributes === undefined ? undefined : this.spec.sets.get(a.nestedAttributes);
      if (!inner) bad("nested", `spec gives no set for it (${a.nestedAttributes ?? "none"}), nlmon ${def.nested.name}`);
      else this.set(inner, def.nested);
    }
    if (def.type === "sub-message") {
      const selNum = Object.entries(ns.attrs).find(([, d]) => d.name === def.selector)?.[0];
      const specSel = selNum === undefined ? undefined : ys.byValue.get(Number(selNum))?.name;
      if (specSel !== a.selector) bad("selector", `spec selector ${a.selector}, nlmon's "${def.selector}" is spec ${specSel ?? "nothing"}`);
      const formats = a.subMessage === undefined ? undefined : this.spec.subMessages.get(a.subMessage);
      for (const [value, set] of Object.entries(def.formats ?? {})) {
        const setName = formats?.get(value);
        const inner = setName === undefined ? undefined : this.spec.sets.get(setName);
        if (!inner) bad(`format ${value}`, `spec sub-message ${a.subMessage ?? "(none)"} has no attribute set for ${value}`);
        else this.set(inner, set);
      }
    }
  }
}

/** each root's differences, computed once whichever test asks first */
const found = new Map<Root, Problem[]>();
function problems(root: Root): Problem[] {
  let p = found.get(root);
  if (!p) {
    const s = spec(root.spec);
    const ys = s.sets.get(root.set);
    if (!ys) throw new Error(`${s.file} has no attribute set ${root.set}`);
    const c = new Comparison(s);
    c.set(ys, root.nlmon);
    p = c.problems;
    found.set(root, p);
  }
  return p;
}

describe("attribute sets against the kernel's YNL specs", () => {
  for (const root of ROOTS) {
    test(`${root.nlmon.name} ~ ${root.spec}:${root.set}${root.why ? ` (${root.why})` : ""}`, () => {
      const unlisted = problems(root).filter((p) => EXCEPTIONS[p.key] === undefined).map((p) => `${p.key} — ${p.detail}`);
      expect(unlisted).toEqual([]);
    });
  }

  test("every listed exception still happens", () => {
    const keys = new Set(ROOTS.flatMap((r) => problems(r).map((p) => p.key)));
    expect(Object.keys(EXCEPTIONS).filter((k) => !keys.has(k))).toEqual([]);
  });
});
