import { describe, expect, test } from "bun:test";
import { FilterError, parseFilter } from "../../src/filter/expr.ts";
import type { NlEvent } from "../../src/event/model.ts";
import { NETLINK_GENERIC, NETLINK_ROUTE, RTM_DELROUTE, RTM_NEWROUTE, RTPROT_BGP } from "../../src/uapi/linux.gen.ts";

function route(over: Partial<NlEvent["netlink"]["route"]> & object = {}, msgType = RTM_NEWROUTE, protocol = NETLINK_ROUTE): NlEvent {
  return {
    type: "route", protocol, msg_type: msgType,
    netlink: {
      protocol, protocol_name: "NETLINK_ROUTE", msg_type: msgType, msg_type_name: msgType === RTM_NEWROUTE ? "RTM_NEWROUTE" : "RTM_DELROUTE", msg_flags: 0,
      route: {
        family: "inet", type: 1, type_name: "unicast", dst: "10.0.0.0/8", table: 12, table_name: "12", protocol: RTPROT_BGP,
        protocol_name: "bgp", scope: 0, scope_name: "global", flags: ["onlink"], flags_raw: 4, ...over,
      },
    },
  };
}

describe("filter expressions", () => {
  test("the guide's example, with the constant taken from the headers", () => {
    const f = parseFilter("netlink.protocol == NETLINK_ROUTE");
    expect(f(route())).toBe(true);
    expect(f(route({}, RTM_NEWROUTE, NETLINK_GENERIC))).toBe(false);
  });
  test("and, or, not, parentheses, numeric comparison", () => {
    const f = parseFilter("type == route && (netlink.route.table >= 10 && netlink.route.table <= 19) && !(netlink.msg_type == RTM_DELROUTE)");
    expect(f(route())).toBe(true);
    expect(f(route({ table: 254 }))).toBe(false);
    expect(f(route({}, RTM_DELROUTE))).toBe(false);
    expect(parseFilter("netlink.route.table == 1 || netlink.route.table == 12")(route())).toBe(true);
  });
  test("lists match when they contain the value; != when they don't", () => {
    expect(parseFilter("netlink.route.flags == onlink")(route())).toBe(true);
    expect(parseFilter("netlink.route.flags != onlink")(route())).toBe(false);
    expect(parseFilter("netlink.route.flags != dead")(route())).toBe(true);
  });
  test("regular expressions, quoted strings, missing fields", () => {
    expect(parseFilter('netlink.msg_type_name =~ "^RTM_NEW"')(route())).toBe(true);
    expect(parseFilter("netlink.route.dst == '10.0.0.0/8'")(route())).toBe(true);
    expect(parseFilter("netlink.route.gateway == 1.2.3.4")(route())).toBe(false);
    expect(parseFilter("netlink.route.gateway != 1.2.3.4")(route())).toBe(true);
  });
  test("the empty filter passes everything", () => {
    expect(parseFilter("")(route())).toBe(true);
  });
  test("syntax errors name the column", () => {
    expect(() => parseFilter("type ==")).toThrow(FilterError);
    expect(() => parseFilter("type == route &&")).toThrow(/column/);
    expect(() => parseFilter("(type == route")).toThrow(/expected '\)'/);
    expect(() => parseFilter("type ~ route")).toThrow(/column 6/);
    expect(() => parseFilter('x =~ "("')).toThrow(/regular expression/);
  });
});
