#!/usr/bin/env bash
# test/run_tests.sh: THE command that runs every test (README and .ci/run call it).
#
#   bash test/run_tests.sh
#
# Steps: install missing Debian packages, cppcheck src/, build + install the
# extension, start a throw-away cluster (test/cluster.sh), then
#   - pg_regress: `make installcheck ISOLATION=` (sql/*.sql against expected/*.out);
#   - Citus 13.2.2, built from ../shared/citus and installed unless it is
#     (test/citus.sh), for test/t/008_citus.pl;
#   - TAP tests, if test/t/*.pl exist: `make prove_installcheck` (test/prove.sh:
#     prove + PostgreSQL::Test::Cluster, as postgres on a copy of test/t);
#   - isolation tests, if test/isolation/specs/*.spec exist: `make installcheck
#     REGRESS=` (pg_isolation_regress, expected output in
#     test/isolation/expected/<name>.out);
#   - the demo's HTML report rendered in headless Chromium (test/report_browser.sh);
#   - SQLsmith: random queries for CP_SQLSMITH_SECONDS (default 60), failed by a
#     server crash (test/sqlsmith.sh).
# all on the host's PostgreSQL 15; then the build, pg_regress, TAP and isolation
# tests again on each PostgreSQL major of CP_PG_VERSIONS (default "13 17 18", empty
# for none), each in a Debian chroot (test/chroot.sh, cached between runs); the
# Debian package, built and installed on a clean bookworm (test/package.sh;
# CP_PACKAGE=0: not); and, without a cluster, the fuzz targets of test/fuzz/run.sh
# (libFuzzer on the decoders of aggregate states, CP_FUZZ_SECONDS in total, default 60).
#
#   CP_PG_VERSIONS= bash test/run_tests.sh       # the host's 15 only, for a quick run
#   CP_PG_VERSIONS=18 bash test/run_tests.sh     # 15 and 18
#
# Isolation specs can assume the extension exists (the Makefile's ISOLATION_OPTS:
# --load-extension).
# Every step runs even when an earlier one failed (except that no test runs
# without a build and a cluster), so one run shows everything that is wrong.
# Output ends with one line per step and per major ("pg 17: tests: ..."), then
#   tests: N passed, M failed
# and the exit status is non-zero if anything failed or no test ran at all.
# Must run as root on Debian bookworm (CI does, with no stdin); test/chroot.sh runs
# it inside a chroot with CP_IN_CHROOT set (host-only steps skipped).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/cluster.sh"
cd "$CP_ROOT"

passed=0
failed=0
step_failed=0          # a non-test step (packages, cppcheck, build, cluster) failed
report=()              # one line per step, printed at the end

# count_results LOG RC: add the per-test "... ok" / "... FAILED" lines that
# pg_regress and pg_isolation_regress print to passed/failed ("ok N - name" /
# "not ok N - name" from PostgreSQL 16 on). A non-zero exit with no failing test
# line (crash, cannot connect, bad schedule) counts as one failure so it can't pass
# unnoticed.
count_results() {
    local log=$1 rc=$2 ok bad
    ok=$(grep -cE ' \.\.\. +ok( |$)|^ok +[0-9]+ +(\+ +)?- ' "$log" || true)
    bad=$(grep -cE ' \.\.\. +(FAILED|failed)|^not ok +[0-9]+ +(\+ +)?- ' "$log" || true)
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    last_counts="$ok passed, $bad failed"
}

# one_test_step NAME CMD...: run a step that is one test and prints a summary line
# "NAME: ..." last (sqlsmith, package): its exit status passes or fails it, the
# line goes to the report.
one_test_step() {
    local name=$1 log rc
    shift
    log=$(mktemp)
    cp_at_exit "rm -f '$log'"
    set +e
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
    report+=("$(grep -E "^$name: " "$log" | tail -n 1 || echo "$name: FAILED (no summary)")")
}

# summary: print the per-step report and the final line; exit non-zero if
# anything failed or no test ran.
summary() {
    echo
    printf '%s\n' "${report[@]}"
    if [ $((passed + failed)) -eq 0 ]; then
        echo "no test ran"
    fi
    echo "tests: $passed passed, $failed failed"
    if [ "$failed" -ne 0 ] || [ "$step_failed" -ne 0 ] || [ $((passed + failed)) -eq 0 ]; then
        exit 1
    fi
    exit 0
}

# --- 1. packages ---------------------------------------------------------------
if ! cp_install_deps; then
    report+=("packages: FAILED")
    step_failed=1
    summary
fi

# The isolation tester, shipped by postgresql-server-dev-N from 14 on (pg_config
# exists only now).
PGXS_DIR=$("$PG_CONFIG" --pgxs)          # .../lib/pgxs/src/makefiles/pgxs.mk
PGXS_DIR=${PGXS_DIR%/src/makefiles/pgxs.mk}
PG_ISOLATION_REGRESS_BIN=$PGXS_DIR/src/test/isolation/pg_isolation_regress

