/**
 * One report per receive-queue overrun burst, saying what was lost for good. During a burst the
 * kernel raises ENOBUFS many times (each time the queue fills again after nlmon drained it), and
 * a line per ENOBUFS says nothing an operator can act on. What matters is afterwards: how many
 * notifications the kernel dropped (its own per-socket count), how many of the changes the
 * caches' re-dump gave back (events marked resync), which kinds nothing can give back because no
 * cache holds them, and what would have prevented that.
 *
 * A burst ends when no ENOBUFS came for a second and the re-dumps it caused are done.
 * nlmon_events_lost_total{protocol, kind} counts per burst: kind="recovered" the dropped
 * notifications whose changes a re-dump re-emitted, kind="unrecovered" the rest. Their sum is what
 * the kernel dropped; a change that was made and undone inside the burst counts as unrecovered,
 * since its events are gone even if the end state is right.
 */
import type { CacheKind } from "../cache/keys.ts";
import type { NlmonConfig } from "../config/types.ts";
import { protocolName } from "../decode/message.ts";
import type { NlEvent } from "../event/model.ts";
import type { Log } from "../log.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import { STATE_FAMILY } from "../families/index.ts";

/** the kinds of object each rtnetlink group nlmon joins carries, in the order reports list them */
const KIND_ORDER = ["link", "addr", "route", "neigh", "rule", "nexthop", "netconf", "nsid", "prefix"];
const GROUP_KINDS: Record<string, string> = {
  link: "link", ipv4_ifaddr: "addr", ipv6_ifaddr: "addr", ipv4_route: "route", ipv6_route: "route",
  ipv4_mroute: "route", ipv6_mroute: "route", neigh: "neigh", ipv4_rule: "rule", ipv6_rule: "rule",
  nexthop: "nexthop", ipv4_netconf: "netconf", ipv6_netconf: "netconf", nsid: "nsid", ipv6_prefix: "prefix",
};

const QUIET_MS = 1000;
/** a burst that never goes quiet is still reported this often */
const MAX_BURST_MS = 10_000;

interface Burst {
  enobufs: number;
  lastCount: number;
  startedAt: number;
  lastAt: number;
  /** the kernel's drop counter for the socket, latest reading */
  drops?: number;
  /** events the re-dumps re-emitted while the burst was open */
  reemitted: number;
  /** a close is being confirmed with the receive thread */
  closing?: boolean;
}

export interface OverrunReportOptions {
  cfg: NlmonConfig;
  log: Log;
  metrics: NlmonMetrics;
  /** caches enabled, which a re-dump repairs */
  cached: readonly CacheKind[];
  /** rtnetlink groups joined, by name */
  routeGroups: readonly string[];
  /** no re-dump is running or scheduled */
  resyncIdle: () => boolean;
  /**
   * Resolves once this thread has everything the receive thread posted so far. A main thread
   * that was busy for a second may still have ENOBUFS waiting to be delivered, which would
   * otherwise look like a quiet second and split one burst into two reports.
   */
  barrier?: () => Promise<void>;
  /**
   * For a protocol other than the state family's: what a re-dump repairs, what nothing can give
   * back, and the setting that would have repaired it (the conntrack cache, netfilter's).
   */
  repairOf?: (protocol: number) => { repairable: string[]; lost: string[]; fix?: string } | undefined;
}

export class OverrunReports {
  private readonly bursts = new Map<number, Burst>();
  /** the drop counter when the last burst of each protocol was reported */
  private readonly reported = new Map<number, number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly lost: Map<number, { recovered: { value: number }; unrecovered: { value: number } }> = new Map();

  constructor(private readonly o: OverrunReportOptions) {}

  /** the series exist from the start, at 0, so rate() and alerts have a baseline */
  open(protocols: number[]) {
    for (const p of protocols) {
      if (this.lost.has(p)) continue;
      const protocol = protocolName(p);
      this.lost.set(p, {
        recovered: this.o.metrics.eventsLost.slot({ protocol, kind: "recovered" }),
        unrecovered: this.o.metrics.eventsLost.slot({ protocol, kind: "unrecovered" }),
      });
    }
  }

  overrun(protocol: number, count: number) {
    const now = performance.now();
    const b = this.burst(protocol, now);
    b.enobufs++;
    b.lastCount = count;
    b.lastAt = now;
  }

  drops(protocol: number, drops: number | undefined) {
    const b = this.burst(protocol, performance.now());
    if (drops !== undefined) b.drops = drops;
  }

  /** events a re-dump made (marked resync) count as recovered for the bursts open now */
  observe(ev: NlEvent) {
    if (!ev.resync) return;
    const b = this.bursts.get(ev.protocol);
    if (b) b.reemitted++;
  }

  /** the sockets are being opened again (reconnect): their drop counters start from 0 */
  socketsReplaced() {
    this.reported.clear();
  }

