// The filter language beyond plain comparisons: word operators, `in` with lists and address
// prefixes, `contains`, `!~`, numbers in every notation, constants from every generated table, and
// the located errors each of them can give. Events are decoded from captured kernel messages where
// a fixture has the shape a test needs, so the filters run against what the decoders really emit.
import { describe, expect, test } from "bun:test";
import type { NlEvent } from "../../src/event/model.ts";
import { parsePrefix, format, insideTest } from "../../src/filter/cidr.ts";
import { FilterError, parseFilter } from "../../src/filter/expr.ts";
import { ETHTOOL_MSG_LINKINFO_NTF } from "../../src/uapi/genl-names.gen.ts";
import { NFNL_SUBSYS_CTNETLINK } from "../../src/uapi/netfilter.gen.ts";
import { NL80211_CMD_NEW_STATION } from "../../src/uapi/nl80211.gen.ts";
import { IPPROTO_TCP } from "../../src/uapi/sock_diag.gen.ts";
import { TASKSTATS_CMD_NEW } from "../../src/uapi/taskstats.gen.ts";
import { contextWithLinks, decodeAll } from "../fixtures/load.ts";

const ctx = contextWithLinks();
function fixture(name: string): NlEvent {
  const ev = decodeAll(name, ctx).map((d) => d.ev).find((e): e is NlEvent => !!e);
  if (!ev) throw new Error(`${name}: no event`);
  return ev;
}

const bgp = fixture("route-new-v4-gw-table10-proto186"); // 10.10.0.0/24 via 10.1.0.2, table 10, proto 186
const daemon = fixture("route-new-v4-metric50-table11-proto201"); // 10.11.0.0/24, table 11, proto 201, metric 50
const ecmp6 = fixture("route-new-v6-multipath-table14"); // 2001:db8:14::/64, nexthops 2001:db8:1::2 and ::3
const lo = fixture("link-dump-lo"); // flags UP LOOPBACK RUNNING LOWER_UP
const br0 = fixture("link-new-bridge-br0"); // flags BROADCAST MULTICAST, kind bridge
const neigh = fixture("neigh-new-v4-permanent"); // 10.1.0.9, PERMANENT

/** the event with its route's dst replaced */
function routeTo(dst: string, base: NlEvent = bgp): NlEvent {
  const ev = structuredClone(base);
  ev.netlink.route!.dst = dst;
  return ev;
}

function matches(src: string, ...evs: NlEvent[]): boolean[] {
  const f = parseFilter(src);
  return evs.map((e) => f(e));
}

function errorOf(src: string): FilterError {
  try {
    parseFilter(src);
  } catch (e) {
    expect(e).toBeInstanceOf(FilterError);
    return e as FilterError;
  }
  throw new Error(`accepted: ${src}`);
}

test("the fixtures are what the tests below assume", () => {
  expect([bgp.netlink.route?.dst, bgp.netlink.route?.protocol, daemon.netlink.route?.protocol, ecmp6.netlink.route?.dst]).toEqual([
    "10.10.0.0/24", 186, 201, "2001:db8:14::/64"]);
  expect(lo.netlink.link?.flags).toContain("UP");
  expect(br0.netlink.link?.flags).not.toContain("UP");
});

describe("words and symbols combine tests alike", () => {
  test("and, or, not are &&, ||, !", () => {
    const evs = [bgp, daemon, ecmp6, lo];
    expect(matches("type == route and netlink.route.protocol == 201", ...evs)).toEqual(matches("type == route && netlink.route.protocol == 201", ...evs));
    expect(matches("type == link or netlink.route.protocol == 201", ...evs)).toEqual([false, true, false, true]);
    expect(matches("not type == link", ...evs)).toEqual([true, true, true, false]);
    expect(matches("not (type == link or netlink.route.table == 11)", ...evs)).toEqual([true, false, true, false]);
  });
  test("and binds tighter than or; not tighter than and", () => {
    expect(matches("type == link or type == route and netlink.route.table == 11", bgp, daemon, lo)).toEqual([false, true, true]);
    expect(matches("not type == link and type == route", bgp, lo)).toEqual([true, false]);
  });
  test("a word in a value's place is a value, not an operator", () => {
    const ev = structuredClone(lo);
    ev.netlink.link!.ifname = "and";
    expect(matches("netlink.link.ifname == and", ev, lo)).toEqual([true, false]);
  });
});

