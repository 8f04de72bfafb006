/**
 * A connected AF_UNIX SOCK_DGRAM socket through libc, for syslog's /dev/log: Bun offers unix stream
 * sockets and UDP, but no unix datagrams. Every send is MSG_DONTWAIT so a stalled syslog daemon
 * costs the caller one EAGAIN, never a blocked event loop.
 */
import { os } from "../node-lazy.ts";
import { libc } from "./libc.ts";
import {
  AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, MSG_DONTWAIT, MSG_NOSIGNAL,
  EAGAIN, EWOULDBLOCK, EINTR, ENOBUFS, EBADF,
} from "../uapi/linux.gen.ts";

export class SysError extends Error {
  constructor(readonly syscall: string, readonly errno: number, readonly path?: string) {
    super(`${syscall}${path ? " " + path : ""}: ${errnoName(errno)} (${strerror(errno)})`);
    this.name = "SysError";
  }
  get code() {
    return errnoName(this.errno);
  }
}

const lc = libc;

let errnoNames: Map<number, string> | undefined;

export function errnoName(e: number): string {
  if (!errnoNames) {
    errnoNames = new Map();
    // names only, for messages: node:os carries the same header values
    for (const [name, v] of Object.entries(os().constants.errno)) if (!errnoNames.has(v)) errnoNames.set(v, name);
  }
  return errnoNames.get(e) ?? `errno ${e}`;
}

export function strerror(e: number): string {
  try {
    return lc().strerror(e);
  } catch {
    return errnoName(e);
  }
}

/** sockaddr_un: sun_family in host order, then the NUL-terminated path; the kernel checks the length */
function sockaddrUn(path: string): Uint8Array {
  const p = new TextEncoder().encode(path);
  const sa = new Uint8Array(2 + p.length + 1);
  new DataView(sa.buffer).setUint16(0, AF_UNIX, isLittleEndian());
  sa.set(p, 2);
  return sa;
}

function isLittleEndian() {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

export class UnixDgramSocket {
  private fd: number;

  private constructor(fd: number, readonly path: string) {
    this.fd = fd;
  }

  /** Opens and connects; throws SysError (ENOENT, ECONNREFUSED, EACCES ...) if nobody listens at path. */
  static connect(path: string): UnixDgramSocket {
    const c = lc();
    const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new SysError("socket", c.errno());
    const sa = sockaddrUn(path);
    if (c.connect(fd, sa, sa.length) < 0) {
      const e = c.errno();
      c.close(fd);
      throw new SysError("connect", e, path);
    }
    return new UnixDgramSocket(fd, path);
  }

  get closed() {
    return this.fd < 0;
  }

  /**
   * Sends one datagram. Returns false when the receiver's queue is full (EAGAIN), so the caller keeps
   * the message and retries later; throws SysError for anything else (the peer went away, too big).
   */
  send(buf: Uint8Array): boolean {
    if (this.fd < 0) throw new SysError("send", EBADF, this.path);
    const c = lc();
    for (;;) {
      const n = c.send(this.fd, buf, buf.length, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) return true;
      const e = c.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN || e === EWOULDBLOCK || e === ENOBUFS) return false;
      throw new SysError("send", e, this.path);
    }
  }

  close() {
    if (this.fd >= 0) {
      lc().close(this.fd);
      this.fd = -1;
    }
  }
}
