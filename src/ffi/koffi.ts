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
  // Each test must stay a literal comparison of the define, so the bundler drops the other branches
  // and embeds exactly one addon.
  if (typeof NLMON_KOFFI_ADDON !== "undefined" && NLMON_KOFFI_ADDON === "linux_arm64")
    return require("@koromix/koffi-linux-arm64/linux_arm64/koffi.node");
  if (typeof NLMON_KOFFI_ADDON !== "undefined" && NLMON_KOFFI_ADDON === "musl_arm64")
    return require("@koromix/koffi-linux-arm64/musl_arm64/koffi.node");
  if (typeof NLMON_KOFFI_ADDON !== "undefined" && NLMON_KOFFI_ADDON === "musl_x64")
    return require("@koromix/koffi-linux-x64/musl_x64/koffi.node");
  return require("@koromix/koffi-linux-x64/linux_x64/koffi.node");
}

let cached: Koffi | undefined;
export function koffi(): Koffi {
  cached ??= loadAddon();
  return cached;
}
