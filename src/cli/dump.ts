/**
 * --dump-events: a snapshot of the kernel's routing state as events, in a stable order and without
 * what changes between runs (timestamps, seq, pid), so two runs, two backends or two machines can
 * be compared with diff.
 */
import { BackendError } from "../backend/host.ts";
import { NamespaceError } from "../backend/netns.ts";
import type { Backend } from "../backend/types.ts";
import type { NlMsgHeader } from "../codec/nlmsg.ts";
import { BasicContext } from "../decode/context.ts";
import { LineWriter } from "../decode/line.ts";
import { JsonBytes } from "../event/json-bytes.ts";
import { decodeDump, TYPE_ORDER } from "../decode/dump.ts";
import { Names } from "../decode/names.ts";
import { STATE_FAMILY } from "../families/index.ts";
import type { NlEvent } from "../event/model.ts";
import type { SockDiagConfig } from "../config/types.ts";
import { LineSorter } from "./line-sort.ts";
import { oneShot } from "./one-shot.ts";
import { HOT as SORT_HOT } from "./line-keys.ts";
import { put, putAscii, putIPv4 } from "../event/json-bytes.ts";
import { walkMessages } from "../codec/nlmsg.ts";
import { loadGenlFamilies, matchFamily } from "../monitor/genl.ts";
import { NETLINK_GENERIC, NLM_F_MULTI } from "../uapi/linux.gen.ts";

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

export interface SnapshotResult {
  refused: string[];
  decodeErrors: number;
  waitedMs: number;
  settled: boolean;
  /** dumps taken again because the kernel marked them interrupted */
  retries: number;
}

/** Dumps the kernel marks interrupted are taken again this many times, as the receive thread does. */
const MAX_RETRIES = 5;
/**
 * Lines' worth of text between requests for a collection. Each line leaves its event and its
 * string behind; left alone, the collector lets that garbage grow with the live heap. Measured at
 * 100k routes: peak RssAnon 57 MiB without, 33 MiB every 1 MiB, 30 MiB every 256 KiB.
 */
const GC_EVERY = 256 * 1024;
/** what a datagram counts toward GC_EVERY: a collection every 64 datagrams of fast lines */
const DATAGRAM_WEIGHT = GC_EVERY / 64;

type Fetch = (req: Uint8Array, each: (d: Uint8Array) => void) => Promise<{ interrupted: boolean; error?: string }>;

/**
 * The dump's lines into `sorter`, each event turned into its line as its datagram arrives; only
 * links and addresses are kept as objects, to see whether duplicate address detection is still
 * running. They come first, so that is known before the routes are dumped: while it runs, links
 * and addresses are taken again, and the rest only once it has finished (or the wait ran out).
 */
export async function snapshotInto(backend: Backend, sorter: LineSorter, names = new Names(), o: SnapshotOptions = {}): Promise<SnapshotResult> {
  const fam = STATE_FAMILY;
  const reqs = fam.dumpRequests();
  let lastAddr = -1;
  reqs.forEach((r, i) => { if (r.type === "addr") lastAddr = i; });
  const session = backend.dumpSession?.(fam.protocol);
  const fetch: Fetch = session
    ? async (req, each) => session.request(req, each)
    : async (req, each) => {
      for (const d of await backend.dump(fam.protocol, [req])) each(d);
      return { interrupted: false };
    };
  const deadline = Date.now() + (o.settleMs ?? 3000);
  const t0 = Date.now();
  let retries = 0;
  let sinceGc = 0;
  try {
    retake: for (;;) {
      sorter.reset();
      const ctx = new BasicContext(names);
      const linksAndAddrs: NlEvent[] = [];
      const refused: string[] = [];
      let decodeErrors = 0;
      const sink = (ev: NlEvent) => {
        if (ev.type === "link" || ev.type === "addr") linksAndAddrs.push(ev);
        if (!ipNeighView(ev)) return;
        const line = JSON.stringify(ev);
        sorter.add(TYPE_ORDER.indexOf(ev.type), line);
        sinceGc += line.length;
        if (sinceGc > GC_EVERY) {
          sinceGc = 0;
          Bun.gc(false);
        }
      };
      // the bulk (a full table's routes) is written as bytes straight from the messages
      const lines = new LineWriter(fam.protocol, ctx);
      oneShot(...lines.hot());
      const jb = new JsonBytes();
      const groupOf = new Map(TYPE_ORDER.map((t, i) => [t, i]));
      // lines are written in place into the sorter's buffer, their lead (envelope and fixed head)
      // and trail kept by reference; a line too long for the room left moves out and is added as a copy
      const ROOM = 1 << 16;
      let lastType = "";
      let lastGroup = 0;
      const take = (hdr: NlMsgHeader, u: Uint8Array, dv: DataView, off: number, end: number) => {
        const at = sorter.reserve(2 * ROOM);
        jb.into(sorter.buffer, at, at + ROOM);
        const t = lines.write(hdr, u, dv, off, end, jb);
        // neighbour entries pass ipNeighView, which needs the event
        if (t === undefined || t === "neigh") return false;
        if (t !== lastType) lastGroup = groupOf.get((lastType = t))!;
        const g = lastGroup;
        const lead = jb.lead;
        const trail = jb.trail;
        if (jb.buf === sorter.buffer && (lead?.length ?? 0) + (trail?.length ?? 0) <= ROOM) sorter.commit(g, jb.pos - at, lead, trail);
        else sorter.add(g, jb.text());
        return true;
      };
      let busy = false;
      for (let i = 0; i < reqs.length; i++) {
        const r = await fetch(reqs[i]!.request, (d) => {
          // each datagram leaves a little behind (views, the walk's closures): collected now and
          // then, it does not grow with the table
          sinceGc += DATAGRAM_WEIGHT;
          if (sinceGc > GC_EVERY) {
            sinceGc = 0;
            Bun.gc(false);
          }
          const snap = decodeDump([d], ctx, fam.protocol, { sink, take });
          for (const x of snap.refused) refused.push(x);
          decodeErrors += snap.decodeErrors;
        });
        if (r.error) throw new BackendError(r.error);
        // a dump the kernel marks interrupted may have missed or doubled objects
        if (r.interrupted && retries < MAX_RETRIES) {
          retries++;
          continue retake;
        }
        if (i === lastAddr) {
          busy = settling(linksAndAddrs);
          if (busy && Date.now() < deadline) {
            await new Promise((res) => setTimeout(res, 100));
            continue retake;
          }
        }
      }
      return { refused, decodeErrors, waitedMs: Date.now() - t0, settled: !busy, retries };
    }
  } finally {
    session?.close();
  }
}

