/**
 * Filters as an operator meets them: dist/nlmon refuses a filter that could never match (exit 2,
 * located, with what was meant) instead of running silently with it, survives a filter nested
 * 200,000 deep, and a correct filter passes exactly the events it names in a live namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { EventStream, delNs, ensureBinary, ip, makeNs, nsName, runNlmon, startNlmon, tempDir, writeConfig } from "./lib.ts";

let dir = "";
const ns = nsName("filter");

beforeAll(async () => {
  ensureBinary();
  dir = tempDir("filter");
  await makeNs(ns);
}, 600_000);

afterAll(() => {
  delNs(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function configError(name: string, yaml: string) {
  const f = writeConfig(dir, name, yaml);
  const r = runNlmon({ args: ["--config", f, "--dump-events"] });
  return { code: r.code, err: r.err, out: r.out, f };
}

describe("dist/nlmon and filters", () => {
  test("a misspelt field is a config error at its place, naming the field meant", () => {
    const r = configError("field.yaml", "filter: 'netlink.route.protcol == 201'\n");
    expect(r.err).toBe(`nlmon: config error:\n${r.f}:1:24: filter: unknown field 'netlink.route.protcol' at column 15 of "netlink.route.protcol == 201"; did you mean 'protocol'?\n`);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
  });

  test("an unknown constant is a config error naming the constant meant", () => {
    const r = configError("const.yaml", "filter: 'netlink.route.protocol == RTPROT_BGPP'\n");
    expect(r.err).toBe(`nlmon: config error:\n${r.f}:1:36: filter: unknown constant 'RTPROT_BGPP' at column 27 of "netlink.route.protocol == RTPROT_BGPP"; did you mean 'RTPROT_BGP'?\n`);
    expect(r.code).toBe(2);
  });

  test("200,000 '!' is a located config error, not an internal error", () => {
    const r = configError("deep.yaml", `filter: '${"!".repeat(200_000)}type == route'\n`);
    expect(r.err).not.toContain("internal error");
    expect(r.err).toMatch(/^nlmon: config error:\n.*deep\.yaml:1:74: filter: more than 64 levels of '!' and parentheses at column 65 of …"!+"…\n$/);
    expect(r.code).toBe(2);
  });

  test("a correct filter passes the routes it names and no others", async () => {
    const f = writeConfig(dir, "ok.yaml", "netlink: {use_libnl: false}\nfilter: 'type == route && netlink.route.protocol == 201 && netlink.route.table == 15'\n");
    const child = startNlmon({ ns, args: ["--config", f] });
    const s = new EventStream(child);
    try {
      expect(await child.err.waitLine((l) => l.includes("receive buffer"), 20_000)).toBeGreaterThanOrEqual(0);
      ip(ns, "route", "add", "172.29.1.0/24", "via", "10.9.0.2", "table", "15", "proto", "201");
      ip(ns, "route", "add", "172.29.2.0/24", "via", "10.9.0.2", "table", "15", "proto", "static");
      ip(ns, "route", "add", "172.29.3.0/24", "via", "10.9.0.2", "table", "16", "proto", "201");
      ip(ns, "route", "add", "172.29.4.0/24", "via", "10.9.0.2", "table", "15", "proto", "201");
      // events leave in order: once the last one is out, any that passed the filter are too
      expect(await child.out.waitLine((l) => l.includes("172.29.4.0/24"), 15_000)).toBeGreaterThanOrEqual(0);
    } finally {
      await child.stop();
    }
    expect(s.events.map((e) => `${e.netlink.msg_type_name} ${e.netlink.route?.dst}`)).toEqual([
      "RTM_NEWROUTE 172.29.1.0/24", "RTM_NEWROUTE 172.29.4.0/24",
    ]);
  }, 60_000);
});
