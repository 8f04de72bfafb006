/**
 * The receiving thread. It waits in poll() with a timeout and drains sockets with non-blocking
 * reads, so it never sits in a blocking FFI call (a Worker stuck in one cannot be terminated) and
 * the main thread's event loop never waits on the kernel. Datagrams are copied into a batch and
 * handed over with their buffers transferred, not cloned.
 */
import { EINTR, ENOBUFS, ENOENT, O_CLOEXEC, O_RDONLY, OFFSETOF, POLLERR, POLLIN, POLLNVAL, SIZEOF } from "../uapi/linux.gen.ts";
import { libc } from "../ffi/libc.ts";
import { nowNs } from "../clock.ts";
import type { RecvSocket, SocketDriver } from "./driver.ts";
import { readReplies } from "./dump-reply.ts";
import type { BackendOptions, DatagramBatch, NamespaceTag } from "./types.ts";
import { legacyDriver } from "./legacy/socket.ts";
import { socketDrops } from "./drops.ts";
import { libnlDriver } from "./libnl/driver.ts";
import { MultiReader, SLOT_BYTES, SLOTS } from "./mmsg.ts";
import { shrinkHeap } from "../ffi/footprint.ts";
import { type NetnsRef, withNamespace } from "./netns.ts";
import { type NamedNamespace, NetnsWatch } from "./netns-watch.ts";
import { fs } from "../node-lazy.ts";

export type ToWorker =
  /** netns: every socket this thread makes (monitoring and dump) is made inside that namespace */
  /** follow "all": the monitoring sockets are made in every named namespace, as they come and go */
  | { cmd: "start"; driver: "legacy" | "libnl"; libnlLibrary?: string; opts: BackendOptions[]; batchBytes: number; pollMs: number; netns?: NetnsRef; follow?: "all" }
  | { cmd: "open"; opts: BackendOptions[] }
  | { cmd: "dump"; id: number; protocol: number; requests: Uint8Array[]; rcvbuf: number }
  /** join more groups on the monitoring socket of `protocol` */
  | { cmd: "join"; id: number; protocol: number; groups: number[] }
  /** send a request on the monitoring socket of `protocol` (answers come back as notifications) */
  | { cmd: "send"; id: number; protocol: number; msg: Uint8Array }
  /** answered in order, after everything the thread posted before */
  | { cmd: "sync"; id: number }
  | { cmd: "quiet" }
  | { cmd: "stop" };

export interface SocketInfo { protocol: number; fd: number; rcvbuf: number; forced: boolean; namespace?: NamespaceTag }

export type FromWorker =
  | { kind: "started"; sockets: SocketInfo[]; library?: string }
  /** netlink.namespaces: all — a namespace followed or left; `sockets`: every monitoring socket now */
  | { kind: "namespace"; change: "followed" | "closed" | "failed"; namespace: NamespaceTag; message: string; sockets: SocketInfo[] }
  | { kind: "batch"; batch: DatagramBatch }
  | { kind: "overrun"; protocol: number; count: number }
  /** after an overrun, once the socket is drained: the kernel's drop counter for it (undefined: unknown) */
  | { kind: "drops"; protocol: number; drops?: number }
  | { kind: "joined"; id: number; error?: string }
  | { kind: "synced"; id: number }
  | { kind: "oversize"; protocol: number; size: number }
  /** fatal: the receive thread could not start; openFailed: sockets asked for later could not be opened, the rest run on */
  | { kind: "error"; protocol: number; message: string; fatal: boolean; openFailed?: boolean }
  | { kind: "failed"; protocol: number; message: string }
  | { kind: "dump"; id: number; datagrams?: Uint8Array[]; error?: string; retries: number }
  | { kind: "stopped" };

declare const self: Worker;
const post = (m: FromWorker, transfer?: ArrayBuffer[]) => self.postMessage(m, transfer ?? []);

