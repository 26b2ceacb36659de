#!/usr/bin/env bash
# test/valgrind.sh: regression tests against a server running under valgrind
# (memcheck), by hand, not in CI (about 30 times slower than a normal run).
#
#   CP_PGBIN=/tmp/pg-copy/usr/lib/postgresql/15/bin CP_PORT=55524 bash test/valgrind.sh [test ...]
#
# Default tests: install rfm abc population profile xyz typology potential bad_input.
# Like test/sanitize.sh it installs into the PostgreSQL of CP_PGBIN: use a
# relocated copy (see test/cluster.sh), never the one other checkouts test with.
# The extension is built with -Og -g (readable stacks). The throw-away cluster
# of test/cluster.sh is initialised as usual, then restarted with pg_ctl -p
# pointing at a wrapper that runs postgres under
#   valgrind --trace-children=yes --track-origins=yes --error-limit=no
# (backends are forks of the postmaster, so every backend and parallel worker
# runs under valgrind; one log per process).
#
# Why valgrind and not ASan: a preloaded libasan deadlocks bookworm's PostgreSQL
# at start (see test/sanitize.sh). What it finds here: reads of uninitialised
# memory, and reads or writes outside malloc'd blocks (palloc chunks larger than
# 8 kB are their own malloc). Not overruns inside a memory context's block:
# Debian's PostgreSQL is not built with USE_VALGRIND, so valgrind does not know
# palloc's chunk boundaries (the fuzz harness, test/fuzz/run.sh, checks the
# decoders of serialized states with exact-size allocations instead).
#
# Expected differences: valgrind computes long double at double precision (its
# documented limit on amd64), so basket_cv, computed in long double, can differ
# in its last digits (profile: 0.40824829046386296 for 0.408248290463863).
#
# Last run (PostgreSQL 15.x of bookworm, the 9 default tests, ~9 min on 2 shared
# cores): 8 passed, profile differed only as above; valgrind reports: 0 in the
# extension, 69 in the server (glibc's dl-load strncmp during dlopen, and write /
# pwrite of uninitialised padding bytes of WAL and statistics files: the reports
# PostgreSQL's valgrind.supp suppresses).
#
# Output: the pg_regress summary, every valgrind report with a frame in
# customer_priority.so, then
#   valgrind reports: N in the extension (M in the whole server)
# Exit status non-zero if a test failed or N > 0. The server's own reports
# (PostgreSQL ships suppressions for them in src/tools/valgrind.supp, which
# Debian does not package) are counted, not shown; CP_VALGRIND_LOGS=dir keeps
# every process's log there. Runs as root.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/cluster.sh"
cd "$CP_ROOT"

if [ "$CP_PGBIN" = "/usr/lib/postgresql/${CP_PG_MAJOR}/bin" ]; then
    echo "valgrind.sh: set CP_PGBIN to a copy of the PostgreSQL installation (see the header)" >&2
    exit 2
fi
if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2
    exit 2
fi
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
    tests=(install rfm abc population profile xyz typology potential bad_input)
fi

build=$(mktemp -d /tmp/customer_priority_valgrind.XXXXXX)
reports=$(mktemp -d /tmp/customer_priority_valgrind_reports.XXXXXX)
cp_at_exit "rm -rf '$build' '$reports'"
chmod 1777 "$reports"                  # the server (postgres) writes the logs
chmod 755 "$build"
git -C "$CP_ROOT" ls-files -z | (cd "$CP_ROOT" && xargs -0 tar -cf -) | tar -xf - -C "$build"

cp_log "building with -Og -g"
make -s -C "$build" PG_CONFIG="$PG_CONFIG" COPT="-Og -g"
make -s -C "$build" PG_CONFIG="$PG_CONFIG" install

# pg_ctl -p runs this instead of postgres, with postgres's arguments.
wrapper=$build/postgres-under-valgrind
cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=yes --error-limit=no \\
    --num-callers=40 --leak-check=no --log-file="$reports/%p.log" "$CP_PGBIN/postgres" "\$@"
EOF
chmod 755 "$wrapper"

cp_start_cluster
_cp_as_postgres "$CP_PGBIN/pg_ctl" -D "$CP_CLUSTER_DIR/data" -m fast -w stop >/dev/null
cp_log "starting the server under valgrind"
_cp_as_postgres "$CP_PGBIN/pg_ctl" -D "$CP_CLUSTER_DIR/data" -p "$wrapper" \
    -l "$CP_CLUSTER_DIR/server.log" -w -t 600 start >/dev/null

rc=0
# ISOLATION=: the regression tests named, not the isolation specs too
make -C "$build" PG_CONFIG="$PG_CONFIG" installcheck REGRESS="${tests[*]}" ISOLATION= || rc=$?
if [ "$rc" -ne 0 ] && [ -f "$build/regression.diffs" ]; then
    head -n 300 "$build/regression.diffs"
fi
cp_stop_cluster

# A report is the block of lines from "==PID== <message>" to the blank
# "==PID== " line after its stack.
ours=0
all=0
for f in "$reports"/*.log; do
    [ -f "$f" ] || continue
    while IFS= read -r -d '' block; do
        all=$((all + 1))
        if grep -q 'customer_priority\.so' <<<"$block"; then
            ours=$((ours + 1))
            printf '%s\n\n' "$block"
        fi
    done < <(awk '/^==[0-9]+== *$/ { if (b != "") printf "%s%c", b, 0; b = ""; next }
                  /^==[0-9]+== / { b = b $0 "\n" }
                  END { if (b != "") printf "%s%c", b, 0 }' "$f")
done
echo "valgrind reports: $ours in the extension ($all in the whole server)"
if [ -n "${CP_VALGRIND_LOGS:-}" ]; then
    mkdir -p "$CP_VALGRIND_LOGS"
    cp "$reports"/*.log "$CP_VALGRIND_LOGS"/ 2>/dev/null || true
fi
if [ "$rc" -ne 0 ] || [ "$ours" -ne 0 ]; then
    exit 1
fi
