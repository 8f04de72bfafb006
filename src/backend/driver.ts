/**
 * What a backend's transport must offer the receiving thread: sockets by fd that can be polled,
 * drained without blocking, and (for dumps) written to. Legacy does it with libc, libnl with libnl.
 * Monitoring sockets are read by the receive thread itself, with recvmmsg() on the fd (mmsg.ts),
 * whichever transport opened them.
 */
import type { BackendOptions } from "./types.ts";

export interface RecvSocket {
  readonly fd: number;
  /** effective receive buffer as the kernel reports it */
  readonly rcvbuf: number;
  readonly rcvbufForced: boolean;
  /** one datagram: bytes read (its full length, even if larger than buf), 0 if nothing waits, or -errno */
  recvInto(buf: Uint8Array): number;
  /** join more multicast groups while receiving (a generic netlink family that appeared later) */
  join(groups: readonly number[]): void;
  /**
   * Send a request on this socket, so that the kernel answers here: taskstats sends its records
   * to the socket that registered for them. Any error reply arrives among the notifications.
   */
  send(msg: Uint8Array): void;
  close(): void;
}

export interface DumpSocket {
  readonly fd: number;
  /**
   * Send one request (a complete message from the codec). Returns the sequence number the replies
   * will carry, or undefined when the transport numbers requests itself (libnl): the dump socket
   * carries one request at a time, so every reply on it belongs to that request.
   */
  request(msg: Uint8Array): number | undefined;
  /** bytes read (the datagram's full length, even if larger than buf), 0 if nothing waits, or -errno */
  recvInto(buf: Uint8Array): number;
  /**
   * The whole reply to the last request, when the transport has a receive loop of its own (libnl:
   * sequence check, multipart, errors): every message, whether the kernel marked the dump
   * interrupted, and an error if the loop failed. Without it the thread reads datagrams itself.
   * With `each`, the messages go to it in datagram-sized runs as they come (views into a reused
   * buffer, valid during the call) and `messages` stays empty.
   */
  replies?(timeoutMs: number, each?: (d: Uint8Array) => void): { messages: Uint8Array[]; interrupted: boolean; error?: string };
  close(): void;
}

export interface SocketDriver {
  readonly name: "legacy" | "libnl";
  openMonitor(o: BackendOptions): RecvSocket;
  openDump(protocol: number, rcvbuf: number): DumpSocket;
  /** text for an error number in this driver's terms */
  describe?(code: number): string;
}
