/**
 * Dumps on the calling thread, for one-shot tools (--dump-events). A running monitor must not wait
 * on the kernel, so it dumps through the receive thread; a tool that only dumps has nothing else to
 * do meanwhile, and skipping the thread saves starting it and copying every datagram across.
 */
import { libc } from "../ffi/libc.ts";
import type { SocketDriver } from "./driver.ts";
import { readReplies, type ReplyOutcome } from "./dump-reply.ts";
import { legacyDriver } from "./legacy/socket.ts";
import { libnlDriver } from "./libnl/driver.ts";

export interface DumpSession {
  /** one request; each datagram of the reply goes to `each` as it arrives (a view valid during the call) */
  request(req: Uint8Array, each: (d: Uint8Array) => void): ReplyOutcome;
  close(): void;
}

export function openDumpSession(driverName: "legacy" | "libnl", libnlLibrary: string | undefined, protocol: number,
  rcvbuf = 4 * 1024 * 1024): DumpSession {
  let driver: SocketDriver = legacyDriver;
  if (driverName === "libnl") {
    libnlDriver.load(libnlLibrary);
    driver = libnlDriver;
  }
  const sock = driver.openDump(protocol, rcvbuf);
  const describe = (e: number) => driver.describe?.(e) ?? libc().strerror(e);
  let seq = 1;
  return {
    request: (req, each) => readReplies(sock, req, seq++, each, describe),
    close: () => sock.close(),
  };
}
