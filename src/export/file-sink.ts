/**
 * A size-rotated file that never tears a record: the JSON and pcap exports write through it.
 */
import { fsp, path } from "../node-lazy.ts";
import { fs } from "../node-lazy.ts";
import { errText, sleep, type Logger } from "./queue.ts";

export class PartialWriteError extends Error {
  constructor(readonly done: number, override readonly cause: unknown, path: string) {
    super(`cannot write ${path}: ${errText(cause)} (will retry)`);
  }
}

/** Standard output's reader went away (EPIPE): nothing written there can arrive any more. */
export class ReaderGoneError extends Error {
  constructor(override readonly cause: unknown) {
    super(`standard output closed: ${errText(cause)}`);
  }
}

export interface FileSinkOptions {
  path: string;
  /** rotate before a write would take the file past this many bytes; 0 = never */
  maxSize: number;
  keep: number;
  compress: boolean;
  /** written at the start of every new file (pcap's global header) */
  header?: Uint8Array;
  /** written after the header of every new file: state a reader of that file alone needs */
  preamble?: () => Uint8Array;
  log: Logger;
}

/**
 * An append-only file written in whole records. Each write() is one or a few write(2) calls of
 * complete chunks; if the disk fills half way, the file is truncated back to the last whole chunk,
 * so a reader never sees a torn line. "-" is standard output (no rotation). A missing directory is
 * made (one level, mode 0750 less the umask), so /var/log/nlmon/ need not be made by hand; whether
 * it can be is checked with the config (src/config/paths.ts).
 */
export class FileSink {
  private fh?: import("node:fs/promises").FileHandle;
  private size = 0;
  private regular = true;
  private reopenWanted = false;
  private compressing: Promise<void> = Promise.resolve();
  private rotatedFiles = -1;

  constructor(private readonly o: FileSinkOptions) {}

  private base = 0;

  get path() {
    return this.o.path;
  }

  /** logrotate moved the file away: the next write goes to a fresh file at the configured path */
  reopen() {
    this.reopenWanted = true;
    this.rotatedFiles = -1;
  }

  private stdoutStarted = false;

  async open(): Promise<void> {
    if (this.o.path === "-") return;
    if (this.fh) return;
    const fh = await this.openCreating();
    try {
      const st = await fh.stat();
      this.regular = st.isFile();
      this.size = this.regular ? st.size : 0;
      if (this.o.header && this.regular) {
        if (this.size > 0 && !(await this.startsWithHeader(fh))) {
          // someone else's file (or another format): keep it as a rotated file, never append to it
          await fh.close();
          this.o.log(`${this.o.path} does not start with the expected header; moving it to ${this.o.path}.1`);
          await this.shift(Math.max(1, this.o.keep));
          return this.open();
        }
      }
      this.fh = fh;
      const fresh = this.size === 0;
      if (this.o.header && fresh) await this.writeAll(this.o.header);
      const pre = fresh ? this.o.preamble?.() : undefined;
      if (pre?.length) await this.writeAll(pre);
      // what a file holds before its first record: rotation never leaves a file with only this
      this.base = fresh ? this.size : (this.o.header?.length ?? 0);
    } catch (e) {
      // this.fh may already be fh (the header or preamble write failed): close it either way, or
      // every failed attempt leaks a descriptor until the garbage collector finds the handle
      this.fh = undefined;
      await fh.close().catch(() => {});
      throw e;
    }
  }

  private async openCreating(): Promise<import("node:fs/promises").FileHandle> {
    try {
      return await fsp().open(this.o.path, "a");
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw e;
      const dir = path().dirname(this.o.path);
      try {
        await fsp().mkdir(dir, { mode: 0o750 });
        this.o.log(`created directory ${dir}`);
      } catch (m) {
        if ((m as { code?: string }).code !== "EEXIST") throw m;
      }
      return await fsp().open(this.o.path, "a");
    }
  }

  private async startsWithHeader(fh: import("node:fs/promises").FileHandle) {
    const h = this.o.header!;
    const buf = new Uint8Array(h.length);
    const { bytesRead } = await fh.read(buf, 0, h.length, 0);
    return bytesRead === h.length && buf.every((b, i) => b === h[i]);
  }

