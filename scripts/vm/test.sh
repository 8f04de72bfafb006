#!/usr/bin/env bash
# `make test-vm`: prepares the VM (cached), runs the Wi-Fi scenario in it against dist/nlmon, then
# compares what iw, nlmon and the capture saw with test/vm/compare.ts OUTDIR.
# Ends with one summary line; exit status non-zero on any failure. Usage: scripts/vm/test.sh [OUTDIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
BUN=node_modules/.bin/bun
OUT=${1:-${NLMON_VM_OUT:-/tmp/nlmon-vm-out}}
t0=$SECONDS
summary() { echo "test-vm: $1 ($2; $((SECONDS - t0)) s; output in $OUT)"; }

if ! bash scripts/vm/prepare.sh; then summary FAIL "prepare failed"; exit 1; fi
bash scripts/vm/run.sh "$OUT"
run_rc=$?
if [ ! -f "$OUT/scenario.rc" ]; then summary FAIL "the guest scenario did not finish (run.sh status $run_rc)"; exit 1; fi

# iw's events against nlmon's (both backends), the capture's replay, --dump-events, VRF and dummy
verdict=$("$BUN" test/vm/compare.ts "$OUT")
crc=$?
echo "$verdict"
what="scenario status $run_rc; $(tail -n 1 <<<"$verdict")"
if [ "$run_rc" -eq 0 ] && [ "$crc" -eq 0 ]; then summary PASS "$what"; exit 0; fi
summary FAIL "$what"
exit 1
