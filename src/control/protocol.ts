/**
 * The control socket's protocol: one request per line, a JSON object `{"cmd": ...}`, answered by
 * one line of JSON, `{"ok": true, ...}` or `{"ok": false, "error": "..."}`. Line-delimited JSON
 * so that `socat - UNIX-CONNECT:/run/nlmon/nlmon.sock` is a usable client too.
 */

/** a request line longer than this is not a request nlmon knows: answered with an error and closed */
export const MAX_REQUEST_BYTES = 4096;

export const COMMANDS = ["status", "ping"] as const;
export type Command = (typeof COMMANDS)[number];

export type Reply = { ok: true; status?: StatusReport; pong?: true } | { ok: false; error: string };

export interface ProtocolStatus {
  /** NETLINK_ROUTE, ... */
  protocol: string;
  backend: string;
  /** the libnl shared object the backend loaded; absent for the legacy backend */
  library?: string;
  /** multicast groups joined, by name where nlmon knows it, else the number */
  groups: string[];
  /** generic netlink only: families resolved, and those configured but absent from the kernel */
  families?: { name: string; id: number; groups: string[] }[];
  missing_families?: string[];
  /** SO_RCVBUF granted (half what the kernel reports), and what the config asked for */
  receive_buffer?: { bytes: number; configured: number; forced: boolean };
  messages: number;
  /** events that passed the filters */
  events: number;
  decode_errors: number;
  enobufs: number;
  resyncs: number;
  /** receive time of the newest message on the protocol's socket (ISO 8601); null: none yet */
  last_message: string | null;
}

export interface CacheStatus {
  cache: string;
  objects: number;
  resyncs: number;
}

export interface ExportStatus {
  export: string;
  /** events handed to the export's sink; null for an export that takes none (Prometheus is scraped) */
  written: number | null;
  dropped: number;
  queued: number;
  errors: number;
}

export interface StatusReport {
  version: string;
  pid: number;
  protocols: ProtocolStatus[];
  /** protocols enabled whose sockets could not be opened (netfilter without CAP_NET_ADMIN) */
  failed_protocols: string[];
  /** netlink.namespace the sockets are in; "" = nlmon's own */
  namespace: string;
  caches: CacheStatus[];
  filters: {
    /** the global filter expression; "" = none */
    filter: string;
    /** events exported (passed), and dropped by filters (nlmon_filter_dropped_total) */
    passed: number;
    dropped: number;
    /** the named filters in force, with their actions */
    named?: { name: string; action: string; expr: string }[];
    /** exports with a filter of their own, and its expression or filter name */
    exports?: Record<string, string>;
  };
  automation: { hooks: object[]; alerts: object[] };
  /** the control socket, and the clients connected to it now (this request's among them) */
  control: { socket: string; connections: number };
  exports: ExportStatus[];
  process: {
    rss_bytes: number;
    rss_anon_bytes: number;
    cpu_seconds: number;
    uptime_seconds: number;
    started: string;
    /** "" = the embedded default */
    config_path: string;
    config_sha256: string;
    /** when the config in force was read (start, or the last accepted reload) */
    config_loaded: string;
    reloads: { accepted: number; rejected: number; last_error?: string };
  };
}