/** 64 KiB: above the largest datagram the kernel builds for a dump (32 KiB) */
const RECV_BUF = SLOT_BYTES;

let driver: SocketDriver = legacyDriver;
/** the namespace sockets are made in; undefined: the one this thread stands in (nlmon's own) */
let netns: NetnsRef | undefined;
interface SocketEntry {
  sock: RecvSocket;
  opts: BackendOptions;
  /** netlink.namespaces: all — the namespace the socket was made in */
  ns?: NamespaceTag;
  batcher?: Batcher;
  reader?: MultiReader;
  dead?: boolean;
  /** datagrams read in this round of the receive loop */
  got?: number;
  /** an overrun was read and the queue has not been emptied since */
  overrun?: boolean;
}
let sockets: SocketEntry[] = [];
let running = false;
let loopParams = { batchBytes: 256 * 1024, pollMs: 200 };
let seq = 1;

/**
 * A batch leaves as one exact-size buffer, transferred: stamps, then offsets, then the datagrams.
 * Measured in Bun 1.4: posting a transferred 320 KiB buffer (the whole read buffer, which the main
 * thread used to send back for reuse) cost 80-140 µs per batch, most of it the new buffer's
 * zeroing and page faults; copying out the 10-20 KiB actually used and transferring that costs
 * 10-15 µs. The read buffer itself stays here.
 */
class Batcher {
  /** grown as batches need it, up to limit + RECV_BUF: an idle monitor's batches are a few hundred bytes */
  private scratch = new Uint8Array(RECV_BUF);
  private used = 0;
  private offsets: number[] = [0];
  private stamps: bigint[] = [];
  constructor(readonly protocol: number, readonly limit: number, readonly ns?: NamespaceTag) {}
  /** when the oldest datagram in the batch was read */
  firstAt = 0;
  get empty() {
    return this.stamps.length === 0;
  }
  /** copy a datagram (at most RECV_BUF bytes) in, read at `stamp` */
  append(src: Uint8Array, off: number, n: number, stamp: bigint) {
    if (this.stamps.length === 0) this.firstAt = performance.now();
    // a notification is a hundred-odd bytes: a loop costs less than a view and a set() per datagram
    const at = this.used;
    if (at + n > this.scratch.length) {
      const grown = new Uint8Array(Math.min(this.limit + RECV_BUF, Math.max(2 * this.scratch.length, at + n)));
      grown.set(this.scratch.subarray(0, at));
      this.scratch = grown;
    }
    const dst = this.scratch;
    if (n > 512) dst.set(src.subarray(off, off + n), at);
    else for (let i = 0; i < n; i++) dst[at + i] = src[off + i]!;
    this.used += n;
    this.offsets.push(this.used);
    this.stamps.push(stamp);
  }
  get full() {
    return this.used >= this.limit;
  }
  flush() {
    const count = this.stamps.length;
    if (count === 0) return;
    const stampBytes = 8 * count;
    const offsetBytes = 4 * (count + 1);
    const buf = new ArrayBuffer(stampBytes + offsetBytes + this.used);
    const stamps = new BigInt64Array(buf, 0, count);
    for (let i = 0; i < count; i++) stamps[i] = this.stamps[i]!;
    const offsets = new Uint32Array(buf, stampBytes, count + 1);
    for (let i = 0; i <= count; i++) offsets[i] = this.offsets[i]!;
    const data = new Uint8Array(buf, stampBytes + offsetBytes, this.used);
    data.set(this.scratch.subarray(0, this.used));
    const batch: DatagramBatch = { protocol: this.protocol, data, offsets, stamps, sentMono: performance.now() + performance.timeOrigin };
    if (this.ns) batch.namespace = this.ns;
    post({ kind: "batch", batch }, [buf]);
    this.used = 0;
    this.offsets = [0];
    this.stamps = [];
  }
}

