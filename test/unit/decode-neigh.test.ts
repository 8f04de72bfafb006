// RTM_NEWNEIGH / RTM_DELNEIGH from the kernel against `ip -N -j neigh show ... dev v0`.
import { describe, expect, test } from "bun:test";
import { NUD_PERMANENT, RTM_DELNEIGH, RTM_NEWNEIGH } from "../../src/uapi/linux.gen.ts";
import { contextWithLinks, decodeOne, errorTotal, fixtureNames, ipJson, unexplainedUnknownAttrs } from "../fixtures/load.ts";

const NEIGHS = fixtureNames("neigh-");

describe("neigh fixtures against iproute2", () => {
  test("fixtures are present", () => expect(NEIGHS.length).toBeGreaterThanOrEqual(3));
  for (const name of NEIGHS) {
    test(name, () => {
      const ctx = contextWithLinks();
      const before = errorTotal(ctx);
      const ev = decodeOne(name, ctx);
      const isDel = name.startsWith("neigh-del-");
      expect(ev.msg_type).toBe(isDel ? RTM_DELNEIGH : RTM_NEWNEIGH);
      expect(ev.decode_error).toBeUndefined();
      expect(errorTotal(ctx)).toBe(before);
      expect(unexplainedUnknownAttrs(ctx)).toEqual([]);
      const n = ev.netlink.neigh!;
      const ip = ipJson(isDel ? "neigh-new-v4-permanent" : name)!;
      // the capture filtered by `dev v0`, so ip printed no dev
      expect(n.dev).toBe("v0");
      expect(n.dst).toBe(ip.dst as string);
      if (!isDel) {
        expect(n.lladdr).toBe(ip.lladdr as string);
        expect(n.state).toEqual(ip.state as string[]);
        expect(n.state_raw).toBe(NUD_PERMANENT);
      }
    });
  }
});
