/**
 * Object caches kept from events: filled from a dump, updated by every notification, and
 * repaired by comparing with a fresh dump when notifications were lost (overrun) or never sent
 * (routes the kernel drops silently when their link goes down).
 *
 * Links, addresses and the other small kinds are kept as the JSON text of their bodies, so
 * comparing an object with its state in a dump is a string comparison. Routes, which can number
 * a full BGP table, are kept as the kernel's bytes (route-cache.ts).
 */
import type { BasicContext } from "../decode/context.ts";
import type { NlEvent } from "../event/model.ts";
import { objectKind } from "../families/index.ts";
import { NLM_F_MULTI } from "../uapi/linux.gen.ts";
import { type CacheChange, cachedEvent, isDelete } from "./change.ts";
import { bodyJson, bodyOf, serialise } from "../event/line.ts";
import { sortKeyed, TYPE_ORDER } from "../decode/dump.ts";
import { type CacheKind, objectKey } from "./keys.ts";
import { RouteCache } from "./route-cache.ts";

export type { CacheChange, RouteCounts } from "./change.ts";


/**
 * What a comparison with a dump looks at: the body without values the kernel changes on its own
 * without a notification (an address's remaining lifetimes count down by the second).
 */
function stateOf(kind: CacheKind, json: string): string {
  if (kind !== "addr" || !json.includes("_life_time")) return json;
  // members of the body itself: never its first (family), and a comma followed by a bare quote
  // cannot occur inside a JSON string (its quotes are escaped)
  return json.replace(LIFETIMES, "");
}
const LIFETIMES = /,"(?:valid|preferred)_life_time":(?:-?\d+|"forever")/g;

/** Links, addresses and the other small object kinds: each kept as the JSON text of its body. */
export class ObjectCache {
  private readonly objects = new Map<string, string>();
  /** keys notifications spoke for while a dump was under way (see Caches.hold) */
  private held: Set<string> | undefined;
  /** objects the last replace left as notifications said although the dump said otherwise */
  unsettled = 0;

  hold(on: boolean): void {
    this.held = on ? new Set() : undefined;
  }

  constructor(readonly kind: Exclude<CacheKind, "route">) {}

  get size() {
    return this.objects.size;
  }

  /** Apply one notification; returns what changed (nothing, if it repeated what we had). */
  apply(ev: NlEvent): CacheChange | undefined {
    // a rule's key is its whole body: the text the comparison below needs anyway
    const text = this.kind === "rule" && ev.netlink.rule ? bodyJson(ev) : undefined;
    const key = objectKey(ev, text);
    if (key === undefined) return undefined;
    this.held?.add(key);
    const before = this.objects.get(key);
    if (isDelete(ev)) {
      if (before === undefined) return { kind: this.kind, op: "del", miss: true };
      this.objects.delete(key);
      return { kind: this.kind, op: "del", before };
    }
    // the body's text from the event's line: made once, for the exports as for this comparison
    const after = text ?? bodyJson(ev);
    if (after === before) return undefined;
    this.objects.set(key, after);
    return { kind: this.kind, op: before === undefined ? "add" : "change", before, after };
  }

  /**
   * Make the cache equal a fresh dump. Returns the differences: objects the dump has that we
   * lacked or had otherwise, and objects we had that the kernel no longer has.
   */
  replace(dumped: NlEvent[]): CacheChange[] {
    const fresh = new Map<string, string>();
    /** the dump's bodies, for the events of what it adds or changes */
    const bodies = new Map<string, object>();
    for (const ev of dumped) {
      const body = bodyOf(ev);
      if (body === undefined) continue;
      const text = JSON.stringify(body);
      const k = objectKey(ev, text);
      if (k === undefined) continue;
      fresh.set(k, text);
      bodies.set(k, body);
    }
    // what a notification reported during the dump is at least as new as the dump's view of it
    this.unsettled = 0;
    for (const k of this.held ?? []) {
      const mine = this.objects.get(k);
      if (fresh.get(k) !== mine) this.unsettled++;
      if (mine === undefined) fresh.delete(k);
      else fresh.set(k, mine);
    }
    const out: CacheChange[] = [];
    for (const [k, old] of this.objects) {
      const now = fresh.get(k);
      if (now === undefined) out.push({ kind: this.kind, op: "del", before: old });
      else if (now !== old && stateOf(this.kind, now) !== stateOf(this.kind, old)) out.push({ kind: this.kind, op: "change", before: old, after: now, body: bodies.get(k) });
    }
    for (const [k, now] of fresh) if (!this.objects.has(k)) out.push({ kind: this.kind, op: "add", after: now, body: bodies.get(k) });
    this.objects.clear();
    for (const [k, v] of fresh) this.objects.set(k, v);
    return out;
  }

