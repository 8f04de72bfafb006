/**
 * What the library API logs about its sockets, in a namespace of its own: the manager API resolves
 * a family before any protocol is open and opens NETLINK_GENERIC alone; the unified API opens both.
 * Every line names its socket and its size; none prints an empty value or a joined list.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { delNs, ensureLibnl, must, nsName, ROOT } from "./lib.ts";

const NS = nsName("apilog");
const BUN = join(ROOT, "node_modules/.bin/bun");
// inside the repo, so "nlmon" resolves to this package as it would for a user
const file = join(ROOT, "test", `.api-log-${process.pid}.ts`);

beforeAll(() => {
  ensureLibnl();
  must(["ip", "netns", "add", NS]);
  must(["ip", "-n", NS, "link", "set", "lo", "up"]);
  writeFileSync(file, `
    import * as api from "nlmon";
    const mgr = api.nlmon_nl_manager_init({ log_level: "info" });
    console.log("nlctrl", await api.nlmon_nl_resolve_family(mgr, "nlctrl"));
    await api.nlmon_nl_enable_generic(mgr);
    await api.nlmon_nl_manager_destroy(mgr);
    console.error("-- unified");
    const ctx = api.nlmon_netlink_init({ use_libnl: false, log_level: "info",
      netlink: { protocols: { route: true, generic: true, sock_diag: false, netfilter: false } } });
    await api.nlmon_netlink_enable(ctx, api.NLMON_PROTO_ROUTE);
    await api.nlmon_netlink_destroy(ctx);
  `);
});
afterAll(() => {
  rmSync(file, { force: true });
  delNs(NS);
});

describe("library API start-up lines", () => {
  test("each socket is named with its own receive buffer; no empty value, no joined list", () => {
    const r = Bun.spawnSync(["ip", "netns", "exec", NS, BUN, file], { stdout: "pipe", stderr: "pipe", timeout: 30000 });
    const err = r.stderr.toString();
    expect(r.exitCode, err).toBe(0);
    expect(r.stdout.toString()).toMatch(/^nlctrl \d+$/m);
    const netlink = err.split("\n").filter((l) => l.startsWith("nlmon: netlink:") || l === "-- unified");
    const size = "\\d+ bytes( \\(forced\\))?";
    const lib = "\\(libnl-3\\.so\\.200 \\+ libnl-genl-3\\.so\\.200\\)";
    expect(netlink.length).toBe(5);
    expect(netlink[0]).toMatch(new RegExp(`^nlmon: netlink: backend libnl ${lib}: no netlink socket open yet$`));
    expect(netlink[1]).toMatch(new RegExp(`^nlmon: netlink: NETLINK_GENERIC: backend libnl ${lib}, receive buffer ${size}$`));
    expect(netlink[2]).toBe("-- unified");
    expect(netlink[3]).toMatch(new RegExp(`^nlmon: netlink: NETLINK_ROUTE: backend legacy, receive buffer ${size}, caches: link addr$`));
    expect(netlink[4]).toMatch(new RegExp(`^nlmon: netlink: NETLINK_GENERIC: backend legacy, receive buffer ${size}$`));
    expect(err).not.toMatch(/receive buffer\s+bytes|\d,\d+ bytes/);
  }, 40000);
});
