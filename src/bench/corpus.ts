/**
 * The decode corpus: real kernel bytes. A namespace is filled with links, addresses, 10k routes in
 * tables 10-19 (proto 201, the shapes a BGP daemon installs) and neighbours; a child of this
 * binary, running inside it, dumps them through the backend and writes the datagrams to a file.
 * The dump happens in a child because a netlink socket belongs to the namespace of the thread
 * that opens it, and the backend opens its sockets in a Worker thread.
 */
import { fs, path } from "../node-lazy.ts";
import { selectBackend } from "../backend/select.ts";
import { walkMessages } from "../codec/nlmsg.ts";
import type { NlmonConfig } from "../config/types.ts";
import { routeDumpRequests } from "../families/route/index.ts";
import type { Log } from "../log.ts";
import { NETLINK_ROUTE, NLMSG_DONE, NLMSG_MIN_TYPE, RTM_DELROUTE, RTM_NEWROUTE } from "../uapi/linux.gen.ts";
import { addNamespace, basicTopology, delNamespace, ipBatch, run, selfCommand, writeBatch } from "./sys.ts";

export const CORPUS_ROUTES = 10_000;
const CORPUS_KINDS = new Set(["link", "addr", "route", "neigh"]);

export interface Corpus {
  datagrams: Uint8Array[];
  /** datagrams that hold route messages only (dump replies are per request type) */
  routeDatagrams: Uint8Array[];
  messages: number;
  routeMessages: number;
  bytes: number;
  byType: Record<string, number>;
  /** where the capture child wrote it, for the decode children to read */
  file?: string;
}

/** 1000 routes per table: IPv4 via a gateway, some with a metric, some onlink, and IPv6 */
function routeLines(): string[] {
  const out: string[] = [];
  for (let t = 10; t < 20; t++) {
    for (let k = 0; k < CORPUS_ROUTES / 10; k++) {
      if (k % 5 === 4) {
        out.push(`route add 2001:db8:${t.toString(16)}:${k.toString(16)}::/64 via 2001:db8:9::2 table ${t} proto 201`);
      } else if (k % 5 === 3) {
        out.push(`route add 172.${t}.${k >> 8}.${k & 255}/32 via 10.9.9.9 dev v0 onlink table ${t} proto 201 metric 50`);
      } else {
        out.push(`route add 10.${100 + t}.${k >> 8}.${k & 255}/32 via 10.9.0.2 table ${t} proto 201${k % 5 === 1 ? " metric 100" : ""}`);
      }
    }
  }
  return out;
}

function neighLines(): string[] {
  const out: string[] = [];
  for (let i = 2; i < 10; i++) {
    out.push(`neigh add 10.9.0.${i} lladdr 02:00:00:00:09:${i.toString(16).padStart(2, "0")} dev v0 nud permanent`);
    out.push(`neigh add 2001:db8:9::${i.toString(16)} lladdr 02:00:00:00:19:${i.toString(16).padStart(2, "0")} dev v0 nud reachable`);
  }
  return out;
}

/** Build the corpus namespace, dump it from a child inside it, and remove the namespace. */
export function captureCorpus(ns: string, dir: string, configPath: string, env: Record<string, string>): Corpus {
  addNamespace(ns);
  try {
    basicTopology(ns);
    ipBatch(ns, writeBatch(dir, "corpus-routes", routeLines()));
    ipBatch(ns, writeBatch(dir, "corpus-neigh", neighLines()));
    const out = path().join(dir, "corpus.bin");
    const r = run(["ip", "netns", "exec", ns, ...selfCommand(), "--benchmark", "--config", configPath],
      { ...env, NLMON_BENCH_ROLE: "capture", NLMON_BENCH_OUT: out });
    if (r.code !== 0) throw new Error(`corpus capture failed (exit ${r.code}): ${r.err.trim().split("\n").slice(-3).join(" / ")}`);
    const c = readCorpus(fs().readFileSync(out));
    c.file = out;
    return c;
  } finally {
    delNamespace(ns);
  }
}

/** The child's side: dump through the configured backend and write u32 length + bytes per datagram. */
export async function runCaptureRole(cfg: NlmonConfig, log: Log): Promise<number> {
  const out = process.env.NLMON_BENCH_OUT;
  if (!out) throw new Error("NLMON_BENCH_OUT is not set");
  const backend = selectBackend({ useLibnl: cfg.netlink.use_libnl, libnlLibrary: cfg.netlink.libnl.library || undefined, fallback: cfg.netlink.libnl.fallback }, (m) => log.warn("bench", m));
  try {
    const reqs = routeDumpRequests().filter((r) => CORPUS_KINDS.has(r.type)).map((r) => r.request);
    const datagrams = await backend.dump(NETLINK_ROUTE, reqs, 32 * 1024 * 1024);
    const total = datagrams.reduce((a, d) => a + 4 + d.length, 0);
    const buf = new Uint8Array(total);
    const dv = new DataView(buf.buffer);
    let off = 0;
    for (const d of datagrams) {
      dv.setUint32(off, d.length, true);
      buf.set(d, off + 4);
      off += 4 + d.length;
    }
    fs().writeFileSync(out, buf);
  } finally {
    await backend.stop();
  }
  return 0;
}

export function readCorpus(buf: Uint8Array): Corpus {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const c: Corpus = { datagrams: [], routeDatagrams: [], messages: 0, routeMessages: 0, bytes: 0, byType: {} };
  for (let off = 0; off + 4 <= buf.length;) {
    const n = dv.getUint32(off, true);
    // a copy on its own ArrayBuffer: fs().readFileSync's Buffer.slice would share (and offset into) the file's
    const d = new Uint8Array(n);
    d.set(buf.subarray(off + 4, off + 4 + n));
    off += 4 + n;
    c.datagrams.push(d);
    c.bytes += d.length;
    let routes = 0;
    let others = 0;
    walkMessages(new DataView(d.buffer), 0, d.length, {
      message: (hdr) => {
        if (hdr.type === NLMSG_DONE || hdr.type < NLMSG_MIN_TYPE) return;
        c.messages++;
        c.byType[hdr.type] = (c.byType[hdr.type] ?? 0) + 1;
        if (hdr.type === RTM_NEWROUTE || hdr.type === RTM_DELROUTE) routes++;
        else others++;
      },
      framingError: () => {},
    });
    c.routeMessages += routes;
    if (routes > 0 && others === 0) c.routeDatagrams.push(d);
  }
  if (c.routeMessages < CORPUS_ROUTES) throw new Error(`corpus: only ${c.routeMessages} route messages dumped, expected at least ${CORPUS_ROUTES}`);
  return c;
}

/** a readable count per object type, for the report */
export function corpusTypes(c: Corpus, name: (t: number) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [t, n] of Object.entries(c.byType)) out[name(Number(t)) ?? t] = n;
  return out;
}
