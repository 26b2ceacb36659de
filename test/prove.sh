#!/usr/bin/env bash
# test/prove.sh: the TAP tests (test/t/*.pl) with prove, for `make prove_installcheck`.
#
#   make PG_CONFIG=/path/to/pg_config prove_installcheck [PROVE_TESTS=test/t/001_dump_restore.pl]
#
# The Makefile passes PGXS's values in the environment: PROVE, PROVE_FLAGS (e.g.
# --verbose), PG_CONFIG (008_citus.pl asks it where Citus would be), BINDIR (the
# server's programs, put first on PATH: initdb, pg_ctl, psql, pg_dump, pgbench),
# PG_REGRESS (Cluster.pm's init() runs it to set up authentication) and
# PG_TAP_PERL_DIR (PostgreSQL::Test::Cluster and ::Utils); the arguments are the test
# files, test/t/NNN_name.pl.  The tests' own settings (CP_TAP_PORT, CP_CITUS_PORT,
# CP_OLD_INSTALL, CP_READERS_SECONDS: see each test's header) pass through.
#
# prove runs in a directory holding the tests as t/NNN_name.pl (named one by one:
# given a directory, prove looks for *.t only), with -I t (helper modules beside the
# tests) and TESTDIR (where Utils.pm puts tmp_check/: the nodes' data, logs, port locks):
#   - not as root: in the checkout, as PGXS does: from test/, TESTDIR the checkout, so
#     the logs stay in tmp_check/log/ (log/ from PostgreSQL 17 on);
#   - as root (CI, test/run_tests.sh): initdb refuses root, and the postgres user may be
#     unable to read the checkout, so on a copy of test/t and test/data in a temp dir
#     owned by postgres, as postgres; the tail of each failing test's log is printed
#     and the copy removed.
# Either way, at exit, a server a test left running is stopped (Cluster.pm stops its
# nodes in an END block, which does not run when prove is interrupted).
# Exit status: prove's.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${BINDIR:?BINDIR not set: run make prove_installcheck}" \
  "${PG_REGRESS:?PG_REGRESS not set: run make prove_installcheck}" \
  "${PG_TAP_PERL_DIR:?PG_TAP_PERL_DIR not set: run make prove_installcheck}"
PROVE=${PROVE:-prove}
read -r -a prove_flags <<<"${PROVE_FLAGS:-}"

# The tests, as t/NNN_name.pl relative to test/.
tests=()
for f in "$@"; do
    f=${f#./}
    f=${f#test/}
    if [ ! -f "$root/test/$f" ]; then
        echo "prove.sh: no TAP test $root/test/$f" >&2
        exit 2
    fi
    tests+=("$f")
done
if [ ${#tests[@]} -eq 0 ]; then
    echo "prove.sh: no TAP test given (test/t/*.pl)" >&2
    exit 2
fi

as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "prove.sh: running as root, and there is no postgres user to run the TAP tests as (initdb refuses root)" >&2
        exit 2
    fi
    as_pg=(runuser -u postgres --)
    testdir=$(mktemp -d /tmp/customer_priority_tap.XXXXXX)
    cp -r "$root/test/t" "$testdir/t"
    [ -d "$root/test/data" ] && cp -r "$root/test/data" "$testdir/data"
    chown -R postgres: "$testdir"
    rundir=$testdir
else
    testdir=$root
    rundir=$root/test
    rm -rf "$testdir/tmp_check"
fi

# stop_nodes: immediate stop of any server still running from tmp_check/.
# shellcheck disable=SC2317  # only called from the EXIT trap
stop_nodes() {
    local pid_file
    for pid_file in "$testdir"/tmp_check/*/pgdata/postmaster.pid; do
        [ -f "$pid_file" ] || continue
        (cd / && "${as_pg[@]}" "$BINDIR/pg_ctl" -D "$(dirname "$pid_file")" -m immediate -w stop) \
            >/dev/null 2>&1 || true
    done
}
# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
    trap '' PIPE
    stop_nodes
    if [ "$testdir" != "$root" ]; then
        rm -rf "$testdir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

run_prove() {
    (cd "$rundir" && "${as_pg[@]}" env PATH="$BINDIR:$PATH" PG_CONFIG="${PG_CONFIG:-pg_config}" \
        PG_REGRESS="$PG_REGRESS" TESTDIR="$testdir" \
        "$PROVE" -I "$PG_TAP_PERL_DIR" -I "$rundir/t" "${prove_flags[@]}" "${tests[@]}")
}

if [ "$testdir" = "$root" ]; then
    rc=0
    run_prove || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "prove.sh: the tests' logs are in $testdir/tmp_check/log/ (PostgreSQL 17 on: $testdir/log/)"
    fi
    exit "$rc"
fi

# As root: the logs go with the copy, so show the failing tests' now.  prove's summary
# names each file with a problem: "t/x.pl (Wstat: 256 (exited 1) Tests: 5 Failed: 1)".
log=$testdir/prove.out
set +e
run_prove 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
    sed -nE 's/^t\/([^ ]+)\.pl +\(Wstat: .*/\1/p' "$log" | while read -r f; do
        # (tmp_check/log/ before PostgreSQL 17, log/ from 17 on)
        test_log=$testdir/tmp_check/log/regress_log_$f
        [ -f "$test_log" ] || test_log=$testdir/log/regress_log_$f
        [ -f "$test_log" ] || continue
        echo "--- tail of test/t/$f.pl's log ---"
        tail -n 100 "$test_log"
    done
fi
exit "$rc"
