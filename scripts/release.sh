#!/usr/bin/env bash
# Builds the four release executables (linux x64/arm64, glibc/musl) into dist/release/.
#
# Usage: bash scripts/release.sh [ENTRY=src/cli/main.ts] [WORKERS="src/backend/worker.ts"] [OUT_DIR=dist/release]
#                                [BUN_BUILD_FLAGS="--minify --bytecode --format=esm --sourcemap=none"]
#        (the same names are also read from the environment, so `make release` can pass its variables either way;
#        BUN_BUILD_FLAGS should match what `make build` uses, so the x64 release and dist/nlmon behave alike)
#        NLMON_RELEASE_CACHE: where the downloads are kept (default .cache/release)
#
# Everything downloaded (Bun runtimes for the other targets, koffi's arm64 addon) is an npm tarball fetched once with
# `npm pack` into .cache/release/, so a rerun needs no network. `npm pack` rather than `npm install` because npm refuses
# to install a package whose cpu/libc fields don't match the build host.
set -euo pipefail

for arg in "$@"; do
  case $arg in
    ENTRY=*|WORKERS=*|OUT_DIR=*|BUN_BUILD_FLAGS=*) export "${arg?}" ;;
    *) echo "release.sh: unknown argument '$arg' (want ENTRY=, WORKERS=, OUT_DIR=, BUN_BUILD_FLAGS=)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"

ENTRY=${ENTRY:-src/cli/main.ts}
WORKERS=${WORKERS:-src/backend/worker.ts}
OUT_DIR=${OUT_DIR:-dist/release}
BUN_BUILD_FLAGS=${BUN_BUILD_FLAGS:---minify --bytecode --format=esm --sourcemap=none}
CACHE=${NLMON_RELEASE_CACHE:-$ROOT/.cache/release}
BUN=$ROOT/node_modules/.bin/bun

die() { echo "release.sh: $*" >&2; exit 1; }

[ -x "$BUN" ] || die "no $BUN: run npm install first"
read -r -a entries <<<"$ENTRY $WORKERS"
for f in "${entries[@]}"; do [ -f "$f" ] || die "entry point $f does not exist"; done

pkg_version() { sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$1" | head -n 1; }
# The runtimes must be the very Bun that bundles: a standalone executable's embedded module graph is read by the
# runtime it is appended to, and that format is not promised stable across versions.
BUN_VERSION=$(pkg_version node_modules/bun/package.json)
KOFFI_VERSION=$(pkg_version node_modules/koffi/package.json)
[ -n "$BUN_VERSION" ] && [ -n "$KOFFI_VERSION" ] || die "cannot read bun/koffi versions from node_modules"

mkdir -p "$CACHE"

# Prints the directory holding the unpacked tarball of $1@$2, fetching it only when the cache lacks it.
fetch() {
  local name=$1 version=$2
  local base; base=$(echo "${name#@}" | tr / -)-$version
  local tgz=$CACHE/$base.tgz dir=$CACHE/$base
  if [ ! -f "$tgz" ]; then
    echo "release.sh: fetching $name@$version" >&2
    local tmp; tmp=$(mktemp -d "$CACHE/.pack.XXXXXX")
    # Written to a temp dir first so an interrupted download never leaves a truncated tarball that looks cached.
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null 2>"$tmp/err") \
      || { cat "$tmp/err" >&2; rm -rf "$tmp"; die "npm pack $name@$version failed (offline with an empty .cache/release?)"; }
    mv "$tmp"/*.tgz "$tgz"
    rm -rf "$tmp"
  fi
  if [ ! -d "$dir/package" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    tar -xzf "$tgz" -C "$dir"
  fi
  echo "$dir/package"
}

# The bundler resolves koffi.ts's static require of @koromix/koffi-linux-arm64 from node_modules, where npm never puts
# it on an x64 host; copying it in (and keeping it in step with koffi's version) is what lets both arm64 targets embed it.
ensure_koffi_arm64() {
  local dest=node_modules/@koromix/koffi-linux-arm64
  if [ "$(pkg_version "$dest/package.json" 2>/dev/null)" != "$KOFFI_VERSION" ]; then
    local src; src=$(fetch @koromix/koffi-linux-arm64 "$KOFFI_VERSION")
    rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
    cp -a "$src" "$dest"
  fi
  [ -f "$dest/linux_arm64/koffi.node" ] && [ -f "$dest/musl_arm64/koffi.node" ] || die "$dest lacks the arm64 addons"
}

# Prints which of koffi's addons (linux_x64, musl_arm64, ...) have their bytes inside executable $1. Another target's
# addon there means a branch of koffi.ts survived bundling (Bun folds `if (false)` but keeps code after an
# unconditional `return`): the binary still works but carries a dead megabyte, which is worth saying. Bytes, not
# names, because --minify drops the module path comments.
embedded_addons() {
  "$BUN" -e '
    const exe = Buffer.from(await Bun.file(process.argv[1]).arrayBuffer());
    for (const [pkg, addon] of [["x64", "linux_x64"], ["x64", "musl_x64"], ["arm64", "linux_arm64"], ["arm64", "musl_arm64"]]) {
      const file = Bun.file(`node_modules/@koromix/koffi-linux-${pkg}/${addon}/koffi.node`);
      if (!(await file.exists())) continue;
      const bytes = Buffer.from(await file.arrayBuffer());
      const mid = bytes.length >> 1;
      if (exe.indexOf(bytes.subarray(mid, mid + 512)) >= 0) console.log(addon);
    }' "$1"
}

# target suffix | bun --target | @oven runtime package | koffi addon define
TARGETS=(
  "x64|bun-linux-x64|@oven/bun-linux-x64|linux_x64"
  "arm64|bun-linux-arm64|@oven/bun-linux-aarch64|linux_arm64"
  "x64-musl|bun-linux-x64-musl|@oven/bun-linux-x64-musl|musl_x64"
  "arm64-musl|bun-linux-arm64-musl|@oven/bun-linux-aarch64-musl|musl_arm64"
)

ensure_koffi_arm64
mkdir -p "$OUT_DIR"

for t in "${TARGETS[@]}"; do
  IFS='|' read -r suffix target runtime_pkg addon <<<"$t"
  runtime=$(fetch "$runtime_pkg" "$BUN_VERSION")/bin/bun
  [ -f "$runtime" ] || die "$runtime_pkg@$BUN_VERSION has no bin/bun"
  chmod +x "$runtime"
  out=$OUT_DIR/nlmon-linux-$suffix
  echo "release.sh: building $out ($target, koffi $addon)" >&2
  # shellcheck disable=SC2086 # BUN_BUILD_FLAGS is a list of flags on purpose
  "$BUN" build --compile --target="$target" --compile-executable-path="$runtime" \
    --define "NLMON_KOFFI_ADDON=\"$addon\"" $BUN_BUILD_FLAGS \
    --outfile "$out" "${entries[@]}" >/dev/null
  others=$(embedded_addons "$out" | grep -v -x "$addon" | tr '\n' ' ' || true)
  [ -z "$others" ] || echo "release.sh: warning: $out also embeds koffi's addon for $others" >&2
done

ls -l "$OUT_DIR"/nlmon-linux-* >&2
