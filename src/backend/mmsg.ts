/**
 * Many datagrams per system call. A notification is one datagram, so a route burst read with one
 * readv()/nl_recv() each costs a koffi call (and its argument marshalling) per message, which was
 * most of the receive thread's CPU (0.76 s legacy, 1.14 s libnl per 100k routes). recvmmsg() reads
 * up to SLOTS datagrams in one call into native memory laid out once here: the mmsghdr array, one
 * iovec each, and one slot of SLOT_BYTES per datagram. Only the pages a datagram touches become
 * resident, so the 4 MiB reserved cost about a page per slot in use.
 *
 * Under qemu-user, recvmsg-family calls on a NETLINK_ROUTE socket go through its message
 * translation (which knows only link, addr and route messages); dumps keep reading with readv().
 */
import { EAGAIN, MSG_DONTWAIT, MSG_TRUNC, OFFSETOF, SIZEOF } from "../uapi/linux.gen.ts";
import { koffi } from "../ffi/koffi.ts";
import { loadLibc } from "../ffi/libc.ts";

/** what one call may read; a burst arrives faster than one call per 64 datagrams is a cost */
export const SLOTS = 64;
/** above the largest datagram the kernel builds for a dump (32 KiB), as the single reads had */
export const SLOT_BYTES = 65536;

type RecvMmsg = (fd: number, vec: unknown, vlen: number, flags: number, timeout: null) => number;
let recvmmsg: RecvMmsg | undefined;

function bind(): RecvMmsg {
  if (recvmmsg) return recvmmsg;
  const f = loadLibc().func("int recvmmsg(int, void *, unsigned int, int, void *)");
  recvmmsg = (fd, vec, vlen, flags, timeout) => f(fd, vec, vlen, flags, timeout) as number;
  return recvmmsg;
}

const HDR = SIZEOF.mmsghdr;
const MSG_LEN = OFFSETOF["mmsghdr.msg_len"];

export class MultiReader {
  private mem: unknown;
  private readonly fn = bind();
  private readonly hdr: DataView;
  private readonly dataOff: number;
  /** the slots; datagram i is bytes [slotStart(i), slotStart(i) + length(i)) */
  readonly bytes: Uint8Array;

  constructor() {
    const k = koffi();
    const iovOff = SLOTS * HDR;
    this.dataOff = iovOff + SLOTS * SIZEOF.iovec;
    const total = this.dataOff + SLOTS * SLOT_BYTES;
    this.mem = k.alloc("uint8_t", total);
    const base = k.address(this.mem);
    const ab = k.view(this.mem, total);
    this.hdr = new DataView(ab, 0, this.dataOff);
    this.bytes = new Uint8Array(ab);
    const h = this.hdr;
    const at = (off: number) => base + BigInt(off);
    for (let i = 0; i < SLOTS; i++) {
      const m = i * HDR + OFFSETOF["mmsghdr.msg_hdr"];
      const iov = iovOff + i * SIZEOF.iovec;
      // no source address, no control data: nothing in a header needs resetting between calls
      h.setBigUint64(m + OFFSETOF["msghdr.msg_name"], 0n, true);
      h.setUint32(m + OFFSETOF["msghdr.msg_namelen"], 0, true);
      h.setBigUint64(m + OFFSETOF["msghdr.msg_iov"], at(iov), true);
      h.setBigUint64(m + OFFSETOF["msghdr.msg_iovlen"], 1n, true);
      h.setBigUint64(m + OFFSETOF["msghdr.msg_control"], 0n, true);
      h.setBigUint64(m + OFFSETOF["msghdr.msg_controllen"], 0n, true);
      h.setUint32(m + OFFSETOF["msghdr.msg_flags"], 0, true);
      h.setBigUint64(iov + OFFSETOF["iovec.iov_base"], at(this.dataOff + i * SLOT_BYTES), true);
      h.setBigUint64(iov + OFFSETOF["iovec.iov_len"], BigInt(SLOT_BYTES), true);
    }
  }

  /**
   * Datagrams read without waiting (0 if none waits), or -errno. MSG_TRUNC makes netlink report a
   * datagram's full length even when the slot cut it short, so the caller can see it was cut.
   */
  read(fd: number): number {
    const n = this.fn(fd, this.mem, SLOTS, MSG_DONTWAIT | MSG_TRUNC, null);
    if (n >= 0) return n;
    const e = koffi().errno();
    return e === EAGAIN ? 0 : -e;
  }

  /** the datagram's full length (larger than SLOT_BYTES: it was truncated) */
  length(i: number): number {
    return this.hdr.getUint32(i * HDR + MSG_LEN, true);
  }

  slotStart(i: number): number {
    return this.dataOff + i * SLOT_BYTES;
  }

  /** Nothing may use `bytes` afterwards: the memory is gone. */
  close(): void {
    if (this.mem) koffi().free(this.mem);
    this.mem = undefined;
  }
}
