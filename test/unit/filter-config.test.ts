// A filter mistake in a config file is a config error at FILE:LINE:COL of the very character the
// message's column points to, however the YAML spells the string.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { offsetInSource } from "../../src/filter/source.ts";

function errorOf(text: string, env: Record<string, string> = {}): string {
  try {
    loadConfig({ path: "f.yaml", text, env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

/** the text at LINE:COL of `text`, as the message names it */
function at(text: string, message: string): string {
  const m = /^f\.yaml:(\d+):(\d+): /.exec(message);
  if (!m) throw new Error(`not located: ${message}`);
  return text.split("\n")[Number(m[1]) - 1]!.slice(Number(m[2]) - 1);
}

describe("filter errors in a config file", () => {
  const cases: [string, string][] = [
    ["plain", "filter: netlink.route.protcol == 201\n"],
    ["single-quoted", "logging: {level: info}\nfilter: 'netlink.route.protcol == 201'\n"],
    ["double-quoted, with escapes before", 'filter: "netlink.route.table_name == \\"x\\" && netlink.route.protcol == 201"\n'],
    ["block literal", "filter: |\n  type == route &&\n    netlink.route.protcol == 201\n"],
    ["folded", "filter: >-\n  type == route\n  && netlink.route.protcol == 201\n"],
  ];
  for (const [style, text] of cases) {
    test(`${style}: the location is the misspelt part of the field`, () => {
      const msg = errorOf(text);
      expect(msg).toMatch(/^f\.yaml:\d+:\d+: filter: unknown field 'netlink\.route\.protcol' at column \d+ of .*; did you mean 'protocol'\?$/);
      expect(at(text, msg)).toStartWith("protcol == 201");
    });
  }

  test("an unknown constant is located at the constant", () => {
    const text = "export:\n  json: {enabled: true}\nfilter: 'type == route && netlink.route.protocol == RTPROT_BGPP'\n";
    const msg = errorOf(text);
    expect(msg).toMatch(/^f\.yaml:3:\d+: filter: unknown constant 'RTPROT_BGPP' at column 44 .*; did you mean 'RTPROT_BGP'\?$/);
    expect(at(text, msg)).toStartWith("RTPROT_BGPP'");
  });

  test("nesting beyond the bound is located where it crosses it", () => {
    const text = `filter: '${"!".repeat(200_000)}type == route'\n`;
    const msg = errorOf(text);
    expect(msg).toMatch(/^f\.yaml:1:74: filter: more than 64 levels of '!' and parentheses at column 65 of …"!+"…$/);
  });

  test("a filter from an environment variable is located at the variable", () => {
    const text = "logging: {level: info}\nfilter: ${NLMON_FILTER}\n";
    const msg = errorOf(text, { NLMON_FILTER: "netlink.route.protcol == 201" });
    expect(msg).toMatch(/^f\.yaml:2:9: filter: unknown field 'netlink\.route\.protcol' at column 15 /);
  });
});

describe("offsetInSource", () => {
  test("maps value positions through quotes and escapes, and gives up when the text differs", () => {
    expect(offsetInSource("'a == b'", "a == b", 5)).toBe(6);
    expect(offsetInSource("'it''s'", "it's", 3)).toBe(5);
    expect(offsetInSource("'a'", "a", 1)).toBe(2);
    expect(offsetInSource("\"a\\tb\"", "a\tb", 2)).toBeUndefined();
    expect(offsetInSource("${F}", "x == 1", 0)).toBeUndefined();
  });
});

describe("every setting in the filter language is checked, each at its place", () => {
  const text = [
    "filters:",
    "  bgp: { expr: 'netlink.route.protocol == RTPROT_BGP' }",
    "  typo: { expr: 'netlink.route.protcol == 1', action: drop }",
    "export:",
    "  json: { filter: bgpp }",
    "  syslog: { filter: 'netlink.route.dst in 10.1.0.0/8' }",
    "  pcap: { filter: bgp }",
    "hooks:",
    "  - name: h",
    "    when: type == rout",
    "    command: [x]",
    "alerts:",
    "  - name: a",
    "    when: 'type == link and netlink.link.flags contains UP'",
    "    group_by: netlink.link.ifnam",
    "  - name: b",
    "    when: 'netlink.link.operstate =~ \"(\"'",
    "    group_by: netlink.link",
    "",
  ].join("\n");
  const msg = errorOf(text);
  const lines = msg.split("\n");

  test("one message per mistake, in file order; what is right is not mentioned", () => {
    expect(lines.map((l) => l.replace(/^f\.yaml:\d+:\d+: /, "").replace(/: .*/, ""))).toEqual([
      "filters.typo.expr", "export.json.filter", "export.syslog.filter", "hooks[0].when", "alerts[0].group_by", "alerts[1].when", "alerts[1].group_by",
    ]);
  });
  const line = (path: string) => lines.find((l) => l.includes(` ${path}: `))!;
  test("a named filter's expression, at the misspelt part", () => {
    expect(line("filters.typo.expr")).toMatch(/unknown field 'netlink\.route\.protcol' at column 15 .*did you mean 'protocol'\?$/);
    expect(at(text, line("filters.typo.expr"))).toStartWith("protcol == 1'");
  });
  test("an export's filter that is neither a named filter nor an expression says both", () => {
    expect(line("export.json.filter")).toBe("f.yaml:5:19: export.json.filter: 'bgpp' is neither a named filter (did you mean 'bgp'?) nor an expression (a test needs an operator: FIELD == VALUE)");
    expect(at(text, line("export.syslog.filter"))).toStartWith("10.1.0.0/8'");
    expect(line("export.syslog.filter")).toContain("'10.1.0.0/8' has bits set beyond its /8: the prefix is 10.0.0.0/8");
  });
  test("hooks' and alerts' conditions, and group_by, which must name a field holding a value", () => {
    expect(at(text, line("hooks[0].when"))).toBe("rout");
    expect(line("hooks[0].when")).toContain("did you mean 'route'?");
    expect(at(text, line("alerts[0].group_by"))).toStartWith("ifnam");
    expect(line("alerts[0].group_by")).toMatch(/unknown field 'netlink\.link\.ifnam'; did you mean 'ifname'\?$/);
    expect(line("alerts[1].when")).toMatch(/bad regular expression/);
    expect(line("alerts[1].group_by")).toMatch(/'netlink\.link' holds fields, not a value; compare one of its fields: ifindex, ifname/);
  });
  test("a named filter may stand for the global filter; an empty export filter is the global one", () => {
    const cfg = loadConfig({ path: "f.yaml", env: {}, text: "filter: bgp\nfilters:\n  bgp: { expr: 'type == route' }\nexport:\n  json: { filter: '' }\n" });
    expect(cfg.filter).toBe("bgp");
  });
});