/**
 * Notifications arrive one datagram at a time. Once one has come, the thread sleeps LINGER_MS and
 * then reads everything that arrived meanwhile in one call, rather than waking for each: a wake-up
 * costs about 30 µs of CPU on the 2-core VM this was measured on, more than reading a datagram.
 * A datagram read that way is stamped at most LINGER_MS after it arrived.
 */
const LINGER_MS = 2;
/**
 * A batch is handed over when a read finds the socket quiet (a lone event waits no longer than
 * LINGER_MS), or once it is HANDOVER_MS old during a burst, or full. Each hand-over costs the
 * thread 50-80 µs (measured), so a burst goes in batches of several hundred datagrams; the
 * latency this adds is bounded by HANDOVER_MS. (nlmon --benchmark reports batch sizes and
 * hand-over times.)
 */
const HANDOVER_MS = 10;

const overruns = new Map<number, number>();

/**
 * Read everything the socket holds into its batch, many datagrams per call. Returns false when the
 * socket became unusable (reported as failed; the monitor reconnects).
 */
function drain(entry: SocketEntry, batchBytes: number): boolean {
  const { sock, opts } = entry;
  const b = (entry.batcher ??= new Batcher(opts.protocol, batchBytes, entry.ns));
  const r = (entry.reader ??= new MultiReader());
  // drained: the kernel's count now covers the drops it made without a further ENOBUFS
  const emptied = () => {
    if (!entry.overrun) return true;
    entry.overrun = false;
    post({ kind: "drops", protocol: opts.protocol, drops: socketDrops(sock.fd) });
    return true;
  };
  for (;;) {
    const n = r.read(sock.fd);
    if (n === 0) return emptied();
    if (n < 0) {
      if (-n === ENOBUFS) {
        const c = (overruns.get(sock.fd) ?? 0) + 1;
        overruns.set(sock.fd, c);
        post({ kind: "overrun", protocol: opts.protocol, count: c });
        entry.overrun = true;
        continue;
      }
      if (-n === EINTR) continue;
      // anything else means the socket is unusable: stop reading and let the monitor reconnect
      flushAll();
      post({ kind: "failed", protocol: opts.protocol, message: `recv: ${driver.describe?.(-n) ?? libc().strerror(-n)}` });
      running = false;
      return false;
    }
    // the datagrams of one call were all waiting when it was made: that is when they were read
    const at = nowNs();
    for (let i = 0; i < n; i++) {
      const got = r.length(i);
      if (got > RECV_BUF || got > opts.maxMessageSize) {
        post({ kind: "oversize", protocol: opts.protocol, size: got });
        if (got > RECV_BUF) continue; // truncated by the read: nothing trustworthy to pass on
      }
      b.append(r.bytes, r.slotStart(i), got, at);
      entry.got = (entry.got ?? 0) + 1;
      if (b.full) b.flush();
    }
    // a short read emptied the queue: asking again would only return EAGAIN
    if (n < SLOTS) return emptied();
  }
}

/** a Worker may block: Atomics.wait is a sleep that needs no FFI call */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

