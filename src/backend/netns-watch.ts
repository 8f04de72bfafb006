/**
 * netlink.namespaces: all — which named namespaces exist now, noticed as they come and go.
 *
 * inotify on /run/netns, read by the receive thread in the same poll() as its sockets, so a new
 * namespace is followed within a poll round rather than within a polling interval. inotify alone
 * is not enough: `ip netns add` creates the name as an empty file first and bind-mounts the
 * namespace onto it afterwards, and a mount makes no inotify event. So every event only says
 * "look again": the directory is listed, and a name whose file is not a namespace yet (not on
 * nsfs) is looked at again every RETRY_MS until it is. Without the directory (no namespace was ever
 * named) or without inotify (the per-user instance limit), the directory is listed once a second.
 */
import { fs } from "../node-lazy.ts";
import { libc } from "../ffi/libc.ts";
import {
  EAGAIN, EINTR, IN_CLOEXEC, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_IGNORED, IN_MOVE_SELF, IN_MOVED_FROM, IN_MOVED_TO,
  IN_NONBLOCK, IN_ONLYDIR, IN_Q_OVERFLOW, OFFSETOF, SIZEOF,
} from "../uapi/linux.gen.ts";
import { NETNS_RUN_DIR } from "./netns-path.ts";

/** a name whose namespace is not mounted yet: `ip netns add` mounts it a moment after creating the file */
const RETRY_MS = 50;
/** without a watch on the directory */
const POLL_MS = 1000;
/** a file that stays something else (not a namespace) is looked at again only with the next event */
const RETRY_FOR_MS = 5000;

export interface NamedNamespace {
  name: string;
  path: string;
  inode: number;
}

export class NetnsWatch {
  /** the inotify descriptor to poll, or -1 when the directory is only listed now and then */
  readonly fd: number;
  private watching = false;
  /** performance.now() when the directory must be listed though no event came; Infinity: never */
  private dueAt = 0;
  /** the device of nsfs, where every namespace file lives */
  private readonly nsDev: number;
  private readonly buf = new Uint8Array(4096);
  /** names seen that were not namespaces (yet), and since when */
  private readonly notYet = new Map<string, number>();

  constructor(readonly dir = NETNS_RUN_DIR) {
    this.nsDev = Number(fs().statSync("/proc/self/ns/net").dev);
    this.fd = libc().inotifyInit(IN_NONBLOCK | IN_CLOEXEC);
    this.watch();
  }

  /** how this watch learns of changes, for the log */
  get how(): string {
    return this.watching ? `inotify on ${this.dir}` : `${this.dir} listed every ${POLL_MS / 1000} s (${this.fd < 0 ? "no inotify" : "the directory does not exist yet"})`;
  }

  private watch() {
    if (this.fd < 0 || this.watching) return;
    const mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
    this.watching = libc().inotifyAddWatch(this.fd, this.dir, mask) >= 0;
  }

  /** ms until the directory must be listed though no event came (for poll's timeout) */
  dueIn(now: number): number {
    return Math.max(0, this.dueAt - now);
  }

  /** whether it is time to list the directory: an event came (read here), or a retry is due */
  due(readable: boolean, now: number): boolean {
    let changed = now >= this.dueAt;
    if (readable && this.fd >= 0) changed = this.drain() || changed;
    return changed;
  }

  /** empty the event queue; true when anything happened */
  private drain(): boolean {
    const L = libc();
    const dv = new DataView(this.buf.buffer);
    let any = false;
    for (;;) {
      const n = L.readv(this.fd, this.buf);
      if (n < 0) {
        const e = L.errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) this.watching = false;
        return any;
      }
      if (n === 0) return any;
      any = true;
      for (let off = 0; off + SIZEOF.inotify_event <= n;) {
        const mask = dv.getUint32(off + OFFSETOF["inotify_event.mask"], true);
        // the directory itself went (or was moved away): watch again once it is back
        if (mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) this.watching = false;
        if (mask & IN_Q_OVERFLOW) any = true;
        off += SIZEOF.inotify_event + dv.getUint32(off + OFFSETOF["inotify_event.len"], true);
      }
    }
  }

  /** The named namespaces now. Names not yet namespaces are left for a retry. */
  scan(now: number): NamedNamespace[] {
    this.watch();
    this.dueAt = this.watching ? Infinity : now + POLL_MS;
    let names: string[];
    try {
      names = fs().readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: NamedNamespace[] = [];
    for (const n of [...this.notYet.keys()]) if (!names.includes(n)) this.notYet.delete(n);
    for (const name of names.sort()) {
      const path = `${this.dir}/${name}`;
      let st;
      try {
        st = fs().statSync(path);
      } catch {
        continue; // gone between the listing and now: the event for it is on its way
      }
      if (Number(st.dev) === this.nsDev) {
        this.notYet.delete(name);
        out.push({ name, path, inode: Number(st.ino) });
        continue;
      }
      const since = this.notYet.get(name) ?? now;
      this.notYet.set(name, since);
      if (now - since < RETRY_FOR_MS) this.dueAt = Math.min(this.dueAt, now + RETRY_MS);
    }
    return out;
  }

  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
  }
}
