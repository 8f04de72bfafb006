/**
 * Which rtnetlink groups nlmon joins. The migration guide calls `multicast_groups` informational
 * and shows it beside `protocols.route: true`, so an operator who copies it expects route events;
 * when the list restricted what was joined, that example silently stopped them all. The groups
 * therefore follow `protocols`: with route on, every group nlmon decodes, because the caches and
 * the repair of routes the kernel removes without a word need link, address and route
 * notifications whatever else is wanted. `filter` selects events after decoding. The list is
 * still checked (a misspelt group is a config error) and each listed group nlmon does not join is
 * named at start.
 */
import type { NlmonConfig } from "../config/types.ts";
import { STATE_FAMILY } from "../families/index.ts";

const ROUTE_GROUPS = STATE_FAMILY.groups;

export interface GroupPlan {
  /** rtnetlink group names joined */
  names: string[];
  /** their numbers, for the socket */
  groups: number[];
  /** what to say at start about multicast_groups */
  notes: { level: "info" | "warn"; text: string }[];
}

export function rtnlGroups(cfg: NlmonConfig): GroupPlan {
  const listed = cfg.netlink.multicast_groups;
  const names = cfg.netlink.protocols.route ? Object.keys(ROUTE_GROUPS) : [];
  const notes: GroupPlan["notes"] = [];
  if (listed.length) {
    if (names.length) {
      notes.push({
        level: "info",
        text: `netlink.multicast_groups (${listed.join(", ")}) is informational, as in the migration guide: nlmon joins the groups of the enabled protocols, here every rtnetlink group it decodes (${names.join(", ")}); use filter to select events`,
      });
    }
    const missing = listed.filter((g) => !names.includes(g));
    if (missing.length) {
      notes.push({
        level: "warn",
        text: `netlink.multicast_groups lists ${missing.map((g) => `'${g}'`).join(", ")}, which nlmon does not join: protocols.route is off`,
      });
    }
  }
  return { names, groups: names.map((n) => ROUTE_GROUPS[n]!), notes };
}
