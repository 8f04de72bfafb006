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
