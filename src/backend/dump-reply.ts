/**
 * Reading the replies to one dump request. Shared by the receive thread, which collects them for
 * the monitor, and by one-shot dumps on the calling thread, which decode each datagram as it comes
 * and so never hold a whole routing table's bytes.
 */
import { EINTR, NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR, POLLIN } from "../uapi/linux.gen.ts";
import { libc } from "../ffi/libc.ts";
import { NLMSG_HDRLEN, nlmsgAlign, readHeader, setNlmsgSeq } from "../codec/nlmsg.ts";
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
    for (let off = 0; off + NLMSG_HDRLEN <= n;) {
      const h = readHeader(dv, off);
      if (h.len < NLMSG_HDRLEN) break;
      if (mySeq === undefined || h.seq === mySeq) {
        keep = true;
        if (h.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (h.type === NLMSG_DONE || h.type === NLMSG_ERROR) done = true;
      }
      off += nlmsgAlign(h.len);
    }
    if (keep) each(buf.subarray(0, n));
    if (done) return { interrupted };
  }
}
