/**
 * The route store keeps most routes packed (route-store.ts): whatever it packs must come back as
 * exactly the bytes the kernel sent, and what it cannot pack exactly must be kept as sent. Checked
 * on every captured route message and on random rtmsg + attribute byte strings (odd lengths,
 * non-zero padding, flag bits, truncation).
 */
import { describe, expect, test } from "bun:test";
import { routeIdent, RouteStore } from "../../src/cache/route-store.ts";
import { walkMessages } from "../../src/codec/nlmsg.ts";
import { RTM_DELROUTE, RTM_NEWROUTE, SIZEOF } from "../../src/uapi/linux.gen.ts";
import { dv, fixtureBytes, fixtureNames } from "../fixtures/load.ts";

function captured(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const name of fixtureNames()) {
    const b = fixtureBytes(name);
    walkMessages(dv(b), 0, b.length, {
      message: (hdr, _d, off, end) => {
        if (hdr.type === RTM_NEWROUTE || hdr.type === RTM_DELROUTE) out.push(b.slice(off, end));
      },
      framingError: () => {},
    });
  }
  return out;
}

/** xorshift32: the same strings every run */
function rng(seed: number) {
  let x = seed;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function randomRoute(r: (n: number) => number): Uint8Array {
  const parts: number[] = [];
  for (let i = 0; i < SIZEOF.rtmsg; i++) parts.push(r(4) === 0 ? r(256) : 0);
  const attrs = r(8);
  for (let a = 0; a < attrs; a++) {
    const plen = [0, 1, 2, 4, 4, 4, 8, 16, 255, 256, 300][r(11)]!;
    const len = 4 + plen;
    const type = [1, 2, 5, 15, 30, 63, 64, 0x8000 | 9, 0x4000 | 3][r(9)]!;
    parts.push(len & 255, len >> 8, type & 255, type >> 8);
    for (let i = 0; i < plen; i++) parts.push(r(3) === 0 ? r(256) : r(2) ? 0 : 255);
    // padding: usually zero, sometimes not, sometimes missing at the end
    const pad = ((len + 3) & ~3) - len;
    if (a < attrs - 1 || r(3)) for (let i = 0; i < pad; i++) parts.push(r(10) === 0 ? 7 : 0);
  }
  if (r(10) === 0) parts.length = Math.max(0, parts.length - 1 - r(6));
  return Uint8Array.from(parts);
}

describe("route store records", () => {
  test("come back byte for byte, packed or not", () => {
    const r = rng(12345);
    const routes = [...captured(), ...Array.from({ length: 20000 }, () => randomRoute(r))];
    const s = new RouteStore();
    const at: { o: number; b: Uint8Array }[] = [];
    let kept = 0;
    for (const b of routes) {
      const id = routeIdent(b, 0, b.length);
      if (!id) continue;
      const prev = s.find(id);
      if (prev >= 0) s.remove(prev);
      const o = s.insert(id, b, 0, b.length);
      expect(s.payload(o)).toEqual(b);
      expect(s.equals(o, b, 0, b.length)).toBe(true);
      kept++;
      at.push({ o, b });
    }
    expect(kept).toBeGreaterThan(10000);
    // every live record, read back after the store has grown and rehashed
    let live = 0;
    s.forEach((o) => {
      const p = s.payload(o);
      const id = routeIdent(p, 0, p.length)!;
      expect(s.find(id)).toBe(o);
      live++;
    });
    expect(live).toBe(s.count);
  });

  test("a full table's routes are packed to well under the bytes sent", () => {
    const s = new RouteStore();
    const msg = captured().find((b) => b.length === 44);
    expect(msg).toBeDefined();
    let sent = 0;
    for (let i = 0; i < 10000; i++) {
      const b = msg!.slice();
      // a distinct destination per route (RTA_DST sits somewhere in the attributes: find it)
      const d = new DataView(b.buffer);
      for (let p = SIZEOF.rtmsg; p < b.length; p += (d.getUint16(p, true) + 3) & ~3) {
        if (d.getUint16(p + 2, true) === 1) d.setUint16(p + 4, i, true);
      }
      const id = routeIdent(b, 0, b.length)!;
      s.insert(id, b, 0, b.length);
      sent += b.length;
    }
    s.trim();
    expect(s.count).toBe(10000);
    expect(s.bytes).toBeLessThan(sent);
  });
});
