/**
 * The libnl backend's transport: libnl allocates, connects, subscribes and closes the sockets, and
 * sends requests and receives their replies (and maps their errors); the bytes go to the same
 * decoders as the legacy backend's. Notifications on a monitoring socket are read by the receive
 * thread from the socket's fd with recvmmsg() (see docs/NETLINK_INTEGRATION.md for why);
 * recvInto (nl_recv) is kept for one-datagram reads such as scripts/capture-fixtures.ts.
 */
import { EIO, ENOBUFS, NETLINK_EXT_ACK, SOL_NETLINK } from "../../uapi/linux.gen.ts";
import { intOpt, libc } from "../../ffi/libc.ts";
import { NLMSG_HDRLEN, readHeader } from "../../codec/nlmsg.ts";
import type { DumpSocket, RecvSocket, SocketDriver } from "../driver.ts";
import { isOverrun, LibnlError, type LibnlHandle, LibnlSocket, loadLibnl } from "./binding.ts";

let handle: LibnlHandle | undefined;

function lib(): LibnlHandle {
  if (!handle) throw new Error("libnl is not loaded");
  return handle;
}

class LibnlRecv implements RecvSocket, DumpSocket {
  private readonly s: LibnlSocket;
  rcvbuf = 0;
  rcvbufForced = false;
  /** `dump`: a socket for requests, whose replies libnl's receive loop checks against them */
  constructor(protocol: number, groups: readonly number[], rcvbuf: number, sndbuf: number, dump: boolean) {
    this.s = new LibnlSocket(lib(), protocol, { checkSeq: dump });
    try {
      this.s.connect();
      const b = this.s.setBufferSize(rcvbuf, sndbuf);
      this.rcvbuf = b.rcvbuf;
      this.rcvbufForced = b.forced;
      if (groups.length) this.s.addMemberships(groups);
      if (dump) libc().setsockopt(this.s.fd, SOL_NETLINK, NETLINK_EXT_ACK, intOpt(1), 4);
      this.s.setNonblocking();
    } catch (e) {
      this.s.close();
      throw e;
    }
  }
  get fd() {
    return this.s.fd;
  }
  recvInto(buf: Uint8Array): number {
    try {
      return this.s.recvInto(buf);
    } catch (e) {
      // libnl reports a receive-queue overrun as NLE_NOMEM; the backend speaks errno
      if (isOverrun(e)) return -ENOBUFS;
      if (e instanceof LibnlError) return -(e.errno || EIO);
      throw e;
    }
  }
  join(groups: readonly number[]): void {
    this.s.addMemberships(groups);
  }
  replies(timeoutMs: number, each?: (d: Uint8Array) => void) {
    return this.s.recvReplies(timeoutMs, each);
  }
  /** libnl numbers the request (sequence, port) and completes its header: nl_send_simple */
  request(msg: Uint8Array): undefined {
    const h = readHeader(new DataView(msg.buffer, msg.byteOffset, msg.byteLength), 0);
    this.s.sendSimple(h.type, h.flags, msg.subarray(NLMSG_HDRLEN, h.len));
    return undefined;
  }
  send(msg: Uint8Array): void {
    this.request(msg);
  }
  close(): void {
    this.s.close();
  }
}

export const libnlDriver: SocketDriver & { load(library: string | undefined): string } = {
  name: "libnl",
  /** Load once; returns the files loaded, for the startup log. */
  load(library) {
    if (!handle) handle = loadLibnl({ library: library || undefined }).lib;
    return handle.files.join(" + ");
  },
  openMonitor(o) {
    return new LibnlRecv(o.protocol, o.groups, o.rcvbuf, o.sndbuf, false);
  },
  openDump(protocol, rcvbuf) {
    return new LibnlRecv(protocol, [], rcvbuf, 32768, true);
  },
  describe(errno) {
    return libc().strerror(errno);
  },
};
