// RTM_NEWROUTE / RTM_DELROUTE captured from the kernel, decoded and compared field by field with
// what `ip -N -j -d route show` printed for the same route at capture time.
import { describe, expect, test } from "bun:test";
import { BasicContext } from "../../src/decode/context.ts";
import type { RouteBody } from "../../src/event/model.ts";
import { AF_INET6, NAMES, RTM_DELROUTE, RTM_NEWROUTE, RTN_BLACKHOLE, RTN_UNREACHABLE } from "../../src/uapi/linux.gen.ts";
import {
  bareNames, contextWithLinks, decodeOne, errorTotal, fixtureBytes, fixtureNames, ipJson, unexplainedUnknownAttrs,
} from "../fixtures/load.ts";

type Ip = Record<string, unknown>;

function ipDst(ip: Ip, family: string): string {
  const d = String(ip.dst);
  const full = family === "inet6" ? 128 : 32;
  if (d === "default") return family === "inet6" ? "::/0" : "0.0.0.0/0";
  return d.includes("/") ? d : `${d}/${full}`;
}

/** ip prints metrics as a list of one-key objects */
function ipMetrics(ip: Ip): Record<string, unknown> | undefined {
  const m = ip.metrics as Record<string, unknown>[] | undefined;
  return m ? Object.assign({}, ...m) : undefined;
}

function compareWithIp(r: RouteBody, ip: Ip) {
  expect(r.dst).toBe(ipDst(ip, r.family));
  expect(r.type).toBe(Number(ip.type));
  expect(r.table).toBe(Number(ip.table));
  expect(r.protocol).toBe(Number(ip.protocol));
  expect(r.scope).toBe(Number(ip.scope));
  expect(r.gateway).toBe(ip.gateway as string | undefined);
  expect(r.via).toEqual(ip.via as RouteBody["via"]);
  expect(r.dev).toBe(ip.dev as string | undefined);
  expect(r.metric).toBe(ip.metric as number | undefined);
  expect(r.prefsrc).toBe(ip.prefsrc as string | undefined);
  expect(r.pref).toBe(ip.pref as string | undefined);
  expect(r.nhid).toBe(ip.nhid as number | undefined);
  expect([...r.flags].sort()).toEqual([...(ip.flags as string[])].sort());
  expect(r.metrics).toEqual(ipMetrics(ip) as RouteBody["metrics"]);
  const ipHops = ip.nexthops as Ip[] | undefined;
  if (!ipHops) {
    expect(r.nexthops).toBeUndefined();
    return;
  }
  expect(r.nexthops).toHaveLength(ipHops.length);
  ipHops.forEach((h, i) => {
    const n = r.nexthops![i]!;
    expect(n.gateway).toBe(h.gateway as string | undefined);
    expect(n.via).toEqual(h.via as RouteBody["via"]);
    expect(n.dev).toBe(h.dev as string | undefined);
    expect(n.weight).toBe(h.weight as number);
    expect([...n.flags].sort()).toEqual([...(h.flags as string[])].sort());
  });
}

function route(name: string) {
  const ctx = contextWithLinks();
  const before = errorTotal(ctx);
  const ev = decodeOne(name, ctx);
  return { ev, ctx, before, r: ev.netlink.route! };
}

const ROUTES = fixtureNames("route-");

describe("route fixtures against iproute2", () => {
  test("fixtures are present", () => {
    expect(ROUTES.length).toBeGreaterThanOrEqual(12);
  });
  for (const name of ROUTES) {
    test(name, () => {
      const { ev, ctx, before, r } = route(name);
      const isDel = name.startsWith("route-del-");
      expect(ev.type).toBe("route");
      expect(ev.msg_type).toBe(isDel ? RTM_DELROUTE : RTM_NEWROUTE);
      expect(ev.decode_error).toBeUndefined();
      expect(errorTotal(ctx)).toBe(before);
      expect(unexplainedUnknownAttrs(ctx)).toEqual([]);
      const ip = ipJson(isDel ? name.replace("route-del-", "route-new-") : name);
      expect(ip).toBeDefined();
      compareWithIp(r, ip!);
    });
  }
});

