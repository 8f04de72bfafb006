/**
 * The main-thread side of a backend: starts the receiving Worker, forwards its batches and
 * reports, and turns dump requests into promises. Both backends share it; they differ only in the
 * socket driver the Worker uses.
 */
import type { FromWorker, SocketInfo, ToWorker } from "./worker.ts";
import { type DumpSession, openDumpSession } from "./direct.ts";
import type { Backend, BackendEvent, BackendOptions, BackendStats } from "./types.ts";
import { type NetnsRef, withNamespace } from "./netns.ts";

export interface HostOptions {
  driver: "legacy" | "libnl";
  libnlLibrary?: string;
  /** bytes collected before a batch is handed over even if more is waiting */
  batchBytes?: number;
  pollMs?: number;
  log?: (msg: string) => void;
  /** the network namespace every socket is made in (held open by the caller); absent: nlmon's own */
  netns?: NetnsRef;
  /** "all": the monitoring sockets are made in every named namespace as they come and go (dumps stay in nlmon's own) */
  follow?: "all";
}

export class BackendError extends Error {}

/**
 * In a `bun build --compile` binary, entry points live under /$bunfs/root relative to their common
 * directory (src/), and import.meta.url names the binary, not this file.
 */
function workerUrl(): string {
  return import.meta.url.includes("$bunfs") ? "./backend/worker.ts" : new URL("./worker.ts", import.meta.url).href;
}

export class WorkerBackend implements Backend {
  readonly name: "legacy" | "libnl";
  private worker: Worker | undefined;
  private listener: (ev: BackendEvent) => void = () => {};
  private pending = new Map<number, { resolve: (d: Uint8Array[]) => void; reject: (e: Error) => void }>();
  /** join and sync requests waiting for the receive thread's answer */
  private acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private started: Promise<void> | undefined;
  private resolveStarted: (() => void) | undefined;
  private rejectStarted: ((e: Error) => void) | undefined;
  private st: BackendStats = { datagrams: 0, bytes: 0, batches: 0, enobufs: 0, recv_errors: 0, reconnects: 0, oversize: 0 };
  /** what the Worker reported once its sockets were open */
  sockets: SocketInfo[] = [];
  /**
   * What handing batches from the receive thread to this one costs: the time from the Worker's
   * postMessage to this thread seeing the batch (most of it is this thread being busy), and how
   * much a batch carries. Bounded: a sample of the last 4096 batches.
   */
  private readonly handover = { maxMs: 0, recentMs: new Float64Array(4096) };
  library: string | undefined;
  dumpRetries = 0;

  constructor(private readonly o: HostOptions) {
    this.name = o.driver;
  }

  get follows(): "all" | undefined {
    return this.o.follow;
  }

  inNamespace<T>(fn: () => T): T {
    return withNamespace(this.o.netns, fn);
  }

  private spawn(opts: BackendOptions[]): Promise<void> {
    if (this.started) return this.started;
    this.started = new Promise<void>((res, rej) => {
      this.resolveStarted = res;
      this.rejectStarted = rej;
    });
    // no `smol`: measured (3 runs each, idle after 8 s) it kept the same private memory and 2 MiB more RSS
    const w = new Worker(workerUrl());
    this.worker = w;
    w.onmessage = (e: MessageEvent<FromWorker>) => this.onMessage(e.data);
    w.onerror = (e) => {
      const err = new BackendError(`receive thread failed: ${(e as ErrorEvent).message ?? e}`);
      this.rejectStarted?.(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      // the thread is gone: the monitor must start a new one
      this.listener({ kind: "failed", protocol: -1, message: err.message });
    };
    const msg: ToWorker = {
      cmd: "start", driver: this.o.driver, libnlLibrary: this.o.libnlLibrary, opts,
      batchBytes: this.o.batchBytes ?? 256 * 1024, pollMs: this.o.pollMs ?? 200, netns: this.o.netns,
      ...(this.o.follow ? { follow: this.o.follow } : {}),
    };
    w.postMessage(msg);
    return this.started;
  }

  private onMessage(m: FromWorker) {
    switch (m.kind) {
      case "started":
        this.sockets = m.sockets;
        this.library = m.library;
        this.resolveStarted?.();
        break;
      case "batch": {
        // a namespace's devices or its end, not notifications (types.ts)
        if (m.batch.prime || m.batch.gone) {
          this.listener({ kind: "batch", batch: m.batch });
          break;
        }
        this.st.batches++;
        this.st.datagrams += m.batch.offsets.length - 1;
        this.st.bytes += m.batch.data.length;
        const h = this.handover;
        const ms = performance.timeOrigin + performance.now() - m.batch.sentMono;
        h.recentMs[(this.st.batches - 1) % h.recentMs.length] = ms;
        if (ms > h.maxMs) h.maxMs = ms;
        this.listener({ kind: "batch", batch: m.batch });
        break;
      }
      case "overrun":
        this.st.enobufs++;
        this.listener({ kind: "overrun", protocol: m.protocol, count: m.count });
        break;
      case "drops":
        this.listener({ kind: "drops", protocol: m.protocol, drops: m.drops });
        break;
      case "synced":
      case "joined": {
        const j = this.acks.get(m.id);
        this.acks.delete(m.id);
        if (m.kind === "joined" && m.error) j?.reject(new BackendError(m.error));
        else j?.resolve();
        break;
      }
      case "oversize":
        this.st.oversize++;
        this.listener({ kind: "error", protocol: m.protocol, message: `datagram of ${m.size} bytes is larger than limits.max_message_size` });
        break;
      case "error":
        this.st.recv_errors++;
        if (m.openFailed) {
          // the thread and its other sockets run on: later calls must not see a failed start
          const reject = this.rejectStarted;
          this.started = Promise.resolve();
          reject?.(new BackendError(m.message));
          break;
        }
        if (m.fatal) {
          const err = new BackendError(m.message);
          this.rejectStarted?.(err);
          for (const p of this.pending.values()) p.reject(err);
          this.pending.clear();
        }
        this.listener({ kind: "error", protocol: m.protocol, message: m.message });
        break;
      case "dump": {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        this.dumpRetries += m.retries;
        if (!p) break;
        if (m.error) p.reject(new BackendError(m.error));
        else p.resolve(m.datagrams ?? []);
        break;
      }
      case "failed":
        this.st.recv_errors++;
        this.listener({ kind: "failed", protocol: m.protocol, message: m.message });
        break;
      case "namespace":
        this.sockets = m.sockets;
        this.listener({ kind: "namespace", change: m.change, namespace: m.namespace, message: m.message });
        break;
      case "stopped":
        break;
    }
  }

  async start(opts: BackendOptions[], listener: (ev: BackendEvent) => void): Promise<void> {
    this.listener = listener;
    if (!this.started) return this.spawn(opts);
    // the thread already runs (a dump came first): open the sockets in it
    await this.started;
    if (!opts.length) return;
    this.started = new Promise<void>((res, rej) => {
      this.resolveStarted = res;
      this.rejectStarted = rej;
    });
    this.worker!.postMessage({ cmd: "open", opts } satisfies ToWorker);
    return this.started;
  }

  async dump(protocol: number, requests: Uint8Array[], rcvbuf = 4 * 1024 * 1024): Promise<Uint8Array[]> {
    if (!this.started) await this.spawn([]);
    await this.started;
    const id = this.nextId++;
    return new Promise<Uint8Array[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: ToWorker = { cmd: "dump", id, protocol, requests, rcvbuf };
      this.worker!.postMessage(msg);
    });
  }

