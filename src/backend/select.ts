/**
 * Which backend runs. libnl is loaded here, in the main thread, so a missing library is a clear
 * start-up error rather than a failed thread; the legacy backend is used instead only when the
 * caller's choice says so. The choice is its own small type, not the config: sockets know nothing
 * of how nlmon is configured (the CLI and the benchmark fill it from `netlink.use_libnl`,
 * NLMON_USE_LIBNL already applied by the config loader, `netlink.libnl` and `netlink.namespace`).
 */
import { loadLibnl } from "./libnl/binding.ts";
import { WorkerBackend } from "./host.ts";
import { NamespaceError, netnsRef, openNamespace, type NetnsRef } from "./netns.ts";

export class BackendUnavailable extends Error {}

export interface BackendChoice {
  useLibnl: boolean;
  /** path to libnl's shared object; undefined = bundled */
  libnlLibrary?: string | undefined;
  /** what runs when libnl cannot be loaded: the legacy backend, or nothing (an error) */
  fallback: "none" | "legacy";
  /**
   * the network namespace to monitor from outside it (a name under /run/netns or a path); every
   * socket is made in it. Undefined or "": the one nlmon runs in
   */
  namespace?: string | undefined;
  /** "all": every named namespace (/run/netns), followed as they come and go */
  namespaces?: "" | "all" | undefined;
}

export function selectBackend(c: BackendChoice, warn: (m: string) => void): WorkerBackend {
  let netns: NetnsRef | undefined;
  if (c.namespace) {
    // opened (and entered once) now: a missing or refused namespace is a start-up error, and the
    // descriptor keeps it the same namespace through reconnects whatever becomes of its name
    try {
      netns = netnsRef(openNamespace(c.namespace));
    } catch (e) {
      if (e instanceof NamespaceError) throw new BackendUnavailable(e.message);
      throw e;
    }
  }
  // one namespace named (the command line's --namespace over a config that follows all) is the one
  const follow = c.namespaces === "all" && !netns ? { follow: "all" as const } : {};
  if (!c.useLibnl) return new WorkerBackend({ driver: "legacy", netns, ...follow });
  const library = c.libnlLibrary;
  try {
    loadLibnl({ library });
    return new WorkerBackend({ driver: "libnl", libnlLibrary: library, netns, ...follow });
  } catch (e) {
    if (c.fallback === "legacy") {
      warn(`libnl unavailable, falling back to the legacy backend as netlink.libnl.fallback says: ${(e as Error).message}`);
      return new WorkerBackend({ driver: "legacy", netns, ...follow });
    }
    throw new BackendUnavailable(`${(e as Error).message}\n(set netlink.use_libnl: false or NLMON_USE_LIBNL=false for the legacy backend, or netlink.libnl.fallback: legacy)`);
  }
}
