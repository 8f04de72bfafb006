/**
 * What makes two kernel objects the same object: the identity the kernel itself uses to find
 * them, so a NEW for an existing key replaces it and a DEL removes exactly it.
 */
import type { NlEvent } from "../event/model.ts";

export type CacheKind = "link" | "addr" | "route" | "neigh" | "rule" | "nexthop";

export function objectKey(ev: NlEvent): string | undefined {
  const n = ev.netlink;
  switch (ev.type) {
    case "link":
      return n.link ? `${n.link.ifindex}` : undefined;
    case "addr": {
      const a = n.addr;
      return a ? `${a.family}|${a.ifindex}|${a.local ?? a.address}|${a.prefixlen}` : undefined;
    }
    case "route": {
      // the nexthop is part of the identity: IPv4 keeps appended routes (same prefix, tos and
      // metric, another nexthop) side by side, IPv6 keeps fe80::/64 once per link
      const r = n.route;
      if (!r) return undefined;
      return `${routePrefixKey(ev)}|${r.oif ?? ""}|${r.gateway ?? r.via?.host ?? ""}|${r.nexthops ? "mp" : ""}`;
    }
    case "neigh": {
      const x = n.neigh;
      return x ? `${x.family}|${x.ifindex}|${x.dst ?? x.lladdr ?? ""}` : undefined;
    }
    case "rule": {
      // a rule has no id: every selector is part of its identity
      const r = n.rule;
      return r ? JSON.stringify(r) : undefined;
    }
    case "nexthop":
      return n.nexthop?.id !== undefined ? `${n.nexthop.id}` : undefined;
  }
  return undefined;
}

/**
 * The part of a route's identity a replace keeps: table, destination, source, tos and priority.
 * A replace (NLM_F_REPLACE) drops the routes that share it; so does a new IPv6 route with a
 * gateway, which the kernel merges with its gateway siblings into one multipath route.
 */
export function routePrefixKey(ev: NlEvent): string {
  const r = ev.netlink.route!;
  return `${r.family}|${r.table}|${r.dst}|${r.src ?? ""}|${r.tos ?? 0}|${r.metric ?? 0}`;
}
