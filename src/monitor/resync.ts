/**
 * Turning cache differences into events. A difference found by a re-dump is something the kernel
 * did without telling us (or told us while we could not listen), so it is reported as an event
 * like any other, marked with why it was found.
 */
import { type CacheChange, cachedEvent } from "../cache/change.ts";
import type { NlEvent } from "../event/model.ts";
import {
  RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_DELRULE,
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

export function changeEvent(c: CacheChange, mark: "resync" | "implicit"): NlEvent {
  const body = (c.op === "del" ? c.before : c.after)!;
  const ev = cachedEvent(c.kind, body, TYPES[c.kind]![c.op === "del" ? 1 : 0]!, 0);
  if (mark === "resync") ev.resync = true;
  else ev.implicit = true;
  return ev;
}
