#!/usr/bin/env bash
# `make bench`: run every benchmark in test/bench/bench_*.py (each starts its own local
# servers and prints figures; benchmarks measure, they do not assert). ISTRIGGER_BIN selects
# the binary (default build/istrigger, built by `make bench`).
set -euo pipefail
cd "$(dirname "$0")/.."
export ISTRIGGER_BIN=${ISTRIGGER_BIN:-$PWD/build/istrigger}
status=0
for b in test/bench/bench_*.py; do
    [ -e "$b" ] || continue
    echo "== $b"
    /usr/bin/python3 "$b" || status=1
done
exit $status
