/**
 * What the caches report and hand out: a difference between two states of an object, and events
 * rebuilt from a cached body.
 */
import type { EventType, NlEvent } from "../event/model.ts";
import { protocolName } from "../decode/message.ts";
import { objectKind } from "../families/index.ts";
import type { CacheKind } from "./keys.ts";

export function isDelete(ev: NlEvent): boolean {
  return objectKind(ev.type)?.del === ev.msg_type;
}

/** The object body only: how it reached us (flags, seq, time) is not part of its state. */
export function bodyOf(ev: NlEvent): object {
  return (ev.netlink as unknown as Record<string, object>)[ev.type]!;
}

export interface CacheChange {
  kind: CacheKind;
  op: "add" | "change" | "del";
  /** body JSON before and after */
  before?: string;
  after?: string;
  /** a delete for an object the cache did not have: it has drifted from the kernel */
  miss?: true;
}

/** Route counts per (family, table, protocol), kept as routes come and go, for nlmon_routes. */
export type RouteCounts = Map<string, { family: string; table: number; protocol: number; protocol_name: string; n: number }>;

/** An event carrying a cached body, as the kernel would have sent it with this type and flags. */
export function cachedEvent(kind: CacheKind, bodyJson: string, msgType: number, flags: number): NlEvent {
  return cachedEventFromBody(kind, JSON.parse(bodyJson) as object, msgType, flags);
}

export function cachedEventFromBody(kind: CacheKind, body: object, msgType: number, flags: number): NlEvent {
  const fam = objectKind(kind as EventType)!.family;
  const ev: NlEvent = {
    timestamp: undefined,
    type: kind as EventType,
    protocol: fam.protocol,
    msg_type: msgType,
    netlink: {
      protocol: fam.protocol, protocol_name: protocolName(fam.protocol), msg_type: msgType,
      msg_type_name: fam.msgTypeName(msgType) ?? String(msgType), msg_flags: flags,
    },
  };
  (ev.netlink as unknown as Record<string, unknown>)[kind] = body;
  return ev;
}
