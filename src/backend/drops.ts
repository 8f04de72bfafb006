/**
 * How many notifications the kernel dropped on a socket. ENOBUFS only says "at least one, since
 * you last asked", and while the queue stays full the kernel drops more without raising it again;
 * its per-socket drop counter (sk_drops, read with SO_MEMINFO) counts every one. Works on any
 * socket fd, so the libnl backend's sockets too.
 */
import { libc } from "../ffi/libc.ts";
import { SK_MEMINFO_DROPS, SK_MEMINFO_VARS, SO_MEMINFO, SOL_SOCKET } from "../uapi/linux.gen.ts";

/** the socket's drop counter since it was opened, or undefined where SO_MEMINFO is missing (before Linux 4.12) */
export function socketDrops(fd: number): number | undefined {
  const buf = new Uint8Array(4 * SK_MEMINFO_VARS);
  const len = Uint32Array.of(buf.length);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_MEMINFO, buf, len) < 0) return undefined;
  if (len[0]! < 4 * (SK_MEMINFO_DROPS + 1)) return undefined;
  return new DataView(buf.buffer).getUint32(4 * SK_MEMINFO_DROPS, true);
}