describe("in", () => {
  test("a list of words, constants, numbers and quoted text", () => {
    expect(matches("type in [link, neigh]", bgp, lo, neigh)).toEqual([false, true, true]);
    expect(matches("netlink.route.protocol in [RTPROT_BGP, 0xc9]", bgp, daemon, ecmp6)).toEqual([true, true, true]);
    expect(matches("netlink.route.table in [11, 14,]", bgp, daemon, ecmp6)).toEqual([false, true, true]);
    expect(matches("netlink.msg_type in [RTM_NEWLINK, RTM_DELLINK]", bgp, lo)).toEqual([false, true]);
    expect(matches("netlink.link.ifname in ['lo', \"br0\"]", lo, br0, bgp)).toEqual([true, true, false]);
  });
  test("not in is the negation, and so passes events without the field", () => {
    expect(matches("netlink.link.ifname not in [lo]", lo, br0, bgp)).toEqual([false, true, true]);
    expect(matches("type == link and netlink.link.ifname not in [lo]", lo, br0, bgp)).toEqual([false, true, false]);
  });
  test("a list field passes when any element is in the list", () => {
    expect(matches("netlink.link.flags in [LOOPBACK, POINTOPOINT]", lo, br0)).toEqual([true, false]);
    expect(matches("netlink.route.nexthops.gateway in [2001:db8:1::3]", ecmp6, bgp)).toEqual([true, false]);
  });
  test("one evaluation per test: a long list is a set, not a chain", () => {
    const many = Array.from({ length: 5000 }, (_, i) => i + 1000);
    expect(matches(`netlink.route.table in [${many.join(", ")}, 11]`, bgp, daemon)).toEqual([false, true]);
  });
});