async function receiveLoop(batchBytes: number, pollMs: number) {
  const L = libc();
  let lastRoundAt = 0;
  let pfd = new Uint8Array(0);
  let pdv = new DataView(pfd.buffer);
  while (running) {
    // sockets can be added while running (a protocol enabled later), so look each round
    const n = sockets.length;
    const w = watch && watch.fd >= 0 ? 1 : 0;
    if (pfd.length !== SIZEOF.pollfd * (n + w)) {
      pfd = new Uint8Array(SIZEOF.pollfd * (n + w));
      pdv = new DataView(pfd.buffer);
    }
    if (w) {
      const at = SIZEOF.pollfd * n;
      pdv.setInt32(at + OFFSETOF["pollfd.fd"], watch!.fd, true);
      pdv.setInt16(at + OFFSETOF["pollfd.events"], POLLIN, true);
      pdv.setInt16(at + OFFSETOF["pollfd.revents"], 0, true);
    }
    for (let i = 0; i < n; i++) {
      const at = SIZEOF.pollfd * i;
      pdv.setInt32(at + OFFSETOF["pollfd.fd"], sockets[i]!.sock.fd, true);
      pdv.setInt16(at + OFFSETOF["pollfd.events"], POLLIN, true);
      pdv.setInt16(at + OFFSETOF["pollfd.revents"], 0, true);
    }
    // a waiting batch means datagrams are coming: sleep out the linger, then read without waiting
    let timeout = pollMs;
    let coalesce = false;
    for (const e of sockets) if (e.batcher && !e.batcher.empty) coalesce = true;
    if (coalesce) {
      const left = LINGER_MS - (performance.now() - lastRoundAt);
      if (left > 0) Atomics.wait(sleeper, 0, 0, left);
      timeout = 0;
    }
    if (watch) timeout = Math.min(timeout, Math.ceil(watch.dueIn(performance.now())));
    const r = L.poll(pfd, n + w, timeout);
    lastRoundAt = performance.now();
    if (r < 0 && L.errno() !== EINTR) {
      post({ kind: "error", protocol: -1, message: `poll: ${L.strerror(L.errno())}`, fatal: false });
    }
    for (const e of sockets) e.got = 0;
    if (r > 0) {
      for (let i = 0; i < n; i++) {
        const revents = pdv.getInt16(SIZEOF.pollfd * i + OFFSETOF["pollfd.revents"], true);
        const entry = sockets[i]!;
        const { sock, opts } = entry;
        if (revents & POLLNVAL) {
          // the descriptor is no longer open: nothing more will come from it, and its number may
          // already belong to another file, so it must not be closed again
          entry.dead = true;
          flushAll();
          post({ kind: "failed", protocol: opts.protocol, message: `socket fd ${sock.fd} is no longer valid (POLLNVAL)` });
          running = false;
          break;
        }
        // POLLERR too: a pending error (ENOBUFS) is reported by the next read
        if (!(revents & (POLLIN | POLLERR))) continue;
        if (!drain(entry, batchBytes)) break;
      }
    }
    const after = performance.now();
    for (const e of sockets) {
      const b = e.batcher;
      if (b && !b.empty && (e.got === 0 || after - b.firstAt >= HANDOVER_MS)) b.flush();
    }
    if (watch && running) {
      const readable = w === 1 && r > 0 && (pdv.getInt16(SIZEOF.pollfd * n + OFFSETOF["pollfd.revents"], true) & POLLIN) !== 0;
      if (watch.due(readable, after)) reconcile(after);
    }
    // let the message handler run (stop, dump requests)
    await new Promise((res) => setImmediate(res));
  }
}

function dump(protocol: number, requests: Uint8Array[], rcvbuf: number) {
  const sock = withNamespace(netns, () => driver.openDump(protocol, rcvbuf));
  try {
    const all: Uint8Array[] = [];
    let retries = 0;
    for (const req of requests) {
      for (let attempt = 0; ; attempt++) {
        const got: Uint8Array[] = [];
        const r = readReplies(sock, req, seq++, (d) => got.push(d.slice()), (e) => driver.describe?.(e) ?? libc().strerror(e));
        if (r.error) return { datagrams: all, error: r.error, retries };
        // a dump the kernel marks interrupted may have missed or doubled objects: take it again
        if (r.interrupted && attempt < 5) { retries++; continue; }
        // a loop, not push(...got): a full table's replies as arguments overflow the stack
        for (const d of got) all.push(d);
        break;
      }
    }
    return { datagrams: all, retries };
  } finally {
    sock.close();
  }
}

// ---------------------------------------------------------------------------------------------
// netlink.namespaces: all

