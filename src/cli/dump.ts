/**
 * --dump-events: a snapshot of the kernel's routing state as events, in a stable order and without
 * what changes between runs (timestamps, seq, pid), so two runs, two backends or two machines can
 * be compared with diff.
 */
import type { Backend } from "../backend/types.ts";
import { BasicContext } from "../decode/context.ts";
import { decodeMessage } from "../decode/message.ts";
import { Names } from "../decode/names.ts";
import { routeDumpRequests } from "../decode/route/index.ts";
import { walkMessages } from "../codec/nlmsg.ts";
import { describeError } from "../codec/errors.ts";
import type { EventType, NlEvent } from "../event/model.ts";
import { NETLINK_ROUTE } from "../uapi/linux.gen.ts";

export const TYPE_ORDER: EventType[] = ["link", "addr", "route", "neigh", "rule", "nexthop", "netconf"];

export interface Snapshot {
  events: NlEvent[];
  /** dumps the kernel refused (e.g. nexthop objects on a kernel without them) */
  refused: string[];
  decodeErrors: number;
}

/** Decode dump replies in request order: links first, so later objects can name their devices. */
export function decodeDump(datagrams: Uint8Array[], ctx: BasicContext, protocol = NETLINK_ROUTE): Snapshot {
  const events: NlEvent[] = [];
  const refused: string[] = [];
  const before = Object.values(ctx.counts).reduce((a, b) => a + b, 0) - ctx.counts.unknown_attr;
  for (const d of datagrams) {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    walkMessages(dv, 0, d.length, {
      message: (hdr, dv2, off, end) => {
        const ev = decodeMessage(protocol, hdr, dv2, off, end, ctx, { deterministic: true });
        if (!ev) return;
        if (ev.type === "error") {
          const e = ev.netlink.error;
          if (e && e.error !== 0) refused.push(`${ctx.names.rtmType[e.orig_msg_type ?? 0] ?? e.orig_msg_type}: ${describeError(e)}`);
          return;
        }
        events.push(ev);
      },
      framingError: (kind, off) => ctx.error(kind === "bad_length" ? "bad_length" : "truncated", `dump datagram: ${kind} at byte ${off}`),
    });
  }
  const after = Object.values(ctx.counts).reduce((a, b) => a + b, 0) - ctx.counts.unknown_attr;
  return { events, refused, decodeErrors: after - before };
}

export function sortedLines(events: NlEvent[]): string[] {
  const keyed = events.map((e) => ({ t: TYPE_ORDER.indexOf(e.type), line: JSON.stringify(e) }));
  keyed.sort((a, b) => (a.t - b.t) || (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
  return keyed.map((k) => k.line);
}

/**
 * Whether the snapshot caught the kernel mid-way through IPv6 duplicate address detection on a
 * running link: its addresses, their local routes and neighbour entries change within a second
 * or two, so a dump taken now would not match one taken a moment later.
 */
function settling(events: NlEvent[]): boolean {
  const up = new Set<number>();
  for (const e of events) {
    const l = e.netlink.link;
    if (l && l.flags.includes("UP") && l.flags.includes("LOWER_UP")) up.add(l.ifindex);
  }
  return events.some((e) => {
    const a = e.netlink.addr;
    return !!a && up.has(a.ifindex) && a.flags.includes("tentative") && !a.flags.includes("dadfailed");
  });
}

/** Neighbour entries `ip neigh` leaves out unless asked for "nud all": the kernel's NOARP mappings. */
function ipNeighView(e: NlEvent): boolean {
  const n = e.netlink.neigh;
  return !n || !n.state.includes("NOARP");
}

export interface SnapshotOptions {
  /** longest wait for duplicate address detection to finish, ms */
  settleMs?: number;
}

export async function snapshot(backend: Backend, names = new Names(), o: SnapshotOptions = {}): Promise<Snapshot & { waitedMs: number; settled: boolean }> {
  const reqs = routeDumpRequests().map((r) => r.request);
  const deadline = Date.now() + (o.settleMs ?? 3000);
  const t0 = Date.now();
  for (;;) {
    const snap = decodeDump(await backend.dump(NETLINK_ROUTE, reqs), new BasicContext(names));
    const busy = settling(snap.events);
    if (!busy || Date.now() >= deadline) {
      snap.events = snap.events.filter(ipNeighView);
      return { ...snap, waitedMs: Date.now() - t0, settled: !busy };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runDumpEvents(backend: Backend, out: (s: string) => Promise<unknown>, warn: (s: string) => void): Promise<number> {
  const snap = await snapshot(backend);
  if (!snap.settled) warn(`IPv6 duplicate address detection still running after ${snap.waitedMs} ms: addresses marked tentative may change`);
  for (const r of snap.refused) warn(`dump refused by the kernel: ${r}`);
  if (snap.decodeErrors) warn(`${snap.decodeErrors} decode errors in the dump (events carry decode_error)`);
  const lines = sortedLines(snap.events);
  await out(lines.length ? lines.join("\n") + "\n" : "");
  return 0;
}
