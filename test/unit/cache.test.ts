/**
 * Cache identity and repair rules, on events shaped as the decoders make them. The live tests
 * (test/live/*) check the same against the kernel; these pin the rules themselves.
 */
import { describe, expect, test } from "bun:test";
import { cachedEvent, ObjectCache } from "../../src/cache/caches.ts";
import type { NlEvent, RouteBody } from "../../src/event/model.ts";
import {
  NLM_F_CREATE, NLM_F_REPLACE, RTM_DELADDR, RTM_DELROUTE, RTM_NEWADDR, RTM_NEWROUTE,
} from "../../src/uapi/linux.gen.ts";

function route(r: Partial<RouteBody>, msgType = RTM_NEWROUTE, flags = NLM_F_CREATE): NlEvent {
  const body: RouteBody = {
    family: "inet", type: 1, type_name: "unicast", dst: "10.9.0.0/24", table: 10, table_name: "10", protocol: 201,
    protocol_name: "201", scope: 0, scope_name: "global", flags: [], flags_raw: 0, metric: 5, ...r,
  };
  return cachedEvent("route", JSON.stringify(body), msgType, flags);
}

describe("route cache", () => {
  test("IPv4 routes appended to the same prefix are kept apart, and a delete removes only its own", () => {
    const c = new ObjectCache("route");
    c.apply(route({ gateway: "10.1.0.2", oif: 3 }));
    c.apply(route({ gateway: "10.2.0.2", oif: 4 }));
    expect(c.size).toBe(2);
    c.apply(route({ gateway: "10.1.0.2", oif: 3 }, RTM_DELROUTE, 0));
    expect(c.values().map((e) => e.netlink.route!.gateway)).toEqual(["10.2.0.2"]);
  });
  test("a replace drops the route it replaced, whatever its nexthop", () => {
    const c = new ObjectCache("route");
    c.apply(route({ gateway: "10.1.0.2", oif: 3 }));
    c.apply(route({ gateway: "10.2.0.2", oif: 4 }, RTM_NEWROUTE, NLM_F_REPLACE));
    expect(c.values().map((e) => e.netlink.route!.gateway)).toEqual(["10.2.0.2"]);
  });
  test("an IPv6 gateway route merges with its siblings; device routes per link stay apart", () => {
    const c = new ObjectCache("route");
    const v6 = { family: "inet6", dst: "2001:db8:9::/64", metric: 7 };
    c.apply(route({ ...v6, gateway: "fe80::1", oif: 3 }));
    c.apply(route({ ...v6, nexthops: [{ gateway: "fe80::1", oif: 3, flags: [] }, { gateway: "fe80::2", oif: 4, flags: [] }] }));
    expect(c.size).toBe(1);
    const c2 = new ObjectCache("route");
    c2.apply(route({ family: "inet6", dst: "fe80::/64", metric: 256, oif: 3 }));
    c2.apply(route({ family: "inet6", dst: "fe80::/64", metric: 256, oif: 4 }));
    expect(c2.size).toBe(2);
  });
  test("a delete the cache cannot place is reported as a miss", () => {
    const c = new ObjectCache("route");
    expect(c.apply(route({ gateway: "10.1.0.2", oif: 3 }, RTM_DELROUTE, 0))?.miss).toBe(true);
  });
  test("replace() reports adds, changes and deletes against a dump, and keeps route counts", () => {
    const c = new ObjectCache("route");
    c.apply(route({ gateway: "10.1.0.2", oif: 3 }));
    c.apply(route({ dst: "10.8.0.0/24", gateway: "10.1.0.2", oif: 3 }));
    const changes = c.replace([route({ gateway: "10.1.0.2", oif: 3, flags: ["linkdown"] }), route({ dst: "10.7.0.0/24", oif: 3 })]);
    expect(changes.map((x) => x.op).sort()).toEqual(["add", "change", "del"]);
    expect([...c.routeCounts!.values()]).toEqual([{ family: "inet", table: "10", protocol: "201", n: 2 }]);
  });
});

describe("address cache", () => {
  const addr = (valid: number, msgType = RTM_NEWADDR) => cachedEvent("addr", JSON.stringify({
    family: "inet6", ifindex: 3, prefixlen: 64, scope: 0, scope_name: "global", flags: [], flags_raw: 0,
    address: "2001:db8::5", valid_life_time: valid, preferred_life_time: valid,
  }), msgType, 0);
  test("lifetimes counting down are not a change; a real change is", () => {
    const c = new ObjectCache("addr");
    c.apply(addr(100));
    expect(c.replace([addr(97)])).toEqual([]);
    c.apply(addr(97, RTM_DELADDR));
    expect(c.size).toBe(0);
  });
});
