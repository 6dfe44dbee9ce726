#!/usr/bin/env bash
# Run every cmocka unit-test binary given, print each one's result and a closing
# "unit: N passed, N failed" line; exit non-zero if any test failed or a binary crashed.
set -u
build=$1
shift
passed=0
failed=0
crashed=0
for bin in "$@"; do
    out=$("$bin" 2>&1)
    rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out"
        if [ -z "$f" ]; then
            crashed=$((crashed + 1))
            echo "!! $bin exited with $rc"
        fi
    else
        echo "ok   $(basename "$bin"): ${p:-0} passed"
    fi
done
echo "unit ($build): $passed passed, $((failed + crashed)) failed"
[ "$failed" -eq 0 ] && [ "$crashed" -eq 0 ]