/** the named namespaces followed, each held open (a later protocol's socket is made in it too) */
interface Followed { tag: NamespaceTag; ref: NetnsRef }
let watch: NetnsWatch | undefined;
const followed = new Map<string, Followed>();
/** the monitoring sockets' options, made in every namespace followed */
const monitorOpts: BackendOptions[] = [];
/** groups joined after start (generic netlink families that appeared), by protocol */
const laterGroups = new Map<number, Set<number>>();
function joinedLater(protocol: number): Set<number> {
  let g = laterGroups.get(protocol);
  if (!g) laterGroups.set(protocol, (g = new Set()));
  return g;
}
/** namespaces that could not be followed (tagKey): said once, not retried at every event */
const refused = new Set<string>();

const tagKey = (t: NamespaceTag) => `${t.name}\0${t.inode}`;

/**
 * Open `opts` in every followed namespace, all or none, then follow the namespaces not followed
 * yet. Sockets whose options prime (the state family's) send the namespace's devices again.
 */
function openFollowed(opts: BackendOptions[]) {
  const made: SocketEntry[] = [];
  const primed: [NamespaceTag, Uint8Array[]][] = [];
  const problems: string[] = [];
  try {
    for (const f of followed.values()) withNamespace(f.ref, () => {
      for (const o of opts) made.push(openEntry(f.tag, o));
      if (opts.some((o) => o.prime?.length)) primed.push([f.tag, primeDump(opts, problems, f.ref.label)]);
    });
  } catch (e) {
    for (const m of made) m.sock.close();
    throw e;
  }
  for (const m of made) sockets.push(m);
  for (const o of opts) monitorOpts.push(o);
  for (const [tag, d] of primed) postMarker(tag, "prime", d);
  for (const p of new Set(problems)) post({ kind: "error", protocol: opts[0]?.protocol ?? -1, message: p, fatal: false });
  reconcile(performance.now());
}

function openEntry(tag: NamespaceTag, o: BackendOptions): SocketEntry {
  const sock = driver.openMonitor(o);
  try {
    const later = joinedLater(o.protocol);
    if (later.size) sock.join([...later]);
  } catch (e) {
    sock.close();
    throw e;
  }
  return { sock, opts: o, ns: tag };
}

/** The directory listed again: namespaces that went are left, new ones followed. */
function reconcile(now: number) {
  const present = new Map<string, NamedNamespace>(watch!.scan(now).map((p) => [p.name, p]));
  for (const [name, f] of followed) {
    const p = present.get(name);
    // the same name on another namespace is another namespace: the old one is left
    if (!p || p.inode !== f.tag.inode) leave(f);
  }
  const listed = new Set([...present.values()].map((p) => tagKey(p)));
  for (const k of refused) if (!listed.has(k)) refused.delete(k);
  for (const p of present.values()) {
    if (!followed.has(p.name) && !refused.has(tagKey(p))) follow(p);
  }
}

function follow(p: NamedNamespace) {
  const L = libc();
  const fd = L.open(p.path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const e = L.errno();
    // removed since it was listed: its deletion is the next event
    if (e === ENOENT) return;
    refused.add(tagKey(p));
    post({ kind: "namespace", change: "failed", namespace: { name: p.name, inode: p.inode }, message: `namespace '${p.name}' (${p.path}): cannot open it: ${L.strerror(e)}`, sockets: socketInfo() });
    return;
  }
  // the inode of what was opened, not of what was listed: the name may have moved on between the two
  const tag: NamespaceTag = { name: p.name, inode: Number(fs().fstatSync(fd).ino) };
  const f: Followed = { tag, ref: { fd, label: `'${p.name}' (${p.path})` } };
  const made: SocketEntry[] = [];
  let primed: Uint8Array[] = [];
  const problems: string[] = [];
  try {
    withNamespace(f.ref, () => {
      for (const o of monitorOpts) made.push(openEntry(tag, o));
      // what names the namespace's devices, asked once its sockets are open: a change made
      // meanwhile is both in the reply and queued as a notification, never in neither
      primed = primeDump(monitorOpts, problems, f.ref.label);
    });
  } catch (e) {
    for (const m of made) m.sock.close();
    L.close(fd);
    refused.add(tagKey(p));
    post({ kind: "namespace", change: "failed", namespace: tag, message: `namespace ${f.ref.label}: not followed: ${(e as Error).message}`, sockets: socketInfo() });
    return;
  }
  followed.set(p.name, f);
  for (const m of made) sockets.push(m);
  for (const x of problems) post({ kind: "error", protocol: made[0]?.opts.protocol ?? -1, message: x, fatal: false });
  postMarker(tag, "prime", primed);
  const what = `${made.length} socket${made.length === 1 ? "" : "s"}`;
  post({
    kind: "namespace", change: "followed", namespace: tag, sockets: socketInfo(),
    message: `namespace '${tag.name}' (inode ${tag.inode}): following it, ${what} open`,
  });
}

