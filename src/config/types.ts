/**
 * The configuration after loading: every field is present because the schema's defaults are
 * applied before anything else reads it. Kept in step with schema.json by test/unit/config.test.ts
 * (the enum lists below are compared with the schema's enums there).
 */

export const LOG_LEVELS = ["error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The rtnetlink multicast groups nlmon decodes (ROUTE_GROUPS in src/families/route/index.ts), by
 * their RTNLGRP_* name, lower-cased, in kernel numbering order
 */
export const RTNL_GROUP_NAMES = [
  "link", "neigh", "ipv4_ifaddr", "ipv4_mroute", "ipv4_route", "ipv4_rule", "ipv6_ifaddr",
  "ipv6_mroute", "ipv6_route", "ipv6_prefix", "ipv6_rule", "ipv4_netconf", "ipv6_netconf", "nsid",
  "nexthop",
] as const;
export type RtnlGroupName = (typeof RTNL_GROUP_NAMES)[number];

export const SYSLOG_FACILITIES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
  "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
] as const;
export type SyslogFacility = (typeof SYSLOG_FACILITIES)[number];

export type SyslogTransport = "unix" | "udp" | "tcp";
export type SyslogFormat = "rfc3164" | "rfc5424";
export type LibnlFallback = "none" | "legacy";

export interface NetlinkConfig {
  use_libnl: boolean;
  /** a name under /run/netns or a path; "" = nlmon's own */
  namespace: string;
  /** "all": every named namespace, as they come and go */
  namespaces: "" | "all";
  protocols: { route: boolean; generic: boolean; sock_diag: boolean; netfilter: boolean };
  /** bytes */
  buffer_size: { receive: number; send: number };
  /** library: path to the shared object, "" = bundled */
  libnl: { library: string; fallback: LibnlFallback };
  caching: { enabled: boolean; link_cache: boolean; addr_cache: boolean; route_cache: boolean; conntrack_cache: boolean };
  /** family names; load.ts turns each `{name, groups}` entry into its name and an entry of generic_groups */
  generic_families: string[];
  /** per family (as configured), the multicast groups to join; a family not listed joins all of its groups */
  generic_groups?: Record<string, string[]>;
  netfilter: NetfilterConfig;
  sock_diag: SockDiagConfig;
  /** informational: the groups joined follow protocols (src/monitor/groups.ts) */
  multicast_groups: RtnlGroupName[];
  limits: { max_message_size: number; message_pool_size: number };
}

/** NETLINK_NETFILTER (protocols.netfilter): which of its groups, and what is done at start */
export interface NetfilterConfig {
  conntrack: boolean;
  expectations: boolean;
  nftables: boolean;
  dump_on_start: boolean;
  enable_accounting: boolean;
}

export const SOCK_DIAG_STATES = [
  "established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait", "close", "close-wait", "last-ack",
  "listen", "closing", "all",
] as const;
export type SockDiagState = (typeof SOCK_DIAG_STATES)[number];

/** NETLINK_SOCK_DIAG (protocols.sock_diag): sockets are dumped every interval and compared */
export interface SockDiagConfig {
  /** seconds */
  interval: number;
  protocols: ("tcp" | "udp")[];
  states: SockDiagState[];
  ports: number[];
  unix: boolean;
  destroy_events: boolean;
}

export const LOG_MODULES = [
  "main", "config", "netlink", "libnl", "genl", "decode", "cache", "filter", "export", "hooks", "alerts", "netfilter",
  "sock_diag", "control", "replay", "dump", "bench", "monitor", "resources",
] as const;
export type LogModule = (typeof LOG_MODULES)[number];

export interface LoggingConfig {
  level: LogLevel;
  modules: Partial<Record<LogModule, LogLevel>>;
  target: "stderr" | "syslog";
}

export interface MonitoringConfig {
  resource_tracking: boolean;
}

export interface JsonExportConfig {
  enabled: boolean;
  /** this export's own filter (an expression or a named filter); "" = the global filter */
  filter: string;
  /** "-" = stdout */
  file: string;
  pretty: boolean;
  queue_size: number;
  /** max_size 0 = no rotation */
  rotate: { max_size: number; keep: number; compress: boolean };
}

export interface SyslogExportConfig {
  enabled: boolean;
  filter: string;
  transport: SyslogTransport;
  path: string;
  host: string;
  port: number;
  format: SyslogFormat;
  facility: SyslogFacility;
  app_name: string;
  max_message_size: number;
  queue_size: number;
}

export interface PrometheusExportConfig {
  enabled: boolean;
  address: string;
  port: number;
  path: string;
}

export interface PcapExportConfig {
  enabled: boolean;
  filter: string;
  /** "-" = stdout */
  file: string;
  queue_size: number;
  rotate: { max_size: number; keep: number };
}

export interface ExportConfig {
  json: JsonExportConfig;
  syslog: SyslogExportConfig;
  prometheus: PrometheusExportConfig;
  pcap: PcapExportConfig;
}

export interface NlmonConfig {
  netlink: NetlinkConfig;
  logging: LoggingConfig;
  monitoring: MonitoringConfig;
  /** "" = no filter */
  filter: string;
  /** named filters, by name */
  filters: Record<string, NamedFilterConfig>;
  export: ExportConfig;
  hooks: HookConfig[];
  alerts: AlertConfig[];
  control: ControlConfig;
}

export type FilterAction = "keep" | "drop" | "log" | "alert";

export interface NamedFilterConfig {
  expr: string;
  action: FilterAction;
  description: string;
}

export interface HookConfig {
  name: string;
  /** condition, in the filter language */
  when: string;
  /** argv, run without a shell */
  command?: string[];
  /** for /bin/sh -c, only when given instead of command */
  shell?: string;
  timeout_ms: number;
  max_concurrent: number;
  /** runs per second at most; 0 = unlimited */
  rate_limit: number;
}

export type AlertSeverity = "info" | "warning" | "critical";

export interface AlertActionConfig {
  type: "log" | "syslog" | "exec" | "webhook";
  url?: string;
  command?: string[];
  timeout_ms: number;
  retries: number;
}

export interface AlertConfig {
  name: string;
  when: string;
  threshold: number;
  window_s: number;
  /** a field path; "" = one group */
  group_by: string;
  severity: AlertSeverity;
  resolve_after_s: number;
  min_interval_s: number;
  actions: AlertActionConfig[];
}

export interface ControlConfig {
  enabled: boolean;
  /** "" = /run/nlmon/nlmon.sock as root, $XDG_RUNTIME_DIR/nlmon.sock otherwise */
  socket: string;
}
