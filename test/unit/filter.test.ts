import { describe, expect, test } from "bun:test";
import { FilterError, MAX_NESTING, parseFilter } from "../../src/filter/expr.ts";
import type { NlEvent } from "../../src/event/model.ts";
import { NETLINK_GENERIC, NETLINK_ROUTE, RTM_DELROUTE, RTM_NEWROUTE, RTPROT_BGP, RTPROT_STATIC } from "../../src/uapi/linux.gen.ts";

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
    expect(() => parseFilter('type =~ "("')).toThrow(/regular expression/);
  });
});

function errorOf(src: string): FilterError {
  try {
    parseFilter(src);
  } catch (e) {
    expect(e).toBeInstanceOf(FilterError);
    return e as FilterError;
  }
  throw new Error(`accepted: ${src}`);
}

describe("filters that could never match are rejected", () => {
  test("a misspelt field names its column and the nearest field", () => {
    const e = errorOf("netlink.route.protcol == 201");
    expect(e.message).toBe(`filter: unknown field 'netlink.route.protcol' at column 15 of "netlink.route.protcol == 201"; did you mean 'protocol'?`);
    expect(e.column).toBe(14);
    expect(errorOf("type == route && protocl == 0").message).toMatch(/unknown field 'protocl' at column 18 .*did you mean 'protocol'\?$/);
  });
  test("a path missing its start, or a field of another body, says where the field is", () => {
    expect(errorOf("route.protocol == 201").message).toMatch(/did you mean 'netlink\.route\.protocol'\?$/);
    expect(errorOf("netlink.link.protocol == 201").message).toMatch(
      /at column 14 .*'protocol' is a field of netlink, netlink\.route, netlink\.neigh, netlink\.rule, netlink\.nexthop, netlink\.diag, not of netlink\.link$/);
    expect(errorOf("netlink.route == x").message).toMatch(/'netlink\.route' holds fields, not a value at column 1 .*compare one of its fields: family, type/);
  });
  test("a constant the headers do not define names its column and the nearest constant", () => {
    const e = errorOf("netlink.route.protocol == RTPROT_BGPP");
    expect(e.message).toBe(`filter: unknown constant 'RTPROT_BGPP' at column 27 of "netlink.route.protocol == RTPROT_BGPP"; did you mean 'RTPROT_BGP'?`);
    expect(e.column).toBe(26);
    expect(errorOf("netlink.route.protocol == RTPROT_XYZZY").message).toContain("RTPROT_* constants: RTPROT_BABEL, RTPROT_BGP,");
  });
  test("a value of a kind the field never holds", () => {
    expect(errorOf("type == rout").message).toMatch(/^filter: type takes one of link, addr, route, .* not 'rout' at column 9 .*did you mean 'route'\?$/);
    expect(errorOf("netlink.route.protocol == bgp").message).toMatch(
      /netlink\.route\.protocol takes a number or a kernel constant, not 'bgp' .*; netlink\.route\.protocol_name holds the name$/);
    expect(errorOf("netlink.route.protocol == 'bgp'").message).toContain("not 'bgp'");
    expect(errorOf("resync == yes").message).toContain("resync takes true or false, not 'yes'");
  });
  test("what can match still does", () => {
    expect(parseFilter("netlink.route.protocol == '186'")(route())).toBe(true);
    expect(parseFilter("netlink.route.protocol == RTPROT_BGP")(route())).toBe(true);
    expect(parseFilter(`netlink.route.protocol == ${RTPROT_STATIC}`)(route())).toBe(false);
    expect(parseFilter("netlink.route.protocol_name == bgp")(route())).toBe(true);
    // in a text field an upper-case word is text, not a constant's number
    expect(parseFilter("netlink.msg_type_name == RTM_NEWROUTE")(route())).toBe(true);
    expect(parseFilter("netlink.protocol_name == NETLINK_ROUTE")(route())).toBe(true);
    expect(parseFilter("netlink.route.metrics.mtu == 1400")(route({ metrics: { mtu: 1400 } }))).toBe(true);
    expect(parseFilter("netlink.addr.valid_life_time == forever")).toBeInstanceOf(Function);
  });
  test("a field of the objects in a list matches when any of them does", () => {
    const ecmp = route({ nexthops: [{ gateway: "10.0.0.1", flags: [] }, { gateway: "10.0.0.2", flags: ["onlink"] }] });
    expect(parseFilter("netlink.route.nexthops.gateway == 10.0.0.2")(ecmp)).toBe(true);
    expect(parseFilter("netlink.route.nexthops.gateway != 10.0.0.2")(ecmp)).toBe(false);
    expect(parseFilter("netlink.route.nexthops.gateway == 10.0.0.3")(ecmp)).toBe(false);
    expect(parseFilter("netlink.route.nexthops.flags == onlink")(ecmp)).toBe(true);
    expect(parseFilter("netlink.route.nexthops.gateway == 10.0.0.2")(route())).toBe(false);
  });
});

describe("nesting is bounded", () => {
  test(`${MAX_NESTING} levels of ! and parentheses are fine, one more is a located error`, () => {
    const ok = "(".repeat(MAX_NESTING / 2) + "!".repeat(MAX_NESTING / 2) + "type == route" + ")".repeat(MAX_NESTING / 2);
    expect(parseFilter(ok)(route())).toBe(true);
    const e = errorOf("!".repeat(MAX_NESTING + 1) + "type == route");
    expect(e.column).toBe(MAX_NESTING);
    expect(e.message).toMatch(new RegExp(`^filter: more than ${MAX_NESTING} levels of '!' and parentheses at column ${MAX_NESTING + 1} of "!+type == route"$`));
  });
  test("200,000 '!' is an error, not a stack overflow, and its message stays short", () => {
    const e = errorOf("!".repeat(200_000) + "type == route");
    expect(e.message).toStartWith(`filter: more than ${MAX_NESTING} levels of '!' and parentheses at column ${MAX_NESTING + 1} of …"!!!`);
    expect(e.message.length).toBeLessThan(200);
  });
  test("a long chain of && and || is flat: it parses and evaluates without deep recursion", () => {
    const n = 50_000;
    expect(parseFilter(Array(n).fill("type == route").join(" && "))(route())).toBe(true);
    expect(parseFilter(Array(n).fill("type == link").join(" || ") + " || netlink.route.table == 12")(route())).toBe(true);
  });
});
