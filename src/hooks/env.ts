/**
 * The environment a hook (or an alert's exec action) gets: the event's main fields as NLMON_*
 * variables, so a shell script can act on a link or a route without parsing JSON. The set is part
 * of nlmon's interface (docs/EVENT_HOOKS.md lists it, a test holds the two equal): renaming one
 * breaks somebody's script.
 */
import type { NlEvent } from "../event/model.ts";

/** every variable eventEnv() may set, with what it holds, in the order the docs list them */
export const EVENT_ENV: Readonly<Record<string, string>> = {
  NLMON_HOOK: "the hook's name (alert exec actions: the alert rule's name)",
  NLMON_EVENT_TYPE: "the event's type: link, addr, route, neigh, rule, nexthop, conntrack, diag, nl80211, genl, alert, ...",
  NLMON_MSG_TYPE: "the message type's name (RTM_NEWLINK, IPCTNL_MSG_CT_NEW, NLMON_ALERT, ...)",
  NLMON_PROTOCOL: "the netlink protocol's name (NETLINK_ROUTE, ...; nlmon for alerts)",
  NLMON_TIMESTAMP: "when nlmon received it, RFC 3339 with nanoseconds",
  NLMON_NAMESPACE: "the network namespace, when the event carries one",
  NLMON_IMPLICIT: "1 for a removal the kernel implied without a message (routes gone with their link)",
  NLMON_RESYNC: "1 for an event a repair dump produced after a receive-queue overrun",
  NLMON_IFNAME: "the device: link ifname; addr, route, neigh, nexthop dev; nl80211 ifname",
  NLMON_IFINDEX: "the device's index (link, addr, neigh, nl80211)",
  NLMON_OPERSTATE: "link: operstate (UP, DOWN, LOWERLAYERDOWN, ...)",
  NLMON_FLAGS: "link: its flags, comma-separated (UP,BROADCAST,LOWER_UP)",
  NLMON_MTU: "link: mtu",
  NLMON_KIND: "link: the link kind (vlan, bridge, vrf, ...)",
  NLMON_FAMILY: "address family (inet, inet6, ...; conntrack ipv4/ipv6)",
  NLMON_ADDRESS: "link: link-layer address; addr: the address (local, else address)",
  NLMON_PREFIXLEN: "addr: prefix length",
  NLMON_DST: "route: destination prefix; neigh: the neighbour's address; conntrack, diag: destination address",
  NLMON_GATEWAY: "route, nexthop: gateway",
  NLMON_TABLE: "route, rule: table number",
  NLMON_TABLE_NAME: "route: table name",
  NLMON_ROUTE_PROTOCOL: "route: the routing protocol's number (2 kernel, 4 static, 186 bgp, ...)",
  NLMON_ROUTE_PROTOCOL_NAME: "route: its name",
  NLMON_METRIC: "route: metric (priority)",
  NLMON_PRIORITY: "rule: priority",
  NLMON_NHID: "nexthop: id; route: nhid",
  NLMON_LLADDR: "neigh: link-layer address",
  NLMON_STATE: "neigh: NUD states, comma-separated; diag: socket state",
  NLMON_CT_EVENT: "conntrack: new, update or destroy",
  NLMON_CT_PROTO: "conntrack: layer-4 protocol (tcp, udp, icmp, ...)",
  NLMON_SRC: "conntrack (original direction), diag: source address",
  NLMON_SPORT: "conntrack, diag: source port",
  NLMON_DPORT: "conntrack, diag: destination port",
  NLMON_SOCK_PROTOCOL: "diag: tcp, udp, ...",
  NLMON_CHANGE: "diag: open, close, state or destroy",
  NLMON_MAC: "nl80211: the station's or peer's MAC address",
  NLMON_CMD: "nl80211, genl, taskstats: the command's name",
  NLMON_GENL_FAMILY: "generic netlink: the family's name",
  NLMON_PID: "taskstats: pid",
  NLMON_TGID: "taskstats: tgid",
  NLMON_ERROR: "error: the errno name",
  NLMON_ALERT_NAME: "alert: the rule's name",
  NLMON_ALERT_STATE: "alert: firing or resolved",
  NLMON_ALERT_SEVERITY: "alert: info, warning or critical",
  NLMON_ALERT_GROUP: "alert: the group's value (group_by), empty for a rule without group_by",
  NLMON_ALERT_COUNT: "alert: matching events in the window when it fired",
};

type Vars = Record<string, string>;

function put(out: Vars, name: string, v: unknown) {
  if (v === undefined || v === null) return;
  // a NUL cannot be passed in an environment variable; kernel strings never hold one anyway
  const s = Array.isArray(v) ? v.join(",") : String(v);
  out[name] = s.includes("\0") ? s.replace(/\0/g, "") : s;
}