/** The prime requests' replies, on a dump socket of each protocol that has any. */
function primeDump(opts: readonly BackendOptions[], problems: string[], label: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const o of opts) {
    if (!o.prime?.length) continue;
    const sock = driver.openDump(o.protocol, 4 * 1024 * 1024);
    try {
      for (const req of o.prime) {
        const r = readReplies(sock, req, seq++, (d) => out.push(d.slice()), (e) => driver.describe?.(e) ?? libc().strerror(e));
        if (r.error) problems.push(`namespace ${label}: its devices could not be listed (${r.error}): their names come with their first change`);
      }
    } finally {
      sock.close();
    }
  }
  return out;
}

function leave(f: Followed) {
  let closed = 0;
  const key = tagKey(f.tag);
  sockets = sockets.filter((s) => {
    if (!s.ns || tagKey(s.ns) !== key) return true;
    // what was read before the namespace went still goes out
    s.batcher?.flush();
    if (!s.dead) s.sock.close();
    s.reader?.close();
    closed++;
    return false;
  });
  libc().close(f.ref.fd);
  followed.delete(f.tag.name);
  postMarker(f.tag, "gone", []);
  post({
    kind: "namespace", change: "closed", namespace: f.tag, sockets: socketInfo(),
    message: `namespace '${f.tag.name}' (inode ${f.tag.inode}) is gone: ${closed} socket${closed === 1 ? "" : "s"} closed`,
  });
}

/** a batch that says something of a namespace rather than carrying its notifications (types.ts) */
function postMarker(tag: NamespaceTag, what: "prime" | "gone", datagrams: Uint8Array[]) {
  let bytes = 0;
  for (const d of datagrams) bytes += d.length;
  const count = datagrams.length;
  const buf = new ArrayBuffer(8 * count + 4 * (count + 1) + bytes);
  const stamps = new BigInt64Array(buf, 0, count);
  const offsets = new Uint32Array(buf, 8 * count, count + 1);
  const data = new Uint8Array(buf, 8 * count + 4 * (count + 1), bytes);
  const at = nowNs();
  let off = 0;
  datagrams.forEach((d, i) => {
    stamps[i] = at;
    data.set(d, off);
    off += d.length;
    offsets[i + 1] = off;
  });
  const protocol = monitorOpts.find((o) => o.prime?.length)?.protocol ?? monitorOpts[0]?.protocol ?? 0;
  const batch: DatagramBatch = { protocol, data, offsets, stamps, sentMono: performance.now() + performance.timeOrigin, namespace: tag };
  if (what === "prime") batch.prime = true;
  else batch.gone = true;
  post({ kind: "batch", batch }, [buf]);
}

let library: string | undefined;

/** hand over what has been read, so nothing received is lost when reading stops */
function flushAll() {
  for (const s of sockets) s.batcher?.flush();
}

function socketInfo(): SocketInfo[] {
  return sockets.filter((s) => !s.dead).map((s) => ({
    protocol: s.opts.protocol, fd: s.sock.fd, rcvbuf: s.sock.rcvbuf, forced: s.sock.rcvbufForced, ...(s.ns ? { namespace: s.ns } : {}),
  }));
}

