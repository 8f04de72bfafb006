/**
 * Generic netlink families with a decoder of their own, by the kernel's family name. Adding one is
 * its folder and a line here; every other family is typed by the kernel's policy (policy.ts).
 *
 * Each is loaded the first time a message of its family is decoded: nl80211's tables (QCA's
 * vendor subcommands among them) are most of the decoders' code, and a monitor of routes alone
 * would otherwise hold them for its whole life. require() is synchronous, as decoding is.
 */
import type { GenlSubfamily } from "./subfamily.ts";

const LOADERS: Readonly<Record<string, () => GenlSubfamily>> = {
  nl80211: () => (require("../nl80211/index.ts") as typeof import("../nl80211/index.ts")).nl80211Family,
  // the kernel registers it in capitals (TASKSTATS_GENL_NAME)
  TASKSTATS: () => (require("../taskstats/index.ts") as typeof import("../taskstats/index.ts")).taskstatsFamily,
};

/** the kernel names of the families with decoders of their own */
export const GENL_SUBFAMILY_NAMES: readonly string[] = Object.keys(LOADERS);

const loaded = new Map<string, GenlSubfamily>();

export function subfamily(name: string | undefined): GenlSubfamily | undefined {
  if (name === undefined) return undefined;
  const have = loaded.get(name);
  if (have) return have;
  const load = LOADERS[name];
  if (!load) return undefined;
  const f = load();
  loaded.set(name, f);
  return f;
}
