/**
 * The conntrack table seen from nlmon: listed at start when asked (`netfilter.dump_on_start`,
 * events marked `snapshot`), and with `caching.conntrack_cache` kept from events and repaired
 * after a receive-queue overrun. Conntrack is where overruns happen (a busy NAT gateway makes and
 * ends thousands of flows a second); the repair dumps the table again and emits what differs from
 * the cache, marked `resync`: entries the dump has that the cache lacks as `new`, entries gone as
 * `destroy`, entries whose state or status moved as `update`. What happened to a flow that began
 * and ended inside the lost window is gone for good, and the overrun report says how much was lost.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Backend } from "../backend/types.ts";
import { walkMessages } from "../codec/nlmsg.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { BasicContext } from "../decode/context.ts";
import { decodeMessage } from "../decode/message.ts";
import type { ConntrackBody, NlEvent, PipelineEvent } from "../event/model.ts";
import { familyOf } from "../families/index.ts";
import type { Log } from "../log.ts";
import { nowNs } from "../clock.ts";
import { NETLINK_NETFILTER } from "../uapi/linux.gen.ts";

export interface ConntrackSyncDeps {
  cfg: NlmonConfig;
  backend: Backend;
  ctx: BasicContext;
  log: Log;
  emit: (pe: PipelineEvent) => void;
  /** notifications already received are applied before a dump is compared */
  drain: () => void;
  stopped: () => boolean;
}

/** an entry's identity: the kernel's id, or its original tuple where the id is not sent */
export function conntrackKey(b: ConntrackBody): string {
  if (b.id !== undefined) return `id:${b.id}`;
  const o = b.original;
  return `${b.family}|${b.protonum}|${o?.src}|${o?.dst}|${o?.sport ?? o?.type}|${o?.dport ?? o?.code}|${b.zone ?? 0}`;
}

/** what an update must change to be reported by a repair: not timeouts and counters, which always move */
function sameState(a: ConntrackBody, b: ConntrackBody): boolean {
  // an event leaves out a mark of 0 that a dump reply states
  return a.state === b.state && a.status_raw === b.status_raw && (a.mark ?? 0) === (b.mark ?? 0);
}

const SYSCTLS = ["/proc/sys/net/netfilter/nf_conntrack_acct", "/proc/sys/net/netfilter/nf_conntrack_timestamp"];

export class ConntrackSync {
  /** by key; undefined when the cache is off */
  private cache: Map<string, NlEvent> | undefined;
  private repairTimer: ReturnType<typeof setTimeout> | undefined;
  private repairing = false;
  resyncs = 0;

  constructor(private readonly d: ConntrackSyncDeps) {
    if (d.cfg.netlink.caching.enabled && d.cfg.netlink.caching.conntrack_cache) this.cache = new Map();
  }

  /** a repair is due or running: an overrun report waits for its events */
  get busy(): boolean {
    return this.repairing || this.repairTimer !== undefined;
  }

  get cached(): boolean {
    return this.cache !== undefined;
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  /** `netfilter.enable_accounting`: counters and start/stop times in every event from now on */
  enableAccounting(): void {
    for (const path of SYSCTLS) {
      const name = path.slice("/proc/sys/".length).replaceAll("/", ".");
      try {
        if (readFileSync(path, "utf8").trim() === "1") continue;
        writeFileSync(path, "1\n");
        this.d.log.info("netfilter", `set ${name}=1 (netfilter.enable_accounting)`);
      } catch (e) {
        this.d.log.warn("netfilter", `netfilter.enable_accounting: cannot set ${name}: ${(e as Error).message}; events carry no ${path.endsWith("acct") ? "counters" : "start/stop times"}`);
      }
    }
  }

  /** the table at start: into the cache, and out as snapshot events when asked */
  async prime(): Promise<void> {
    const listed = this.d.cfg.netlink.netfilter.dump_on_start;
    if (!listed && !this.cache) return;
    const table = await this.dumpTable();
    this.d.drain();
    if (this.cache) for (const [k, ev] of table) this.cache.set(k, ev);
    if (listed) {
      const ts = nowNs();
      for (const ev of table.values()) this.d.emit({ event: { ...ev, snapshot: true }, tsNs: ts, recvMono: 0 });
    }
    this.d.log.info("netfilter", `conntrack table at start: ${table.size} entries${this.cache ? " (cached)" : ""}`);
  }

  /** a conntrack event as the pipeline decoded it */
  observe(ev: NlEvent): void {
    const b = ev.netlink.conntrack;
    if (!this.cache || !b || ev.resync || ev.snapshot) return;
    const k = conntrackKey(b);
    if (b.event === "destroy") this.cache.delete(k);
    else this.cache.set(k, ev);
  }

  /** notifications were lost on the netfilter socket: repair once the burst has passed */
  overrun(): void {
    if (!this.cache || this.d.stopped()) return;
    if (this.repairTimer) clearTimeout(this.repairTimer);
    this.repairTimer = setTimeout(() => {
      this.repairTimer = undefined;
      void this.repair().catch((e) => {
        this.d.log.warn("netfilter", `conntrack resync failed: ${(e as Error).message}; trying again`);
        this.overrun();
      });
    }, 100);
  }

  /** Dump the table, emit what differs from the cache as resync events. Returns how many. */
  async repair(): Promise<number> {
    if (!this.cache || this.repairing) return 0;
    this.repairing = true;
    try {
      const table = await this.dumpTable();
      this.d.drain();
      this.d.log.debug("netfilter", `conntrack resync: cache ${this.cache.size}, dump ${table.size}`);
      const ts = nowNs();
      let n = 0;
      const out = (ev: NlEvent, event: "new" | "update" | "destroy") => {
        const conntrack: ConntrackBody = { ...ev.netlink.conntrack!, event };
        this.d.emit({ event: { ...ev, timestamp: undefined, netlink: { ...ev.netlink, conntrack }, resync: true }, tsNs: ts, recvMono: 0 });
        n++;
      };
      for (const [k, ev] of table) {
        const had = this.cache.get(k);
        if (!had) out(ev, "new");
        else if (!sameState(had.netlink.conntrack!, ev.netlink.conntrack!)) out(ev, "update");
      }
      for (const [k, ev] of this.cache) if (!table.has(k)) out(ev, "destroy");
      this.cache = table;
      this.resyncs++;
      this.d.log.info("netfilter", `conntrack resync: ${n} difference${n === 1 ? "" : "s"} with the kernel (${table.size} entries)`);
      return n;
    } finally {
      this.repairing = false;
    }
  }

  private async dumpTable(): Promise<Map<string, NlEvent>> {
    const fam = familyOf(NETLINK_NETFILTER)!;
    const reqs = fam.dumpRequests().filter((r) => r.type === "conntrack").map((r) => r.request);
    const datagrams = await this.d.backend.dump(NETLINK_NETFILTER, reqs);
    const table = new Map<string, NlEvent>();
    for (const d of datagrams) {
      const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
      walkMessages(dv, 0, d.byteLength, {
        message: (hdr, mdv, off, end) => {
          const ev = decodeMessage(NETLINK_NETFILTER, hdr, mdv, off, end, this.d.ctx);
          const b = ev?.netlink.conntrack;
          if (ev && b) table.set(conntrackKey(b), ev);
        },
        framingError: (kind, off) => this.d.log.warn("netfilter", `conntrack dump: ${kind} at byte ${off}; the rest of the datagram is skipped`),
      });
    }
    return table;
  }

  stop(): void {
    if (this.repairTimer) clearTimeout(this.repairTimer);
    this.repairTimer = undefined;
  }
}
