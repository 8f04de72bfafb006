/**
 * Names for families typed by the kernel's policies, where their UAPI header gives them: what the
 * commands of their notifications are called and, where one enum holds every notification's
 * top-level attributes, those too. Numbers and names come from the headers through gen-uapi.
 */
import { shortNames as short } from "../../decode/names.ts";
import { NAMES } from "../../uapi/genl-names.gen.ts";

export interface FamilyNames {
  /** kernel-to-user commands (notifications) */
  cmds: Readonly<Record<number, string>>;
  /** top-level attributes of every notification, when one enum holds them */
  attrs?: Readonly<Record<number, string>>;
}

const BY_FAMILY: Readonly<Record<string, FamilyNames>> = {
  // ethtool's replies and notifications have an enum of their own; each message its own attributes
  ethtool: { cmds: short(NAMES.ethtool_msg_kernel, "ETHTOOL_MSG_") },
  thermal: { cmds: short(NAMES.thermal_genl_event, "THERMAL_GENL_EVENT_"), attrs: short(NAMES.thermal_genl_attr, "THERMAL_GENL_ATTR_") },
  // its events carry MPTCP_ATTR_*, one enum for all of them
  mptcp_pm: { cmds: short(NAMES.mptcp_event_type, "MPTCP_EVENT_"), attrs: short(NAMES.mptcp_event_attr, "MPTCP_ATTR_") },
};

export function familyNames(name: string | undefined): FamilyNames | undefined {
  return name === undefined ? undefined : BY_FAMILY[name];
}
