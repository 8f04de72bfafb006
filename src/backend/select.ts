/**
 * Which backend runs: `netlink.use_libnl` (NLMON_USE_LIBNL already applied by the config loader).
 * libnl is loaded here, in the main thread, so a missing library is a clear start-up error rather
 * than a failed thread; the legacy backend is used instead only when the config says so.
 */
import type { NlmonConfig } from "../config/types.ts";
import { loadLibnl } from "./libnl/binding.ts";
import { WorkerBackend } from "./host.ts";

export class BackendUnavailable extends Error {}

export function selectBackend(cfg: NlmonConfig, warn: (m: string) => void): WorkerBackend {
  if (!cfg.netlink.use_libnl) return new WorkerBackend({ driver: "legacy" });
  const library = cfg.netlink.libnl.library || undefined;
  try {
    loadLibnl({ library });
    return new WorkerBackend({ driver: "libnl", libnlLibrary: library });
  } catch (e) {
    if (cfg.netlink.libnl.fallback === "legacy") {
      warn(`libnl unavailable, falling back to the legacy backend as netlink.libnl.fallback says: ${(e as Error).message}`);
      return new WorkerBackend({ driver: "legacy" });
    }
    throw new BackendUnavailable(`${(e as Error).message}\n(set netlink.use_libnl: false or NLMON_USE_LIBNL=false for the legacy backend, or netlink.libnl.fallback: legacy)`);
  }
}
