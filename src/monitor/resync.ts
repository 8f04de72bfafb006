/**
 * Turning cache differences into events. A difference found by a re-dump is something the kernel
 * did without telling us (or told us while we could not listen), so it is reported as an event
 * like any other, marked with why it was found.
 */
import type { CacheChange } from "../cache/caches.ts";
import type { NlEvent } from "../event/model.ts";
import {
  NAMES, RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_DELRULE,
  RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE,
} from "../uapi/linux.gen.ts";

const TYPES: Record<string, [number, number]> = {
  link: [RTM_NEWLINK, RTM_DELLINK],
  addr: [RTM_NEWADDR, RTM_DELADDR],
  route: [RTM_NEWROUTE, RTM_DELROUTE],
  neigh: [RTM_NEWNEIGH, RTM_DELNEIGH],
  rule: [RTM_NEWRULE, RTM_DELRULE],
  nexthop: [RTM_NEWNEXTHOP, RTM_DELNEXTHOP],
};
const RTM = NAMES.rtm_type as Record<number, string>;

export function changeEvent(c: CacheChange, mark: "resync" | "implicit"): NlEvent {
  const src = (c.op === "del" ? c.before : c.after)!;
  const msgType = TYPES[c.kind]![c.op === "del" ? 1 : 0];
  const body = (src.netlink as unknown as Record<string, unknown>)[src.type];
  const ev: NlEvent = {
    type: src.type,
    protocol: src.protocol,
    msg_type: msgType,
    netlink: {
      protocol: src.netlink.protocol,
      protocol_name: src.netlink.protocol_name,
      msg_type: msgType,
      msg_type_name: RTM[msgType] ?? String(msgType),
      msg_flags: 0,
    },
  };
  (ev.netlink as unknown as Record<string, unknown>)[src.type] = body;
  if (mark === "resync") ev.resync = true;
  else ev.implicit = true;
  return ev;
}
