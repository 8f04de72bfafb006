#!/usr/bin/env bash
# Boots Debian's kernel under qemu (TCG) with the initramfs scripts/vm/prepare.sh built, runs the
# guest scenario test/vm/scenario.sh against dist/nlmon, and powers off. Usage:
#   scripts/vm/run.sh [OUTDIR]          (default /tmp/nlmon-vm-out; emptied first)
# Environment: NLMON_VM_CACHE (prepare's cache, default /var/cache/nlmon-vm), NLMON_BIN (default
# dist/nlmon), NLMON_VM_RELEASE=1 also starts dist/release/*x64* in the guest, NLMON_VM_TIMEOUT
# (seconds for the whole boot, default 170), NLMON_VM_MEM (MiB, default 1536).
# Exit status: the scenario's (OUTDIR/scenario.rc), or 1 when the guest did not get that far.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${NLMON_VM_CACHE:-/var/cache/nlmon-vm}
OUT=${1:-/tmp/nlmon-vm-out}
BIN=${NLMON_BIN:-dist/nlmon}
TIMEOUT=${NLMON_VM_TIMEOUT:-170}

[ -f "$CACHE/ready" ] || { echo "run: $CACHE is not prepared (scripts/vm/prepare.sh)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "run: $BIN missing (make build)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "run: qemu-system-x86_64 missing (scripts/vm/prepare.sh installs it)" >&2; exit 1; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
find "$OUT" -mindepth 1 -delete
# the guest's read-only share: a copy of the binary (a rebuild during the run cannot tear it) and the scenario
SHARE=$(mktemp -d /tmp/nlmon-vm-share.XXXXXX)
trap 'rm -rf "$SHARE"' EXIT
cp "$BIN" "$SHARE/nlmon"
cp test/vm/scenario.sh "$SHARE/scenario.sh"
if [ -n "${NLMON_VM_RELEASE:-}" ]; then
  mkdir -p "$SHARE/release"
  for f in dist/release/*x64*; do [ -f "$f" ] && cp "$f" "$SHARE/release/"; done
fi

start=$(date +%s.%N)
set +e
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp 2 -m "${NLMON_VM_MEM:-1536}" \
  -nodefaults -no-reboot -display none -serial "file:$OUT/console.log" \
  -kernel "$CACHE/vmlinux" -initrd "$CACHE/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" \
  -virtfs "local,path=$SHARE,mount_tag=share,security_model=none,readonly=on" \
  -virtfs "local,path=$OUT,mount_tag=out,security_model=none" \
  </dev/null >"$OUT/qemu.log" 2>&1
qrc=$?
set -e
secs=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
echo "run: qemu exited with $qrc after ${secs}s; output in $OUT" >&2
[ "$qrc" -eq 124 ] && echo "run: the guest did not power off within ${TIMEOUT}s" >&2
if [ ! -f "$OUT/scenario.rc" ]; then
  echo "run: the scenario did not finish; the end of the console log:" >&2
  tail -n 30 "$OUT/console.log" >&2 || true
  exit 1
fi
rc=$(cat "$OUT/scenario.rc")
[ "$rc" = 0 ] || grep '^FAIL' "$OUT/steps.txt" >&2 || true
exit "$rc"
