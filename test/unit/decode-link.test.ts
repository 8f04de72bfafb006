// RTM_NEWLINK / RTM_DELLINK from the kernel against `ip -N -j -d link show`.
import { describe, expect, test } from "bun:test";
import { BasicContext } from "../../src/decode/context.ts";
import { IFF_LOOPBACK, IFF_UP, RTM_DELLINK, RTM_NEWLINK } from "../../src/uapi/linux.gen.ts";
import {
  bareNames, contextWithLinks, decodeOne, errorTotal, fixtureNames, ipJson, unexplainedUnknownAttrs,
} from "../fixtures/load.ts";

type Ip = Record<string, unknown>;
const LINKS = fixtureNames("link-");

describe("link fixtures against iproute2", () => {
  test("fixtures are present", () => expect(LINKS.length).toBeGreaterThanOrEqual(6));
  for (const name of LINKS.filter((n) => !n.startsWith("link-del-"))) {
    test(name, () => {
      const ctx = contextWithLinks();
      const before = errorTotal(ctx);
      const ev = decodeOne(name, ctx);
      expect(ev.type).toBe("link");
      expect(ev.msg_type).toBe(RTM_NEWLINK);
      expect(ev.decode_error).toBeUndefined();
      expect(errorTotal(ctx)).toBe(before);
      expect(unexplainedUnknownAttrs(ctx)).toEqual([]);
      const l = ev.netlink.link!;
      const ip = ipJson(name)! as Ip;
      expect(l.ifindex).toBe(ip.ifindex as number);
      expect(l.ifname).toBe(ip.ifname as string);
      for (const k of ["mtu", "min_mtu", "max_mtu", "txqlen", "qdisc", "address", "broadcast", "operstate"] as const) {
        expect(l[k]).toBe(ip[k] as never);
      }
      expect(l.group).toBe(Number(ip.group));
      // -N prints the ARPHRD number in brackets
      expect(`[${l.link_type}]`).toBe(ip.link_type as string);
      const info = ip.linkinfo as Ip | undefined;
      expect(l.kind).toBe(info?.info_kind as string | undefined);
      expect(l.slave_kind).toBe(info?.info_slave_kind as string | undefined);
      expect(l.master_name).toBe(ip.master as string | undefined);
      // v1 is announced before its peer exists (IFLA_LINK 0); ip's view was taken after both were
      if (ip.link !== undefined && !(name === "link-new-veth-v1" && l.link === 0)) expect(ctx.ifname(l.link!)).toBe(ip.link as string);
      // ip hides RUNNING and adds M-DOWN (a state, not a flag)
      const ours = l.flags.filter((f) => f !== "RUNNING").sort();
      expect(ours).toEqual((ip.flags as string[]).filter((f) => f !== "M-DOWN").sort());
    });
  }
});

describe("link fixtures: details", () => {
  test("loopback from a dump", () => {
    const l = decodeOne("link-dump-lo", new BasicContext(bareNames())).netlink.link!;
    expect(l.flags_raw & IFF_LOOPBACK).toBe(IFF_LOOPBACK);
    expect(l.flags_raw & IFF_UP).toBe(IFF_UP);
    expect(l).toMatchObject({ ifname: "lo", link_type_name: "loopback", operstate: "UNKNOWN", mtu: 65536 });
  });
  test("bridge port names its master once the bridge was seen", () => {
    const ctx = new BasicContext(bareNames());
    const port = decodeOne("link-new-v1-master-br0", ctx).netlink.link!;
    expect(port.master).toBeGreaterThan(0);
    expect(port.master_name).toBeUndefined();
    decodeOne("link-new-bridge-br0", ctx);
    expect(decodeOne("link-new-v1-master-br0", ctx).netlink.link!.master_name).toBe("br0");
    expect(port.kind).toBe("veth");
    expect(port.slave_kind).toBe("bridge");
  });
  test("RTM_DELLINK forgets the name", () => {
    const ctx = new BasicContext(bareNames());
    const br = decodeOne("link-new-bridge-br0", ctx).netlink.link!;
    expect(ctx.ifname(br.ifindex)).toBe("br0");
    const ev = decodeOne("link-del-bridge-br0", ctx);
    expect(ev.msg_type).toBe(RTM_DELLINK);
    expect(ev.netlink.link!).toMatchObject({ ifindex: br.ifindex, ifname: "br0", kind: "bridge" });
    expect(ctx.ifname(br.ifindex)).toBeUndefined();
  });
});