// The comparisons above pass vacuously if both sides lack a field; these pin what each capture holds.
describe("route fixtures: the shapes they were made to show", () => {
  test("gateway, table and protocol 186 (named bgp by the headers-only names)", () => {
    const { r } = route("route-new-v4-gw-table10-proto186");
    expect(r).toMatchObject({ family: "inet", dst: "10.10.0.0/24", gateway: "10.1.0.2", dev: "v0", table: 10, protocol: 186, protocol_name: "bgp" });
    expect(r.table_name).toBe("10");
  });
  test("protocol 201 has no name without rt_protos; metric 50", () => {
    const { r } = route("route-new-v4-metric50-table11-proto201");
    expect(r).toMatchObject({ table: 11, protocol: 201, protocol_name: "201", metric: 50 });
  });
  test("onlink flag", () => {
    const { r } = route("route-new-v4-onlink-table12");
    expect(r.flags).toContain("onlink");
    expect(r.gateway).toBe("192.0.2.1");
  });
  test("metrics mtu", () => {
    expect(route("route-new-v4-mtu1400-table13").r.metrics).toEqual({ mtu: 1400 });
  });
  test("IPv6 multipath, notification and dump", () => {
    for (const n of ["route-new-v6-multipath-table14", "route-dump-v6-multipath-table14"]) {
      const { r } = route(n);
      expect(r.family).toBe(NAMES.af[AF_INET6]!.replace("AF_", "").toLowerCase());
      expect(r.gateway).toBeUndefined();
      expect(r.nexthops!.map((h) => [h.gateway, h.dev, h.weight])).toEqual([["2001:db8:1::2", "v0", 1], ["2001:db8:1::3", "v0", 1]]);
    }
  });
  test("IPv4 multipath weights", () => {
    const { r } = route("route-new-v4-multipath-weights-table15");
    expect(r.nexthops!.map((h) => [h.gateway, h.weight])).toEqual([["10.1.0.2", 1], ["10.1.0.3", 3]]);
  });
  test.skipIf(!fixtureNames("route-new-v4-via-inet6").length)("RTA_VIA: IPv4 route through an IPv6 gateway", () => {
    const { r } = route("route-new-v4-via-inet6-table16");
    expect(r.via).toEqual({ family: "inet6", host: "2001:db8:1::2" });
    expect(r.gateway).toBeUndefined();
  });
  test("blackhole and unreachable types", () => {
    expect(route("route-new-v4-blackhole-table17").r.type).toBe(RTN_BLACKHOLE);
    const u = route("route-new-v6-unreachable-table18").r;
    expect(u.type).toBe(RTN_UNREACHABLE);
    expect(u.type_name).toBe("unreachable");
    expect(u.metric).toBe(7);
  });
  test("route through a nexthop object", () => {
    const { r } = route("route-new-v4-nhid10-table19");
    expect(r.nhid).toBe(10);
  });
  test("kernel routes from a dump: local table host route and connected route", () => {
    const l = route("route-dump-v4-local-10.1.0.1").r;
    expect(l).toMatchObject({ dst: "10.1.0.1/32", table_name: "local", type_name: "local", scope_name: "host", prefsrc: "10.1.0.1", protocol_name: "kernel" });
    const c = route("route-dump-v4-main-connected").r;
    expect(c).toMatchObject({ dst: "10.1.0.0/24", table_name: "main", scope_name: "link", dev: "v0" });
  });
  test("the ifname map is what names devices: without it dev is absent but oif stays", () => {
    const ev = decodeOne("route-new-v4-gw-table10-proto186", new BasicContext(bareNames()));
    expect(ev.netlink.route!.dev).toBeUndefined();
    expect(ev.netlink.route!.oif).toBe(route("route-new-v4-gw-table10-proto186").r.oif!);
  });
  test("fixture bytes are a whole message", () => {
    for (const n of ROUTES) {
      const b = fixtureBytes(n);
      expect(new DataView(b.buffer).getUint32(0, true)).toBe(b.length);
    }
  });
});
