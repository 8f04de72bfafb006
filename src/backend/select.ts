/**
 * Which backend runs. libnl is loaded here, in the main thread, so a missing library is a clear
 * start-up error rather than a failed thread; the legacy backend is used instead only when the
 * caller's choice says so. The choice is its own small type, not the config: sockets know nothing
 * of how nlmon is configured (the CLI and the benchmark fill it from `netlink.use_libnl`,
 * NLMON_USE_LIBNL already applied by the config loader, and `netlink.libnl`).
 */
import { loadLibnl } from "./libnl/binding.ts";
import { WorkerBackend } from "./host.ts";

export class BackendUnavailable extends Error {}

export interface BackendChoice {
  useLibnl: boolean;
  /** path to libnl's shared object; undefined = bundled */
  libnlLibrary?: string | undefined;
  /** what runs when libnl cannot be loaded: the legacy backend, or nothing (an error) */
  fallback: "none" | "legacy";
}

export function selectBackend(c: BackendChoice, warn: (m: string) => void): WorkerBackend {
  if (!c.useLibnl) return new WorkerBackend({ driver: "legacy" });
  const library = c.libnlLibrary;
  try {
    loadLibnl({ library });
    return new WorkerBackend({ driver: "libnl", libnlLibrary: library });
  } catch (e) {
    if (c.fallback === "legacy") {
      warn(`libnl unavailable, falling back to the legacy backend as netlink.libnl.fallback says: ${(e as Error).message}`);
      return new WorkerBackend({ driver: "legacy" });
    }
    throw new BackendUnavailable(`${(e as Error).message}\n(set netlink.use_libnl: false or NLMON_USE_LIBNL=false for the legacy backend, or netlink.libnl.fallback: legacy)`);
  }
}
