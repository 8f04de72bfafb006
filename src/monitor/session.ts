/**
 * The monitoring sockets: one per protocol the config enables, opened through the backend, and
 * generic netlink's families joined as they appear (genl-watch.ts).
 */
import type { Backend, BackendEvent, BackendOptions } from "../backend/types.ts";
import type { OpenedSocket } from "../backend/types.ts";
import type { CacheKind } from "../cache/keys.ts";
import type { NlmonConfig } from "../config/types.ts";
import { configNotes } from "../config/lift.ts";
import { protocolName } from "../decode/message.ts";
import type { GenlFamily } from "../families/genl/index.ts";
import { familyOf, STATE_FAMILY } from "../families/index.ts";
import type { Log } from "../log.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import { NETLINK_GENERIC, NETLINK_NETFILTER, NETLINK_SOCK_DIAG } from "../uapi/linux.gen.ts";
import { loadGenlFamilies, loadPolicies, resolveAvailable, sameFamily } from "./genl.ts";
import { GenlWatch } from "./genl-watch.ts";
import { TASKSTATS_NAME, TaskstatsRegistration } from "./taskstats.ts";
import { rtnlGroups } from "./groups.ts";
import type { OverrunReports } from "./overrun-report.ts";
import { socketReport } from "./report.ts";

/** The configuration leaves nothing to listen to: a config problem. */
export class NothingToMonitor extends Error {
  override name = "NothingToMonitor";
}

export interface SessionDeps {
  cfg: NlmonConfig;
  backend: Backend;
  log: Log;
  metrics: NlmonMetrics;
  overrunReports: OverrunReports;
  /** the caches kept, named beside the state family's socket */
  cached: readonly CacheKind[];
  pull: boolean;
  listener: (ev: BackendEvent) => void;
}

/** how to give nlmon what netfilter's groups need, for the error that says they were refused */
export const CAPABILITY_HINT = "joining conntrack and nf_tables groups needs CAP_NET_ADMIN; run nlmon as root, or grant it: " +
  "`setcap cap_net_admin+ep /path/to/nlmon`, or `AmbientCapabilities=CAP_NET_ADMIN` in the systemd unit";

/** netfilter's groups the config asks for */
export function netfilterGroups(cfg: NlmonConfig): number[] {
  const n = cfg.netlink.netfilter;
  if (!cfg.netlink.protocols.netfilter) return [];
  const g = familyOf(NETLINK_NETFILTER)!.groups;
  const names = [
    ...(n.conntrack ? ["conntrack_new", "conntrack_update", "conntrack_destroy"] : []),
    ...(n.expectations ? ["conntrack_exp_new", "conntrack_exp_update", "conntrack_exp_destroy"] : []),
    ...(n.nftables ? ["nftables"] : []),
  ];
  return names.map((x) => g[x]!);
}

/** sock_diag's destroy groups for the protocols the config dumps */
export function sockDiagGroups(cfg: NlmonConfig): number[] {
  const s = cfg.netlink.sock_diag;
  if (!cfg.netlink.protocols.sock_diag || !s.destroy_events) return [];
  const g = familyOf(NETLINK_SOCK_DIAG)!.groups;
  return s.protocols.flatMap((p) => [g[`inet_${p}_destroy`]!, g[`inet6_${p}_destroy`]!]);
}

export class Session {
  /** each open socket's options; a reconnect opens them again */
  opened: BackendOptions[] = [];
  /** protocols whose sockets could not be opened */
  failed: string[] = [];
  genlFamilies: GenlFamily[] = [];
  genlWatch: GenlWatch | undefined;
  readonly taskstats: TaskstatsRegistration;

  constructor(private readonly d: SessionDeps) {
    this.taskstats = new TaskstatsRegistration(d.log);
  }

  /**
   * What a monitoring socket must ask for itself once open (again after a reconnect): taskstats'
   * exit records go only to sockets registered for them.
   */
  async registerListeners(): Promise<void> {
    const ts = this.genlFamilies.find((f) => f.name === TASKSTATS_NAME);
    if (ts && this.opened.some((o) => o.protocol === NETLINK_GENERIC)) {
      await this.taskstats.register(this.d.backend.send?.bind(this.d.backend), NETLINK_GENERIC, ts.id);
    }
  }

  private socketOptions(protocol: number, groups: number[]): BackendOptions {
    const n = this.d.cfg.netlink;
    return { protocol, groups, rcvbuf: n.buffer_size.receive, sndbuf: n.buffer_size.send, maxMessageSize: n.limits.max_message_size };
  }

  /**
   * netlink.namespaces: all — each namespace followed is primed with its devices (links), so its
   * events name them by its own ifindexes, not another namespace's
   */
  private followPrime(): Pick<BackendOptions, "prime"> {
    if (this.d.cfg.netlink.namespaces !== "all") return {};
    return { prime: STATE_FAMILY.dumpRequests().filter((r) => r.type === "link").map((r) => r.request) };
  }

