/**
 * The few libc calls nlmon makes through koffi. Bun has no AF_NETLINK or unix-datagram sockets,
 * so sockets are driven by file descriptor. Buffers are passed as Uint8Array: koffi hands the
 * callee a pointer into them without copying.
 */
import { koffi } from "./koffi.ts";

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint32Array): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  readv(fd: number, buf: Uint8Array): number;
  writev(fd: number, buf: Uint8Array): number;
  poll(fds: Uint8Array, nfds: number, timeout: number): number;
  /** open(2) without a mode: nlmon only opens existing files */
  open(path: string, flags: number): number;
  setns(fd: number, nstype: number): number;
  inotifyInit(flags: number): number;
  inotifyAddWatch(fd: number, path: string, mask: number): number;
  close(fd: number): number;
  free(p: unknown): void;
  strerror(errno: number): string;
  errno(): number;
}

let cached: Libc | undefined;

// glibc's soname is libc.so.6; musl (OpenWrt, Alpine) has only libc.so.
export function loadLibc(k: ReturnType<typeof koffi> = koffi()): ReturnType<ReturnType<typeof koffi>["load"]> {
  try {
    return k.load("libc.so.6");
  } catch {
    return k.load("libc.so");
  }
}

export function libc(): Libc {
  if (cached) return cached;
  const k = koffi();
  const lib = loadLibc(k);
  k.struct("nlmon_iovec", { base: "void *", len: "size_t" });
  const f = {
    socket: lib.func("int socket(int, int, int)"),
    bind: lib.func("int bind(int, const void *, uint32_t)"),
    connect: lib.func("int connect(int, const void *, uint32_t)"),
    setsockopt: lib.func("int setsockopt(int, int, int, const void *, uint32_t)"),
    getsockopt: lib.func("int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)"),
    send: lib.func("intptr_t send(int, const void *, size_t, int)"),
    readv: lib.func("intptr_t readv(int, const nlmon_iovec *, int)"),
    writev: lib.func("intptr_t writev(int, const nlmon_iovec *, int)"),
    poll: lib.func("int poll(_Inout_ void *, unsigned long, int)"),
    close: lib.func("int close(int)"),
    open: lib.func("int open(const char *, int, ...)"),
    setns: lib.func("int setns(int, int)"),
    inotifyInit: lib.func("int inotify_init1(int)"),
    inotifyAddWatch: lib.func("int inotify_add_watch(int, const char *, uint32_t)"),
    free: lib.func("void free(void *)"),
    strerror: lib.func("const char *strerror(int)"),
  };
  cached = {
    socket: (a, b, c) => f.socket(a, b, c),
    bind: (fd, a, l) => f.bind(fd, a, l),
    connect: (fd, a, l) => f.connect(fd, a, l),
    setsockopt: (fd, lv, n, v, l) => f.setsockopt(fd, lv, n, v, l),
    getsockopt: (fd, lv, n, v, l) => f.getsockopt(fd, lv, n, v, l),
    send: (fd, b, l, fl) => Number(f.send(fd, b, l, fl)),
    readv: (fd, b) => Number(f.readv(fd, [{ base: b, len: b.length }], 1)),
    writev: (fd, b) => Number(f.writev(fd, [{ base: b, len: b.length }], 1)),
    poll: (fds, n, t) => f.poll(fds, n, t),
    close: (fd) => f.close(fd),
    open: (p, fl) => f.open(p, fl),
    setns: (fd, t) => f.setns(fd, t),
    inotifyInit: (fl) => f.inotifyInit(fl),
    inotifyAddWatch: (fd, p, m) => f.inotifyAddWatch(fd, p, m),
    free: (p) => f.free(p),
    strerror: (e) => f.strerror(e) as string,
    errno: () => k.errno(),
  };
  return cached;
}

/** A 32-bit int option value, as setsockopt wants it. */
export function intOpt(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

export function getIntOpt(fd: number, level: number, name: number): number {
  const b = new Uint8Array(4);
  const len = Uint32Array.of(4);
  if (libc().getsockopt(fd, level, name, b, len) < 0) return -1;
  return new DataView(b.buffer).getInt32(0, true);
}
