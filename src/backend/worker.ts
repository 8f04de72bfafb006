/**
 * The receiving thread. It waits in poll() with a timeout and drains sockets with non-blocking
 * reads, so it never sits in a blocking FFI call (a Worker stuck in one cannot be terminated) and
 * the main thread's event loop never waits on the kernel. Datagrams are copied into a batch and
 * handed over with their buffers transferred, not cloned.
 */
import { EINTR, ENOBUFS, OFFSETOF, POLLERR, POLLIN, POLLNVAL, SIZEOF } from "../uapi/linux.gen.ts";
import { libc } from "../ffi/libc.ts";
import { nowNs } from "../clock.ts";
import type { RecvSocket, SocketDriver } from "./driver.ts";
import { readReplies } from "./dump-reply.ts";
import type { BackendOptions, DatagramBatch } from "./types.ts";
import { legacyDriver } from "./legacy/socket.ts";
import { socketDrops } from "./drops.ts";
import { libnlDriver } from "./libnl/driver.ts";
import { MultiReader, SLOT_BYTES, SLOTS } from "./mmsg.ts";
import { shrinkHeap } from "../ffi/footprint.ts";

export type ToWorker =
  | { cmd: "start"; driver: "legacy" | "libnl"; libnlLibrary?: string; opts: BackendOptions[]; batchBytes: number; pollMs: number }
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

export type FromWorker =
  | { kind: "started"; sockets: { protocol: number; fd: number; rcvbuf: number; forced: boolean }[]; library?: string }
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
interface SocketEntry {
  sock: RecvSocket;
  opts: BackendOptions;
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
  constructor(readonly protocol: number, readonly limit: number) {}
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
  const b = (entry.batcher ??= new Batcher(opts.protocol, batchBytes));
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
    if (pfd.length !== SIZEOF.pollfd * n) {
      pfd = new Uint8Array(SIZEOF.pollfd * n);
      pdv = new DataView(pfd.buffer);
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
    const r = L.poll(pfd, n, timeout);
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
    // let the message handler run (stop, dump requests)
    await new Promise((res) => setImmediate(res));
  }
}

function dump(protocol: number, requests: Uint8Array[], rcvbuf: number) {
  const sock = driver.openDump(protocol, rcvbuf);
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

let library: string | undefined;

/** hand over what has been read, so nothing received is lost when reading stops */
function flushAll() {
  for (const s of sockets) s.batcher?.flush();
}

function open(opts: BackendOptions[]) {
  for (const o of opts) sockets.push({ sock: driver.openMonitor(o), opts: o });
  post({ kind: "started", sockets: sockets.map((s) => ({ protocol: s.opts.protocol, fd: s.sock.fd, rcvbuf: s.sock.rcvbuf, forced: s.sock.rcvbufForced })), library });
  if (!running && sockets.length > 0) {
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
    const entry = sockets.find((s) => s.opts.protocol === m.protocol && !s.dead);
    try {
      if (!entry) throw new Error(`no open socket for protocol ${m.protocol}`);
      // joining a group again is harmless, and after a family was unregistered (the kernel then
      // dropped the membership) a group id nlmon joined before may need joining again
      entry.sock.join(m.groups);
      post({ kind: "joined", id: m.id });
    } catch (err) {
      post({ kind: "joined", id: m.id, error: (err as Error).message });
    }
  } else if (m.cmd === "send") {
    const entry = sockets.find((s) => s.opts.protocol === m.protocol && !s.dead);
    try {
      if (!entry) throw new Error(`no open socket for protocol ${m.protocol}`);
      entry.sock.send(m.msg);
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
    flushAll();
    for (const s of sockets) {
      if (!s.dead) s.sock.close();
      s.reader?.close();
    }
    sockets = [];
    post({ kind: "stopped" });
  }
};