/** The event's NLMON_* variables (NLMON_HOOK is the caller's). Absent fields set nothing. */
export function eventEnv(ev: NlEvent): Vars {
  const out: Vars = {};
  const n = ev.netlink;
  put(out, "NLMON_EVENT_TYPE", ev.type);
  put(out, "NLMON_MSG_TYPE", n?.msg_type_name);
  put(out, "NLMON_PROTOCOL", n?.protocol_name);
  put(out, "NLMON_TIMESTAMP", ev.timestamp);
  put(out, "NLMON_NAMESPACE", ev.namespace?.name);
  if (ev.implicit) out.NLMON_IMPLICIT = "1";
  if (ev.resync) out.NLMON_RESYNC = "1";
  if (!n) return out;
  put(out, "NLMON_GENL_FAMILY", n.genl_family_name);
  switch (ev.type) {
    case "link": {
      const b = n.link;
      if (!b) break;
      put(out, "NLMON_IFNAME", b.ifname);
      put(out, "NLMON_IFINDEX", b.ifindex);
      put(out, "NLMON_OPERSTATE", b.operstate);
      put(out, "NLMON_FLAGS", b.flags);
      put(out, "NLMON_MTU", b.mtu);
      put(out, "NLMON_KIND", b.kind);
      put(out, "NLMON_ADDRESS", b.address);
      break;
    }
    case "addr": {
      const b = n.addr;
      if (!b) break;
      put(out, "NLMON_IFNAME", b.dev);
      put(out, "NLMON_IFINDEX", b.ifindex);
      put(out, "NLMON_FAMILY", b.family);
      put(out, "NLMON_ADDRESS", b.local ?? b.address);
      put(out, "NLMON_PREFIXLEN", b.prefixlen);
      break;
    }
    case "route": {
      const b = n.route;
      if (!b) break;
      put(out, "NLMON_FAMILY", b.family);
      put(out, "NLMON_DST", b.dst);
      put(out, "NLMON_GATEWAY", b.gateway ?? b.via?.host);
      put(out, "NLMON_IFNAME", b.dev);
      put(out, "NLMON_TABLE", b.table);
      put(out, "NLMON_TABLE_NAME", b.table_name);
      put(out, "NLMON_ROUTE_PROTOCOL", b.protocol);
      put(out, "NLMON_ROUTE_PROTOCOL_NAME", b.protocol_name);
      put(out, "NLMON_METRIC", b.metric);
      put(out, "NLMON_NHID", b.nhid);
      break;
    }
    case "neigh": {
      const b = n.neigh;
      if (!b) break;
      put(out, "NLMON_FAMILY", b.family);
      put(out, "NLMON_IFNAME", b.dev);
      put(out, "NLMON_IFINDEX", b.ifindex);
      put(out, "NLMON_DST", b.dst);
      put(out, "NLMON_LLADDR", b.lladdr);
      put(out, "NLMON_STATE", b.state);
      break;
    }
    case "rule": {
      const b = n.rule;
      if (!b) break;
      put(out, "NLMON_FAMILY", b.family);
      put(out, "NLMON_TABLE", b.table);
      put(out, "NLMON_PRIORITY", b.priority);
      break;
    }
    case "nexthop": {
      const b = n.nexthop;
      if (!b) break;
      put(out, "NLMON_FAMILY", b.family);
      put(out, "NLMON_NHID", b.id);
      put(out, "NLMON_GATEWAY", b.gateway);
      put(out, "NLMON_IFNAME", b.dev);
      break;
    }
    case "conntrack": {
      const b = n.conntrack;
      if (!b) break;
      put(out, "NLMON_CT_EVENT", b.event);
      put(out, "NLMON_FAMILY", b.family);
      put(out, "NLMON_CT_PROTO", b.proto);
      put(out, "NLMON_SRC", b.original?.src);
      put(out, "NLMON_DST", b.original?.dst);
      put(out, "NLMON_SPORT", b.original?.sport);
      put(out, "NLMON_DPORT", b.original?.dport);
      break;
    }
    case "diag": {
      const b = n.diag;
      if (!b) break;
      put(out, "NLMON_FAMILY", b.family);
      put(out, "NLMON_SOCK_PROTOCOL", b.protocol);
      put(out, "NLMON_STATE", b.state);
      put(out, "NLMON_CHANGE", b.change);
      put(out, "NLMON_SRC", b.src);
      put(out, "NLMON_SPORT", b.sport);
      put(out, "NLMON_DST", b.dst);
      put(out, "NLMON_DPORT", b.dport);
      break;
    }
    case "nl80211": {
      const b = n.nl80211;
      if (!b) break;
      put(out, "NLMON_IFNAME", b.ifname);
      put(out, "NLMON_IFINDEX", b.ifindex);
      put(out, "NLMON_MAC", b.mac);
      put(out, "NLMON_CMD", b.cmd_name);
      break;
    }
    case "genl":
      put(out, "NLMON_CMD", n.genl?.cmd_name);
      break;
    case "taskstats": {
      const b = n.taskstats;
      if (!b) break;
      put(out, "NLMON_CMD", b.cmd_name);
      put(out, "NLMON_PID", b.pid);
      put(out, "NLMON_TGID", b.tgid);
      break;
    }
    case "error":
      put(out, "NLMON_ERROR", n.error?.error_name);
      break;
    case "alert": {
      const b = n.alert;
      if (!b) break;
      put(out, "NLMON_ALERT_NAME", b.name);
      put(out, "NLMON_ALERT_STATE", b.state);
      put(out, "NLMON_ALERT_SEVERITY", b.severity);
      put(out, "NLMON_ALERT_GROUP", b.group ?? "");
      put(out, "NLMON_ALERT_COUNT", b.count);
      break;
    }
  }
  return out;
}

let base: Vars | undefined;

/**
 * nlmon's own environment without any of the variables above: a stale NLMON_IFNAME inherited
 * from whoever started nlmon must not pose as the event's on events that have no device.
 */
export function baseEnv(): Vars {
  if (base) return base;
  const out: Vars = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !(k in EVENT_ENV)) out[k] = v;
  base = out;
  return out;
}

/** for tests that change process.env between runs */
export function resetBaseEnv() {
  base = undefined;
}