  dumpSession(protocol: number): DumpSession {
    return openDumpSession(this.o.driver, this.o.libnlLibrary, protocol, undefined, this.o.netns);
  }

  async join(protocol: number, groups: number[]): Promise<void> {
    if (!this.worker) throw new BackendError("backend not running");
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.acks.set(id, { resolve, reject });
      this.worker!.postMessage({ cmd: "join", id, protocol, groups } satisfies ToWorker);
    });
  }

  async send(protocol: number, msg: Uint8Array): Promise<void> {
    if (!this.worker) throw new BackendError("backend not running");
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.acks.set(id, { resolve, reject });
      this.worker!.postMessage({ cmd: "send", id, protocol, msg } satisfies ToWorker);
    });
  }

  /**
   * Resolves once everything the receive thread posted before now has been delivered here: what
   * this thread has seen is then what the receive thread had seen.
   */
  async sync(): Promise<void> {
    if (!this.worker) return;
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.acks.set(id, { resolve, reject });
      this.worker!.postMessage({ cmd: "sync", id } satisfies ToWorker);
    });
  }

  quiet(): void {
    this.worker?.postMessage({ cmd: "quiet" } satisfies ToWorker);
  }

  /** A new receiving thread with the same sockets, after the old one's socket failed. */
  async restart(opts: BackendOptions[], listener: (ev: BackendEvent) => void): Promise<void> {
    await this.stop();
    this.started = undefined;
    this.st.reconnects++;
    await this.start(opts, listener);
  }

  /** Hand-over figures for reports: batch sizes and post-to-receipt time (p50/p99 of recent batches). */
  handoverStats() {
    const h = this.handover;
    const st = this.st;
    const n = Math.min(st.batches, h.recentMs.length);
    const sorted = Array.from(h.recentMs.subarray(0, n)).sort((a, b) => a - b);
    const q = (p: number) => (n ? sorted[Math.min(n - 1, Math.floor(p * n))]! : 0);
    return {
      batches: st.batches,
      datagrams_per_batch: st.batches ? st.datagrams / st.batches : 0,
      bytes_per_batch: st.batches ? st.bytes / st.batches : 0,
      handover_p50_ms: q(0.5), handover_p99_ms: q(0.99), handover_max_ms: h.maxMs,
    };
  }

  stats(): BackendStats {
    return { ...this.st };
  }

  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stopped = new Promise<void>((res) => {
      const prev = w.onmessage;
      w.onmessage = (e: MessageEvent<FromWorker>) => {
        // the batches flushed on the way out still count
        if (e.data.kind === "stopped") res();
        else prev?.call(w, e);
      };
      timer = setTimeout(res, 1000);
    });
    w.postMessage({ cmd: "stop" } satisfies ToWorker);
    await stopped;
    clearTimeout(timer);
    w.terminate();
    const err = new BackendError("backend stopped");
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const j of this.acks.values()) j.reject(err);
    this.acks.clear();
  }
}
