/**
 * Every protocol family nlmon decodes, one line each. Adding a family is its folder and a line
 * here; the generic layers find it by protocol number.
 */
import type { Family, ObjectTypes } from "../decode/family.ts";
import type { EventType } from "../event/model.ts";
import { genlFamily } from "./genl/index.ts";
import { netfilterFamily } from "./netfilter/index.ts";
import { routeFamily } from "./route/index.ts";
import { sockDiagFamily } from "./sock_diag/index.ts";

export const FAMILY_LIST: readonly Family[] = [
  routeFamily,
  genlFamily,
  netfilterFamily,
  sockDiagFamily,
];

/**
 * The family whose objects the caches hold, whose dumps prime and repair them, and which
 * --dump-events lists (netlink.protocols.route).
 */
export const STATE_FAMILY: Family = routeFamily;

export function familyOf(protocol: number): Family | undefined {
  return FAMILY_LIST.find((f) => f.protocol === protocol);
}

export interface ObjectKind extends ObjectTypes {
  family: Family;
}

// event types are unique across families, so an object kind names its family
const KINDS = new Map<EventType, ObjectKind>(FAMILY_LIST.flatMap((family) => family.objects.map((o) => [o.type, { ...o, family }] as const)));

/** The family and the NEW/DEL message types of an object kind (link, route, ...). */
export function objectKind(type: EventType): ObjectKind | undefined {
  return KINDS.get(type);
}

/** Event types in --dump-events order: each family's own order, families as listed above. */
export const DUMP_ORDER: readonly EventType[] = FAMILY_LIST.flatMap((f) => f.dumpOrder);
