#!/usr/bin/env bash
# `make fuzz`: build every libFuzzer target test/fuzz/fuzz_NAME.c with clang
# (-fsanitize=fuzzer,address,undefined) into build-fuzz/fuzz_NAME and run each for SECONDS
# (default 60) from its checked-in seeds in test/fuzz/corpus/NAME/. New inputs go to
# build-fuzz/corpus/NAME (not checked in); a crash leaves its input in test/fuzz/crashes/ and
# fails the run (turn it into a regression unit test). Prints executions per target.
# FUZZ_TARGETS (space-separated names) limits the run to those targets.
#
# The targets link the library sources under FUZZ_SRC_DIRS (the outside-input parsers live in
# src/util, src/registry and src/kube, and the ImageTrigger planner that reads workload
# annotations, the HTTP auth and the status page; add a directory or file when a new parser
# needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=build-fuzz
FUZZ_SRC_DIRS=${FUZZ_SRC_DIRS:-"src/util src/registry src/kube src/controller/trigger_plan.c src/http/auth.c src/http/status_page.c"}
pkgs="libcurl jansson openssl yaml-0.1"
cflags="-std=gnu11 -g -O1 -fno-omit-frame-pointer -Iinclude -D_GNU_SOURCE \
-DISTRIGGER_VERSION=\"$(cat VERSION)\" -fsanitize=fuzzer-no-link,address,undefined \
-fno-sanitize-recover=undefined $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lpthread -lm"

mkdir -p "$out/obj" test/fuzz/crashes
objs=()
for src in $(find $FUZZ_SRC_DIRS -name '*.c' | sort); do
    obj="$out/obj/$(echo "${src%.c}" | tr / _).o"
    if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find include -newer "$obj" -name '*.h' | head -1)" ]; then
        clang $cflags -c "$src" -o "$obj"
    fi
    objs+=("$obj")
done

status=0
summary=()
for t in test/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    name=${name#fuzz_}
    # FUZZ_TARGETS="status_page token" runs only those (e.g. after fixing what one found).
    if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then
        continue
    fi
    bin="$out/fuzz_$name"
    clang $cflags -fsanitize=fuzzer,address,undefined "$t" "${objs[@]}" $libs -o "$bin"
    mkdir -p "$out/corpus/$name" "test/fuzz/corpus/$name"
    log="$out/fuzz_$name.log"
    echo "fuzz: $name for ${seconds}s"
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
        "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix="test/fuzz/crashes/${name}-" \
        "$out/corpus/$name" "test/fuzz/corpus/$name" >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        summary+=("$(printf '  %-18s %12s executions, no crash' "$name" "${execs:-?}")")
    else
        status=1
        summary+=("$(printf '  %-18s CRASH, see %s and test/fuzz/crashes/' "$name" "$log")")
        grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 || true
    fi
done
echo "fuzz results (${seconds}s each):"
printf '%s\n' "${summary[@]}"
exit $status
