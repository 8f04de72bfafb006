/**
 * Loads koffi's native addon by a static path so `bun build --compile` embeds it.
 * `import koffi from "koffi"` resolves the addon at run time from node_modules, which a single-file
 * binary copied onto a router does not have. The release build replaces NLMON_KOFFI_ADDON with the
 * target's triplet (see scripts/release.sh); without it we are on the build host (linux x64 glibc).
 */
import type * as KoffiTypes from "koffi";

declare const NLMON_KOFFI_ADDON: string | undefined;

type Koffi = typeof KoffiTypes;

function loadAddon(): Koffi {
  // Every branch, the host's included, must be a test of the define that folds to true or false: Bun drops an
  // `if (false)` branch but keeps (and embeds the addon of) code after an unconditional `return`.
  if (typeof NLMON_KOFFI_ADDON === "undefined" || NLMON_KOFFI_ADDON === "linux_x64")
    return require("@koromix/koffi-linux-x64/linux_x64/koffi.node");
  if (NLMON_KOFFI_ADDON === "linux_arm64") return require("@koromix/koffi-linux-arm64/linux_arm64/koffi.node");
  if (NLMON_KOFFI_ADDON === "musl_arm64") return require("@koromix/koffi-linux-arm64/musl_arm64/koffi.node");
  if (NLMON_KOFFI_ADDON === "musl_x64") return require("@koromix/koffi-linux-x64/musl_x64/koffi.node");
  throw new Error(`nlmon was built for an unknown koffi addon: ${NLMON_KOFFI_ADDON}`);
}

let cached: Koffi | undefined;
export function koffi(): Koffi {
  cached ??= loadAddon();
  return cached;
}
