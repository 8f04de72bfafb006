/**
 * Reading the replies to one dump request. Shared by the receive thread, which collects them for
 * the monitor, and by one-shot dumps on the calling thread, which decode each datagram as it comes
 * and so never hold a whole routing table's bytes.
 */
import { EINTR, NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR, OFFSETOF, POLLIN } from "../uapi/linux.gen.ts";

const O_LEN = OFFSETOF["nlmsghdr.nlmsg_len"];
const O_TYPE = OFFSETOF["nlmsghdr.nlmsg_type"];
const O_FLAGS = OFFSETOF["nlmsghdr.nlmsg_flags"];
const O_SEQ = OFFSETOF["nlmsghdr.nlmsg_seq"];
import { libc } from "../ffi/libc.ts";
import { NLMSG_HDRLEN, nlmsgAlign, setNlmsgSeq } from "../codec/nlmsg.ts";
import type { DumpSocket } from "./driver.ts";

/** 64 KiB: above the largest datagram the kernel builds for a dump (32 KiB) */
export const DUMP_RECV_BUF = 65536;

export interface ReplyOutcome {
  /** a reply carried NLM_F_DUMP_INTR: objects may be missing or doubled */
  interrupted: boolean;
  error?: string;
}

/**
 * Send `req` numbered `seq` and hand every datagram of its reply, up to NLMSG_DONE or NLMSG_ERROR,
 * to `each`. The view is only valid during the call: the buffer is read into again.
 */
export function readReplies(sock: DumpSocket, req: Uint8Array, seq: number, each: (d: Uint8Array) => void,
  describe: (errno: number) => string, timeoutMs = 30000): ReplyOutcome {
  const L = libc();
  const msg = req.slice();
  setNlmsgSeq(msg, seq);
  const mySeq = sock.request(msg);
  if (sock.replies) {
    const r = sock.replies(timeoutMs, each);
    return { interrupted: r.interrupted, error: r.error };
  }
  const buf = new Uint8Array(DUMP_RECV_BUF);
  const dv = new DataView(buf.buffer);
  const pfd = new Uint8Array(8);
  const pdv = new DataView(pfd.buffer);
  let interrupted = false;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    pdv.setInt32(0, sock.fd, true);
    pdv.setInt16(4, POLLIN, true);
    pdv.setInt16(6, 0, true);
    if (Date.now() > deadline) return { interrupted, error: `dump timed out after ${timeoutMs / 1000} s` };
    const n = sock.recvInto(buf);
    if (n === 0) {
      L.poll(pfd, 1, 1000);
      continue;
    }
    if (n < 0) {
      if (-n === EINTR) continue;
      return { interrupted, error: `recv: ${describe(-n)}` };
    }
    if (n > buf.length) return { interrupted, error: `dump reply larger than ${buf.length} bytes (truncated)` };
    let done = false;
    let keep = false;
    // fields read in place: an object per message would be a full table's worth of garbage
    for (let off = 0; off + NLMSG_HDRLEN <= n;) {
      const len = dv.getUint32(off + O_LEN, true);
      if (len < NLMSG_HDRLEN) break;
      if (mySeq === undefined || dv.getUint32(off + O_SEQ, true) === mySeq) {
        keep = true;
        if (dv.getUint16(off + O_FLAGS, true) & NLM_F_DUMP_INTR) interrupted = true;
        const type = dv.getUint16(off + O_TYPE, true);
        if (type === NLMSG_DONE || type === NLMSG_ERROR) done = true;
      }
      off += nlmsgAlign(len);
    }
    if (keep) each(buf.subarray(0, n));
    if (done) return { interrupted };
  }
}