  /** report what is open (at exit) */
  flush() {
    for (const p of [...this.bursts.keys()]) this.close(p);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private burst(protocol: number, now: number): Burst {
    let b = this.bursts.get(protocol);
    if (!b) {
      b = { enobufs: 0, lastCount: 0, startedAt: now, lastAt: now, reemitted: 0 };
      this.bursts.set(protocol, b);
      this.open([protocol]);
    }
    this.timer ??= setInterval(() => this.tick(), 250);
    return b;
  }

  private tick() {
    const now = performance.now();
    for (const [p, b] of this.bursts) {
      const quiet = now - b.lastAt >= QUIET_MS && this.o.resyncIdle();
      if (now - b.startedAt >= MAX_BURST_MS) this.close(p);
      else if (quiet && !b.closing) void this.confirmClose(p, b);
    }
    if (!this.bursts.size && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async confirmClose(protocol: number, b: Burst) {
    const seen = b.enobufs;
    b.closing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // a receive thread that does not answer (stopping, reconnecting) leaves what is known
      await Promise.race([this.o.barrier?.(), new Promise((r) => (timer = setTimeout(r, QUIET_MS)))]);
    } catch {
      // gone: the same
    } finally {
      clearTimeout(timer);
    }
    b.closing = false;
    // what the barrier delivered may have started another re-dump (the drop count read once the
    // queue was emptied does): its events belong to this burst
    if (this.bursts.get(protocol) === b && b.enobufs === seen && this.o.resyncIdle()) this.close(protocol);
  }

  private close(protocol: number) {
    const b = this.bursts.get(protocol);
    if (!b) return;
    this.bursts.delete(protocol);
    const before = this.reported.get(protocol) ?? 0;
    // a new socket's counter starts again from 0 (socketsReplaced() covers the reconnects it hears of)
    const base = b.drops !== undefined && b.drops < before ? 0 : before;
    // each ENOBUFS means at least one drop: the floor where the kernel's counter is unavailable
    const dropped = b.drops !== undefined ? Math.max(b.drops - base, b.enobufs) : b.enobufs;
    if (b.drops !== undefined) this.reported.set(protocol, b.drops);
    const repairable = protocol === STATE_FAMILY.protocol ? this.o.cached : this.o.repairOf?.(protocol)?.repairable ?? [];
    const recovered = Math.min(dropped, b.reemitted);
    const unrecovered = dropped - recovered;
    this.open([protocol]);
    const series = this.lost.get(protocol)!;
    series.recovered.value += recovered;
    series.unrecovered.value += unrecovered;
    this.o.log.warn("netlink", this.describe(protocol, b, dropped, recovered, unrecovered, repairable));
  }

  private describe(protocol: number, b: Burst, dropped: number, recovered: number, unrecovered: number, repairable: readonly string[]): string {
    const secs = ((b.lastAt - b.startedAt) / 1000).toFixed(2);
    const exact = b.drops !== undefined ? "" : "at least ";
    const rcv = this.o.cfg.netlink.buffer_size.receive;
    const parts = [
      `receive queue overrun on ${protocolName(protocol)} (ENOBUFS #${b.lastCount}, ${b.enobufs} in this burst over ${secs} s): ` +
      `the kernel dropped ${exact}${dropped} notification${dropped === 1 ? "" : "s"}.`,
    ];
    if (repairable.length) {
      parts.push(`Re-dumped ${repairable.join(", ")}: ${recovered} missed change${recovered === 1 ? " was" : "s were"} re-emitted marked "resync".`);
    }
    const lostKinds = this.lostKinds(protocol, repairable);
    if (unrecovered > 0) {
      parts.push(`Lost for good: ${unrecovered} notification${unrecovered === 1 ? "" : "s"}` +
        (lostKinds.length ? ` (${lostKinds.join(", ")} changes: no cache holds them, so no re-dump can give them back` : " (") +
        `${lostKinds.length ? "; " : ""}a change made and undone within the burst leaves nothing to re-emit).`);
    } else {
      parts.push("Nothing is lost for good (the re-emitted changes arrive late and without the states in between).");
    }
    const fix: string[] = [];
    if (protocol === STATE_FAMILY.protocol && unrecovered > 0) {
      const c = this.o.cfg.netlink.caching;
      const want = (["link", "addr", "route"] as const).filter((k) => lostKinds.includes(k));
      const keys = want.map((k) => `netlink.caching.${k}_cache: true`).join(", ");
      const what = want.map((k) => (k === "addr" ? "addresses" : `${k}s`)).join(", ");
      if (want.length) fix.push(`${c.enabled ? keys : `netlink.caching.enabled: true with ${keys}`} would have repaired the ${what}`);
    } else if (unrecovered > 0) {
      const other = this.o.repairOf?.(protocol)?.fix;
      if (other) fix.push(other);
    }
    const outcome = unrecovered === 0 ? "avoided the overrun" : fix.length ? "kept them all" : "kept them";
    fix.push(`a netlink.buffer_size.receive above ${rcv} bytes would have ${outcome} (4 MiB absorbed a 100,000-route burst in nlmon's measurement; the default is 32 MiB)`);
    if (fix.length) parts.push(fix.join("; ") + ".");
    return parts.join(" ");
  }

  /** what this protocol's notifications carry that a re-dump cannot give back */
  private lostKinds(protocol: number, repairable: readonly string[]): string[] {
    if (protocol !== STATE_FAMILY.protocol) return this.o.repairOf?.(protocol)?.lost ?? ["generic netlink"];
    const kinds = new Set(this.o.routeGroups.map((g) => GROUP_KINDS[g] ?? g));
    return KIND_ORDER.filter((k) => kinds.has(k) && !(repairable as readonly string[]).includes(k));
  }
}
