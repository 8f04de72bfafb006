// RTM_NEWNEXTHOP / RTM_DELNEXTHOP from the kernel against `ip -N -j nexthop show id N`.
import { describe, expect, test } from "bun:test";
import { RTM_DELNEXTHOP, RTM_NEWNEXTHOP } from "../../src/uapi/linux.gen.ts";
import { contextWithLinks, decodeOne, errorTotal, fixtureNames, ipJson, unexplainedUnknownAttrs } from "../fixtures/load.ts";

type Ip = Record<string, unknown>;
const NHS = fixtureNames("nexthop-");

describe("nexthop fixtures against iproute2", () => {
  test("fixtures are present", () => expect(NHS.length).toBeGreaterThanOrEqual(5));
  for (const name of NHS) {
    test(name, () => {
      const ctx = contextWithLinks();
      const before = errorTotal(ctx);
      const ev = decodeOne(name, ctx);
      const isDel = name.startsWith("nexthop-del-");
      expect(ev.msg_type).toBe(isDel ? RTM_DELNEXTHOP : RTM_NEWNEXTHOP);
      expect(ev.decode_error).toBeUndefined();
      expect(errorTotal(ctx)).toBe(before);
      expect(unexplainedUnknownAttrs(ctx)).toEqual([]);
      const n = ev.netlink.nexthop!;
      const ip = ipJson(isDel ? "nexthop-new-id3-blackhole" : name)! as Ip;
      expect(n.id).toBe(ip.id as number);
      expect(n.gateway).toBe(ip.gateway as string | undefined);
      expect(n.dev).toBe(ip.dev as string | undefined);
      if (ip.scope !== undefined) expect(n.scope).toBe(Number(ip.scope));
      expect(n.blackhole).toBe("blackhole" in ip ? true : undefined);
      const g = ip.group as Ip[] | undefined;
      // ip leaves out a weight of 1
      expect(n.group).toEqual(g?.map((e) => ({ id: e.id as number, weight: (e.weight as number | undefined) ?? 1 })));
    });
  }
  test("literal values", () => {
    const g = decodeOne("nexthop-new-id10-group", contextWithLinks()).netlink.nexthop!;
    expect(g.group).toEqual([{ id: 1, weight: 1 }, { id: 2, weight: 3 }]);
    const one = decodeOne("nexthop-new-id1-gw", contextWithLinks()).netlink.nexthop!;
    expect(one).toMatchObject({ id: 1, gateway: "10.1.0.2", dev: "v0", family: "inet" });
  });
});
