/**
 * The fast line writer (decode/line.ts, a family's BodyWriter) against the decoder on every
 * captured NETLINK_ROUTE message: what it takes must be byte for byte JSON.stringify of the
 * decoded event, and it must take the shapes a full table is made of (or --dump-events would
 * quietly fall back to the slow path). The fuzzer (test/fuzz/engine.ts) holds it to the same
 * over mutated messages.
 */
import { describe, expect, test } from "bun:test";
import { walkMessages } from "../../src/codec/nlmsg.ts";
import { BasicContext } from "../../src/decode/context.ts";
import { LineWriter } from "../../src/decode/line.ts";
import { decodeMessage } from "../../src/decode/message.ts";
import { JsonBytes } from "../../src/event/json-bytes.ts";
import { NETLINK_ROUTE } from "../../src/uapi/linux.gen.ts";
import { bareNames, contextWithLinks, dv, fixtureBytes, fixtureNames } from "../fixtures/load.ts";

function lines(name: string, ctx: BasicContext, w = new LineWriter(NETLINK_ROUTE, ctx)) {
  const out = new JsonBytes();
  const b = fixtureBytes(name);
  const u = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const got: { fast: string | undefined; decoded: string }[] = [];
  walkMessages(dv(b), 0, b.length, {
    message: (hdr, d, off, end) => {
      const decoded = JSON.stringify(decodeMessage(NETLINK_ROUTE, hdr, d, off, end, ctx, { deterministic: true }));
      out.into(out.buf, 0);
      const t = w.write(hdr, u, d, off, end, out);
      got.push({ fast: t === undefined ? undefined : out.text(), decoded });
    },
    framingError: () => {},
  });
  return got;
}

describe("fast route lines", () => {
  test("are the decoder's lines, byte for byte, for every captured message they take", () => {
    let taken = 0;
    for (const name of fixtureNames()) {
      for (const ctx of [contextWithLinks(), new BasicContext(bareNames())]) {
        for (const l of lines(name, ctx)) {
          if (l.fast === undefined) continue;
          taken++;
          expect(l.fast, name).toBe(l.decoded);
        }
      }
    }
    expect(taken).toBeGreaterThan(10);
  });

  test("take the routes a BGP table is made of, and leave multipath, metrics and nexthop ids to the decoder", () => {
    const took = (name: string) => lines(name, contextWithLinks()).some((l) => l.fast !== undefined);
    for (const n of ["route-new-v4-gw-table10-proto186", "route-new-v4-metric50-table11-proto201", "route-new-v4-onlink-table12",
      "route-new-v6-gw-table19-proto186", "route-dump-v4-local-10.1.0.1", "route-dump-v4-main-connected", "route-new-v4-blackhole-table17"]) {
      expect(took(n), n).toBe(true);
    }
    for (const n of ["route-new-v4-multipath-weights-table15", "route-new-v4-mtu1400-table13", "route-new-v4-nhid10-table19", "route-new-v4-via-inet6-table16"]) {
      expect(took(n), n).toBe(false);
    }
  });

  test("name a link as it is named when the message comes, not as it was first", () => {
    const ctx = contextWithLinks();
    const w = new LineWriter(NETLINK_ROUTE, ctx);
    const before = lines("route-new-v4-gw-table10-proto186", ctx, w)[0]!;
    expect(before.fast).toBe(before.decoded);
    const oif = (JSON.parse(before.decoded) as { netlink: { route: { oif: number } } }).netlink.route.oif;
    ctx.setIfname(oif, "renamed0");
    const after = lines("route-new-v4-gw-table10-proto186", ctx, w)[0]!;
    expect(after.fast).toBe(after.decoded);
    expect(after.fast).toContain('"dev":"renamed0"');
  });
});
