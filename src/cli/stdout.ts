/**
 * Standard output for the one-shot modes (--dump-events, --dump-cache): written synchronously,
 * block by block, so a full table's output is never queued in memory (an awaited Bun.write per
 * block held copies the collector freed late), and a reader that went away (`| head`) ends the
 * run quietly, as it ends any filter.
 */

/** stdout's reader is gone: nothing written can arrive */
export class StdoutClosed extends Error {
  override name = "StdoutClosed";
}

const enc = new TextEncoder();

export function writeStdout(s: string | Uint8Array): void {
  const b = typeof s === "string" ? enc.encode(s) : s;
  for (let off = 0; off < b.length;) {
    try {
      off += fs().writeSync(1, b, off, b.length - off);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "EPIPE") throw new StdoutClosed("standard output closed");
      // a non-blocking pipe that is full: wait for its reader a moment
      if (code === "EAGAIN") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      else throw e;
    }
  }
}import { fs } from "../node-lazy.ts";