function open(opts: BackendOptions[]) {
  if (watch) openFollowed(opts);
  else for (const o of opts) sockets.push({ sock: withNamespace(netns, () => driver.openMonitor(o)), opts: o });
  post({ kind: "started", sockets: socketInfo(), library });
  if (!running && (sockets.length > 0 || watch)) {
    running = true;
    // a throw in the loop (a driver bug, a failed post) is a socket failure, not a silent stop
    receiveLoop(loopParams.batchBytes, loopParams.pollMs).catch((e) => {
      running = false;
      flushAll();
      post({ kind: "failed", protocol: -1, message: `receive thread: ${(e as Error).message ?? e}` });
    });
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.cmd === "start" || m.cmd === "open") {
    try {
      if (m.cmd === "start") {
        driver = m.driver === "libnl" ? libnlDriver : legacyDriver;
        if (m.driver === "libnl") library = libnlDriver.load(m.libnlLibrary);
        loopParams = { batchBytes: m.batchBytes, pollMs: m.pollMs };
        netns = m.netns;
        if (m.follow === "all") watch = new NetnsWatch();
      }
      open(m.opts);
    } catch (err) {
      const later = m.cmd === "open";
      post({ kind: "error", protocol: m.opts[0]?.protocol ?? -1, message: (err as Error).message, fatal: !later, openFailed: later });
    }
  } else if (m.cmd === "dump") {
    try {
      const r = dump(m.protocol, m.requests, m.rcvbuf);
      // The kernel queues a change's notification before a later dump can show the change, so
      // every notification about something the dump saw is in the monitoring socket by now.
      // Handing those over ahead of the reply lets the monitor apply them first and never report
      // a difference that a notification is about to report.
      for (const s of sockets) {
        if (s.opts.protocol !== m.protocol || s.dead || !running) continue;
        if (drain(s, loopParams.batchBytes)) s.batcher?.flush();
      }
      post({ kind: "dump", id: m.id, datagrams: r.datagrams, error: r.error, retries: r.retries });
    } catch (err) {
      post({ kind: "dump", id: m.id, error: (err as Error).message, retries: 0 });
    }
  } else if (m.cmd === "join") {
    const entries = sockets.filter((s) => s.opts.protocol === m.protocol && !s.dead);
    try {
      if (!entries.length && !watch) throw new Error(`no open socket for protocol ${m.protocol}`);
      // joining a group again is harmless, and after a family was unregistered (the kernel then
      // dropped the membership) a group id nlmon joined before may need joining again
      for (const entry of entries) entry.sock.join(m.groups);
      // namespaces followed from now on join them too
      if (watch) for (const g of m.groups) joinedLater(m.protocol).add(g);
      post({ kind: "joined", id: m.id });
    } catch (err) {
      post({ kind: "joined", id: m.id, error: (err as Error).message });
    }
  } else if (m.cmd === "send") {
    const entries = sockets.filter((s) => s.opts.protocol === m.protocol && !s.dead);
    try {
      if (!entries.length) throw new Error(`no open socket for protocol ${m.protocol}`);
      for (const entry of entries) entry.sock.send(m.msg);
      post({ kind: "joined", id: m.id });
    } catch (err) {
      post({ kind: "joined", id: m.id, error: (err as Error).message });
    }
  } else if (m.cmd === "sync") {
    post({ kind: "synced", id: m.id });
  } else if (m.cmd === "quiet") {
    shrinkHeap();
  } else if (m.cmd === "stop") {
    running = false;
    // what the kernel queued before the stop happened before it: read it out, don't drop it
    for (const s of sockets) if (!s.dead && !drain(s, loopParams.batchBytes)) break;
    flushAll();
    for (const s of sockets) {
      if (!s.dead) s.sock.close();
      s.reader?.close();
    }
    sockets = [];
    for (const f of followed.values()) libc().close(f.ref.fd);
    followed.clear();
    watch?.close();
    watch = undefined;
    post({ kind: "stopped" });
  }
};