export interface DumpScope {
  /** generic netlink families to include the state of (those with a snapshot: nl80211) */
  genericFamilies?: readonly string[];
  /** the nf_tables ruleset and the conntrack table */
  netfilter?: boolean;
  /** the sockets, as this section filters them */
  sockDiag?: SockDiagConfig;
}

export async function runDumpEvents(backend: Backend, out: (s: string | Uint8Array) => Promise<unknown>, warn: (s: string) => void, scope: DumpScope = {}): Promise<number> {
  // a snapshot is of one namespace: the one named (netlink.namespace, where the backend makes its
  // dump sockets) or nlmon's own, never a mixture that no single `ip` command would show
  if (backend.follows === "all") {
    throw new NamespaceError("--dump-events takes one namespace, and netlink.namespaces: all names every one: give it with --namespace NAME (or netlink.namespace)");
  }
  const S = LineSorter.prototype;
  oneShot(put, putIPv4, putAscii, walkMessages, decodeDump, S.commit, S.reserve, S.output, ...SORT_HOT);
  const sorter = new LineSorter(TYPE_ORDER.length);
  try {
    const snap = await snapshotInto(backend, sorter);
    if (!snap.settled) warn(`IPv6 duplicate address detection still running after ${snap.waitedMs} ms: addresses marked tentative may change`);
    for (const r of snap.refused) warn(`dump refused by the kernel: ${r}`);
    if (snap.decodeErrors) warn(`${snap.decodeErrors} decode errors in the dump (events carry decode_error)`);
    await sorter.output(out);
  } finally {
    sorter.close();
  }
  if (scope.genericFamilies?.length) {
    const lines = await genericSnapshot(backend, scope.genericFamilies, warn);
    if (lines.length) await out(lines.join("\n") + "\n");
  }
  if (scope.netfilter || scope.sockDiag) {
    const { netfilterSnapshot, socketSnapshot } = await import("./dump-protocols.ts");
    if (scope.netfilter) await writeLines(await netfilterSnapshot(backend, warn), out);
    if (scope.sockDiag) await writeLines(await socketSnapshot(backend, scope.sockDiag, warn), out);
  }
  return 0;
}

/**
 * The state of the generic netlink families asked for that keep any (nl80211's wiphys, interfaces
 * and stations), after the routing state, as events in the deterministic form.
 */
async function genericSnapshot(backend: Backend, families: readonly string[], warn: (s: string) => void): Promise<string[]> {
  const all = await loadGenlFamilies(backend);
  const lines: string[] = [];
  for (const wanted of families) {
    const m = matchFamily(all, wanted);
    if (!m.found) {
      warn(m.problem);
      continue;
    }
    const f = m.found;
    if (f.name !== "nl80211") continue;
    // loaded only here: the daemon reaches this file for writeLines, and nl80211's tables are large
    const { nl80211Snapshot } = await import("../families/nl80211/snapshot.ts");
    const bodies = await nl80211Snapshot(f.id, (req) => backend.dump(NETLINK_GENERIC, [req]), new BasicContext(new Names()));
    for (const body of bodies) {
      const ev: NlEvent = {
        type: "nl80211", protocol: NETLINK_GENERIC, msg_type: f.id,
        netlink: {
          protocol: NETLINK_GENERIC, protocol_name: "NETLINK_GENERIC", msg_type: f.id, msg_type_name: f.name, msg_flags: NLM_F_MULTI,
          genl_cmd: body.cmd, genl_version: body.version, genl_family_id: f.id, genl_family_name: f.name, nl80211: body,
        },
      };
      lines.push(JSON.stringify(ev));
    }
  }
  return lines;
}

/** In pieces, so a full table is never one string of tens of megabytes (and a copy of it). */
export async function writeLines(lines: string[], out: (s: string) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < lines.length; i += 4096) await out(lines.slice(i, i + 4096).join("\n") + "\n");
}
