/**
 * The environment's overrides of the config (NLMON_USE_LIBNL, NLMON_LIBNL_PATH): read before the
 * config is, so a bad value is reported as the environment's mistake.
 */
import { ConfigError } from "./error.ts";

const BOOL_WORDS: Record<string, boolean> = { true: true, false: false, "1": true, "0": false, yes: true, no: false };

export function parseBoolWord(s: string): boolean | undefined {
  return BOOL_WORDS[s.trim().toLowerCase()];
}

export function readOverrides(env: Record<string, string | undefined>): { useLibnl?: boolean; libnlPath?: string } {
  const out: { useLibnl?: boolean; libnlPath?: string } = {};
  // Empty counts as unset, as it does for ${VAR:-default}.
  const use = env.NLMON_USE_LIBNL;
  if (use !== undefined && use !== "") {
    const b = parseBoolWord(use);
    if (b === undefined) {
      throw new ConfigError(`NLMON_USE_LIBNL: must be one of true, false, 1, 0, yes, no, got ${JSON.stringify(use)}`);
    }
    out.useLibnl = b;
  }
  const lib = env.NLMON_LIBNL_PATH;
  if (lib !== undefined && lib !== "") out.libnlPath = lib;
  return out;
}
