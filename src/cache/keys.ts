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
      const r = n.route;
      if (!r) return undefined;
      return `${routePrefixKey(ev)}${r.family === "inet6" ? `|${r.dev ?? r.oif ?? ""}|${r.gateway ?? ""}|${r.nexthops ? "mp" : ""}` : ""}`;
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
 * The part of a route's identity that a replace keeps. IPv4 finds a route by table, destination,
 * tos and priority; IPv6 keeps several routes for one prefix and metric when their nexthops differ
 * (fe80::/64 on every link), so its full key adds the nexthop, and a replace drops the routes that
 * share this prefix key.
 */
export function routePrefixKey(ev: NlEvent): string {
  const r = ev.netlink.route!;
  return `${r.family}|${r.table}|${r.dst}|${r.src ?? ""}|${r.tos ?? 0}|${r.metric ?? 0}`;
}
