#!/usr/bin/env bash
# test/fuzz/run.sh: build the libFuzzer harness of the state decoders and run
# every target for a bounded time.
#
#   bash test/fuzz/run.sh [seconds]      # total time, split between targets (default 60)
#
# The harness (test/fuzz/fuzz_states.c) links the extension's own src/*.c with
# test/fuzz/pg_shim.c (palloc, ereport -> siglongjmp, pq_getmsg*, a numeric
# stand-in) instead of a server, built with clang -fsanitize=fuzzer,address,
# undefined. Backend functions that neither provides get a stub that aborts
# with its name, so an unexpected call fails loudly. Each target starts from
# its seed corpus, test/fuzz/corpus/<target>/ (real states captured from a
# server by test/fuzz/make_corpus.sh); new inputs go to a temporary directory,
# never into the checkout. Inputs that once crashed a decoder are kept in
# test/fuzz/regressions/<target>/ and rerun first.
#
# Prints one line per target, "fuzz <target>: N executions, ok" (or FAILED,
# with the crashing input in hex), then "fuzz: N executions, M targets failed".
# Exits non-zero on any crash, sanitizer report, internal error or build error.
# Needs clang (libFuzzer's runtime comes with Debian's clang) and pg_config
# (PG_CONFIG, default: pg_config on PATH) for the server headers. No server and
# no root needed. CP_FUZZ_TARGETS="a b" runs only those targets;
# CP_FUZZ_ARTIFACTS=dir keeps the crashing inputs there.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-60}
PG_CONFIG=${PG_CONFIG:-pg_config}
CC=${CP_FUZZ_CC:-clang}

if ! command -v "$CC" >/dev/null; then
    echo "fuzz: $CC not found (apt-get install clang)" >&2
    exit 1
fi

build=$(mktemp -d /tmp/customer_priority_fuzz.XXXXXX)
trap 'rm -rf "$build"' EXIT

# --- build -------------------------------------------------------------------
# -Wno-ignored-attributes: clang does not know gcc's gnu_printf format
# attribute of PostgreSQL's headers.
# shellcheck disable=SC2054  # the commas belong to -fsanitize's list
cflags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
        -fno-sanitize-recover=all -Wall -Wextra -Werror -Wno-unused-parameter
        -Wno-missing-field-initializers -Wno-ignored-attributes
        -I "$("$PG_CONFIG" --includedir-server)" -I "$root/src" -I "$here")
# shellcheck disable=SC2054
ldflags=(-fsanitize=fuzzer,address,undefined)
libs=(-L "$("$PG_CONFIG" --libdir)" -L "$("$PG_CONFIG" --pkglibdir)" -lpgcommon -lpgport -lm)

objs=()
for c in "$root"/src/*.c "$here"/pg_shim.c "$here"/fuzz_states.c; do
    o=$build/$(basename "$c" .c).o
    "$CC" "${cflags[@]}" -c "$c" -o "$o"
    objs+=("$o")
done

# Link once to learn which backend functions are still missing, then give
# each a stub that aborts with its name.
if ! "$CC" "${ldflags[@]}" "${objs[@]}" "${libs[@]}" -o "$build/fuzz_states" 2>"$build/link.log"; then
    missing=$(sed -nE "s/.*undefined reference to \`([A-Za-z_][A-Za-z0-9_]*)'.*/\1/p" "$build/link.log" | sort -u)
    if [ -z "$missing" ]; then
        cat "$build/link.log" >&2
        exit 1
    fi
    {
        echo '#include <stdio.h>'
        echo '#include <stdlib.h>'
        # shellcheck disable=SC2028  # the \n is C's
        echo 'static void unexpected(const char *name) { fprintf(stderr, "fuzz harness: unexpected call to %s\n", name); abort(); }'
        for name in $missing; do
            echo "void $name(void); void $name(void) { unexpected(\"$name\"); }"
        done
    } >"$build/stubs.c"
    "$CC" -g -c "$build/stubs.c" -o "$build/stubs.o"
    "$CC" "${ldflags[@]}" "${objs[@]}" "$build/stubs.o" "${libs[@]}" -o "$build/fuzz_states"
fi

# --- run ---------------------------------------------------------------------
targets=()
for d in "$here"/corpus/*/; do
    targets+=("$(basename "$d")")
done
if [ -n "${CP_FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$CP_FUZZ_TARGETS"
fi
per_target=$((seconds / ${#targets[@]}))
[ "$per_target" -ge 1 ] || per_target=1

total=0
bad=0
for t in "${targets[@]}"; do
    mkdir -p "$build/corpus/$t" "$build/crash"
    log=$build/$t.log
    set +e
    # The seeds are real states: each must decode without an error (this also
    # checks that the shim reads them as the server does).
    seeds=("$here/corpus/$t"/*)
    if ! CP_FUZZ_TARGET=$t CP_FUZZ_EXPECT_VALID=1 "$build/fuzz_states" "${seeds[@]}" >"$log" 2>&1; then
        bad=$((bad + 1))
        echo "fuzz $t: FAILED, a seed does not decode"
        grep -vE '^(INFO:|Running:|Executed)' "$log" | head -n 30
        set -e
        continue
    fi
    # Inputs that once crashed a decoder: now each must decode or raise an error.
    if [ -d "$here/regressions/$t" ] &&
        ! CP_FUZZ_TARGET=$t "$build/fuzz_states" "$here/regressions/$t"/* >"$log" 2>&1; then
        bad=$((bad + 1))
        echo "fuzz $t: FAILED, an input of test/fuzz/regressions/$t crashes again"
        grep -vE '^(INFO:|Running:|Executed)' "$log" | head -n 30
        set -e
        continue
    fi
    CP_FUZZ_TARGET=$t "$build/fuzz_states" "$build/corpus/$t" "$here/corpus/$t" \
        -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/crash/$t-" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    runs=${runs:-0}
    total=$((total + runs))
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $t: $runs executions, ok"
    else
        bad=$((bad + 1))
        echo "fuzz $t: $runs executions, FAILED (exit $rc)"
        grep -vE '^(#[0-9]+|INFO:|MS:|stat::)' "$log" | head -n 60
        for f in "$build/crash/$t"-*; do
            [ -f "$f" ] || continue
            if [ -n "${CP_FUZZ_ARTIFACTS:-}" ]; then
                mkdir -p "$CP_FUZZ_ARTIFACTS" && cp "$f" "$CP_FUZZ_ARTIFACTS/"
            fi
            echo "input $(basename "$f") ($(wc -c <"$f") bytes):"
            od -An -tx1 -v "$f" | head -n 20
        done
    fi
done
echo "fuzz: $total executions, $bad of ${#targets[@]} targets failed"
[ "$bad" -eq 0 ]
