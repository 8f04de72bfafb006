/**
 * nlmon as a library: the migration guide's unified API (nlmon_netlink_*), its direct manager API
 * (nlmon_nl_*), and the deprecated nlmon_multi_protocol_* names, over the same monitor the CLI
 * runs. Receiving happens on nlmon's own thread; process() decodes what has arrived and calls the
 * callback once per event, so an application decides when its callback runs.
 */
import { WorkerBackend } from "../backend/host.ts";
import { loadConfig } from "../config/load.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { NlEvent } from "../event/model.ts";
import { Log } from "../log.ts";
import { Monitor } from "../monitor/monitor.ts";
import { NAMES, NETLINK_GENERIC, NETLINK_NETFILTER, NETLINK_ROUTE, NETLINK_SOCK_DIAG } from "../uapi/linux.gen.ts";
import { resolveFamilies } from "../monitor/genl.ts";

export type * from "../event/model.ts";
export type { NlmonConfig } from "../config/types.ts";

export const NLMON_PROTO_ROUTE = NETLINK_ROUTE;
export const NLMON_PROTO_GENERIC = NETLINK_GENERIC;
export const NLMON_PROTO_SOCK_DIAG = NETLINK_SOCK_DIAG;
export const NLMON_PROTO_NETFILTER = NETLINK_NETFILTER;

export type NlmonCallback<U = unknown> = (event: NlEvent, userData: U) => void;

/** The guide's struct nlmon_netlink_config: use_libnl plus any part of the YAML config. */
export interface NlmonNetlinkConfig {
  use_libnl?: boolean;
  enable_route?: boolean;
  enable_generic?: boolean;
  /** any part of the YAML configuration's `netlink:` section */
  netlink?: Partial<NlmonConfig["netlink"]>;
  log_level?: NlmonConfig["logging"]["level"];
}

/** Negative errno-style codes, as the C API returned. */
export class NlmonApiError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function fullConfig(c: NlmonNetlinkConfig): NlmonConfig {
  // defaults from the schema, with no environment overrides: the caller's values are the config
  const cfg = loadConfig({ text: "{}", env: {} });
  if (c.netlink) Object.assign(cfg.netlink, c.netlink);
  if (c.use_libnl !== undefined) cfg.netlink.use_libnl = c.use_libnl;
  cfg.netlink.protocols = { ...cfg.netlink.protocols, route: false };
  cfg.export.json.enabled = false;
  if (c.log_level) cfg.logging.level = c.log_level;
  return cfg;
}

export class NlmonMultiProtocolCtx {
  readonly config: NlmonConfig;
  readonly log: Log;
  monitor: Monitor | undefined;
  callbacks: { cb: NlmonCallback<never>; data: unknown }[] = [];
  constructor(c: NlmonNetlinkConfig) {
    this.config = fullConfig(c);
    this.log = new Log(this.config.logging.level);
  }
}

function requireMonitor(ctx: NlmonMultiProtocolCtx, what: string): Monitor {
  if (!ctx.monitor) throw new NlmonApiError(-1, `${what}: NLMON_PROTO_ROUTE is not enabled`);
  return ctx.monitor;
}

/* ---------------------------------------------------------------- unified API */

export function nlmon_netlink_init(config: NlmonNetlinkConfig = {}): NlmonMultiProtocolCtx {
  return new NlmonMultiProtocolCtx(config);
}

/** Open the protocol's socket and join its groups. Resolves to 0. */
async function monitorFor(ctx: NlmonMultiProtocolCtx): Promise<Monitor> {
  if (ctx.monitor) return ctx.monitor;
  const backend = new WorkerBackend({ driver: ctx.config.netlink.use_libnl ? "libnl" : "legacy", libnlLibrary: ctx.config.netlink.libnl.library || undefined });
  const mon = new Monitor(ctx.config, backend, ctx.log, { pull: true });
  mon.pipeline.onEvent((pe) => {
    for (const c of ctx.callbacks) (c.cb as NlmonCallback)(pe.event, c.data);
  });
  await mon.start();
  ctx.monitor = mon;
  return mon;
}

export async function nlmon_netlink_enable(ctx: NlmonMultiProtocolCtx, proto: number, _useLibnl?: boolean): Promise<number> {
  if (proto === NETLINK_ROUTE) {
    if (ctx.monitor) {
      if (ctx.config.netlink.protocols.route) return 0;
      throw new NlmonApiError(-114, "enable NLMON_PROTO_ROUTE before NLMON_PROTO_GENERIC: the route socket starts the monitor");
    }
    ctx.config.netlink.protocols.route = true;
    await monitorFor(ctx);
    return 0;
  }
  if (proto === NETLINK_GENERIC) {
    const mon = await monitorFor(ctx);
    await mon.enableGeneric();
    return 0;
  }
  throw new NlmonApiError(-95, `protocol ${(NAMES.netlink_protocol as Record<number, string>)[proto] ?? proto} is not supported by this version`);
}

export function nlmon_netlink_set_callback<U>(ctx: NlmonMultiProtocolCtx, cb: NlmonCallback<U>, userData: U, _useLibnl?: boolean): void {
  ctx.callbacks = [{ cb: cb as NlmonCallback<never>, data: userData }];
}

/**
 * The netlink socket's file descriptor. nlmon's receive thread reads it; use the fd to identify
 * the socket (ss, lsof) and call process() from your loop (or nlmon_netlink_wait()).
 */
export function nlmon_netlink_get_fd(ctx: NlmonMultiProtocolCtx, proto: number, _useLibnl?: boolean): number {
  const m = ctx.monitor;
  return m?.backend.sockets.find((s) => s.protocol === proto)?.fd ?? -1;
}

