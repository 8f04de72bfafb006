/**
 * The embedded default config without its YAML: what loadConfig returns for config/nlmon.yaml with
 * no environment (default.gen.ts, kept equal by test/unit/config-default.test.ts), with the
 * environment's overrides applied as loadConfig applies them. The default's only variable is an
 * override's (NLMON_USE_LIBNL), so the result is the same. Parsing the YAML cost every one-shot
 * run 25-35 ms and the yaml library's 8 MiB of RSS.
 */
import { DEFAULT_CONFIG } from "./default.gen.ts";
import { readOverrides } from "./env.ts";
import type { NlmonConfig } from "./types.ts";

/** the environment variables config/nlmon.yaml refers to; each must be an override's */
export const DEFAULT_CONFIG_VARIABLES = ["NLMON_USE_LIBNL"];

export function defaultConfig(env: Record<string, string | undefined> = process.env): NlmonConfig {
  const o = readOverrides(env);
  const cfg = structuredClone(DEFAULT_CONFIG);
  if (o.useLibnl !== undefined) cfg.netlink.use_libnl = o.useLibnl;
  if (o.libnlPath !== undefined) cfg.netlink.libnl.library = o.libnlPath;
  return cfg;
}
