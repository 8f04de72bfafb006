/**
 * An event cut to the syslog size limit must still be JSON a collector can parse. Every event of
 * the captured fixtures (and some made longer on purpose) goes through the real syslog formatter at
 * every limit from below the smallest useful one up to its whole length; each message must fit,
 * parse, be marked, and hold nothing but the event's own fields, its leading ones, in order.
 */
import { describe, expect, test } from "bun:test";
import type { NlEvent, PipelineEvent } from "../../src/event/model.ts";
import { fitJson } from "../../src/export/json-fit.ts";
import { formatSyslog, type FormatContext } from "../../src/export/syslog.ts";
import { serialise } from "../../src/pipeline/pipeline.ts";
import { contextWithLinks, decodeAll, fixtureNames } from "../fixtures/load.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** the fields the export keeps whatever the limit, as the docs promise them */
const KEPT: Record<string, readonly string[]> = { "": ["timestamp", "type", "netlink", "resync", "implicit"], netlink: ["msg_type_name"] };

function fixtureEvents(): NlEvent[] {
  const ctx = contextWithLinks();
  const out: NlEvent[] = [];
  for (const f of fixtureNames()) for (const d of decodeAll(f, ctx)) if (d.ev) out.push({ ...d.ev, timestamp: "2026-11-22T04:30:38.893369881Z" });
  return out;
}

const events = fixtureEvents();
const link = events.find((e) => e.netlink.link?.ifname)!;
const multipath = events.find((e) => (e.netlink.route?.nexthops?.length ?? 0) > 1)!;
/** longer than any fixture, multi-byte text, a nested object cut inside, the flags at the very end */
const made: NlEvent[] = [
  { ...link, netlink: { ...link.netlink, link: { ...link.netlink.link!, ifalias: "uplink → é ✓ 🚀 ".repeat(80) } } },
  { ...multipath, netlink: { ...multipath.netlink, route: { ...multipath.netlink.route!, nexthops: Array(60).fill(multipath.netlink.route!.nexthops![0]) } },
    decode_error: "after the list, so there are limits that hold the list but not the whole event" },
  { ...multipath, implicit: true },
  { ...link, resync: true, decode_error: "x".repeat(300) },
];
const all = [...events, ...made];

/**
 * `got` holds only `orig`'s fields with `orig`'s values (objects may be cut inside), in `orig`'s
 * order, and of the fields not always kept, a leading run: once one is missing none follows.
 */
function expectCutOf(got: Obj, orig: Obj, at: string) {
  const keys = Object.keys(got).filter((k) => !(at === "" && k === "truncated"));
  const origKeys = Object.keys(orig);
  expect(keys).toEqual(origKeys.filter((k) => keys.includes(k)));
  const kept = KEPT[at] ?? [];
  const free = origKeys.filter((k) => !kept.includes(k));
  const present = free.filter((k) => keys.includes(k));
  expect(present).toEqual(free.slice(0, present.length));
  for (const k of keys) {
    if (isObj(got[k]) && isObj(orig[k])) expectCutOf(got[k] as Obj, orig[k] as Obj, at === "" ? k : `${at}.${k}`);
    else expect(got[k]).toEqual(orig[k]);
  }
}

/** body bytes of the kept fields alone */
function floorOf(e: NlEvent): number {
  const f: Obj = { timestamp: e.timestamp, type: e.type, netlink: { msg_type_name: e.netlink.msg_type_name } };
  if (e.resync) f.resync = true;
  if (e.implicit) f.implicit = true;
  f.truncated = true;
  return bytes(JSON.stringify(f));
}

const ctx = (format: FormatContext["format"], maxSize: number): FormatContext => ({
  format, facility: 3, hostname: "router-7.example.org", appName: "nlmon", procId: "4242", maxSize, omitHostname3164: false,
});
const pev = (e: NlEvent): PipelineEvent => ({ event: e, tsNs: 1_700_000_000_123_456_789n, recvMono: 0 });
const dec = new TextDecoder("utf-8", { fatal: true });

describe("syslog truncation keeps JSON", () => {
  test("fixtures give events of every kind to cut", () => {
    expect(new Set(all.map((e) => e.type)).size).toBeGreaterThanOrEqual(7);
    expect(all.every((e) => typeof e.timestamp === "string" && serialise(e).startsWith('{"timestamp":'))).toBe(true);
    expect(Math.max(...all.map((e) => bytes(serialise(e))))).toBeGreaterThan(4000);
  });

  for (const format of ["rfc5424", "rfc3164"] as const) {
    test(`${format}: at every limit each message fits, parses, is marked and is a cut of the event`, () => {
      let checked = 0;
      for (const e of all) {
        const line = serialise(e);
        const header = dec.decode(formatSyslog(ctx(format, 1 << 20), pev(e), "")).length;
        const full = header + bytes(line);
        // from where not even `{"truncated":true}` fits, through the kept fields, to the whole event
        for (let max = header + 18; max <= full; max++) {
          const msg = formatSyslog(ctx(format, max), pev(e), line);
          expect(msg.length).toBeLessThanOrEqual(max);
          const body = dec.decode(msg).slice(header);
          if (max === full) {
            expect(body).toBe(line);
            continue;
          }
          const got = JSON.parse(body) as Obj;
          expect(got.truncated).toBe(true);
          expectCutOf(got, e as unknown as Obj, "");
          if (max - header >= floorOf(e)) {
            expect(got.timestamp).toBe(e.timestamp);
            expect(got.type).toBe(e.type);
            expect((got.netlink as Obj).msg_type_name).toBe(e.netlink.msg_type_name);
            if (e.implicit) expect(got.implicit).toBe(true);
            if (e.resync) expect(got.resync).toBe(true);
          }
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(10_000);
    });
  }

  test("more room never keeps less of the event", () => {
    for (const e of made) {
      const line = serialise(e);
      let last = 0;
      for (let max = floorOf(e); max < bytes(line); max++) {
        const n = bytes(fitJson(line, max)!);
        expect(n).toBeGreaterThanOrEqual(last);
        last = n;
      }
    }
  });

  test("a list is kept whole or not at all", () => {
    const e = made[1]!;
    const line = serialise(e);
    const lens = new Set<number>();
    for (let max = floorOf(e); max < bytes(line); max += 7) {
      const hops = ((JSON.parse(fitJson(line, max)!) as NlEvent).netlink.route?.nexthops);
      lens.add(hops?.length ?? 0);
    }
    expect([...lens].sort((a, b) => a - b)).toEqual([0, 60]);
  });

  test("text that is not a JSON object is cut with a marker instead", () => {
    expect(fitJson("not json", 100)).toBeUndefined();
    expect(fitJson("[1,2,3]", 100)).toBeUndefined();
  });
});
