/**
 * Object caches kept from events: filled from a dump, updated by every notification, and
 * repaired by comparing with a fresh dump when notifications were lost (overrun) or never sent
 * (routes the kernel drops silently when their link goes down).
 */
import type { NlEvent } from "../event/model.ts";
import { NAMES, NLM_F_REPLACE } from "../uapi/linux.gen.ts";
import { type CacheKind, objectKey, routePrefixKey } from "./keys.ts";

const RTM = NAMES.rtm_type as Record<number, string>;

export function isDelete(ev: NlEvent): boolean {
  return (RTM[ev.msg_type] ?? "").startsWith("RTM_DEL");
}

export interface CacheChange {
  kind: CacheKind;
  op: "add" | "change" | "del";
  before?: NlEvent;
  after?: NlEvent;
}

export class ObjectCache {
  readonly objects = new Map<string, NlEvent>();
  constructor(readonly kind: CacheKind) {}

  get size() {
    return this.objects.size;
  }

  /** Apply one notification; returns what changed (nothing, if it repeated what we had). */
  apply(ev: NlEvent): CacheChange | undefined {
    const key = objectKey(ev);
    if (key === undefined) return undefined;
    const before = this.objects.get(key);
    if (isDelete(ev)) {
      if (!before) return undefined;
      this.objects.delete(key);
      return { kind: this.kind, op: "del", before };
    }
    if (this.kind === "route" && !before && ev.netlink.route?.family === "inet6" && ev.netlink.msg_flags & NLM_F_REPLACE) {
      // the replaced route had another nexthop, so another key; the kernel sends no delete for it
      const p = routePrefixKey(ev);
      for (const [k, old] of this.objects) if (routePrefixKey(old) === p) this.objects.delete(k);
    }
    this.objects.set(key, ev);
    return { kind: this.kind, op: before ? "change" : "add", before, after: ev };
  }

  /**
   * Make the cache equal a fresh dump. Returns the differences: objects the dump has that we
   * lacked or had otherwise, and objects we had that the kernel no longer has.
   */
  replace(dumped: NlEvent[]): CacheChange[] {
    const fresh = new Map<string, NlEvent>();
    for (const ev of dumped) {
      const k = objectKey(ev);
      if (k !== undefined) fresh.set(k, ev);
    }
    const out: CacheChange[] = [];
    for (const [k, old] of this.objects) {
      const now = fresh.get(k);
      if (!now) out.push({ kind: this.kind, op: "del", before: old });
      else if (bodyJson(now) !== bodyJson(old)) out.push({ kind: this.kind, op: "change", before: old, after: now });
    }
    for (const [k, now] of fresh) if (!this.objects.has(k)) out.push({ kind: this.kind, op: "add", after: now });
    this.objects.clear();
    for (const [k, v] of fresh) this.objects.set(k, v);
    return out;
  }

  values(): NlEvent[] {
    return [...this.objects.values()];
  }
}

/** The object body only: how it reached us (flags, seq, time) is not part of its state. */
export function bodyJson(ev: NlEvent): string {
  const n = ev.netlink as unknown as Record<string, unknown>;
  return JSON.stringify(n[ev.type]);
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
