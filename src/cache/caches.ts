/**
 * Object caches kept from events: filled from a dump, updated by every notification, and
 * repaired by comparing with a fresh dump when notifications were lost (overrun) or never sent
 * (routes the kernel drops silently when their link goes down).
 *
 * An object is kept as the JSON text of its body, not as the decoded object: a 100k-route table
 * then costs a few hundred bytes a route instead of a few kilobytes of JS objects, and comparing
 * an object with its state in a dump is a string comparison.
 */
import type { EventType, NlEvent } from "../event/model.ts";
import {
  NAMES, NLM_F_MULTI, NLM_F_REPLACE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE,
} from "../uapi/linux.gen.ts";
import { type CacheKind, objectKey, routePrefixKey } from "./keys.ts";

const RTM = NAMES.rtm_type as Record<number, string>;
const NEW_TYPE: Record<CacheKind, number> = {
  link: RTM_NEWLINK, addr: RTM_NEWADDR, route: RTM_NEWROUTE, neigh: RTM_NEWNEIGH, rule: RTM_NEWRULE, nexthop: RTM_NEWNEXTHOP,
};

export function isDelete(ev: NlEvent): boolean {
  return (RTM[ev.msg_type] ?? "").startsWith("RTM_DEL");
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

/**
 * What a comparison with a dump looks at: the body without values the kernel changes on its own
 * without a notification (an address's remaining lifetimes count down by the second).
 */
function stateOf(kind: CacheKind, json: string): string {
  if (kind !== "addr" || !json.includes("_life_time")) return json;
  const b = JSON.parse(json) as Record<string, unknown>;
  delete b.valid_life_time;
  delete b.preferred_life_time;
  return JSON.stringify(b);
}

function isGatewayRoute(json: string): boolean {
  return json.includes('"gateway":') || json.includes('"nexthops":');
}

/** Route counts per (family, table, protocol), kept as routes come and go, for nlmon_routes. */
export type RouteCounts = Map<string, { family: string; table: string; protocol: string; n: number }>;

function routeLabels(body: { family: string; table: number; protocol_name: string }) {
  return { family: body.family, table: String(body.table), protocol: body.protocol_name };
}

export class ObjectCache {
  private readonly objects = new Map<string, string>();
  readonly routeCounts: RouteCounts | undefined;

  constructor(readonly kind: CacheKind) {
    if (kind === "route") this.routeCounts = new Map();
  }

  get size() {
    return this.objects.size;
  }

  private count(json: string, by: number, body?: object) {
    if (!this.routeCounts) return;
    const l = routeLabels((body ?? JSON.parse(json)) as Parameters<typeof routeLabels>[0]);
    const k = `${l.family}|${l.table}|${l.protocol}`;
    const e = this.routeCounts.get(k);
    if (e) {
      e.n += by;
      if (e.n <= 0) this.routeCounts.delete(k);
    } else if (by > 0) this.routeCounts.set(k, { ...l, n: by });
  }

  private set(key: string, json: string, body?: object) {
    const old = this.objects.get(key);
    if (old !== undefined) this.count(old, -1);
    this.objects.set(key, json);
    this.count(json, +1, body);
  }

  private delete(key: string) {
    const old = this.objects.get(key);
    if (old === undefined) return;
    this.objects.delete(key);
    this.count(old, -1);
  }

  /** Apply one notification; returns what changed (nothing, if it repeated what we had). */
  apply(ev: NlEvent): CacheChange | undefined {
    const key = objectKey(ev);
    if (key === undefined) return undefined;
    const before = this.objects.get(key);
    if (isDelete(ev)) {
      if (before === undefined) return { kind: this.kind, op: "del", miss: true };
      this.delete(key);
      return { kind: this.kind, op: "del", before };
    }
    const body = bodyOf(ev);
    if (this.kind === "route" && before === undefined) {
      // the route this one replaces (or merges with) had another nexthop, so another key, and the
      // kernel sends no delete for it
      const r = ev.netlink.route!;
      const replace = (ev.netlink.msg_flags & NLM_F_REPLACE) !== 0;
      const merges = r.family === "inet6" && (r.gateway !== undefined || r.nexthops !== undefined);
      if (replace || merges) {
        const p = routePrefixKey(ev) + "|";
        for (const [k, v] of [...this.objects]) if (k.startsWith(p) && (replace || isGatewayRoute(v))) this.delete(k);
      }
    }
    const after = JSON.stringify(body);
    if (after === before) return undefined;
    this.set(key, after, body);
    return { kind: this.kind, op: before === undefined ? "add" : "change", before, after };
  }

  /**
   * Make the cache equal a fresh dump. Returns the differences: objects the dump has that we
   * lacked or had otherwise, and objects we had that the kernel no longer has.
   */
  replace(dumped: NlEvent[]): CacheChange[] {
    const fresh = new Map<string, string>();
    for (const ev of dumped) {
      const k = objectKey(ev);
      if (k !== undefined) fresh.set(k, JSON.stringify(bodyOf(ev)));
    }
    const out: CacheChange[] = [];
    for (const [k, old] of this.objects) {
      const now = fresh.get(k);
      if (now === undefined) out.push({ kind: this.kind, op: "del", before: old });
      else if (now !== old && stateOf(this.kind, now) !== stateOf(this.kind, old)) out.push({ kind: this.kind, op: "change", before: old, after: now });
    }
    for (const [k, now] of fresh) if (!this.objects.has(k)) out.push({ kind: this.kind, op: "add", after: now });
    this.objects.clear();
    this.routeCounts?.clear();
    for (const [k, v] of fresh) this.set(k, v);
    return out;
  }

  /** The cached objects as events, in the form --dump-events prints (a dump reply: NLM_F_MULTI). */
  values(): NlEvent[] {
    return [...this.objects.values()].map((json) => cachedEvent(this.kind, json, NEW_TYPE[this.kind], NLM_F_MULTI));
  }
}

/** An event carrying a cached body, as the kernel would have sent it with this type and flags. */
export function cachedEvent(kind: CacheKind, bodyJson: string, msgType: number, flags: number): NlEvent {
  const ev: NlEvent = {
    timestamp: undefined,
    type: kind as EventType,
    protocol: 0,
    msg_type: msgType,
    netlink: { protocol: 0, protocol_name: "NETLINK_ROUTE", msg_type: msgType, msg_type_name: RTM[msgType] ?? String(msgType), msg_flags: flags },
  };
  (ev.netlink as unknown as Record<string, unknown>)[kind] = JSON.parse(bodyJson);
  return ev;
}

export class Caches {
  readonly byKind = new Map<CacheKind, ObjectCache>();
  constructor(kinds: CacheKind[]) {
    for (const k of kinds) this.byKind.set(k, new ObjectCache(k));
  }
  has(kind: string): kind is CacheKind {
    return this.byKind.has(kind as CacheKind);
  }
  get(kind: CacheKind) {
    return this.byKind.get(kind);
  }
  apply(ev: NlEvent): CacheChange | undefined {
    return this.byKind.get(ev.type as CacheKind)?.apply(ev);
  }
  kinds(): CacheKind[] {
    return [...this.byKind.keys()];
  }
}
