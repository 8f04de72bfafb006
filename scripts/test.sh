#!/usr/bin/env bash
# Runs the whole suite (unit and live tests; live ones need root and make their own namespaces)
# and ends with the line CI reads: "N passed, N failed". Exit status is non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# one file at a time keeps live tests that share the kernel from stepping on each other
"$BUN" test --timeout 600000 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
# bun exits non-zero when a file fails to load even if no test "failed": count that as a failure
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then echo "no test ran"; fail=1; fi
echo "${pass} passed, ${fail} failed"
[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ]
