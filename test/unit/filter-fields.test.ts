// The filter's field table (src/filter/fields.gen.ts) is generated from the event model, and the
// decoders emit nothing outside it: every path of every event decoded from the captured fixtures,
// from the fixtures with each attribute renumbered to every number its set has, and from
// synthetic messages carrying each attribute number with payloads of several shapes, is a path the
// filter accepts, holding a kind of value the model declares for it.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AttrWriter, NLA_HDRLEN, walkAttrs } from "../../src/codec/attr.ts";
import { buildMessage, NLMSG_HDRLEN, nlmsgAlign, readHeader } from "../../src/codec/nlmsg.ts";
import type { BasicContext } from "../../src/decode/context.ts";
import type { EventType, NlEvent } from "../../src/event/model.ts";
import { lookupField } from "../../src/filter/fields.ts";
import {
  AF_INET, AF_INET6, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MCAST_GROUPS, CTRL_ATTR_MCAST_GRP_ID,
  CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_VERSION, CTRL_CMD_NEWFAMILY, GENL_ID_CTRL, IFLA_INFO_DATA, IFLA_INFO_KIND,
  IFLA_LINKINFO, IFLA_VRF_TABLE, NAMES, NETLINK_GENERIC,
  NLMSG_MIN_TYPE, OFFSETOF, RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_DELNETCONF, RTM_DELNEXTHOP, RTM_DELNSID,
  RTM_DELROUTE, RTM_DELRULE, RTM_GETROUTE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWNETCONF, RTM_NEWNEXTHOP, RTM_NEWNSID,
  RTM_NEWPREFIX, RTM_NEWROUTE, RTM_NEWRULE, SIZEOF,
} from "../../src/uapi/linux.gen.ts";
import { routeFamily } from "../../src/families/route/index.ts";
import { contextWithLinks, decodeBytes, dv, fixtureBytes, fixtureNames } from "../fixtures/load.ts";

const ROOT = resolve(import.meta.dir, "../..");

/** message type → its fixed header and the attribute set that follows it */
const OBJECTS: [number[], number, keyof typeof NAMES][] = [
  [[RTM_NEWLINK, RTM_DELLINK], SIZEOF.ifinfomsg, "ifla"],
  [[RTM_NEWADDR, RTM_DELADDR], SIZEOF.ifaddrmsg, "ifa"],
  [[RTM_NEWROUTE, RTM_DELROUTE], SIZEOF.rtmsg, "rta"],
  [[RTM_NEWNEIGH, RTM_DELNEIGH], SIZEOF.ndmsg, "nda"],
  [[RTM_NEWRULE, RTM_DELRULE], SIZEOF.fib_rule_hdr, "fra"],
  [[RTM_NEWNEXTHOP, RTM_DELNEXTHOP], SIZEOF.nhmsg, "nha"],
  [[RTM_NEWNETCONF, RTM_DELNETCONF], SIZEOF.netconfmsg, "netconfa"],
  [[RTM_NEWNSID, RTM_DELNSID], nlmsgAlign(SIZEOF.rtgenmsg), "netnsa"],
  [[RTM_NEWPREFIX], SIZEOF.prefixmsg, "prefix"],
];
const SPEC = new Map(OBJECTS.flatMap(([types, hdr, group]) => types.map((t) => [t, { hdr: nlmsgAlign(hdr), group }] as const)));

function attrNumbers(group: keyof typeof NAMES): number[] {
  return Object.keys(NAMES[group]).map(Number).filter((n) => n > 0);
}

/** payloads of the shapes attributes come in: integers, addresses, structs, strings, nested sets */
function payloads(): Uint8Array[] {
  const nested = new AttrWriter();
  for (let t = 1; t <= 12; t++) nested.u32(t, t);
  const strNested = new AttrWriter().string(1, "vrf").u32(2, 10);
  const strings = new AttrWriter();
  for (let t = 1; t <= 24; t++) strings.string(t, "cubic");
  return [
    Uint8Array.of(1), Uint8Array.of(1, 0), Uint8Array.of(1, 0, 0, 0), Uint8Array.of(5, 0, 0, 0, 0, 0, 0, 0),
    Uint8Array.from({ length: 16 }, (_, i) => i + 1), Uint8Array.from({ length: 24 }, (_, i) => i),
    new TextEncoder().encode("x0\0"), nested.finish(), strNested.finish(), strings.finish(),
  ];
}

