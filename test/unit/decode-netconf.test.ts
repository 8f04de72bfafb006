// RTM_NEWNETCONF from a dump against `ip netconf show dev v0` (ip has no JSON for netconf).
import { describe, expect, test } from "bun:test";
import { RTM_NEWNETCONF } from "../../src/uapi/linux.gen.ts";
import { contextWithLinks, decodeOne, errorTotal, fixtureNames, ipText, unexplainedUnknownAttrs } from "../fixtures/load.ts";

const WORDS: Record<string, number> = { off: 0, on: 1, strict: 1, loose: 2 };

/** "inet v0 forwarding off rp_filter off ..." → { family, dev, forwarding: 0, ... } */
function parseIp(text: string) {
  const t = text.trim().split(/\s+/);
  const out: Record<string, string | number> = { family: t[0]!, dev: t[1]! };
  for (let i = 2; i + 1 < t.length; i += 2) out[t[i]!] = WORDS[t[i + 1]!] ?? t[i + 1]!;
  return out;
}

const NETCONFS = fixtureNames("netconf-");

describe("netconf fixtures against iproute2", () => {
  test("fixtures are present", () => expect(NETCONFS.length).toBeGreaterThanOrEqual(2));
  for (const name of NETCONFS) {
    test(name, () => {
      const ctx = contextWithLinks();
      const before = errorTotal(ctx);
      const ev = decodeOne(name, ctx);
      expect(ev.msg_type).toBe(RTM_NEWNETCONF);
      expect(ev.decode_error).toBeUndefined();
      expect(errorTotal(ctx)).toBe(before);
      expect(unexplainedUnknownAttrs(ctx)).toEqual([]);
      const n = ev.netlink.netconf!;
      const ip = parseIp(ipText(name)!);
      expect(Object.keys(ip).length).toBeGreaterThanOrEqual(5);
      for (const [k, v] of Object.entries(ip)) expect((n as unknown as Record<string, unknown>)[k]).toBe(v);
    });
  }
});