  /** The sockets of every protocol the config enables. */
  async open(): Promise<void> {
    const { cfg, log, backend } = this.d;
    const opts: BackendOptions[] = [];
    if (cfg.netlink.protocols.route) opts.push({ ...this.socketOptions(STATE_FAMILY.protocol, rtnlGroups(cfg).groups), ...this.followPrime() });
    if (cfg.netlink.protocols.generic) opts.push(await this.genericOptions(cfg.netlink.generic_families));
    // opened one by one after the others: joining netfilter's groups needs CAP_NET_ADMIN, and a
    // monitor without it keeps the protocols that work
    const own: [string, BackendOptions][] = [];
    const nf = netfilterGroups(cfg);
    if (nf.length) own.push(["netfilter", this.socketOptions(NETLINK_NETFILTER, nf)]);
    const sd = sockDiagGroups(cfg);
    if (sd.length) own.push(["sock_diag", this.socketOptions(NETLINK_SOCK_DIAG, sd)]);
    // sock_diag is polled by dumps even without a socket of its own
    const polled = cfg.netlink.protocols.sock_diag;
    if (!opts.length && !own.length && !polled && !this.d.pull) throw new NothingToMonitor("no protocol nlmon decodes is enabled (netlink.protocols)");
    if (cfg.netlink.generic_families.length && !cfg.netlink.protocols.generic) {
      log.warn("genl", "netlink.generic_families is set but protocols.generic is off: the families are not monitored");
    }
    for (const n of [...configNotes(cfg), ...rtnlGroups(cfg).notes]) log[n.level]("config", n.text);
    await backend.start(opts, this.d.listener);
    for (const [name, o] of own) {
      try {
        await backend.start([o], this.d.listener);
        opts.push(o);
      } catch (e) {
        const why = (e as Error).message;
        this.failed.push(name);
        log.error("netlink", `protocols.${name}: cannot join its groups (${why})${/EPERM|not permitted/i.test(why) ? `: ${CAPABILITY_HINT}` : ""}; the other protocols run on`);
      }
    }
    if (!opts.length && !polled && !this.d.pull) throw new NothingToMonitor(`no protocol could be opened (${this.failed.join(", ")})`);
    this.opened = opts;
    for (const o of opts) this.d.metrics.protocolOpened(protocolName(o.protocol));
    this.d.overrunReports.open(opts.map((o) => o.protocol));
    await this.registerListeners();
    await this.genlRecheck();
    this.reportSockets(backend.sockets);
  }

  /** nlctrl's notify group always (families appearing and leaving), plus every group of each family asked for. */
  private async genericOptions(families: string[]): Promise<BackendOptions> {
    const { backend, log } = this.d;
    const useLibnl = backend.name === "libnl";
    const wanted = ["nlctrl", ...families.filter((f) => f !== "nlctrl")];
    const r = await resolveAvailable(backend, wanted, useLibnl ? { library: this.d.cfg.netlink.libnl.library || undefined } : undefined);
    for (const n of r.notes) log.info("genl", n);
    for (const w of r.warnings) log.warn("genl", w);
    const fams = r.found;
    this.genlFamilies = fams;
    for (const w of await loadPolicies(backend, fams)) log.warn("genl", w);
    const picked = new Map(fams.map((f) => [f, this.pickGroups(f.name, f.groups)]));
    const pick = (f: GenlFamily) => picked.get(f)!;
    const groups = [...new Set(fams.flatMap((f) => Object.values(pick(f))))].sort((a, b) => a - b);
    log.info("genl", `families: ${fams.map((f) => `${f.name}=${f.id}${Object.keys(pick(f)).length ? ` (${Object.keys(pick(f)).join(",")})` : ""}`).join(" ")}`);
    const opts = this.socketOptions(NETLINK_GENERIC, groups);
    this.genlWatch = new GenlWatch(wanted, r.missing, opts, (g) => backend.join(NETLINK_GENERIC, g), log, async (f) => {
      for (const w of await loadPolicies(backend, [f])) log.warn("genl", w);
    }, (name, g) => this.pickGroups(name, g, false));
    return opts;
  }

  /**
   * The groups of a family to join: all of them, or those its `{name, groups}` entry lists. A
   * listed group the family lacks is said once at start (it may still be added later).
   */
  private pickGroups(name: string, groups: Record<string, number>, report = true): Record<string, number> {
    const want = Object.entries(this.d.cfg.netlink.generic_groups ?? {}).find(([n]) => sameFamily(n, name))?.[1];
    if (!want) return groups;
    const out: Record<string, number> = {};
    for (const g of want) {
      if (groups[g] !== undefined) out[g] = groups[g]!;
      else if (report) this.d.log.warn("genl", `generic netlink family '${name}' has no multicast group '${g}' (it has: ${Object.keys(groups).sort().join(", ") || "none"})`);
    }
    return out;
  }

  /** a family registered between the start-up dump and the socket joining nlctrl's notify group */
  private async genlRecheck() {
    if (this.genlWatch?.missing.size) this.genlWatch.recheck(await loadGenlFamilies(this.d.backend));
  }

  /** Open NETLINK_GENERIC later (the library API enables protocols one by one). */
  async enableGeneric(families: string[]): Promise<void> {
    const { backend } = this.d;
    if (this.opened.some((o) => o.protocol === NETLINK_GENERIC)) return;
    const o = await this.genericOptions(families);
    await backend.start([o], this.d.listener);
    this.opened.push(o);
    this.d.metrics.protocolOpened(protocolName(o.protocol));
    this.reportSockets(backend.sockets.filter((s) => s.protocol === o.protocol));
    this.d.overrunReports.open([NETLINK_GENERIC]);
    await this.registerListeners();
    await this.genlRecheck();
  }

  private reportSockets(sockets: readonly OpenedSocket[]) {
    const { backend, log } = this.d;
    const r = socketReport(backend.name, backend.library, sockets, this.d.cfg.netlink.buffer_size.receive, this.d.cached);
    for (const w of r.warn) log.warn("netlink", w);
    for (const i of r.info) log.info("netlink", i);
  }
}