function rtnlMessage(type: number, hdrLen: number, family: number, attrs: Uint8Array, fill = 0): Uint8Array {
  const body = new Uint8Array(hdrLen + attrs.length).fill(fill, 0, hdrLen);
  // every rtnetlink header starts with its address family (rtgenmsg's layout)
  body[OFFSETOF["rtgenmsg.rtgen_family"]] = family;
  body.set(attrs, hdrLen);
  return buildMessage(type, 0, 1, body, 1);
}

function attr(type: number, payload: Uint8Array): Uint8Array {
  return new AttrWriter().bytes(type, payload).finish();
}

function* synthetic(): Generator<[Uint8Array, number]> {
  const shapes = payloads();
  for (const [type, { hdr, group }] of SPEC) {
    for (const family of [AF_INET, AF_INET6]) {
      for (const n of attrNumbers(group)) for (const p of shapes) yield [rtnlMessage(type, hdr, family, attr(n, p)), 0];
      // every header field set (tos, flags, ifindex of a device that is not known)
      yield [rtnlMessage(type, hdr, family, attr(attrNumbers(group)[0]!, shapes[2]!), 1), 0];
    }
  }
  const vrf = new AttrWriter().string(IFLA_INFO_KIND, "vrf").nested(IFLA_INFO_DATA, new AttrWriter().u32(IFLA_VRF_TABLE, 10));
  yield [rtnlMessage(RTM_NEWLINK, SPEC.get(RTM_NEWLINK)!.hdr, AF_INET, new AttrWriter().nested(IFLA_LINKINFO, vrf).finish()), 0];
  // a type the family has no decoder for: shown as raw bytes
  yield [rtnlMessage(RTM_GETROUTE, SPEC.get(RTM_NEWROUTE)!.hdr, AF_INET, new Uint8Array(0)), 0];
  // nlctrl announcing a family, and a family nlmon has no table for
  const genl = (familyId: number, cmd: number, attrs: Uint8Array) => {
    const body = new Uint8Array(SIZEOF.genlmsghdr + attrs.length);
    body[OFFSETOF["genlmsghdr.cmd"]] = cmd;
    body.set(attrs, SIZEOF.genlmsghdr);
    return buildMessage(familyId, 0, 1, body, 1);
  };
  const grp = new AttrWriter().nested(1, new AttrWriter().u32(CTRL_ATTR_MCAST_GRP_ID, 9).string(CTRL_ATTR_MCAST_GRP_NAME, "config"));
  const ctrl = new AttrWriter().u16(CTRL_ATTR_FAMILY_ID, NLMSG_MIN_TYPE + 40).string(CTRL_ATTR_FAMILY_NAME, "demo")
    .u32(CTRL_ATTR_VERSION, 1).nested(CTRL_ATTR_MCAST_GROUPS, grp);
  yield [genl(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, ctrl.finish()), NETLINK_GENERIC];
  yield [genl(NLMSG_MIN_TYPE + 41, 1, new AttrWriter().u32(1, 1).nested(2, new AttrWriter().u8(1, 1)).finish()), NETLINK_GENERIC];
}

/** each fixture's top-level attributes renumbered, one at a time, to every number of their set */
function* renumbered(): Generator<[Uint8Array, number]> {
  for (const name of fixtureNames().filter((n) => !n.startsWith("datagram-"))) {
    const b = fixtureBytes(name);
    const h = readHeader(dv(b), 0);
    const spec = SPEC.get(h.type);
    if (!spec) continue;
    const at: number[] = [];
    walkAttrs(dv(b), NLMSG_HDRLEN + spec.hdr, h.len, (_t, off) => at.push(off - NLA_HDRLEN));
    for (const a of at) {
      for (const n of attrNumbers(spec.group)) {
        const m = b.slice();
        dv(m).setUint16(a + OFFSETOF["nlattr.nla_type"], n, true);
        yield [m, 0];
      }
    }
  }
}

