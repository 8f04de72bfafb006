/**
 * The conntrack table seen from nlmon: listed at start when asked (`netfilter.dump_on_start`,
 * events marked `snapshot`), and with `caching.conntrack_cache` kept from events and repaired
 * after a receive-queue overrun. Conntrack is where overruns happen (a busy NAT gateway makes and
 * ends thousands of flows a second); the repair dumps the table again and emits what differs from
 * the cache, marked `resync`: entries the dump has that the cache lacks as `new`, entries gone as
 * `destroy`, entries whose state, status or mark moved as `update`. What happened to a flow that
 * began and ended inside the lost window is gone for good, and the overrun report says how much
 * was lost.
 *
 * The cache keeps each entry as its message's bytes (a latin1 string: one byte a character, no
 * object per entry), decoded only when a repair compares or re-emits it. Measured with 50,000
 * entries (scripts/measure-conntrack-cache, RssAnon against the same monitor without the cache):
 * the decoded events cost 57 MB, the bytes about 10 MB (some 210 bytes an entry).
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Backend } from "../backend/types.ts";
import { NLMSG_HDRLEN, type NlMsgHeader, walkMessages } from "../codec/nlmsg.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { BasicContext } from "../decode/context.ts";
import { decodeMessage } from "../decode/message.ts";
import type { ConntrackBody, NlEvent, PipelineEvent } from "../event/model.ts";
import { familyOf } from "../families/index.ts";
import { CT_DELETE, CT_NEW } from "../families/netfilter/decode.ts";
import type { Log } from "../log.ts";
import { nowNs } from "../clock.ts";
import { NETLINK_NETFILTER, NLM_F_MULTI } from "../uapi/linux.gen.ts";

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
export function conntrackKey(b: ConntrackBody): number | string {
  if (b.id !== undefined) return b.id;
  const o = b.original;
  return `${b.family}|${b.protonum}|${o?.src}|${o?.dst}|${o?.sport ?? o?.type}|${o?.dport ?? o?.code}|${b.zone ?? 0}`;
}

/** what an update must change to be reported by a repair: not timeouts and counters, which always move */
function sameState(a: ConntrackBody, b: ConntrackBody): boolean {
  // an event leaves out a mark of 0 that a dump reply states
  return a.state === b.state && a.status_raw === b.status_raw && (a.mark ?? 0) === (b.mark ?? 0);
}

const SYSCTLS = ["/proc/sys/net/netfilter/nf_conntrack_acct", "/proc/sys/net/netfilter/nf_conntrack_timestamp"];

const latin1 = (b: Uint8Array, off: number, end: number) => Buffer.from(b.buffer, b.byteOffset + off, end - off).toString("latin1");

interface Dumped { ev: NlEvent; body: string }

export class ConntrackSync {
  /** message bodies (after the nlmsghdr) by key; undefined when the cache is off */
  private cache: Map<number | string, string> | undefined;
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
    // the sysctls are per namespace, and /proc/sys/net shows the one the reading thread is in:
    // the monitored namespace's (netlink.namespace) are set from inside it
    const b = this.d.backend;
    if (b.inNamespace) b.inNamespace(() => this.setSysctls());
    else this.setSysctls();
  }

  private setSysctls(): void {
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
    if (this.cache) for (const [k, x] of table) this.cache.set(k, x.body);
    if (listed) {
      const ts = nowNs();
      for (const x of table.values()) this.d.emit({ event: { ...x.ev, snapshot: true }, tsNs: ts, recvMono: 0 });
    }
    this.d.log.info("netfilter", `conntrack table at start: ${table.size} entries${this.cache ? " (cached)" : ""}`);
  }

  /** a conntrack event as the pipeline decoded it, with its message body's bytes */
  observe(ev: NlEvent, b?: Uint8Array, off?: number, end?: number): void {
    const c = ev.netlink.conntrack;
    if (!this.cache || !c || ev.resync || ev.snapshot) return;
    const k = conntrackKey(c);
    if (c.event === "destroy") this.cache.delete(k);
    else if (b && off !== undefined && end !== undefined) this.cache.set(k, latin1(b, off, end));
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

  /** a cached entry as the event its bytes make: `type` says which (CT_NEW to compare, CT_DELETE to re-emit a destroy) */
  private decodeCached(body: string, type: number): NlEvent | undefined {
    const u = Buffer.from(body, "latin1");
    const dv = new DataView(u.buffer, u.byteOffset, u.byteLength);
    const hdr: NlMsgHeader = { len: NLMSG_HDRLEN + u.length, type, flags: type === CT_NEW ? NLM_F_MULTI : 0, seq: 0, pid: 0 };
    const ev = decodeMessage(NETLINK_NETFILTER, hdr, dv, 0, u.length, this.d.ctx);
    return ev?.netlink.conntrack ? ev : undefined;
  }

  /** Dump the table, emit what differs from the cache as resync events. Returns how many. */
  async repair(): Promise<number> {
    if (!this.cache || this.repairing) return 0;
    this.repairing = true;
    try {
      const table = await this.dumpTable();
      this.d.drain();
      const cache = this.cache;
      const ts = nowNs();
      let n = 0;
      const out = (ev: NlEvent, event: "new" | "update" | "destroy") => {
        const conntrack: ConntrackBody = { ...ev.netlink.conntrack!, event };
        this.d.emit({ event: { ...ev, timestamp: undefined, netlink: { ...ev.netlink, conntrack }, resync: true }, tsNs: ts, recvMono: 0 });
        n++;
      };
      for (const [k, x] of table) {
        const had = cache.get(k);
        if (had === undefined) out(x.ev, "new");
        else {
          const before = this.decodeCached(had, CT_NEW);
          if (!before || !sameState(before.netlink.conntrack!, x.ev.netlink.conntrack!)) out(x.ev, "update");
        }
      }
      for (const [k, body] of cache) {
        if (table.has(k)) continue;
        const gone = this.decodeCached(body, CT_DELETE);
        if (gone) out(gone, "destroy");
      }
      const fresh = new Map<number | string, string>();
      for (const [k, x] of table) fresh.set(k, x.body);
      this.cache = fresh;
      this.resyncs++;
      this.d.log.info("netfilter", `conntrack resync: ${n} difference${n === 1 ? "" : "s"} with the kernel (${table.size} entries)`);
      return n;
    } finally {
      this.repairing = false;
    }
  }

  private async dumpTable(): Promise<Map<number | string, Dumped>> {
    const fam = familyOf(NETLINK_NETFILTER)!;
    const reqs = fam.dumpRequests().filter((r) => r.type === "conntrack").map((r) => r.request);
    const datagrams = await this.d.backend.dump(NETLINK_NETFILTER, reqs);
    const table = new Map<number | string, Dumped>();
    for (const d of datagrams) {
      const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
      walkMessages(dv, 0, d.byteLength, {
        message: (hdr, mdv, off, end) => {
          const ev = decodeMessage(NETLINK_NETFILTER, hdr, mdv, off, end, this.d.ctx);
          const b = ev?.netlink.conntrack;
          if (ev && b) table.set(conntrackKey(b), { ev, body: this.cache ? latin1(d, off, end) : "" });
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
