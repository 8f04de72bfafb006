/**
 * Generic netlink families with a decoder of their own, by the kernel's family name. Adding one is
 * its folder and a line here; every other family is typed by the kernel's policy (policy.ts).
 */
import type { GenlSubfamily } from "./subfamily.ts";
import { nl80211Family } from "../nl80211/index.ts";
import { taskstatsFamily } from "../taskstats/index.ts";

export const GENL_SUBFAMILIES: readonly GenlSubfamily[] = [
  nl80211Family,
  taskstatsFamily,
];

const BY_NAME = new Map(GENL_SUBFAMILIES.map((f) => [f.name, f]));

export function subfamily(name: string | undefined): GenlSubfamily | undefined {
  return name === undefined ? undefined : BY_NAME.get(name);
}
