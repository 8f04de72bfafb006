/**
 * The receiving thread. It waits in poll() with a timeout and drains sockets with non-blocking
 * reads, so it never sits in a blocking FFI call (a Worker stuck in one cannot be terminated) and
 * the main thread's event loop never waits on the kernel. Datagrams are copied into a batch and
 * handed over with their buffers transferred, not cloned.
 */
import { EINTR, ENOBUFS, NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR, POLLERR, POLLIN, POLLNVAL } from "../uapi/linux.gen.ts";
import { libc } from "../ffi/libc.ts";
import { nowNs } from "../clock.ts";
import { NLMSG_HDRLEN, nlmsgAlign, readHeader, setNlmsgSeq } from "../codec/nlmsg.ts";
import type { DumpSocket, RecvSocket, SocketDriver } from "./driver.ts";
import type { BackendOptions, DatagramBatch } from "./types.ts";
import { legacyDriver } from "./legacy/socket.ts";
import { socketDrops } from "./drops.ts";
import { libnlDriver } from "./libnl/driver.ts";

export type ToWorker =
  | { cmd: "start"; driver: "legacy" | "libnl"; libnlLibrary?: string; opts: BackendOptions[]; batchBytes: number; pollMs: number; poolSize: number }
  | { cmd: "open"; opts: BackendOptions[] }
  /** a batch buffer the main thread has finished with, back for reuse */
  | { cmd: "recycle"; buf: ArrayBuffer }
  | { cmd: "dump"; id: number; protocol: number; requests: Uint8Array[]; rcvbuf: number }
  /** join more groups on the monitoring socket of `protocol` */
  | { cmd: "join"; id: number; protocol: number; groups: number[] }
  /** answered in order, after everything the thread posted before */
  | { cmd: "sync"; id: number }
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
  | { kind: "error"; protocol: number; message: string; fatal: boolean }
  | { kind: "failed"; protocol: number; message: string }
  | { kind: "dump"; id: number; datagrams?: Uint8Array[]; error?: string; retries: number }
  | { kind: "stopped" };

declare const self: Worker;
const post = (m: FromWorker, transfer?: ArrayBuffer[]) => self.postMessage(m, transfer ?? []);

/** 64 KiB: above the largest datagram the kernel builds for a dump (32 KiB) */
const RECV_BUF = 65536;

let driver: SocketDriver = legacyDriver;
let sockets: { sock: RecvSocket; opts: BackendOptions; batcher?: Batcher; dead?: boolean; overrun?: boolean }[] = [];
let running = false;
let loopParams = { batchBytes: 256 * 1024, pollMs: 200 };
let seq = 1;

/**
 * Batch buffers come back from the main thread once decoded (limits.message_pool_size of them are
 * kept), so a steady stream reuses memory instead of allocating a buffer per batch.
 */
const pool: ArrayBuffer[] = [];
let poolSize = 0;
let poolMisses = 0;
/** fewest buffers the pool held since it was last trimmed: that many were not needed */
let poolLow = 0;
let poolTrimmedAt = 0;
function takeBuffer(bytes: number): ArrayBuffer {
  const b = pool.pop();
  if (pool.length < poolLow) poolLow = pool.length;
  if (b && b.byteLength === bytes) return b;
  poolMisses++;
  return new ArrayBuffer(bytes);
}

/**
 * A burst leaves the pool holding every buffer that was in flight at its peak, each a few hundred
 * KiB. Buffers that sat unused for a whole second go, and their memory with a collection here: a
 * quiet receive thread allocates too little for the collector to run on its own.
 */
const POOL_TRIM_MS = 1000;
function trimPool(now: number) {
  if (now - poolTrimmedAt < POOL_TRIM_MS) return;
  poolTrimmedAt = now;
  const spare = poolLow;
  poolLow = pool.length - spare;
  if (spare === 0) return;
  const bytes = pool.splice(0, spare).reduce((n, b) => n + b.byteLength, 0);
  if (bytes >= 1 << 20) Bun.gc(true);
}

