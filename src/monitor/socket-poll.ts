/**
 * Sockets have no notifications but their destruction (TCP and UDP only), so sock_diag is watched
 * by dumping it every `sock_diag.interval` and comparing each dump with the last: a socket that
 * appeared is an `open`, one that went a `close`, one whose state moved a `state` change (with
 * `old_state`). Those events are derived, and say so (`derived: true`); their time is that of the
 * dump that showed the difference, since the change happened somewhere in the interval before.
 *
 * A socket the kernel announced destroyed (SKNLGRP_*_DESTROY, a real notification) gets no
 * derived event after it: not a close when the dumps no longer show it, nor a state change or a
 * close for the TIME-WAIT socket that outlives a TCP connection's (it keeps the cookie): one
 * close, never two.
 */
import type { Backend } from "../backend/types.ts";
import type { NlmonConfig } from "../config/types.ts";
import { decodeDump } from "../decode/dump.ts";
import type { NlEvent, PipelineEvent, SocketBody } from "../event/model.ts";
import type { BasicContext } from "../decode/context.ts";
import type { Log } from "../log.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import { nowNs } from "../clock.ts";
import { NETLINK_SOCK_DIAG } from "../uapi/linux.gen.ts";
import { sockDiagPlan, type SockDiagPlan } from "./socket-plan.ts";
import { socketKey } from "../families/sock_diag/decode.ts";

export interface SocketPollDeps {
  cfg: NlmonConfig;
  backend: Backend;
  ctx: BasicContext;
  log: Log;
  /** to the pipeline (through the batches, so pull mode holds them too) */
  emit: (pe: PipelineEvent) => void;
  /** notifications already received are decoded before a dump is compared */
  drain: () => void;
  stopped: () => boolean;
}

/**
 * What makes a socket the same socket from one dump to the next: the kernel's cookie, which a
 * TCP socket keeps when it moves to TIME-WAIT and a UDP socket keeps when it connects (addresses
 * do not serve: a destroy notification after a reset names 0.0.0.0 and port 0).
 */
export const socketIdentity = socketKey;

export class SocketPoll {
  private last: Map<string, NlEvent> | undefined;
  /** sockets the kernel announced destroyed, by identity, with when */
  private readonly destroyed = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private readonly plan: SockDiagPlan;
  polls = 0;
  derived = 0;

  constructor(private readonly d: SocketPollDeps) {
    this.plan = sockDiagPlan(d.cfg.netlink.sock_diag);
  }

  /** the first dump is the baseline: nothing is reported of it */
  async start(): Promise<void> {
    await this.poll();
    this.d.log.info("sock_diag", `${this.last?.size ?? 0} sockets at start (${this.plan.describe}); compared every ${this.d.cfg.netlink.sock_diag.interval} s`);
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** the last dump's sockets by protocol and state, into the gauge */
  collect(g: NlmonMetrics["sockets"]): void {
    if (!this.last) return;
    for (const s of g.series.values()) s.value = 0;
    for (const ev of this.last.values()) {
      const b = ev.netlink.diag!;
      g.slot({ protocol: b.protocol ?? b.family, state: b.state ?? String(b.state_num) }).value++;
    }
    g.prune();
  }

  /** a destroy notification, as the pipeline decoded it */
  observe(ev: NlEvent): void {
    const b = ev.netlink.diag;
    if (!b || ev.derived || b.change !== "destroy") return;
    this.destroyed.set(socketIdentity(b), performance.now());
  }

  private schedule() {
    if (this.d.stopped()) return;
    this.timer = setTimeout(() => {
      void this.poll().catch((e) => this.d.log.warn("sock_diag", `socket dump failed: ${(e as Error).message}; trying again next interval`))
        .finally(() => this.schedule());
    }, this.d.cfg.netlink.sock_diag.interval * 1000);
    // a monitor with nothing else open must still stay up: the timer holds the process
  }

  /** Dump, compare with the last dump, emit the differences. Returns how many were emitted. */
  async poll(): Promise<number> {
    if (this.running || this.d.stopped()) return 0;
    this.running = true;
    try {
      const now = new Map<string, NlEvent>();
      for (const q of this.plan.requests) {
        const datagrams = await this.d.backend.dump(NETLINK_SOCK_DIAG, [q.request]);
        for (const d of datagrams) this.decodeInto(d, q.protocol, now);
      }
      this.d.drain();
      const ts = nowNs();
      this.polls++;
      const prev = this.last;
      this.last = now;
      if (!prev) return 0;
      let n = 0;
      const out = (ev: NlEvent) => {
        this.d.emit({ event: ev, tsNs: ts, recvMono: 0 });
        n++;
      };
      // a socket the kernel announced destroyed has had its close: what remains of it (a TCP
      // socket's TIME-WAIT, which keeps the cookie) is not reported moving or going again
      for (const [k, ev] of now) {
        if (this.destroyed.has(k)) continue;
        const was = prev.get(k);
        if (!was) out(derive(ev, "open"));
        else if (was.netlink.diag!.state !== ev.netlink.diag!.state) out(derive(ev, "state", was.netlink.diag!.state));
      }
      for (const [k, ev] of prev) {
        if (now.has(k) || this.destroyed.has(k)) continue;
        out(derive(ev, "close"));
      }
      // forgotten once the dumps no longer show it and its announcement has had a dump after it
      const horizon = performance.now() - 2 * this.d.cfg.netlink.sock_diag.interval * 1000;
      for (const [k, t] of this.destroyed) if (t < horizon && !now.has(k)) this.destroyed.delete(k);
      this.derived += n;
      return n;
    } finally {
      this.running = false;
    }
  }

  private decodeInto(d: Uint8Array, protocol: string | undefined, into: Map<string, NlEvent>) {
    // a dump's replies do not say their protocol: the request did
    const snap = decodeDump([d], this.d.ctx, NETLINK_SOCK_DIAG, {
      subject: protocol, live: true,
      sink: (ev) => {
        const b = ev.netlink.diag;
        if (b) into.set(socketIdentity(b), ev);
      },
    });
    for (const r of snap.refused) this.d.log.warn("sock_diag", `socket dump refused by the kernel: ${r}`);
    if (snap.decodeErrors) this.d.log.warn("sock_diag", `socket dump: ${snap.decodeErrors} decode errors (events carry decode_error)`);
  }
}

function derive(ev: NlEvent, change: "open" | "close" | "state", oldState?: string): NlEvent {
  const diag: SocketBody = { ...ev.netlink.diag!, change };
  if (oldState !== undefined) diag.old_state = oldState;
  return { timestamp: undefined, type: ev.type, protocol: ev.protocol, msg_type: ev.msg_type, netlink: { ...ev.netlink, diag }, derived: true };
}
