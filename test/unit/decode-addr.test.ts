// RTM_NEWADDR / RTM_DELADDR from the kernel against `ip -N -j addr show`.
import { describe, expect, test } from "bun:test";
import { IFA_F_NODAD, IFA_F_PERMANENT, RTM_DELADDR, RTM_NEWADDR } from "../../src/uapi/linux.gen.ts";
import { contextWithLinks, decodeOne, errorTotal, fixtureNames, ipJson, unexplainedUnknownAttrs } from "../fixtures/load.ts";

type Ip = Record<string, unknown>;
const ADDRS = fixtureNames("addr-");
const life = (v: number) => (v === 0xffffffff ? "forever" : v);

describe("addr fixtures against iproute2", () => {
  test("fixtures are present", () => expect(ADDRS.length).toBeGreaterThanOrEqual(4));
  for (const name of ADDRS) {
    test(name, () => {
      const ctx = contextWithLinks();
      const before = errorTotal(ctx);
      const ev = decodeOne(name, ctx);
      const isDel = name.startsWith("addr-del-");
      expect(ev.msg_type).toBe(isDel ? RTM_DELADDR : RTM_NEWADDR);
      expect(ev.decode_error).toBeUndefined();
      expect(errorTotal(ctx)).toBe(before);
      expect(unexplainedUnknownAttrs(ctx)).toEqual([]);
      const a = ev.netlink.addr!;
      const link = ipJson(isDel ? "addr-new-v6-nodad" : name)! as Ip;
      const mine = a.local ?? a.address;
      const info = (link.addr_info as Ip[]).find((x) => x.local === mine);
      expect(info).toBeDefined();
      expect(a.dev).toBe(link.ifname as string);
      expect(a.ifindex).toBe(link.ifindex as number);
      expect(a.family).toBe(info!.family as string);
      expect(a.prefixlen).toBe(info!.prefixlen as number);
      expect(a.scope).toBe(Number(info!.scope));
      expect(a.label).toBe(info!.label as string | undefined);
      expect(a.valid_life_time).toBe(life(info!.valid_life_time as number));
      expect(a.preferred_life_time).toBe(life(info!.preferred_life_time as number));
      expect(a.flags.includes("nodad")).toBe(info!.nodad === true);
    });
  }
  test("flag bits", () => {
    const a = decodeOne("addr-new-v6-nodad", contextWithLinks()).netlink.addr!;
    expect(a.flags_raw & IFA_F_NODAD).toBe(IFA_F_NODAD);
    expect(a.flags_raw & IFA_F_PERMANENT).toBe(IFA_F_PERMANENT);
    expect(a).toMatchObject({ family: "inet6", address: "2001:db8:1::1", prefixlen: 64, dev: "v0" });
    const v4 = decodeOne("addr-new-v4", contextWithLinks()).netlink.addr!;
    expect(v4).toMatchObject({ family: "inet", local: "10.1.0.1", prefixlen: 24, label: "v0", scope_name: "global" });
  });
});
