/**
 * What the caches report and hand out: a difference between two states of an object, and events
 * rebuilt from a cached body.
 */
import type { EventType, NlEvent } from "../event/model.ts";
import { protocolName } from "../decode/message.ts";
import { objectKind } from "../families/index.ts";
import type { CacheKind } from "./keys.ts";
import { BODY_JSON, type WithBodyJson } from "../event/line.ts";

export function isDelete(ev: NlEvent): boolean {
  return objectKind(ev.type)?.del === ev.msg_type;
}

export { bodyOf } from "../event/line.ts";

export interface CacheChange {
  kind: CacheKind;
  op: "add" | "change" | "del";
  /** body JSON before and after */
  before?: string;
  after?: string;
  /**
   * The decoded body of the state the change's event reports (`before` for a delete, `after`
   * otherwise), where the cache had it at hand: the event then carries it as it is.
   */
  body?: object;
  /** a delete for an object the cache did not have: it has drifted from the kernel */
  miss?: true;
}

/** Route counts per (family, table, protocol), kept as routes come and go, for nlmon_routes. */
export type RouteCounts = Map<string, { family: string; table: number; protocol: number; protocol_name: string; n: number }>;

/**
 * An event carrying a cached body, as the kernel would have sent it with this type and flags. Its
 * line is composed around `bodyJson` (event/line.ts), not serialised again; the body as an object
 * is `body` if given, else decoded from `bodyJson` only when something reads it (a filter, an API
 * callback).
 */
export function cachedEvent(kind: CacheKind, bodyJson: string, msgType: number, flags: number, body?: object): NlEvent {
  const ev = envelope(kind, msgType, flags) as WithBodyJson;
  const n = ev.netlink as unknown as Record<string, unknown>;
  if (body !== undefined) n[kind] = body;
  else {
    Object.defineProperty(n, kind, {
      configurable: true,
      enumerable: true,
      get() {
        const v = JSON.parse(bodyJson) as object;
        Object.defineProperty(n, kind, { value: v, configurable: true, enumerable: true, writable: true });
        return v;
      },
      set(v: unknown) {
        // a body replaced is no longer the text carried: the line is then serialised whole
        delete ev[BODY_JSON];
        Object.defineProperty(n, kind, { value: v, configurable: true, enumerable: true, writable: true });
      },
    });
  }
  ev[BODY_JSON] = bodyJson;
  return ev;
}

/** An event carrying a decoded body (its line is serialised whole). */
export function cachedEventFromBody(kind: CacheKind, body: object, msgType: number, flags: number): NlEvent {
  const ev = envelope(kind, msgType, flags);
  (ev.netlink as unknown as Record<string, unknown>)[kind] = body;
  return ev;
}

function envelope(kind: CacheKind, msgType: number, flags: number): NlEvent {
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
  return ev;
}