/** Decode what has arrived and call the callback per event. Returns the number of messages. */
export function nlmon_netlink_process(ctx: NlmonMultiProtocolCtx, _proto: number, _useLibnl?: boolean): number {
  // one receive thread serves every enabled protocol, so processing drains them all in arrival order
  return requireMonitor(ctx, "nlmon_netlink_process").process();
}

/** Resolves when messages are waiting (or after timeoutMs). Returns how many batches wait. */
export async function nlmon_netlink_wait(ctx: NlmonMultiProtocolCtx, timeoutMs = 1000): Promise<number> {
  return requireMonitor(ctx, "nlmon_netlink_wait").waitPending(timeoutMs);
}

export async function nlmon_netlink_destroy(ctx: NlmonMultiProtocolCtx, _useLibnl?: boolean): Promise<void> {
  await ctx.monitor?.stop();
  ctx.monitor = undefined;
}

/* ---------------------------------------------------------------- direct manager API */

export type NlmonNlManager = NlmonMultiProtocolCtx;

export function nlmon_nl_manager_init(config: Omit<NlmonNetlinkConfig, "use_libnl"> = {}): NlmonNlManager {
  return new NlmonMultiProtocolCtx({ ...config, use_libnl: true });
}
export const nlmon_nl_enable_route = (mgr: NlmonNlManager) => nlmon_netlink_enable(mgr, NETLINK_ROUTE);
export const nlmon_nl_enable_generic = (mgr: NlmonNlManager) => nlmon_netlink_enable(mgr, NETLINK_GENERIC);
/** A generic netlink family's id (nl80211, taskstats, ...); throws naming the family if unknown. */
export async function nlmon_nl_resolve_family(mgr: NlmonNlManager, name: string): Promise<number> {
  const mon = await monitorFor(mgr);
  const [f] = await resolveFamilies(mon.backend, [name], mgr.config.netlink.use_libnl ? { library: mgr.config.netlink.libnl.library || undefined } : undefined);
  return f!.id;
}
export function nlmon_nl_set_callback<U>(mgr: NlmonNlManager, cb: NlmonCallback<U>, userData: U): void {
  nlmon_netlink_set_callback(mgr, cb, userData);
}
export const nlmon_nl_get_route_fd = (mgr: NlmonNlManager) => nlmon_netlink_get_fd(mgr, NETLINK_ROUTE);
export const nlmon_nl_get_genl_fd = (mgr: NlmonNlManager) => nlmon_netlink_get_fd(mgr, NETLINK_GENERIC);
export const nlmon_nl_process_route = (mgr: NlmonNlManager) => nlmon_netlink_process(mgr, NETLINK_ROUTE);
export const nlmon_nl_process_genl = (mgr: NlmonNlManager) => nlmon_netlink_process(mgr, NETLINK_GENERIC);
export const nlmon_nl_manager_destroy = (mgr: NlmonNlManager) => nlmon_netlink_destroy(mgr);
export function nlmon_nl_strerror(code: number): string {
  if (code === 0) return "success";
  return (NAMES.errno as Record<number, string>)[Math.abs(code)] ?? `error ${code}`;
}

/* ---------------------------------------------------------------- deprecated */

const warned = new Set<string>();
function deprecated(name: string, replacement: string) {
  if (warned.has(name)) return;
  warned.add(name);
  process.emitWarning(`${name}() is deprecated; use ${replacement}()`, { type: "DeprecationWarning", code: "NLMON_DEPRECATED" });
}

/** @deprecated use nlmon_netlink_init() or nlmon_nl_manager_init() */
export function nlmon_multi_protocol_init(config: NlmonNetlinkConfig = { use_libnl: false }): NlmonMultiProtocolCtx {
  deprecated("nlmon_multi_protocol_init", "nlmon_netlink_init");
  return nlmon_netlink_init({ use_libnl: false, ...config });
}
/** @deprecated use nlmon_netlink_enable() */
export function nlmon_multi_protocol_enable(ctx: NlmonMultiProtocolCtx, proto: number): Promise<number> {
  deprecated("nlmon_multi_protocol_enable", "nlmon_netlink_enable");
  return nlmon_netlink_enable(ctx, proto);
}
/** @deprecated use nlmon_netlink_set_callback() */
export function nlmon_multi_protocol_set_callback<U>(ctx: NlmonMultiProtocolCtx, cb: NlmonCallback<U>, userData: U): void {
  deprecated("nlmon_multi_protocol_set_callback", "nlmon_netlink_set_callback");
  nlmon_netlink_set_callback(ctx, cb, userData);
}
/** @deprecated use nlmon_netlink_get_fd() */
export function nlmon_multi_protocol_get_fd(ctx: NlmonMultiProtocolCtx, proto: number): number {
  deprecated("nlmon_multi_protocol_get_fd", "nlmon_netlink_get_fd");
  return nlmon_netlink_get_fd(ctx, proto);
}
/** @deprecated use nlmon_netlink_process() */
export function nlmon_multi_protocol_process(ctx: NlmonMultiProtocolCtx, proto: number): number {
  deprecated("nlmon_multi_protocol_process", "nlmon_netlink_process");
  return nlmon_netlink_process(ctx, proto);
}
/** @deprecated use nlmon_netlink_destroy() */
export function nlmon_multi_protocol_destroy(ctx: NlmonMultiProtocolCtx): Promise<void> {
  deprecated("nlmon_multi_protocol_destroy", "nlmon_netlink_destroy");
  return nlmon_netlink_destroy(ctx);
}