class Batcher {
  private scratch: Uint8Array;
  private used = 0;
  private offsets: number[] = [0];
  private stamps: bigint[] = [];
  constructor(readonly protocol: number, readonly limit: number) {
    this.scratch = new Uint8Array(takeBuffer(limit + RECV_BUF));
  }
  /** where the next datagram may be read directly */
  space(): Uint8Array {
    return this.scratch.subarray(this.used, this.used + RECV_BUF);
  }
  /** when the oldest datagram in the batch was read */
  firstAt = 0;
  get empty() {
    return this.stamps.length === 0;
  }
  commit(n: number) {
    if (this.stamps.length === 0) this.firstAt = performance.now();
    this.used += n;
    this.offsets.push(this.used);
    this.stamps.push(nowNs());
  }
  get full() {
    return this.used >= this.limit;
  }
  flush() {
    if (this.stamps.length === 0) return;
    const batch: DatagramBatch = {
      protocol: this.protocol,
      // the whole buffer travels (transferred, not copied); a fresh one from the pool takes its place
      data: this.scratch.subarray(0, this.used),
      offsets: Uint32Array.from(this.offsets),
      stamps: BigInt64Array.from(this.stamps),
      sentMono: performance.now() + performance.timeOrigin,
    };
    post({ kind: "batch", batch }, [batch.data.buffer, batch.offsets.buffer, batch.stamps.buffer] as ArrayBuffer[]);
    this.scratch = new Uint8Array(takeBuffer(this.limit + RECV_BUF));
    this.used = 0;
    this.offsets = [0];
    this.stamps = [];
  }
}

/**
 * How long a batch may wait for more datagrams before it is handed over. Notifications arrive
 * one datagram at a time, so without it a burst becomes tens of thousands of tiny batches, each a
 * message the main thread must take; with it, a burst travels in batches of hundreds. It bounds
 * the latency it adds. (nlmon --benchmark reports batch sizes and hand-over times.)
 */
const LINGER_MS = 2;

async function receiveLoop(batchBytes: number, pollMs: number) {
  const L = libc();
  const overruns = new Map<number, number>();
  while (running) {
    // sockets can be added while running (a protocol enabled later), so look each round
    const n = sockets.length;
    // struct pollfd { int fd; short events; short revents; } — 8 bytes, laid out by hand because
    // koffi hands poll() a pointer into this array
    const pfd = new Uint8Array(8 * n);
    const pdv = new DataView(pfd.buffer);
    for (let i = 0; i < n; i++) {
      pdv.setInt32(8 * i, sockets[i]!.sock.fd, true);
      pdv.setInt16(8 * i + 4, POLLIN, true);
      pdv.setInt16(8 * i + 6, 0, true);
    }
    // a waiting batch shortens the wait to what is left of its linger time
    let timeout = pollMs;
    const now = performance.now();
    for (const e of sockets) if (e.batcher && !e.batcher.empty) timeout = Math.min(timeout, Math.max(0, Math.ceil(LINGER_MS - (now - e.batcher.firstAt))));
    const r = L.poll(pfd, n, timeout);
    if (r < 0 && L.errno() !== EINTR) {
      post({ kind: "error", protocol: -1, message: `poll: ${L.strerror(L.errno())}`, fatal: false });
    }
    if (r > 0) {
      for (let i = 0; i < n; i++) {
        const revents = pdv.getInt16(8 * i + 6, true);
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
        const b = (entry.batcher ??= new Batcher(opts.protocol, batchBytes));
        for (;;) {
          const got = sock.recvInto(b.space());
          if (got === 0) {
            // drained: the kernel's count now covers the drops it made without a further ENOBUFS
            if (entry.overrun) {
              entry.overrun = false;
              post({ kind: "drops", protocol: opts.protocol, drops: socketDrops(sock.fd) });
            }
            break;
          }
          if (got < 0) {
            if (-got === ENOBUFS) {
              const c = (overruns.get(sock.fd) ?? 0) + 1;
              overruns.set(sock.fd, c);
              post({ kind: "overrun", protocol: opts.protocol, count: c });
              entry.overrun = true;
              continue;
            }
            if (-got === EINTR) continue;
            // anything else means the socket is unusable: stop reading and let the monitor reconnect
            flushAll();
            post({ kind: "failed", protocol: opts.protocol, message: `recv: ${driver.describe?.(-got) ?? L.strerror(-got)}` });
            running = false;
            break;
          }
          if (got > RECV_BUF || got > opts.maxMessageSize) {
            post({ kind: "oversize", protocol: opts.protocol, size: got });
            if (got > RECV_BUF) continue; // truncated by the read: nothing trustworthy to pass on
          }
          b.commit(got);
          if (b.full) b.flush();
        }
      }
    }
    const after = performance.now();
    for (const e of sockets) if (e.batcher && !e.batcher.empty && after - e.batcher.firstAt >= LINGER_MS) e.batcher.flush();
    trimPool(after);
    // let the message handler run (stop, dump requests)
    await new Promise((res) => setImmediate(res));
  }
}