/** every leaf and object path of an event as serialised, with the kinds of value seen there */
function paths(v: unknown, path: string, inList: boolean, out: Map<string, Set<string>>): void {
  const note = (kind: string) => {
    let s = out.get(path);
    if (!s) out.set(path, (s = new Set()));
    s.add(inList || kind === "empty" ? `${kind}[]` : kind);
  };
  if (Array.isArray(v)) {
    if (v.length === 0) note("empty");
    for (const e of v) paths(e, path, true, out);
    return;
  }
  if (v !== null && typeof v === "object") {
    if (path) note("object");
    for (const [k, x] of Object.entries(v)) paths(x, path ? `${path}.${k}` : k, inList, out);
    return;
  }
  note(typeof v === "string" ? `string:${v}` : typeof v);
}

function collect(): { seen: Map<string, Set<string>>; types: Set<EventType>; messages: number } {
  const seen = new Map<string, Set<string>>();
  const types = new Set<EventType>();
  let messages = 0;
  const ctx: BasicContext = contextWithLinks();
  const take = (b: Uint8Array, protocol: number) => {
    for (const d of decodeBytes(b, ctx, protocol || undefined)) {
      messages++;
      if (!d.ev) continue;
      types.add(d.ev.type);
      paths(JSON.parse(JSON.stringify(d.ev)) as NlEvent, "", false, seen);
    }
  };
  for (const name of fixtureNames()) take(fixtureBytes(name), 0);
  for (const [b, p] of synthetic()) take(b, p);
  for (const [b, p] of renumbered()) take(b, p);
  return { seen, types, messages };
}

describe("filter fields", () => {
  test("src/filter/fields.gen.ts is what scripts/gen-fields.ts makes of the model", () => {
    const dir = mkdtempSync(join(tmpdir(), "fields-gen-"));
    try {
      const out = join(dir, "fields.gen.ts");
      const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts/gen-fields.ts"), out], { cwd: ROOT, stderr: "pipe" });
      expect(r.exitCode, r.stderr.toString()).toBe(0);
      if (readFileSync(out, "utf8") !== readFileSync(join(ROOT, "src/filter/fields.gen.ts"), "utf8")) {
        throw new Error("src/filter/fields.gen.ts is stale; run: node_modules/.bin/bun scripts/gen-fields.ts");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("every message type the route family decodes is in this test's corpus", () => {
    const decoded: number[] = [];
    for (const t of Object.keys(NAMES.rtm_type).map(Number)) {
      const b = rtnlMessage(t, 64, AF_INET, new Uint8Array(0));
      const h = readHeader(dv(b), 0);
      if (routeFamily.decode(h, dv(b), NLMSG_HDRLEN, b.length, contextWithLinks())) decoded.push(t);
    }
    expect(decoded.filter((t) => !SPEC.has(t))).toEqual([]);
    expect(decoded.length).toBeGreaterThanOrEqual(SPEC.size);
  });

  test("decoders emit only paths the filter knows, with the kinds of value the model declares", () => {
    const { seen, types, messages } = collect();
    expect(messages).toBeGreaterThan(20_000);
    expect([...types].sort()).toEqual(["addr", "error", "genl", "link", "neigh", "netconf", "nexthop", "nsid", "prefix", "route", "rule", "unknown"]);
    const bad: string[] = [];
    for (const [path, kinds] of seen) {
      const r = lookupField(path.split("."));
      if (!r.ok) {
        bad.push(`${path}: not a field the filter knows (src/event/model.ts lacks it)`);
        continue;
      }
      const t = r.type;
      for (const k of kinds) {
        const list = k.endsWith("[]") ? "[]" : "";
        const base = list ? k.slice(0, -2) : k;
        const literal = base.startsWith("string:") ? `'${base.slice("string:".length)}'${list}` : undefined;
        const kind = literal !== undefined ? "string" : base;
        // an empty list says only that the path holds a list
        const ok = kind === "empty" ? t.list : t.alts.includes(`${kind}${list}`) || (literal !== undefined && t.alts.includes(literal));
        if (!ok) bad.push(`${path}: emits ${list ? "a list of " : ""}${kind}, the model says ${t.text}`);
      }
    }
    expect([...new Set(bad)].sort()).toEqual([]);
  });
});
