/**
 * --dump-events: a snapshot of the kernel's routing state as events, in a stable order and without
 * what changes between runs (timestamps, seq, pid), so two runs, two backends or two machines can
 * be compared with diff.
 */
import type { Backend } from "../backend/types.ts";
import { BasicContext } from "../decode/context.ts";
import { decodeDump, sortKeyed, TYPE_ORDER } from "../decode/dump.ts";
import { Names } from "../decode/names.ts";
import { routeDumpRequests } from "../decode/route/index.ts";
import type { NlEvent } from "../event/model.ts";
import { NETLINK_ROUTE } from "../uapi/linux.gen.ts";

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

export interface LineSnapshot {
  /** the events as JSON lines, in --dump-events order */
  lines: string[];
  refused: string[];
  decodeErrors: number;
  waitedMs: number;
  settled: boolean;
}

/**
 * The dump as sorted JSON lines. Each event becomes its line as it is decoded and is not kept (a
 * full routing table as objects is several times its size as text); only links and addresses
 * are, to see whether duplicate address detection is still running.
 */
export async function snapshotLines(backend: Backend, names = new Names(), o: SnapshotOptions = {}): Promise<LineSnapshot> {
  const reqs = routeDumpRequests().map((r) => r.request);
  const deadline = Date.now() + (o.settleMs ?? 3000);
  const t0 = Date.now();
  for (;;) {
    const keyed: { t: number; line: string }[] = [];
    const linksAndAddrs: NlEvent[] = [];
    const snap = decodeDump(await backend.dump(NETLINK_ROUTE, reqs), new BasicContext(names), NETLINK_ROUTE, {
      sink: (ev) => {
        if (ev.type === "link" || ev.type === "addr") linksAndAddrs.push(ev);
        if (ipNeighView(ev)) keyed.push({ t: TYPE_ORDER.indexOf(ev.type), line: JSON.stringify(ev) });
      },
    });
    const busy = settling(linksAndAddrs);
    if (!busy || Date.now() >= deadline) {
      return { lines: sortKeyed(keyed), refused: snap.refused, decodeErrors: snap.decodeErrors, waitedMs: Date.now() - t0, settled: !busy };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runDumpEvents(backend: Backend, out: (s: string) => Promise<unknown>, warn: (s: string) => void): Promise<number> {
  const snap = await snapshotLines(backend);
  if (!snap.settled) warn(`IPv6 duplicate address detection still running after ${snap.waitedMs} ms: addresses marked tentative may change`);
  for (const r of snap.refused) warn(`dump refused by the kernel: ${r}`);
  if (snap.decodeErrors) warn(`${snap.decodeErrors} decode errors in the dump (events carry decode_error)`);
  await writeLines(snap.lines, out);
  return 0;
}

/** In pieces, so a full table is never one string of tens of megabytes (and a copy of it). */
export async function writeLines(lines: string[], out: (s: string) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < lines.length; i += 4096) await out(lines.slice(i, i + 4096).join("\n") + "\n");
}
