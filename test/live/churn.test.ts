/**
 * The binary, running in a namespace, reports every change the test makes there, with the fields
 * `ip -j` would show: links going down and up, addresses, routes in the VRF-like tables 10-19
 * (protocols 186 and 201, onlink, IPv6, metrics, multipath), neighbours, rules and nexthop
 * objects. Once per backend (libnl and legacy).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { NlEvent, RouteBody } from "../../src/event/model.ts";
import {
  BACKENDS, type Child, EventStream, delNs, ensureBinary, ensureLibnl, ip, makeNs, nlmonMark, nsName, startNlmon, syncMark,
} from "./lib.ts";

const NLM_F_REPLACE = 0x100;

for (const backend of BACKENDS) {
  describe(`churn seen live, ${backend.name} backend`, () => {
    const ns = nsName(`churn-${backend.name}`);
    let child: Child | undefined;
    let ev: EventStream;

    beforeAll(async () => {
      ensureBinary();
      ensureLibnl();
      await makeNs(ns);
      child = startNlmon({ ns, env: backend.env });
      ev = new EventStream(child);
      await syncMark(ns, [{ lines: child.out, match: nlmonMark }]);
    }, 600_000);

    afterAll(async () => {
      try {
        if (child) await child.stop();
      } finally {
        delNs(ns);
      }
    }, 60_000);

    /** run the change, then wait for the first event after it that satisfies pred */
    async function after(what: string, change: () => void, pred: (e: NlEvent) => boolean, timeoutMs = 5000): Promise<NlEvent> {
      const from = ev.cursor();
      change();
      return ev.waitFor(what, pred, from, timeoutMs);
    }

    const route = (op: "RTM_NEWROUTE" | "RTM_DELROUTE", dst: string, table: number, extra: (r: RouteBody) => boolean = () => true) =>
      (e: NlEvent) => e.type === "route" && e.netlink.msg_type_name === op && e.netlink.route?.dst === dst && e.netlink.route.table === table && extra(e.netlink.route);

    test("runs the backend asked for", () => {
      expect(child!.err.lines.join("\n")).toContain(`backend ${backend.name}`);
    });

    test("link down: flags lack UP, operstate DOWN; the peer loses its carrier", async () => {
      const from = ev.cursor();
      ip(ns, "link", "set", "v1", "down");
      const v1 = await ev.waitFor("v1 down", (e) => e.netlink.msg_type_name === "RTM_NEWLINK" && e.netlink.link?.ifname === "v1" && !e.netlink.link.flags.includes("UP"), from);
      expect(v1.type).toBe("link");
      expect(v1.netlink.link!.operstate).toBe("DOWN");
      expect(v1.netlink.link!.flags).not.toContain("LOWER_UP");
      expect(v1.netlink.link!.kind).toBe("veth");
      expect(v1.netlink.link!.mtu).toBe(1500);
      expect(v1.netlink.link!.address).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const v0 = await ev.waitFor("v0 lower down", (e) => e.netlink.link?.ifname === "v0" && e.netlink.link.operstate === "LOWERLAYERDOWN", from);
      expect(v0.netlink.link!.flags).toContain("UP");
      expect(v0.netlink.link!.flags).not.toContain("LOWER_UP");
    }, 20_000);

    test("link up: flags contain UP and LOWER_UP, operstate UP", async () => {
      const from = ev.cursor();
      ip(ns, "link", "set", "v1", "up");
      // the kernel first reports v1 administratively up while the pair is still LOWERLAYERDOWN,
      // then operstate UP once the carrier is on both ends
      const first = await ev.waitFor("v1 admin up", (e) => e.netlink.msg_type_name === "RTM_NEWLINK" && e.netlink.link?.ifname === "v1" && e.netlink.link.flags.includes("UP"), from);
      expect(first.netlink.link!.flags).toContain("UP");
      const v1 = await ev.waitFor("v1 up", (e) => e.netlink.msg_type_name === "RTM_NEWLINK" && e.netlink.link?.ifname === "v1" && e.netlink.link.operstate === "UP", from);
      expect(v1.netlink.link!.flags).toEqual(expect.arrayContaining(["UP", "LOWER_UP", "RUNNING"]));
      const v0 = await ev.waitFor("v0 up", (e) => e.netlink.link?.ifname === "v0" && e.netlink.link.operstate === "UP", from);
      expect(v0.netlink.link!.flags).toEqual(expect.arrayContaining(["UP", "LOWER_UP", "RUNNING"]));
    }, 20_000);

    test("link mtu change and a new veth pair added and deleted", async () => {
      const m = await after("mtu", () => ip(ns, "link", "set", "v1", "mtu", "1400"), (e) => e.netlink.link?.ifname === "v1" && e.netlink.link.mtu === 1400);
      expect(m.netlink.msg_type_name).toBe("RTM_NEWLINK");
      const add = await after("v2 added", () => ip(ns, "link", "add", "v2", "type", "veth", "peer", "name", "v3"),
        (e) => e.netlink.msg_type_name === "RTM_NEWLINK" && e.netlink.link?.ifname === "v2");
      expect(add.netlink.link!.kind).toBe("veth");
      expect(add.netlink.link!.flags).not.toContain("UP");
      const del = await after("v2 deleted", () => ip(ns, "link", "del", "v2"), (e) => e.netlink.msg_type_name === "RTM_DELLINK" && e.netlink.link?.ifname === "v2");
      expect(del.type).toBe("link");
      expect(del.netlink.link!.ifindex).toBe(add.netlink.link!.ifindex);
    }, 20_000);

    test("IPv4 address add and delete: address, prefixlen, scope, label", async () => {
      const isAddr = (op: string, a: string) => (e: NlEvent) => e.netlink.msg_type_name === op && e.netlink.addr?.local === a;
      const add = await after("addr add", () => ip(ns, "addr", "add", "10.9.1.1/24", "dev", "v0", "label", "v0:x"), isAddr("RTM_NEWADDR", "10.9.1.1"));
      expect(add.type).toBe("addr");
      expect(add.netlink.addr).toMatchObject({ family: "inet", dev: "v0", local: "10.9.1.1", prefixlen: 24, scope: 0, scope_name: "global", label: "v0:x" });
      // the prefix route the kernel adds with it
      await ev.waitFor("prefix route", route("RTM_NEWROUTE", "10.9.1.0/24", 254, (r) => r.protocol === 2 && r.scope_name === "link"), ev.events.indexOf(add));
      const del = await after("addr del", () => ip(ns, "addr", "del", "10.9.1.1/24", "dev", "v0"), isAddr("RTM_DELADDR", "10.9.1.1"));
      expect(del.netlink.addr).toMatchObject({ family: "inet", dev: "v0", prefixlen: 24, scope: 0, label: "v0:x" });

      const link = await after("link-scope addr", () => ip(ns, "addr", "add", "169.254.9.1/16", "dev", "v1", "scope", "link"), isAddr("RTM_NEWADDR", "169.254.9.1"));
      expect(link.netlink.addr).toMatchObject({ dev: "v1", prefixlen: 16, scope: 253, scope_name: "link", label: "v1" });
      await after("link-scope addr del", () => ip(ns, "addr", "del", "169.254.9.1/16", "dev", "v1"), isAddr("RTM_DELADDR", "169.254.9.1"));
    }, 20_000);

    test("IPv6 address add and delete: address, prefixlen, scope, nodad", async () => {
      const isAddr = (op: string, a: string) => (e: NlEvent) => e.netlink.msg_type_name === op && e.netlink.addr?.address === a;
      const add = await after("v6 addr add", () => ip(ns, "-6", "addr", "add", "2001:db8:a::1/64", "dev", "v0", "nodad"), isAddr("RTM_NEWADDR", "2001:db8:a::1"));
      expect(add.netlink.addr).toMatchObject({ family: "inet6", dev: "v0", prefixlen: 64, scope: 0, scope_name: "global" });
      expect(add.netlink.addr!.flags).toContain("nodad");
      expect(add.netlink.addr!.flags).not.toContain("tentative");
      const del = await after("v6 addr del", () => ip(ns, "-6", "addr", "del", "2001:db8:a::1/64", "dev", "v0"), isAddr("RTM_DELADDR", "2001:db8:a::1"));
      expect(del.netlink.addr).toMatchObject({ family: "inet6", dev: "v0", prefixlen: 64, scope_name: "global" });
    }, 20_000);

    test("routes added in tables 13-19 with protocols 186 and 201", async () => {
      const from = ev.cursor();
      for (let t = 13; t <= 19; t++) {
        ip(ns, "route", "add", `172.24.${t}.0/24`, "via", "10.9.0.2", "table", `${t}`, "proto", t % 2 ? "186" : "201");
      }
      for (let t = 13; t <= 19; t++) {
        const e = await ev.waitFor(`route table ${t}`, route("RTM_NEWROUTE", `172.24.${t}.0/24`, t), from);
        expect(e.netlink.route).toMatchObject({
          family: "inet", type_name: "unicast", table: t, table_name: `${t}`, protocol: t % 2 ? 186 : 201,
          protocol_name: t % 2 ? "bgp" : "201", scope: 0, gateway: "10.9.0.2", dev: "v0", flags: [],
        });
        expect(e.netlink.route!.metric ?? 0).toBe(0);
      }
      // exactly one event per route
      expect(ev.since(from, (e) => e.netlink.route?.dst.startsWith("172.24.") ?? false).length).toBe(7);
    }, 20_000);

    test("host and default routes: dst as CIDR", async () => {
      const h = await after("host route", () => ip(ns, "route", "add", "10.50.0.1", "via", "10.9.0.2", "table", "12", "proto", "186"), route("RTM_NEWROUTE", "10.50.0.1/32", 12));
      expect(h.netlink.route!.protocol).toBe(186);
      const d = await after("v4 default", () => ip(ns, "route", "add", "default", "via", "10.9.0.2", "table", "17", "proto", "201"), route("RTM_NEWROUTE", "0.0.0.0/0", 17));
      expect(d.netlink.route).toMatchObject({ gateway: "10.9.0.2", protocol: 201 });
      const d6 = await after("v6 default", () => ip(ns, "-6", "route", "add", "default", "via", "2001:db8:9::2", "table", "17", "proto", "201"), route("RTM_NEWROUTE", "::/0", 17));
      expect(d6.netlink.route).toMatchObject({ family: "inet6", gateway: "2001:db8:9::2", protocol: 201 });
      await after("v4 default del", () => ip(ns, "route", "del", "default", "table", "17"), route("RTM_DELROUTE", "0.0.0.0/0", 17));
      await after("v6 default del", () => ip(ns, "-6", "route", "del", "default", "table", "17"), route("RTM_DELROUTE", "::/0", 17));
    }, 20_000);

    test("route replace: new gateway, NLM_F_REPLACE in the notification", async () => {
      const e = await after("replace", () => ip(ns, "route", "replace", "172.20.10.0/24", "via", "10.9.0.3", "table", "10", "proto", "201"),
        route("RTM_NEWROUTE", "172.20.10.0/24", 10));
      expect(e.netlink.route).toMatchObject({ gateway: "10.9.0.3", protocol: 201, dev: "v0" });
      expect(e.netlink.msg_flags & NLM_F_REPLACE).toBe(NLM_F_REPLACE);
    }, 20_000);

    test("route delete: RTM_DELROUTE with the route's table, protocol and gateway", async () => {
      const e = await after("delete", () => ip(ns, "route", "del", "172.20.11.0/24", "table", "11"), route("RTM_DELROUTE", "172.20.11.0/24", 11));
      expect(e.type).toBe("route");
      expect(e.netlink.route).toMatchObject({ protocol: 201, gateway: "10.9.0.2", dev: "v0" });
      const e6 = await after("v6 delete", () => ip(ns, "-6", "route", "del", "2001:db8:11::/48", "table", "11"), route("RTM_DELROUTE", "2001:db8:11::/48", 11));
      expect(e6.netlink.route).toMatchObject({ family: "inet6", protocol: 201, gateway: "2001:db8:9::2", metric: 1024 });
    }, 20_000);

    test("onlink route: flags contains onlink", async () => {
      const e = await after("onlink", () => ip(ns, "route", "add", "172.21.15.0/24", "via", "10.9.9.9", "dev", "v0", "onlink", "table", "15", "proto", "186", "metric", "50"),
        route("RTM_NEWROUTE", "172.21.15.0/24", 15));
      expect(e.netlink.route!.flags).toContain("onlink");
      expect(e.netlink.route).toMatchObject({ gateway: "10.9.9.9", dev: "v0", protocol: 186, protocol_name: "bgp", metric: 50 });
      const d = await after("onlink del", () => ip(ns, "route", "del", "172.21.15.0/24", "table", "15", "metric", "50"), route("RTM_DELROUTE", "172.21.15.0/24", 15));
      expect(d.netlink.route!.flags).toContain("onlink");
    }, 20_000);

    test("IPv6 routes: add and delete in tables 15-16 with metric and pref", async () => {
      const a = await after("v6 add", () => ip(ns, "-6", "route", "add", "2001:db8:15::/48", "via", "2001:db8:9::2", "table", "15", "proto", "186"),
        route("RTM_NEWROUTE", "2001:db8:15::/48", 15));
      expect(a.netlink.route).toMatchObject({ family: "inet6", protocol: 186, gateway: "2001:db8:9::2", dev: "v0", metric: 1024, pref: "medium" });
      const h = await after("v6 host", () => ip(ns, "-6", "route", "add", "2001:db8:16::5", "via", "2001:db8:9::2", "table", "16", "proto", "201", "metric", "5"),
        route("RTM_NEWROUTE", "2001:db8:16::5/128", 16));
      expect(h.netlink.route).toMatchObject({ protocol: 201, metric: 5 });
      await after("v6 del", () => ip(ns, "-6", "route", "del", "2001:db8:15::/48", "table", "15"), route("RTM_DELROUTE", "2001:db8:15::/48", 15));
    }, 20_000);

    test("metric change: replace with another metric adds a route, the old one is deleted by metric", async () => {
      const from = ev.cursor();
      ip(ns, "route", "replace", "172.21.10.0/24", "via", "10.9.9.9", "dev", "v0", "onlink", "table", "10", "proto", "186", "metric", "60");
      const n = await ev.waitFor("metric 60", route("RTM_NEWROUTE", "172.21.10.0/24", 10), from);
      expect(n.netlink.route).toMatchObject({ metric: 60, protocol: 186 });
      ip(ns, "route", "del", "172.21.10.0/24", "table", "10", "metric", "50");
      const d = await ev.waitFor("metric 50 gone", route("RTM_DELROUTE", "172.21.10.0/24", 10), from);
      expect(d.netlink.route!.metric).toBe(50);
      // and in IPv6: add at metric 10 beside the 1024 one
      const six = await after("v6 metric 10", () => ip(ns, "-6", "route", "add", "2001:db8:10::/48", "via", "2001:db8:9::2", "table", "10", "proto", "201", "metric", "10"),
        route("RTM_NEWROUTE", "2001:db8:10::/48", 10));
      expect(six.netlink.route!.metric).toBe(10);
    }, 20_000);

    test("multipath routes, IPv4 and IPv6: each nexthop with gateway, dev and weight", async () => {
      const m4 = await after("v4 multipath", () => ip(ns, "route", "add", "172.22.0.0/16", "table", "14", "proto", "201",
        "nexthop", "via", "10.9.0.2", "weight", "1", "nexthop", "via", "10.9.0.3", "weight", "2"), route("RTM_NEWROUTE", "172.22.0.0/16", 14));
      expect(m4.netlink.route!.gateway).toBeUndefined();
      expect(m4.netlink.route!.nexthops).toEqual([
        expect.objectContaining({ gateway: "10.9.0.2", dev: "v0", weight: 1 }),
        expect.objectContaining({ gateway: "10.9.0.3", dev: "v0", weight: 2 }),
      ]);
      const m6 = await after("v6 multipath", () => ip(ns, "-6", "route", "add", "2001:db8:77::/48", "table", "16", "proto", "186",
        "nexthop", "via", "2001:db8:9::2", "dev", "v0", "nexthop", "via", "2001:db8:9::3", "dev", "v0"), route("RTM_NEWROUTE", "2001:db8:77::/48", 16));
      expect(m6.netlink.route!.nexthops?.map((n) => n.gateway)).toEqual(["2001:db8:9::2", "2001:db8:9::3"]);
      const d4 = await after("v4 multipath del", () => ip(ns, "route", "del", "172.22.0.0/16", "table", "14"), route("RTM_DELROUTE", "172.22.0.0/16", 14));
      expect(d4.netlink.route!.nexthops?.length).toBe(2);
      await after("v6 multipath del", () => ip(ns, "-6", "route", "del", "2001:db8:77::/48", "table", "16"), route("RTM_DELROUTE", "2001:db8:77::/48", 16));
    }, 20_000);

    test("neighbours: permanent entries added and deleted, IPv4 and IPv6", async () => {
      const neigh = (op: string, dst: string) => (e: NlEvent) => e.type === "neigh" && e.netlink.msg_type_name === op && e.netlink.neigh?.dst === dst;
      const a = await after("neigh add", () => ip(ns, "neigh", "add", "10.9.0.77", "lladdr", "02:00:00:00:00:77", "dev", "v0", "nud", "permanent"), neigh("RTM_NEWNEIGH", "10.9.0.77"));
      expect(a.netlink.neigh).toMatchObject({ family: "inet", dev: "v0", lladdr: "02:00:00:00:00:77", state: ["PERMANENT"] });
      const a6 = await after("v6 neigh add", () => ip(ns, "-6", "neigh", "add", "2001:db8:9::77", "lladdr", "02:00:00:00:00:78", "dev", "v0", "nud", "permanent"), neigh("RTM_NEWNEIGH", "2001:db8:9::77"));
      expect(a6.netlink.neigh).toMatchObject({ family: "inet6", dev: "v0", lladdr: "02:00:00:00:00:78", state: ["PERMANENT"] });
      const d = await after("neigh del", () => ip(ns, "neigh", "del", "10.9.0.77", "dev", "v0"), neigh("RTM_DELNEIGH", "10.9.0.77"));
      expect(d.netlink.neigh!.dev).toBe("v0");
      await after("v6 neigh del", () => ip(ns, "-6", "neigh", "del", "2001:db8:9::77", "dev", "v0"), neigh("RTM_DELNEIGH", "2001:db8:9::77"));
    }, 20_000);

    test("rules: priority, table, src, fwmark; added and deleted", async () => {
      const rule = (op: string, prio: number) => (e: NlEvent) => e.type === "rule" && e.netlink.msg_type_name === op && e.netlink.rule?.priority === prio;
      const a = await after("rule add", () => ip(ns, "rule", "add", "from", "10.9.0.0/24", "table", "10", "priority", "1000"), rule("RTM_NEWRULE", 1000));
      expect(a.netlink.rule).toMatchObject({ family: "inet", table: 10, src: "10.9.0.0/24", action_name: "to_tbl" });
      // the kernel's "unset" (-1) is left out, as `ip -j rule` leaves it out
      expect(a.netlink.rule!.suppress_prefixlen).toBeUndefined();
      const a6 = await after("v6 rule add", () => ip(ns, "-6", "rule", "add", "from", "2001:db8:9::/64", "table", "11", "priority", "1001"), rule("RTM_NEWRULE", 1001));
      expect(a6.netlink.rule).toMatchObject({ family: "inet6", table: 11, src: "2001:db8:9::/64" });
      const fw = await after("fwmark rule", () => ip(ns, "rule", "add", "fwmark", "0x10", "table", "12", "priority", "1002"), rule("RTM_NEWRULE", 1002));
      expect(fw.netlink.rule).toMatchObject({ table: 12, fwmark: 16 });
      const d = await after("rule del", () => ip(ns, "rule", "del", "from", "10.9.0.0/24", "table", "10", "priority", "1000"), rule("RTM_DELRULE", 1000));
      expect(d.netlink.rule).toMatchObject({ table: 10, src: "10.9.0.0/24" });
      await after("v6 rule del", () => ip(ns, "-6", "rule", "del", "priority", "1001"), rule("RTM_DELRULE", 1001));
      await after("fwmark rule del", () => ip(ns, "rule", "del", "priority", "1002"), rule("RTM_DELRULE", 1002));
    }, 20_000);

    test("nexthop objects and a group, a route using the group, then deleted", async () => {
      const nh = (op: string, id: number) => (e: NlEvent) => e.type === "nexthop" && e.netlink.msg_type_name === op && e.netlink.nexthop?.id === id;
      const a = await after("nh 42", () => ip(ns, "nexthop", "add", "id", "42", "via", "10.9.0.2", "dev", "v0", "proto", "201"), nh("RTM_NEWNEXTHOP", 42));
      expect(a.netlink.nexthop).toMatchObject({ family: "inet", gateway: "10.9.0.2", dev: "v0", protocol: 201 });
      await after("nh 43", () => ip(ns, "nexthop", "add", "id", "43", "via", "10.9.0.3", "dev", "v0", "proto", "201"), nh("RTM_NEWNEXTHOP", 43));
      const g = await after("group 44", () => ip(ns, "nexthop", "add", "id", "44", "group", "42/43,3", "proto", "186"), nh("RTM_NEWNEXTHOP", 44));
      expect(g.netlink.nexthop!.group).toEqual([{ id: 42, weight: 1 }, { id: 43, weight: 3 }]);
      expect(g.netlink.nexthop!.protocol).toBe(186);
      const r = await after("route via nhid", () => ip(ns, "route", "add", "172.23.0.0/24", "nhid", "44", "table", "17", "proto", "186"), route("RTM_NEWROUTE", "172.23.0.0/24", 17));
      expect(r.netlink.route!.nhid).toBe(44);
      await after("route via nhid del", () => ip(ns, "route", "del", "172.23.0.0/24", "table", "17"), route("RTM_DELROUTE", "172.23.0.0/24", 17));
      await after("group del", () => ip(ns, "nexthop", "del", "id", "44"), nh("RTM_DELNEXTHOP", 44));
      const d = await after("nh 42 del", () => ip(ns, "nexthop", "del", "id", "42"), nh("RTM_DELNEXTHOP", 42));
      expect(d.netlink.nexthop).toMatchObject({ gateway: "10.9.0.2", dev: "v0" });
      await after("nh 43 del", () => ip(ns, "nexthop", "del", "id", "43"), nh("RTM_DELNEXTHOP", 43));
    }, 20_000);

    test("every line was a whole JSON event without decode errors; SIGTERM exits 0", async () => {
      const code = await child!.stop();
      expect(code).toBe(0);
      const evs = ev.events;
      expect(evs.length).toBeGreaterThan(50);
      expect(evs.filter((e) => e.decode_error !== undefined).map((e) => e.decode_error)).toEqual([]);
      expect(evs.filter((e) => e.type === "unknown" || e.type === "error")).toEqual([]);
      for (const e of evs) {
        expect(e.netlink.protocol_name).toBe("NETLINK_ROUTE");
        expect(e.msg_type).toBe(e.netlink.msg_type);
      }
      expect(child!.err.lines.filter((l) => /warn|error/i.test(l))).toEqual([]);
    }, 30_000);
  });
}
