/**
 * Without CAP_NET_ADMIN the kernel refuses netfilter's groups (nfnetlink lets only privileged
 * sockets receive). nlmon must say which capability is missing and how to grant it, and keep the
 * protocols that work: route events still arrive. The capability is taken from a root process
 * with `setpriv --bounding-set=-net_admin`, so nothing else about the run changes. sock_diag's
 * destroy groups need no privilege (the kernel allows them to anyone): they open in the same run.
 */
import { describe, expect, test } from "bun:test";
import { BACKENDS, BIN, ip, liveFile, parseEvents, sleep, startNlmon, writeConfig } from "./lib.ts";

const { dir, freshNs } = liveFile("nfcaps", [["setpriv", "util-linux"]]);

const CFG = writeConfig(dir, "caps.yaml", "netlink:\n  protocols: { route: true, netfilter: true, sock_diag: true }\n");

describe("netfilter without CAP_NET_ADMIN", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: the refusal names the capability and how to grant it; route and sock_diag run on`, async () => {
      const ns = freshNs(`cap${b.name}`);
      const mon = startNlmon({ ns, bin: "setpriv", args: ["--bounding-set=-net_admin", BIN, "--config", CFG], env: b.env });
      try {
        expect(await mon.err.waitLine((l) => l.includes("NETLINK_ROUTE") && l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
        const refusal = mon.err.lines.find((l) => l.includes("protocols.netfilter"));
        expect(refusal).toBeDefined();
        expect(refusal).toContain("CAP_NET_ADMIN");
        expect(refusal).toContain("setcap cap_net_admin+ep");
        expect(refusal).toContain("AmbientCapabilities=CAP_NET_ADMIN");
        expect(refusal).toContain("the other protocols run on");
        // sock_diag's groups opened without the capability
        expect(mon.err.lines.some((l) => l.includes("protocols.sock_diag"))).toBe(false);
        ip(ns, "link", "add", "capv0", "type", "veth", "peer", "name", "capv1");
        for (let i = 0; i < 50 && !mon.out.lines.some((l) => l.includes('"capv0"')); i++) await sleep(100);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
      const links = parseEvents(mon.out.lines).filter((e) => e.type === "link" && e.netlink.link?.ifname === "capv0");
      expect(links.length).toBeGreaterThan(0);
    }, 60_000);
  }
});
