/**
 * What makes two kernel objects the same object: the identity the kernel itself uses to find
 * them, so a NEW for an existing key replaces it and a DEL removes exactly it. Routes have theirs
 * read from their bytes (route-store.ts).
 */
import type { NlEvent } from "../event/model.ts";

export type CacheKind = "link" | "addr" | "route" | "neigh" | "rule" | "nexthop";

/** `bodyText`: the body's JSON text, where the caller has it (a rule's key is all of it). */
export function objectKey(ev: NlEvent, bodyText?: string): string | undefined {
  const n = ev.netlink;
  switch (ev.type) {
    case "link":
      return n.link ? `${n.link.ifindex}` : undefined;
    case "addr": {
      const a = n.addr;
      return a ? `${a.family}|${a.ifindex}|${a.local ?? a.address}|${a.prefixlen}` : undefined;
    }
    case "neigh": {
      const x = n.neigh;
      return x ? `${x.family}|${x.ifindex}|${x.dst ?? x.lladdr ?? ""}` : undefined;
    }
    case "rule": {
      // a rule has no id: every selector is part of its identity
      const r = n.rule;
      return r ? (bodyText ?? JSON.stringify(r)) : undefined;
    }
    case "nexthop":
      return n.nexthop?.id !== undefined ? `${n.nexthop.id}` : undefined;
  }
  return undefined;
}
