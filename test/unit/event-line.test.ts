/**
 * An event's line is made once (event/line.ts): the caches take a body's text from it, events made
 * from cached text compose their line around that text, and --dump-cache prints such lines. Each
 * must be byte for byte what JSON.stringify gives, on every captured NETLINK_ROUTE message.
 */
import { describe, expect, test } from "bun:test";
import { cachedEvent } from "../../src/cache/change.ts";
import type { CacheKind } from "../../src/cache/keys.ts";
import { walkMessages } from "../../src/codec/nlmsg.ts";
import { decodeMessage } from "../../src/decode/message.ts";
import { bodyJson, bodyOf, serialise } from "../../src/event/line.ts";
import type { NlEvent } from "../../src/event/model.ts";
import { NETLINK_ROUTE, NLM_F_MULTI } from "../../src/uapi/linux.gen.ts";
import { contextWithLinks, dv, fixtureBytes, fixtureNames } from "../fixtures/load.ts";

const CACHED = new Set(["link", "addr", "route", "neigh", "rule", "nexthop"]);

function decodedEvents(): NlEvent[] {
  const out: NlEvent[] = [];
  for (const name of fixtureNames()) {
    const b = fixtureBytes(name);
    const ctx = contextWithLinks();
    walkMessages(dv(b), 0, b.length, {
      message: (hdr, d, off, end) => {
        const ev = decodeMessage(NETLINK_ROUTE, hdr, d, off, end, ctx, {});
        if (ev) out.push(ev);
      },
      framingError: () => {},
    });
  }
  return out;
}

describe("one line per event", () => {
  const events = decodedEvents();
  test("a body's text taken from the line is JSON.stringify of the body", () => {
    let n = 0;
    for (const ev of events) {
      if (!CACHED.has(ev.type) || bodyOf(ev) === undefined) continue;
      ev.timestamp = "2026-01-02T03:04:05.000000006Z";
      expect(serialise(ev)).toBe(JSON.stringify(ev));
      expect(bodyJson(ev)).toBe(JSON.stringify(bodyOf(ev)));
      n++;
    }
    expect(n).toBeGreaterThan(20);
  });

  test("an event made from cached text has the line JSON.stringify gives, flags and timestamp included", () => {
    for (const ev of events) {
      if (!CACHED.has(ev.type) || bodyOf(ev) === undefined) continue;
      const text = JSON.stringify(bodyOf(ev));
      const kind = ev.type as CacheKind;
      for (const mark of [undefined, "resync", "implicit"] as const) {
        const made = cachedEvent(kind, text, ev.msg_type, mark ? 0 : NLM_F_MULTI);
        if (mark) made.timestamp = "2026-01-02T03:04:05.000000006Z";
        if (mark) made[mark] = true;
        const line = serialise(made);
        // the body is decoded only now, for JSON.stringify: the composed line did not need it
        expect(line).toBe(JSON.stringify(made));
        expect(bodyJson(made)).toBe(text);
        expect(bodyOf(made)).toEqual(bodyOf(ev));
      }
    }
  });

  test("a body replaced on an event made from cached text is the one written", () => {
    const ev = events.find((e) => e.type === "link")!;
    const made = cachedEvent("link", JSON.stringify(bodyOf(ev)), ev.msg_type, 0);
    (made.netlink as { link?: object }).link = { ifindex: 99 };
    expect(serialise(made)).toContain(`"link":{"ifindex":99}`);
  });
});

describe("pretty JSON export", () => {
  test("re-spaces a line exactly as JSON.stringify(value, null, 2) lays it out", async () => {
    const { indentJson } = await import("../../src/export/json.ts");
    const samples = [
      ...decodedEvents().map((e) => JSON.stringify(e)),
      JSON.stringify({ a: [], b: {}, c: [[], [{}], [1, [2, []]]], "d:,{": "x,\"y\":[{}]\\", e: null, f: -1.5e-7, g: "é\u2028" }),
      "[]", "{}", "1", "\"s\"",
    ];
    for (const s of samples) expect(indentJson(s)).toBe(JSON.stringify(JSON.parse(s), null, 2));
  });
});
