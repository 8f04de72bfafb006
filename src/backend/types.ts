/**
 * The contract between a backend (which only moves bytes) and the rest of nlmon.
 * A batch is a run of datagrams read from one socket; each datagram may hold several netlink messages.
 */
import type { DumpSession } from "./direct.ts";

/** a named network namespace nlmon follows (netlink.namespaces: all) */
export interface NamespaceTag {
  /** its name under /run/netns */
  name: string;
  /** the namespace's inode number: what tells two namespaces of one name apart over time */
  inode: number;
}

export interface DatagramBatch {
  protocol: number;
  /** the namespace the socket is in, when nlmon follows several (absent: the one it monitors) */
  namespace?: NamespaceTag;
  /**
   * with `namespace`: the namespace was followed just now and these are the replies to its
   * socket's `prime` requests, which name its devices: state to decode, not events. Sent (empty if
   * nothing is primed) before any of the namespace's notifications.
   */
  prime?: true;
  /** with `namespace`: the namespace is gone and its sockets are closed; no datagrams */
  gone?: true;
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
  /**
   * dump requests sent in each namespace followed later (netlink.namespaces: all) right after its
   * socket is open, their replies handed over as a `prime` batch
   */
  prime?: Uint8Array[];
}

export type BackendEvent =
  | { kind: "batch"; batch: DatagramBatch }
  | { kind: "overrun"; protocol: number; count: number }
  /** the kernel's count of notifications dropped on the socket so far, read once it was drained after an overrun */
  | { kind: "drops"; protocol: number; drops?: number }
  | { kind: "error"; protocol: number; message: string }
  /** a socket stopped working (not a transient error): the monitor reconnects */
  | { kind: "failed"; protocol: number; message: string }
  | { kind: "reconnected"; protocol: number }
  /** netlink.namespaces: all — a namespace followed, left (its sockets closed), or one that could not be entered */
  | { kind: "namespace"; change: "followed" | "closed" | "failed"; namespace: NamespaceTag; message: string };

/** A monitoring socket as the receiving side reported it once open. */
export interface OpenedSocket {
  protocol: number;
  fd: number;
  /** SO_RCVBUF as the kernel reports it: twice the size granted, its own overhead counted */
  rcvbuf: number;
  /** the size was set with SO_RCVBUFFORCE */
  forced: boolean;
  /** the namespace it is in, when nlmon follows several */
  namespace?: NamespaceTag;
}

export interface Backend {
  readonly name: "legacy" | "libnl";
  /** the shared object a library backend loaded, for reports */
  readonly library: string | undefined;
  /** the monitoring sockets open now */
  readonly sockets: readonly OpenedSocket[];
  /** "all": monitoring sockets in every named namespace (netlink.namespaces); dumps stay in nlmon's own */
  readonly follows?: "all";
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
  /**
   * Send a request on the open monitoring socket of `protocol`, so the kernel answers (or sends
   * what the request registers for) on it; an error reply arrives as a notification.
   */
  send?(protocol: number, msg: Uint8Array): Promise<void>;
  /** resolves once every event the receiving side produced before the call has been delivered */
  sync(): Promise<void>;
  /** things are quiet: the receiving side may hand back memory it no longer uses */
  quiet?(): void;
  /** open the monitoring sockets anew (a socket failed): the same options, a new listener */
  restart(opts: BackendOptions[], listener: (ev: BackendEvent) => void): Promise<void>;
  stats(): BackendStats;
  stop(): Promise<void>;
  /**
   * Run `fn` on this thread inside the namespace the sockets are made in (netlink.namespace), for
   * what is per namespace beside sockets (sysctls under /proc/sys/net); nlmon's own without one
   */
  inNamespace?<T>(fn: () => T): T;
}
