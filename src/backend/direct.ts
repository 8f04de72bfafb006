/**
 * Dumps on the calling thread, for one-shot tools (--dump-events). A running monitor must not wait
 * on the kernel, so it dumps through the receive thread; a tool that only dumps has nothing else to
 * do meanwhile, and skipping the thread saves starting it and copying every datagram across.
 */
import { libc } from "../ffi/libc.ts";
import type { SocketDriver } from "./driver.ts";
import { readReplies, type ReplyOutcome } from "./dump-reply.ts";
import type { DumpSocket } from "./driver.ts";
import { legacyDriver, readDatagram } from "./legacy/socket.ts";
import { libnlDriver } from "./libnl/driver.ts";
import { type NetnsRef, withNamespace } from "./netns.ts";

export interface DumpSession {
  /** one request; each datagram of the reply goes to `each` as it arrives (a view valid during the call) */
  request(req: Uint8Array, each: (d: Uint8Array) => void): ReplyOutcome;
  close(): void;
}

/** `netns`: the socket is made inside that namespace, on this thread, which then comes straight back */
export function openDumpSession(driverName: "legacy" | "libnl", libnlLibrary: string | undefined, protocol: number,
  rcvbuf = 4 * 1024 * 1024, netns?: NetnsRef): DumpSession {
  let driver: SocketDriver = legacyDriver;
  if (driverName === "libnl") {
    libnlDriver.load(libnlLibrary);
    driver = libnlDriver;
  }
  const opened = withNamespace(netns, () => driver.openDump(protocol, rcvbuf));
  // Replies are read from the socket's fd, as the receive thread reads notifications, whichever
  // transport opened it and sent the request: libnl's receive loop calls back into JS per message,
  // which for a 100k-route dump cost 0.1 s and 55 MiB of peak RSS more (--dump-events, libnl vs
  // legacy, same namespace). The socket carries one request at a time, so every reply is its.
  const sock: DumpSocket = opened.replies
    ? { fd: opened.fd, request: (m) => opened.request(m), recvInto: (b) => readDatagram(opened.fd, b), close: () => opened.close() }
    : opened;
  const describe = (e: number) => driver.describe?.(e) ?? libc().strerror(e);
  let seq = 1;
  return {
    request: (req, each) => readReplies(sock, req, seq++, each, describe),
    close: () => sock.close(),
  };
}
