/**
 * Sockets made inside another network namespace. A netlink socket belongs to the namespace its
 * creator was in when socket() ran, and keeps it, so nlmon enters the monitored namespace only
 * around the creation of each socket (setns on the calling thread), and goes straight back: the
 * rest of the thread (the main thread's exports, the receive thread's reading) stays in nlmon's own
 * namespace. setns(CLONE_NEWNET) affects only the calling thread, which is why each thread that
 * makes sockets enters for itself: the receive Worker is an OS thread of its own.
 */
import { CLONE_NEWNET, EINVAL, ENOENT, EPERM, O_CLOEXEC, O_RDONLY } from "../uapi/linux.gen.ts";
import { libc } from "../ffi/libc.ts";
import { fs } from "../node-lazy.ts";
import { missingNamespace, namespacePath, namespaceSpecProblem } from "./netns-path.ts";

export class NamespaceError extends Error {
  override name = "NamespaceError";
}

/**
 * A namespace held open by nlmon: the descriptor keeps it the same namespace for as long as nlmon
 * runs (a reconnect enters it again), whatever later happens to its name.
 */
export interface NetnsHandle {
  /** as configured: a name under /run/netns or a path */
  spec: string;
  path: string;
  fd: number;
  /** the namespace's inode number, as `stat -L -c %i` and `ip netns identify`'s lookups see it */
  inode: number;
}

/** what the threads need to enter it: plain data, so it crosses to the Worker in a message */
export interface NetnsRef {
  fd: number;
  /** 'NAME' (PATH), for messages */
  label: string;
}

export function netnsRef(h: NetnsHandle): NetnsRef {
  return { fd: h.fd, label: labelOf(h.spec, h.path) };
}

function labelOf(spec: string, path: string): string {
  return spec === path ? `'${path}'` : `'${spec}' (${path})`;
}

function enterProblem(label: string, errno: number): string {
  const why = `setns: ${libc().strerror(errno)}`;
  if (errno === EPERM) return `cannot enter network namespace ${label}: ${why} (entering another network namespace needs CAP_SYS_ADMIN: run nlmon as root)`;
  if (errno === EINVAL) return `${label} is not a network namespace (${why})`;
  return `cannot enter network namespace ${label}: ${why}`;
}

/**
 * Run `fn` (which makes sockets) inside the namespace, on this thread, and come back. Without a
 * namespace it only runs `fn`. The way back is an fd of this thread's own namespace, taken now:
 * /proc/thread-self, because another thread may stand elsewhere.
 */
export function withNamespace<T>(ns: NetnsRef | undefined, fn: () => T): T {
  if (!ns) return fn();
  const L = libc();
  const home = L.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) throw new NamespaceError(`cannot hold this thread's own network namespace (/proc/thread-self/ns/net) to come back to: ${L.strerror(L.errno())}`);
  try {
    if (L.setns(ns.fd, CLONE_NEWNET) < 0) throw new NamespaceError(enterProblem(ns.label, L.errno()));
    let result: T | undefined;
    let failure: { error: unknown } | undefined;
    try {
      result = fn();
    } catch (e) {
      failure = { error: e };
    }
    // a thread left in the monitored namespace would make everything it opens later (an export's
    // socket) there: that outweighs whatever fn() said
    if (L.setns(home, CLONE_NEWNET) < 0) {
      throw new NamespaceError(`cannot return to nlmon's own network namespace after making sockets in ${ns.label}: setns: ${L.strerror(L.errno())}`);
    }
    if (failure) throw failure.error;
    return result as T;
  } finally {
    L.close(home);
  }
}

/**
 * Open the configured namespace and make sure it can be entered, so a name that is not there, a
 * file that is not a network namespace, or a refused setns is said once at start, naming the
 * setting (`key`) and the namespace.
 */
export function openNamespace(spec: string, key = "netlink.namespace"): NetnsHandle {
  const bad = namespaceSpecProblem(spec);
  if (bad) throw new NamespaceError(`${key}: ${bad}`);
  const path = namespacePath(spec);
  const L = libc();
  const fd = L.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const e = L.errno();
    if (e === ENOENT) throw new NamespaceError(`${key}: ${missingNamespace(spec)}`);
    throw new NamespaceError(`${key}: cannot open namespace ${labelOf(spec, path)}: ${L.strerror(e)}`);
  }
  try {
    const ref = { fd, label: labelOf(spec, path) };
    withNamespace(ref, () => undefined);
    return { spec, path, fd, inode: Number(fs().fstatSync(fd).ino) };
  } catch (e) {
    L.close(fd);
    if (e instanceof NamespaceError) throw new NamespaceError(`${key}: ${e.message}`);
    throw e;
  }
}

export function closeNamespace(h: NetnsHandle): void {
  libc().close(h.fd);
}