/** One dump request on its own socket, collected up to NLMSG_DONE; retried if the kernel says it was interrupted. */
function runDump(sock: DumpSocket, req: Uint8Array): { datagrams: Uint8Array[]; interrupted: boolean; error?: string } {
  const L = libc();
  const msg = req.slice();
  setNlmsgSeq(msg, seq++);
  const mySeq = sock.request(msg);
  if (sock.replies) {
    const r = sock.replies(30000);
    return { datagrams: r.messages, interrupted: r.interrupted, error: r.error };
  }
  const datagrams: Uint8Array[] = [];
  const buf = new Uint8Array(RECV_BUF);
  const pfd = new Uint8Array(8);
  const pdv = new DataView(pfd.buffer);
  let interrupted = false;
  const deadline = Date.now() + 30000;
  for (;;) {
    pdv.setInt32(0, sock.fd, true);
    pdv.setInt16(4, POLLIN, true);
    pdv.setInt16(6, 0, true);
    if (Date.now() > deadline) return { datagrams, interrupted, error: "dump timed out after 30 s" };
    if (L.poll(pfd, 1, 1000) <= 0) continue;
    const n = sock.recvInto(buf);
    if (n === 0) continue;
    if (n < 0) {
      if (-n === EINTR) continue;
      return { datagrams, interrupted, error: `recv: ${driver.describe?.(-n) ?? L.strerror(-n)}` };
    }
    if (n > buf.length) return { datagrams, interrupted, error: `dump reply larger than ${buf.length} bytes (truncated)` };
    const d = buf.slice(0, n);
    const dv = new DataView(d.buffer);
    let done = false;
    let keep = false;
    for (let off = 0; off + NLMSG_HDRLEN <= d.length;) {
      const h = readHeader(dv, off);
      if (h.len < NLMSG_HDRLEN) break;
      if (mySeq === undefined || h.seq === mySeq) {
        keep = true;
        if (h.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (h.type === NLMSG_DONE) done = true;
        if (h.type === NLMSG_ERROR) done = true;
      }
      off += nlmsgAlign(h.len);
    }
    if (keep) datagrams.push(d);
    if (done) return { datagrams, interrupted };
  }
}

function dump(protocol: number, requests: Uint8Array[], rcvbuf: number) {
  const sock = driver.openDump(protocol, rcvbuf);
  try {
    const all: Uint8Array[] = [];
    let retries = 0;
    for (const req of requests) {
      for (let attempt = 0; ; attempt++) {
        const r = runDump(sock, req);
        if (r.error) return { datagrams: all, error: r.error, retries };
        // a dump the kernel marks interrupted may have missed or doubled objects: take it again
        if (r.interrupted && attempt < 5) { retries++; continue; }
        all.push(...r.datagrams);
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
        poolSize = m.poolSize;
      }
      open(m.opts);
    } catch (err) {
      post({ kind: "error", protocol: -1, message: (err as Error).message, fatal: true });
    }
  } else if (m.cmd === "recycle") {
    if (pool.length < poolSize) pool.push(m.buf);
  } else if (m.cmd === "dump") {
    try {
      const r = dump(m.protocol, m.requests, m.rcvbuf);
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
  } else if (m.cmd === "sync") {
    post({ kind: "synced", id: m.id });
  } else if (m.cmd === "stop") {
    running = false;
    flushAll();
    for (const s of sockets) if (!s.dead) s.sock.close();
    sockets = [];
    post({ kind: "stopped" });
  }
};
