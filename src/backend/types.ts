/**
 * The contract between a backend (which only moves bytes) and the rest of nlmon.
 * A batch is a run of datagrams read from one socket; each datagram may hold several netlink messages.
 */
import type { DumpSession } from "./direct.ts";

export interface DatagramBatch {
  protocol: number;
  /** concatenated datagrams */
  data: Uint8Array;
  /** datagram i is data[offsets[i], offsets[i+1]) ; length = count + 1 */
  offsets: Uint32Array;
  /** receive time of each datagram, ns since the epoch */
  stamps: BigInt64Array;
  /** monotonic ms when the batch left the receiving thread */
  sentMono: number;
}

export interface BackendStats {
  datagrams: number;
  bytes: number;
  batches: number;
  enobufs: number;
  recv_errors: number;
  reconnects: number;
  oversize: number;
}

export interface BackendOptions {
  protocol: number;
  /** multicast group numbers (RTNLGRP_*), joined with NETLINK_ADD_MEMBERSHIP */
  groups: number[];
  rcvbuf: number;
  sndbuf: number;
  /** largest datagram accepted; larger ones are counted as oversize */
  maxMessageSize: number;
}

export type BackendEvent =
  | { kind: "batch"; batch: DatagramBatch }
  | { kind: "overrun"; protocol: number; count: number }
  /** the kernel's count of notifications dropped on the socket so far, read once it was drained after an overrun */
  | { kind: "drops"; protocol: number; drops?: number }
  | { kind: "error"; protocol: number; message: string }
  /** a socket stopped working (not a transient error): the monitor reconnects */
  | { kind: "failed"; protocol: number; message: string }
  | { kind: "reconnected"; protocol: number };

export interface Backend {
  readonly name: "legacy" | "libnl";
  /** open the monitoring socket(s); events arrive through the listener */
  start(opts: BackendOptions[], listener: (ev: BackendEvent) => void): Promise<void>;
  /**
   * Send each request (a complete nlmsghdr + body, NLM_F_DUMP set) on a fresh socket and return
   * every datagram of the replies up to NLMSG_DONE. Never blocks the event loop.
   */
  dump(protocol: number, requests: Uint8Array[]): Promise<Uint8Array[]>;
  /**
   * A dump socket on the calling thread, which each request blocks until its reply is complete:
   * for tools that only dump. Datagrams are handed over as they arrive, never collected.
   */
  dumpSession?(protocol: number): DumpSession;
  /** join more multicast groups on the open monitoring socket of `protocol`; a restart opens only the groups its options list */
  join(protocol: number, groups: number[]): Promise<void>;
  stats(): BackendStats;
  stop(): Promise<void>;
}
