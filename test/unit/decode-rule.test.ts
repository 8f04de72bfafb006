// RTM_NEWRULE / RTM_DELRULE from the kernel against `ip -N -j rule show pref N`.
import { describe, expect, test } from "bun:test";
import { FR_ACT_TO_TBL, RTM_DELRULE, RTM_NEWRULE } from "../../src/uapi/linux.gen.ts";
import { contextWithLinks, decodeOne, errorTotal, fixtureNames, ipJson, unexplainedUnknownAttrs } from "../fixtures/load.ts";

const RULES = fixtureNames("rule-");

describe("rule fixtures against iproute2", () => {
  test("fixtures are present", () => expect(RULES.length).toBeGreaterThanOrEqual(3));
  for (const name of RULES) {
    test(name, () => {
      const ctx = contextWithLinks();
      const before = errorTotal(ctx);
      const ev = decodeOne(name, ctx);
      const isDel = name.startsWith("rule-del-");
      expect(ev.msg_type).toBe(isDel ? RTM_DELRULE : RTM_NEWRULE);
      expect(ev.decode_error).toBeUndefined();
      expect(errorTotal(ctx)).toBe(before);
      expect(unexplainedUnknownAttrs(ctx)).toEqual([]);
      const r = ev.netlink.rule!;
      const ip = ipJson(isDel ? "rule-new-v4-from-table12-pref1000" : name)!;
      expect(r.priority).toBe(ip.priority as number);
      expect(r.src).toBe(`${ip.src}/${ip.srclen}`);
      expect(r.dst).toBeUndefined();
      expect(r.table).toBe(Number(ip.table));
      expect(r.action).toBe(FR_ACT_TO_TBL);
    });
  }
  test("literal values", () => {
    const r = decodeOne("rule-new-v4-from-table12-pref1000", contextWithLinks()).netlink.rule!;
    expect(r).toMatchObject({ family: "inet", src: "10.1.0.0/16", table: 12, priority: 1000, action_name: "to_tbl" });
    const r6 = decodeOne("rule-new-v6-from-table13-pref1001", contextWithLinks()).netlink.rule!;
    expect(r6).toMatchObject({ family: "inet6", src: "2001:db8::/32", table: 13, priority: 1001 });
  });
});