  /** The cached objects as events, in the form --dump-events prints (a dump reply: NLM_F_MULTI). */
  values(): NlEvent[] {
    return [...this.objects.values()].map((json) => cachedEvent(this.kind, json, objectKind(this.kind)!.add, NLM_F_MULTI));
  }

  /** The cached objects' lines as --dump-events prints them, each made around the text kept. */
  lines(): string[] {
    const add = objectKind(this.kind)!.add;
    return [...this.objects.values()].map((json) => serialise(cachedEvent(this.kind, json, add, NLM_F_MULTI)));
  }
}

export type Cache = ObjectCache | RouteCache;

/** What a dump brought for the caches: decoded objects, and routes as their bytes (rtmsg + attributes). */
export interface CacheSnapshot {
  events: NlEvent[];
  routes: Uint8Array[];
}

export class Caches {
  readonly byKind = new Map<CacheKind, Cache>();
  constructor(kinds: CacheKind[], ctx: BasicContext) {
    for (const k of kinds) this.byKind.set(k, k === "route" ? new RouteCache(ctx) : new ObjectCache(k));
  }
  has(kind: string): kind is CacheKind {
    return this.byKind.has(kind as CacheKind);
  }
  get(kind: CacheKind): Cache | undefined {
    return this.byKind.get(kind);
  }
  get route(): RouteCache | undefined {
    const c = this.byKind.get("route");
    return c instanceof RouteCache ? c : undefined;
  }
  /** One notification; routes need their bytes `b[off, end)` (rtmsg and attributes). */
  apply(ev: NlEvent, b?: Uint8Array, off = 0, end = 0): CacheChange | undefined {
    const c = this.byKind.get(ev.type as CacheKind);
    if (!c) return undefined;
    if (c instanceof RouteCache) return b ? c.apply(ev, b, off, end) : undefined;
    return c.apply(ev);
  }
  /**
   * Between hold(true) and hold(false), a dump is under way: objects that notifications report in
   * that window are kept as the notifications said, whatever the dump says, because the dump may
   * have read them before the change (its derived event would repeat or contradict the received
   * one). `unsettled` then counts those whose dump state differed, so a later dump can check them.
   */
  hold(on: boolean): void {
    for (const c of this.byKind.values()) c.hold(on);
  }
  /** objects the last replace of each cache kept as notifications said, the dump differing */
  get unsettled(): number {
    let n = 0;
    for (const c of this.byKind.values()) n += c.unsettled;
    return n;
  }
  /** Make one cache equal a dump; returns the differences. */
  replace(kind: CacheKind, snap: CacheSnapshot): CacheChange[] {
    const c = this.byKind.get(kind);
    if (!c) return [];
    if (c instanceof RouteCache) return c.replace(snap.routes);
    return c.replace(snap.events.filter((e) => e.type === kind));
  }
  kinds(): CacheKind[] {
    return [...this.byKind.keys()];
  }
  /**
   * Every cache's objects as --dump-events lines, sorted as --dump-events sorts them: the text
   * each cache keeps (or, for routes, makes once from the kernel's bytes), not events serialised anew.
   */
  sortedLines(): string[] {
    const keyed: { t: number; line: string }[] = [];
    for (const c of this.byKind.values()) {
      const t = TYPE_ORDER.indexOf(c.kind);
      for (const line of c.lines()) keyed.push({ t, line });
    }
    return sortKeyed(keyed);
  }
}
