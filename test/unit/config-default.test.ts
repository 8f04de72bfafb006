/**
 * The default config as the binary loads it without parsing YAML (src/config/default.ts) must be
 * what loadConfig makes of config/nlmon.yaml, for every environment that can change it.
 */
import { describe, expect, test } from "bun:test";
import { defaultConfig, DEFAULT_CONFIG_VARIABLES } from "../../src/config/default.ts";
import { DEFAULT_CONFIG } from "../../src/config/default.gen.ts";
import { ConfigError, DEFAULT_CONFIG_TEXT, loadConfig } from "../../src/config/load.ts";
import { generate } from "../../scripts/gen-default-config.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";

describe("the default config without YAML", () => {
  test("default.gen.ts is what scripts/gen-default-config.ts writes now (regenerate it after changing nlmon.yaml or the schema)", () => {
    expect(readFileSync(join(import.meta.dir, "../../src/config/default.gen.ts"), "utf8")).toBe(generate());
    expect(DEFAULT_CONFIG).toEqual(loadConfig({ env: {} }));
  });

  test("equals loadConfig under every environment that changes the default", () => {
    const envs: Record<string, string>[] = [
      {}, { NLMON_USE_LIBNL: "false" }, { NLMON_USE_LIBNL: "0" }, { NLMON_USE_LIBNL: "YES" }, { NLMON_USE_LIBNL: "" },
      { NLMON_LIBNL_PATH: "/opt/lib/libnl-tiny.so" }, { NLMON_USE_LIBNL: "no", NLMON_LIBNL_PATH: "" }, { HOME: "/root", PATH: "/bin" },
    ];
    for (const env of envs) expect(defaultConfig(env), JSON.stringify(env)).toEqual(loadConfig({ env }));
    const bad = { NLMON_USE_LIBNL: "maybe" };
    expect(() => loadConfig({ env: bad })).toThrow(ConfigError);
    expect(() => defaultConfig(bad)).toThrow(ConfigError);
  });

  test("hands out a copy each time", () => {
    const a = defaultConfig({});
    a.netlink.use_libnl = !a.netlink.use_libnl;
    expect(defaultConfig({}).netlink.use_libnl).toBe(DEFAULT_CONFIG.netlink.use_libnl);
  });

  test("the default refers to no variable but the overrides', and names no export directory to check", () => {
    // comments explain the syntax with ${VAR}; only values count
    const values = DEFAULT_CONFIG_TEXT.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "")).join("\n");
    const vars = [...values.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
    expect(vars.length).toBeGreaterThan(0);
    for (const v of vars) expect(DEFAULT_CONFIG_VARIABLES).toContain(v!);
    for (const x of [DEFAULT_CONFIG.export.json, DEFAULT_CONFIG.export.pcap]) {
      if (x.enabled) expect(["", "-"]).toContain(x.file);
    }
  });
});