describe("address prefixes", () => {
  test("a prefix is inside when all of it is: wider is not, equal and narrower are", () => {
    const f = parseFilter("netlink.route.dst in 10.0.0.0/8");
    const at = (dst: string) => f(routeTo(dst));
    expect(at("10.0.0.0/8")).toBe(true);
    expect(at("10.255.255.255/32")).toBe(true);
    expect(at("10.1.0.0/16")).toBe(true);
    expect(at("10.0.0.0/7")).toBe(false);
    expect(at("11.0.0.0/8")).toBe(false);
    expect(at("0.0.0.0/0")).toBe(false);
    expect(at("9.255.255.255/32")).toBe(false);
    expect(at("100.0.0.0/8")).toBe(false);
    // the text starts like 10.: only the whole octet counts
    expect(at("10.0.0.1")).toBe(true);
  });
  test("lengths that cut an octet, and the ends of the range", () => {
    const f = parseFilter("netlink.route.dst in 172.16.0.0/12");
    const at = (dst: string) => f(routeTo(dst));
    expect([at("172.16.0.0/12"), at("172.31.255.0/24"), at("172.15.255.255/32"), at("172.32.0.0/16"), at("172.16.0.0/11")]).toEqual([true, true, false, false, false]);
    const g = parseFilter("netlink.route.dst in 192.168.1.128/25");
    expect(["192.168.1.128/25", "192.168.1.200", "192.168.1.127", "192.168.1.0/24", "192.168.1.255/32"].map((d) => g(routeTo(d)))).toEqual([true, true, false, false, true]);
  });
  test("a host, /0, and /32", () => {
    expect(matches("netlink.route.gateway in 10.1.0.2", bgp, routeTo("10.10.0.0/24", daemon))).toEqual([true, true]);
    expect(matches("netlink.route.gateway in 10.1.0.3/32", bgp)).toEqual([false]);
    expect(matches("netlink.route.dst in 0.0.0.0/0", bgp, ecmp6, routeTo("0.0.0.0/0"))).toEqual([true, false, true]);
    expect(matches("netlink.route.dst in ::/0", bgp, ecmp6)).toEqual([false, true]);
  });
  test("IPv6: compressed forms, lengths across words, embedded IPv4", () => {
    const f = parseFilter("netlink.route.dst in 2001:db8::/32");
    const at = (dst: string) => f(routeTo(dst, ecmp6));
    expect([at("2001:db8:14::/64"), at("2001:db8::/32"), at("2001:db8::/31"), at("2001:db9::/48"), at("2001:0db8:0000:0000::1")]).toEqual([true, true, false, false, true]);
    const g = parseFilter("netlink.route.dst in 2001:db8:0:8000::/49");
    expect([at("x"), g(routeTo("2001:db8:0:8000::/50", ecmp6)), g(routeTo("2001:db8:0:7fff::/64", ecmp6)), g(routeTo("2001:db8:0:ffff:ffff::1", ecmp6))]).toEqual([false, true, false, true]);
    const m = parseFilter("netlink.route.dst in ::ffff:10.0.0.0/104");
    expect([m(routeTo("::ffff:10.1.2.3", ecmp6)), m(routeTo("::ffff:11.1.2.3", ecmp6)), m(routeTo("10.1.2.3"))]).toEqual([true, false, false]);
  });
  test("families never mix; what is not an address is never inside", () => {
    expect(matches("netlink.route.dst in 10.0.0.0/8", ecmp6)).toEqual([false]);
    expect(matches("netlink.route.dst in ::/0", bgp)).toEqual([false]);
    expect(matches("netlink.link.ifname in 0.0.0.0/0", lo)).toEqual([false]);
    expect(matches("netlink.link.address in ::/0", lo)).toEqual([false]);
    for (const junk of ["10.0.0", "10.0.0.0.0", "10.0.0.256", "10..0.0", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0.1234", "10.0.0.0/123"]) {
      expect(matches("netlink.route.dst in 10.0.0.0/8", routeTo(junk))).toEqual([false]);
      expect(matches("netlink.route.dst in 0.0.0.0/0", routeTo(junk))).toEqual([false]);
    }
  });
  test("a list may mix prefixes of both families with plain values; quoted, a prefix is text", () => {
    expect(matches("netlink.route.dst in [192.168.0.0/16, 10.11.0.0/16, 2001:db8:14::/48]", bgp, daemon, ecmp6)).toEqual([false, true, true]);
    expect(matches("netlink.route.dst in ['10.0.0.0/8']", bgp, routeTo("10.0.0.0/8"))).toEqual([false, true]);
    expect(matches("netlink.link.address in [00:00:00:00:00:00]", lo, br0)).toEqual([true, false]);
  });
  test("parsePrefix reads literals strictly; format writes them back", () => {
    expect(format(parsePrefix("2001:db8:0:0:1:0:0:1/128") as never)).toBe("2001:db8::1:0:0:1/128");
    expect(format(parsePrefix("::/0") as never)).toBe("::/0");
    expect(format(parsePrefix("10.0.0.0/8") as never)).toBe("10.0.0.0/8");
    expect(parsePrefix("1:2:3:4:5:6:7:8:9")).toBe("'1:2:3:4:5:6:7:8:9' is not an IPv4 or IPv6 address");
    expect(parsePrefix("1::2::3")).toMatch(/not an IPv4 or IPv6/);
    expect(parsePrefix("fe80::/129")).toBe("'fe80::/129': prefix length 129 is longer than IPv6's 128 bits");
    expect(parsePrefix("fe80::1/10")).toBe("'fe80::1/10' has bits set beyond its /10: the prefix is fe80::/10");
    expect(parsePrefix("10.0.0.0/x")).toBe("'10.0.0.0/x': the prefix length after '/' must be a number");
  });
  test("the fast and the general IPv4 tests agree with a plain reading, at every length", () => {
    // the reference: the address as a 32-bit number and its length, read the obvious way
    const read = (a: string): [number, number] => {
      const [addr, len] = a.split("/");
      return [addr!.split(".").reduce((w, o) => w * 256 + Number(o), 0), len === undefined ? 32 : Number(len)];
    };
    const values = ["10.0.0.0/8", "10.128.0.0/9", "10.1.2.3", "10.1.2.0/24", "10.1.2.128/25", "10.255.255.255", "11.0.0.0/8", "9.9.9.9/32",
      "10.1.0.0/15", "10.1.2.3/31", "10.1.2.2/31", "0.0.0.0/0", "255.255.255.255"];
    for (let len = 0; len <= 32; len++) {
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      const net = (0x0a010203 & mask) >>> 0;
      const p = parsePrefix(format({ v6: false, words: [net], len }));
      if (typeof p === "string") throw new Error(p);
      const t = insideTest(p);
      for (const v of values) {
        const [a, l] = read(v);
        const want = l >= len && ((a & mask) >>> 0) === net;
        expect({ prefix: format(p), v, inside: t(v) }).toEqual({ prefix: format(p), v, inside: want });
      }
    }
  });
});

describe("contains, regular expressions", () => {
  test("contains: an element of a list, or part of a text field", () => {
    expect(matches("netlink.link.flags contains UP", lo, br0)).toEqual([true, false]);
    expect(matches("netlink.link.flags not contains UP", lo, br0, bgp)).toEqual([false, true, true]);
    expect(matches("netlink.link.kind contains idg", br0, lo)).toEqual([true, false]);
    // in a list, whole elements: UP is not "contained" in LOWER_UP
    expect(matches("netlink.link.flags contains LOWER", lo)).toEqual([false]);
    expect(matches("netlink.route.nexthops.gateway contains 2001:db8:1::2", ecmp6, bgp)).toEqual([true, false]);
  });
  test("=~ and !~, bare and quoted; !~ passes events without the field", () => {
    expect(matches("netlink.msg_type_name =~ ^RTM_NEW[RL]", bgp, lo, neigh)).toEqual([true, true, false]);
    expect(matches('netlink.msg_type_name =~ "^RTM_(NEW|DEL)ROUTE$"', bgp, lo)).toEqual([true, false]);
    expect(matches("netlink.link.ifname !~ ^br", lo, br0, bgp)).toEqual([true, false, true]);
    expect(matches("netlink.link.flags =~ OOP", lo, br0)).toEqual([true, false]);
    expect(matches("netlink.link.flags !~ OOP", lo, br0)).toEqual([false, true]);
    expect(matches("netlink.route.table =~ ^1[01]$", bgp, daemon, ecmp6)).toEqual([true, true, false]);
  });
});

describe("numbers and constants", () => {
  test("decimal, hex and negative numbers", () => {
    expect(matches("netlink.route.protocol == 0xc9", bgp, daemon)).toEqual([false, true]);
    expect(matches("netlink.route.protocol == 0XBA", bgp, daemon)).toEqual([true, false]);
    expect(matches("netlink.route.table > -1 and netlink.route.table < 0x0c", bgp, daemon, ecmp6)).toEqual([true, true, false]);
    const err = structuredClone(bgp);
    (err.netlink as { error?: unknown }).error = { error: -17 };
    expect(matches("netlink.error.error == -0x11", err)).toEqual([true]);
    expect(matches("netlink.error.error == -EEXIST", err)).toEqual([true]);
    expect(matches("netlink.error.error < -EPERM", err, bgp)).toEqual([true, false]);
  });
  test("constants from every generated table", () => {
    const num = (src: string): number => {
      // the value a constant stands for, read back through a comparison that holds only for it
      const ev = structuredClone(bgp);
      for (const v of [IPPROTO_TCP, NL80211_CMD_NEW_STATION, TASKSTATS_CMD_NEW, NFNL_SUBSYS_CTNETLINK, ETHTOOL_MSG_LINKINFO_NTF]) {
        ev.netlink.route!.table = v;
        if (parseFilter(`netlink.route.table == ${src}`)(ev)) return v;
      }
      return NaN;
    };
    expect(num("IPPROTO_TCP")).toBe(IPPROTO_TCP);
    expect(num("NL80211_CMD_NEW_STATION")).toBe(NL80211_CMD_NEW_STATION);
    expect(num("TASKSTATS_CMD_NEW")).toBe(TASKSTATS_CMD_NEW);
    expect(num("NFNL_SUBSYS_CTNETLINK")).toBe(NFNL_SUBSYS_CTNETLINK);
    expect(num("ETHTOOL_MSG_LINKINFO_NTF")).toBe(ETHTOOL_MSG_LINKINFO_NTF);
    expect(matches("netlink.neigh.state_raw == NUD_PERMANENT and netlink.neigh.family == inet", neigh)).toEqual([true]);
    expect(matches("protocol == NETLINK_ROUTE and msg_type == RTM_NEWNEIGH", neigh, lo)).toEqual([true, false]);
  });
  test("a misspelt constant of any table is named with the one meant", () => {
    expect(errorOf("netlink.diag.protocol_num == IPPROTO_TPC").message).toMatch(/unknown constant 'IPPROTO_TPC' at column 30 .*did you mean 'IPPROTO_TCP'\?$/);
    expect(errorOf("netlink.genl.cmd == NL80211_CMD_NEW_STATOIN").message).toMatch(/did you mean 'NL80211_CMD_NEW_STATION'\?$/);
    expect(errorOf("netlink.error.error == -EEXISTS").message).toMatch(/^filter: netlink\.error\.error takes a number or a kernel constant, not '-EEXISTS'/);
    expect(errorOf("netlink.route.protocol == -RTPROT_BGPP").column).toBe(27);
  });
});

describe("errors name the column", () => {
  const cases: [string, number, RegExp][] = [
    ["type in [link, addr", 19, /expected '\]' to close the list opened at column 9/],
    ["type in [link addr]", 14, /expected ',' or '\]'/],
    ["type in []", 9, /an empty list matches nothing/],
    ["type in link", 8, /'in' takes a list \[a, b, …\] or an address prefix/],
    ["netlink.route.dst in 10.0.0.0/33", 21, /prefix length 33 is longer than IPv4's 32 bits/],
    ["netlink.route.dst in [10.0.0.0/8, 10.1/16]", 34, /'10\.1\/16' is not an IPv4 or IPv6 address/],
    ["netlink.route.table in 10.0.0.0/8", 23, /netlink\.route\.table holds a number, not addresses/],
    ["netlink.route.table contains 1", 20, /'contains' needs a list or a text field; netlink\.route\.table holds a number/],
    ["type == route link", 14, /unexpected text .*join tests with 'and' or 'or'$/],
    ["type == route and", 17, /expected a field name/],
    ["type not == route", 5, /expected an operator \(== != < <= > >= =~ !~ in contains\)/],
    ["type == )", 8, /expected a value/],
    ["netlink.link.ifname =~ '('", 23, /bad regular expression/],
    ["type in [rout]", 9, /type takes one of .* not 'rout' .*did you mean 'route'\?$/],
    ["netlink.route.protocol in [bgp]", 27, /takes a number or a kernel constant, not 'bgp'/],
    ["netlink.route.protocol == 'bgp'", 27, /not 'bgp'/],
    ["type == route # comment", 14, /unexpected character/],
  ];
  for (const [src, col, re] of cases) {
    test(src, () => {
      const e = errorOf(src);
      expect(e.message).toMatch(re);
      expect(e.column).toBe(col);
      expect(e.message).toContain(`at column ${col + 1} of ${JSON.stringify(src)}`);
      expect(e.detail).toBe(e.message.slice("filter: ".length));
    });
  }
  test("the nesting bound counts 'not' as '!'", () => {
    const e = errorOf(`${"not ".repeat(65)}type == route`);
    expect(e.message).toMatch(/^filter: more than 64 levels of '!' and parentheses at column 257 /);
    expect(parseFilter(`${"not ".repeat(64)}type == route`)(bgp)).toBe(true);
  });
});