# --- 2. static analysis --------------------------------------------------------
# -I: resolve PostgreSQL's macros (PG_FUNCTION_INFO_V1, elog, ...) instead of
#     guessing; --suppress='*:/usr/include/*': report only our code, not the
#     server headers (cppcheck flags e.g. pg_list.h); -D__GNUC__: check the one
#     configuration gcc builds (without any -D cppcheck tries 12 #ifdef
#     combinations of the headers: ~15x slower, same findings in src/).
shopt -s nullglob
c_files=(src/*.c)
shopt -u nullglob
if [ -n "${CP_IN_CHROOT:-}" ]; then
    report+=("cppcheck: on the host only")
elif [ ${#c_files[@]} -eq 0 ]; then
    report+=("cppcheck: skipped (no src/*.c)")
elif cppcheck --error-exitcode=1 --enable=warning,performance,portability \
        --inline-suppr --quiet -I "$("$PG_CONFIG" --includedir-server)" \
        --suppress='*:/usr/include/*' -D__GNUC__ src/; then
    report+=("cppcheck: ok")
else
    report+=("cppcheck: FAILED (findings above)")
    step_failed=1
fi

# --- 3. build + install --------------------------------------------------------
# shellcheck disable=SC2119  # no --quiet: CI logs show the compiler's output
if cp_build_install; then
    report+=("build: ok")
    built=1
else
    report+=("build: FAILED")
    step_failed=1
    built=0
fi

if [ "$built" -eq 1 ] && ! cp_start_cluster; then
    report+=("cluster: FAILED to start")
    step_failed=1
    built=0
fi
if [ "$built" -eq 1 ]; then

    # --- 4. pg_regress (make installcheck ISOLATION=) --------------------------
    # Connects through PGHOST/PGPORT exported by cp_start_cluster.  ISOLATION=: the
    # isolation specs, which `make installcheck` runs next, are step 6, so that each
    # has its line in the report (and runs even when pg_regress failed).
    rm -f regression.diffs regression.out   # never show a previous run's diffs
    regress_log=$(mktemp)
    cp_at_exit "rm -f '$regress_log'"
    set +e
    make PG_CONFIG="$PG_CONFIG" installcheck ISOLATION= 2>&1 | tee "$regress_log"
    rc=${PIPESTATUS[0]}
    set -e
    count_results "$regress_log" "$rc"
    report+=("pg_regress: $last_counts")
    if [ "$rc" -ne 0 ] && [ -f regression.diffs ]; then
        echo "--- regression.diffs ---"
        head -n 3000 regression.diffs
        echo "--- end of regression.diffs (results/ has the full output) ---"
    fi

    # --- 5. Citus, for test/t/008_citus.pl -------------------------------------
    # Built from ../shared/citus and installed once per machine (test/citus.sh); when
    # it cannot be, 008_citus.pl skips and says why.  Host only: the chroots run other
    # majors (Citus 13.2.2 supports PostgreSQL 15-17).
    if [ -n "${CP_IN_CHROOT:-}" ]; then
        report+=("citus: skipped: on the host's PostgreSQL 15 only (Citus 13.2.2 supports 15-17)")
    else
        citus_log=$(mktemp)
        cp_at_exit "rm -f '$citus_log'"
        set +e
        PG_CONFIG="$PG_CONFIG" bash test/citus.sh 2>&1 | tee "$citus_log"
        rc=${PIPESTATUS[0]}
        set -e
        report+=("$(grep -E '^citus: ' "$citus_log" | tail -n 1 || echo 'citus: FAILED (no summary)')")
        if [ "$rc" -ne 0 ]; then
            step_failed=1
        fi
    fi

    # --- 5b. TAP tests (make prove_installcheck) -------------------------------
    # test/prove.sh: PostgreSQL::Test::Cluster runs initdb, which refuses root, and
    # the checkout may be unreadable by postgres, so prove runs as postgres on a copy
    # of test/t in a temp dir, stops the tests' nodes if it is interrupted and prints
    # the tail of each failing test's log.  The tests get their own clusters; they
    # use the extension installed above.  CP_OLD_INSTALL, CP_CITUS_PORT and the
    # tests' other settings reach them through the environment.
    shopt -s nullglob
    tap_files=(test/t/*.pl)
    shopt -u nullglob
    if [ ${#tap_files[@]} -eq 0 ]; then
        report+=("tap: none (no test/t/*.pl)")
    else
        tap_log=$(mktemp)
        cp_at_exit "rm -f '$tap_log'"
        set +e
        make PG_CONFIG="$PG_CONFIG" prove_installcheck 2>&1 | tee "$tap_log"
        rc=${PIPESTATUS[0]}
        set -e
        # prove's summary: "Files=2, Tests=14, ..." and, for each file with a
        # problem, "t/x.pl (Wstat: 256 (exited 1) Tests: 5 Failed: 1)". A file
        # listed there with Failed: 0 died or broke its plan: one failure.
        total=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' "$tap_log" | tail -n 1)
        total=${total:-0}
        read -r sub_failed bad < <(sed -nE 's/^(t\/[^ ]+\.pl) +\(Wstat: .*Failed: ([0-9]+)\).*/\2/p' "$tap_log" |
            awk '{ f += $1; b += ($1 > 0 ? $1 : 1) } END { print f + 0, b + 0 }')
        ok=$((total - sub_failed))
        if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
            bad=1
        fi
        passed=$((passed + ok))
        failed=$((failed + bad))
        report+=("tap: $ok passed, $bad failed")
    fi

    # --- 6. isolation tests (make installcheck REGRESS=) -----------------------
    shopt -s nullglob
    specs=(test/isolation/specs/*.spec)
    shopt -u nullglob
    if [ ${#specs[@]} -eq 0 ]; then
        report+=("isolation: none (no test/isolation/specs/*.spec)")
    elif [ ! -x "$PG_ISOLATION_REGRESS_BIN" ]; then
        report+=("isolation: skipped (postgresql-server-dev-$CP_PG_MAJOR ships no isolation tester)")
    else
        # The Makefile's ISOLATION: every spec, in the database isolation_regression,
        # with the extension created (--load-extension); output in ./output_iso
        # (git-ignored).
        rm -rf output_iso
        iso_log=$(mktemp)
        cp_at_exit "rm -f '$iso_log'"
        set +e
        make PG_CONFIG="$PG_CONFIG" installcheck REGRESS= 2>&1 | tee "$iso_log"
        rc=${PIPESTATUS[0]}
        set -e
        count_results "$iso_log" "$rc"
        report+=("isolation: $last_counts")
        if [ "$rc" -ne 0 ] && [ -f output_iso/regression.diffs ]; then
            echo "--- output_iso/regression.diffs ---"
            head -n 3000 output_iso/regression.diffs
        fi
    fi

    # --- 6b. the report in a browser ----------------------------------------------
    # The demo's segmentation_report() rendered in headless Chromium: not blank, each
    # chart's SVG with its title and table, no network request (test/report_browser.sh).
    if [ -n "${CP_IN_CHROOT:-}" ]; then
        report+=("report_browser: on the host only")
    else
        one_test_step report_browser bash test/report_browser.sh
    fi

    # --- 7. SQLsmith ------------------------------------------------------------
    # Random queries against the extension for CP_SQLSMITH_SECONDS (default 60):
    # one test, failed by a server crash (test/sqlsmith.sh).
    if [ -n "${CP_IN_CHROOT:-}" ]; then
        report+=("sqlsmith: on the host only")
    else
        one_test_step sqlsmith bash test/sqlsmith.sh "${CP_SQLSMITH_SECONDS:-60}" "$CP_CLUSTER_DIR/server.log"
    fi

    cp_stop_cluster
fi

# The host's totals, before the other majors add theirs.
report+=("pg $CP_PG_MAJOR: tests: $passed passed, $failed failed")
if [ -n "${CP_IN_CHROOT:-}" ]; then
    summary
fi

# --- 8. the other PostgreSQL majors -----------------------------------------------
# The same build, pg_regress, TAP and isolation tests on each major of CP_PG_VERSIONS
# (default "13 17 18"; empty: none), each in a Debian chroot (test/chroot.sh).
for major in ${CP_PG_VERSIONS-13 17 18}; do
    chroot_log=$(mktemp)
    cp_at_exit "rm -f '$chroot_log'"
    set +e
    bash test/chroot.sh "$major" 2>&1 | tee "$chroot_log"
    rc=${PIPESTATUS[0]}
    set -e
    line=$(grep -E "^pg $major: " "$chroot_log" | tail -n 1)
    read -r ok bad < <(sed -nE 's/^pg [0-9]+: tests: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' <<<"$line")
    ok=${ok:-0}
    bad=${bad:-0}
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    report+=("${line:-pg $major: FAILED (no summary)}")
done

# --- 9. the Debian package ----------------------------------------------------------
# Built with pg_buildext and installed on a clean bookworm (test/package.sh): one test.
# CP_PACKAGE=0 leaves it out.
if [ "${CP_PACKAGE:-1}" != 0 ]; then
    one_test_step package bash test/package.sh
fi

# --- 10. fuzzing ------------------------------------------------------------------
# libFuzzer on the decoders of serialized states (test/fuzz/run.sh; no server
# needed). Each target counts as one test; CP_FUZZ_SECONDS is the total time.
fuzz_log=$(mktemp)
cp_at_exit "rm -f '$fuzz_log'"
set +e
PG_CONFIG="$PG_CONFIG" bash test/fuzz/run.sh "${CP_FUZZ_SECONDS:-60}" 2>&1 | tee "$fuzz_log"
rc=${PIPESTATUS[0]}
set -e
ok=$(grep -cE '^fuzz [a-z_]+: .*, ok$' "$fuzz_log" || true)
bad=$(grep -cE '^fuzz [a-z_]+: .*FAILED' "$fuzz_log" || true)
if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
    bad=1
fi
passed=$((passed + ok))
failed=$((failed + bad))
runs=$(sed -nE 's/^fuzz ([a-z_]+): ([0-9]+) executions.*/\1 \2/p' "$fuzz_log" | paste -sd, - | sed 's/,/, /g')
report+=("fuzz: $ok passed, $bad failed (executions: ${runs:-none})")

# --- summary -------------------------------------------------------------------
summary
