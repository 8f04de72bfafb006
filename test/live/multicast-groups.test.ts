/**
 * `multicast_groups` is informational, as the migration guide calls it: the guide's list (link,
 * ipv4_ifaddr, ipv6_ifaddr) beside `protocols.route: true` still gives route, rule and neighbour
 * events (it used to silence them), and nlmon says at start that the list does not restrict.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKENDS, delNs, ensureBinary, ensureLibnl, EventStream, ip, makeNs, nsName, startNlmon, tempDir } from "./lib.ts";

const dir = tempDir("mcast");
const made: string[] = [];
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
}, 600_000);
afterAll(() => {
  for (const ns of made) delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});

describe("multicast_groups as the guide lists them", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: route, rule and neighbour events still arrive; the list is named informational at start`, async () => {
      const ns = nsName(`mcast${b.name}`);
      made.push(ns);
      await makeNs(ns);
      const cfg = join(dir, `${b.name}.yaml`);
      writeFileSync(cfg, "netlink:\n  protocols:\n    route: true\n  multicast_groups:\n    - link\n    - ipv4_ifaddr\n    - ipv6_ifaddr\n");
      const mon = startNlmon({ ns, args: ["--config", cfg], env: b.env });
      const ev = new EventStream(mon);
      try {
        expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
        expect(mon.err.lines.some((l) => l.includes("netlink.multicast_groups (link, ipv4_ifaddr, ipv6_ifaddr) is informational"))).toBe(true);
        const from = ev.cursor();
        ip(ns, "link", "add", "vm0", "type", "veth", "peer", "name", "vm1");
        ip(ns, "addr", "add", "10.66.0.1/24", "dev", "v0");
        ip(ns, "route", "add", "10.67.0.0/24", "via", "10.9.0.2", "table", "20", "proto", "201");
        ip(ns, "-6", "route", "add", "2001:db8:67::/48", "via", "2001:db8:9::2", "table", "20");
        ip(ns, "rule", "add", "from", "10.68.0.0/16", "table", "20", "pref", "1200");
        ip(ns, "neigh", "add", "10.9.0.77", "lladdr", "02:00:00:00:00:77", "dev", "v0");
        // the listed groups
        await ev.waitFor("link vm0", (e) => e.netlink.link?.ifname === "vm0", from);
        await ev.waitFor("addr 10.66.0.1", (e) => e.netlink.addr?.local === "10.66.0.1", from);
        // and the ones the list leaves out, which it used to silence
        await ev.waitFor("route 10.67.0.0/24", (e) => e.netlink.route?.dst === "10.67.0.0/24", from);
        await ev.waitFor("route 2001:db8:67::/48", (e) => e.netlink.route?.dst === "2001:db8:67::/48", from);
        await ev.waitFor("rule pref 1200", (e) => e.netlink.rule?.priority === 1200, from);
        await ev.waitFor("neigh 10.9.0.77", (e) => e.netlink.neigh?.dst === "10.9.0.77", from);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
    }, 60_000);
  }

  test("a listed group nlmon does not join is named at start", async () => {
    const ns = nsName("mcastoff");
    made.push(ns);
    await makeNs(ns);
    const cfg = join(dir, "off.yaml");
    writeFileSync(cfg, "netlink:\n  protocols: { route: false, generic: true }\n  multicast_groups: [link, nexthop]\n");
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    try {
      expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
      expect(mon.err.lines).toContain("nlmon: warn: config: netlink.multicast_groups lists 'link', 'nexthop', which nlmon does not join: protocols.route is off");
    } finally {
      expect(await mon.stop()).toBe(0);
    }
  }, 60_000);
});
