/**
 * Raw AF_NETLINK sockets through libc: the legacy backend's whole transport.
 */
import {
  AF_NETLINK, EAGAIN, EPERM, NETLINK_ADD_MEMBERSHIP, SOCK_NONBLOCK, NETLINK_EXT_ACK, OFFSETOF,
  SIZEOF, SO_RCVBUF, SO_RCVBUFFORCE, SO_SNDBUF, SO_SNDBUFFORCE, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK, SOL_SOCKET,
} from "../../uapi/linux.gen.ts";
import { getIntOpt, intOpt, libc } from "../../ffi/libc.ts";
import { nlmsgSeq } from "../../codec/nlmsg.ts";
import type { DumpSocket, RecvSocket, SocketDriver } from "../driver.ts";

export class SysError extends Error {
  constructor(readonly op: string, readonly errno: number) {
    super(`${op}: ${libc().strerror(errno)} (errno ${errno})`);
  }
}

function check(op: string, rc: number): number {
  if (rc < 0) throw new SysError(op, libc().errno());
  return rc;
}

function sockaddrNl(): Uint8Array {
  const b = new Uint8Array(SIZEOF.sockaddr_nl);
  new DataView(b.buffer).setUint16(OFFSETOF["sockaddr_nl.nl_family"], AF_NETLINK, true);
  return b;
}

/**
 * Ask for `size` bytes of buffer. The *FORCE option ignores rmem_max/wmem_max but needs
 * CAP_NET_ADMIN; without it we take what the plain option gives and report the shortfall.
 */
function setBuffer(fd: number, force: number, plain: number, size: number): { effective: number; forced: boolean } {
  const L = libc();
  if (L.setsockopt(fd, SOL_SOCKET, force, intOpt(size), 4) === 0) {
    return { effective: getIntOpt(fd, SOL_SOCKET, plain), forced: true };
  }
  const e = L.errno();
  if (e !== EPERM) throw new SysError("setsockopt(SO_*BUFFORCE)", e);
  check("setsockopt(SO_*BUF)", L.setsockopt(fd, SOL_SOCKET, plain, intOpt(size), 4));
  return { effective: getIntOpt(fd, SOL_SOCKET, plain), forced: false };
}

class RawSocket implements RecvSocket, DumpSocket {
  readonly fd: number;
  rcvbuf = 0;
  rcvbufForced = false;
  constructor(protocol: number) {
    const L = libc();
    // non-blocking at the socket, because readv() has no MSG_DONTWAIT (see recvInto)
    this.fd = check("socket(AF_NETLINK)", L.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol));
    try {
      const sa = sockaddrNl();
      check("bind", L.bind(this.fd, sa, sa.length));
    } catch (e) {
      L.close(this.fd);
      throw e;
    }
  }
  /**
   * readv/writev rather than recv/send: qemu-user (how the arm64 build is tested) translates
   * netlink messages passed through send/recv and knows only link, addr and route ones, failing
   * the rest; readv/writev pass bytes untouched. readv cannot report a datagram longer than the
   * buffer (MSG_TRUNC), so a read that fills the buffer is reported as possibly truncated: the
   * caller counts it as oversize.
   */
  recvInto(buf: Uint8Array): number {
    return readDatagram(this.fd, buf);
  }
  join(groups: readonly number[]): void {
    // one setsockopt per group: the bind() bitmask only reaches groups 1..32
    for (const g of groups) check(`NETLINK_ADD_MEMBERSHIP ${g}`, libc().setsockopt(this.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, intOpt(g), 4));
  }
  request(msg: Uint8Array): number {
    check("send", libc().writev(this.fd, msg));
    return nlmsgSeq(msg);
  }
  send(msg: Uint8Array): void {
    this.request(msg);
  }
  close(): void {
    libc().close(this.fd);
  }
}

export const legacyDriver: SocketDriver = {
  name: "legacy",
  openMonitor(o) {
    const s = new RawSocket(o.protocol);
    try {
      const r = setBuffer(s.fd, SO_RCVBUFFORCE, SO_RCVBUF, o.rcvbuf);
      s.rcvbuf = r.effective;
      s.rcvbufForced = r.forced;
      setBuffer(s.fd, SO_SNDBUFFORCE, SO_SNDBUF, o.sndbuf);
      s.join(o.groups);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  },
  openDump(protocol, rcvbuf) {
    const s = new RawSocket(protocol);
    try {
      setBuffer(s.fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
      // error text from the kernel (NLMSGERR_ATTR_MSG) in failed requests
      libc().setsockopt(s.fd, SOL_NETLINK, NETLINK_EXT_ACK, intOpt(1), 4);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  },
};

/**
 * One datagram from a non-blocking socket into buf, with readv (LegacySocket.recvInto says why):
 * bytes read, or buf.length + 1 when it filled buf (readv cannot say it cut one short), 0 if
 * nothing waits, or -errno.
 */
export function readDatagram(fd: number, buf: Uint8Array): number {
  const n = libc().readv(fd, buf);
  if (n === buf.length) return n + 1;
  if (n >= 0) return n;
  const e = libc().errno();
  return e === EAGAIN ? 0 : -e;
}