  /** Writes the chunks in order, rotating between chunks; throws PartialWriteError. */
  async write(chunks: Uint8Array[]) {
    let done = 0;
    try {
      if (this.o.path === "-") {
        // a stream needs its file header too (a pcap reader on the other end of a pipe)
        if (!this.stdoutStarted) {
          const pre = this.o.preamble?.();
          chunks = [...(this.o.header ? [this.o.header] : []), ...(pre?.length ? [pre] : []), ...chunks];
          this.stdoutStarted = true;
        }
        await writeFd(1, concat(chunks, 0, chunks.length));
        return;
      }
      if (this.reopenWanted) {
        this.reopenWanted = false;
        await this.closeFile();
      }
      await this.open();
      while (done < chunks.length) {
        // after a rotation the new file's own start counts (header and preamble)
        const base = this.base;
        let end = done;
        let bytes = 0;
        const limit = this.o.maxSize > 0 && this.regular ? this.o.maxSize : Infinity;
        while (end < chunks.length) {
          const n = chunks[end]!.length;
          // an empty file takes at least one chunk, however large, so rotation always makes progress
          if (this.size + bytes + n > limit && !(this.size <= base && bytes === 0)) break;
          bytes += n;
          end++;
        }
        if (end === done) {
          await this.rotate();
          continue;
        }
        await this.writeAll(concat(chunks, done, end));
        done = end;
      }
    } catch (e) {
      // a pipe whose reader left never takes writes again; retrying would only spin
      if (this.o.path === "-" && (e as { code?: string }).code === "EPIPE") throw new ReaderGoneError(e);
      throw new PartialWriteError(done, e, this.o.path);
    }
  }

  private async writeAll(buf: Uint8Array) {
    const fh = this.fh!;
    const start = this.size;
    let off = 0;
    try {
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        if (bytesWritten <= 0) throw new Error("write returned 0");
        off += bytesWritten;
      }
    } catch (e) {
      if (off > 0 && this.regular) await fh.truncate(start).catch(() => {});
      throw e;
    }
    this.size = start + buf.length;
  }

  private async rotate() {
    await this.closeFile();
    await this.shift(this.o.keep);
    await this.open();
  }

  /** path.N-1 → path.N ... path → path.1, dropping what falls off the end */
  private async shift(keep: number) {
    await this.compressing;
    const p = this.o.path;
    if (keep <= 0) {
      await fsp().unlink(p).catch(ignoreEnoent);
      return;
    }
    // only the files that exist move, so a large `keep` costs nothing until there are that many;
    // counted once, then followed, since each shift adds exactly one
    let top = this.rotatedFiles;
    if (top < 0) {
      top = 0;
      while (top < keep && ((await exists(`${p}.${top + 1}`)) || (await exists(`${p}.${top + 1}.gz`)))) top++;
    }
    this.rotatedFiles = Math.min(keep, top + 1);
    if (top === keep) {
      await fsp().unlink(`${p}.${keep}`).catch(ignoreEnoent);
      await fsp().unlink(`${p}.${keep}.gz`).catch(ignoreEnoent);
      top = keep - 1;
    }
    for (let i = top; i >= 1; i--) {
      await fsp().rename(`${p}.${i}`, `${p}.${i + 1}`).catch(ignoreEnoent);
      await fsp().rename(`${p}.${i}.gz`, `${p}.${i + 1}.gz`).catch(ignoreEnoent);
    }
    await fsp().rename(p, `${p}.1`).catch(ignoreEnoent);
    if (this.o.compress) this.compressing = gzipInBackground(`${p}.1`, this.o.log);
  }

  private async closeFile() {
    const fh = this.fh;
    this.fh = undefined;
    this.size = 0;
    if (fh) await fh.close().catch(() => {});
  }

  async close() {
    await this.closeFile();
    await this.compressing;
  }
}

async function exists(path: string) {
  try {
    await fsp().lstat(path);
    return true;
  } catch {
    return false;
  }
}

function ignoreEnoent(e: unknown) {
  if ((e as { code?: string }).code !== "ENOENT") throw e;
}

function concat(chunks: Uint8Array[], from: number, to: number): Uint8Array {
  if (to - from === 1) return chunks[from]!;
  let n = 0;
  for (let i = from; i < to; i++) n += chunks[i]!.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = from; i < to; i++) {
    out.set(chunks[i]!, o);
    o += chunks[i]!.length;
  }
  return out;
}

/** stdout may be a pipe someone made non-blocking: a short write continues, EAGAIN waits a little */
async function writeFd(fd: number, buf: Uint8Array) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += await new Promise<number>((res, rej) =>
        fs().write(fd, buf, off, buf.length - off, null, (err, n) => (err ? rej(err) : res(n))));
    } catch (e) {
      if ((e as { code?: string }).code === "EAGAIN") {
        await sleep(5);
        continue;
      }
      throw e;
    }
  }
}

/** zlib's async gzip runs on the thread pool, so a large rotated file never stalls the event loop */
async function gzipInBackground(path: string, log: Logger) {
  try {
    // loaded here: the bundle loads a top-level node:zlib import at every start (30 ms, 10 MiB)
    const zlib = await import("node:zlib");
    const data = await fsp().readFile(path);
    const gz = await new Promise<Uint8Array>((res, rej) => zlib.gzip(data, (e, out) => (e ? rej(e) : res(out))));
    await fsp().writeFile(`${path}.gz.tmp`, gz);
    await fsp().rename(`${path}.gz.tmp`, `${path}.gz`);
    await fsp().unlink(path);
  } catch (e) {
    log(`cannot compress ${path}: ${errText(e)}`);
    await fsp().unlink(`${path}.gz.tmp`).catch(() => {});
  }
}

