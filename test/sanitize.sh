#!/usr/bin/env bash
# test/sanitize.sh: the regression suite and the isolation specs (make installcheck)
# against the extension built with sanitizers: -fsanitize=undefined by default,
# CP_SANITIZE=address,undefined for AddressSanitizer too.
#
#   CP_PGBIN=/tmp/pg-asan/usr/lib/postgresql/15/bin CP_PORT=55523 bash test/sanitize.sh
#
# It installs the instrumented library into the PostgreSQL of CP_PGBIN: use a
# relocated copy of the installation (cp -a of /usr/lib/postgresql and
# /usr/share/postgresql under one prefix, see test/cluster.sh), never the one other
# checkouts test with.  The server itself is not instrumented, so only the
# extension's code is checked.
#
# undefined: signed overflow, bad shifts, misaligned or null accesses, out-of-bounds
#   indexes of fixed arrays, ...  libubsan comes with the library (dlopen).
# address: overflows of stack and global arrays and of malloc'd blocks; not overruns
#   inside a palloc'd block (memory contexts carve chunks out of large blocks: valgrind
#   finds those).  The server runs with libasan preloaded (LD_PRELOAD), leak detection
#   off.  On Debian bookworm (glibc 2.36, gcc 12) a preloaded libasan deadlocks every
#   PostgreSQL program at start (in bindtextdomain, on glibc's gettext lock, before any
#   of our code runs), so this mode needs a PostgreSQL built with
#   -fsanitize=address itself: test/asan.sh builds one and runs this script on it.
#
# Output: the pg_regress and isolation summaries, then each sanitizer report, then
#   sanitizer reports: N
# Exit status non-zero if a test failed or N > 0.  Runs as root, like run_tests.sh.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/cluster.sh"
cd "$CP_ROOT"

if [ "$CP_PGBIN" = "/usr/lib/postgresql/${CP_PG_MAJOR}/bin" ]; then
    echo "sanitize.sh: set CP_PGBIN to a copy of the PostgreSQL installation (see the header)" >&2
    exit 2
fi
libasan=$(readlink -f "$(gcc -print-file-name=libasan.so)")
if [ ! -f "$libasan" ]; then
    echo "sanitize.sh: libasan not found (apt-get install gcc)" >&2
    exit 2
fi

# A build of its own: the instrumented objects never mix with a normal build's.
build=$(mktemp -d /tmp/customer_priority_asan.XXXXXX)
reports=$(mktemp -d /tmp/customer_priority_asan_reports.XXXXXX)
cp_at_exit "rm -rf '$build' '$reports'"
chmod 1777 "$reports"                  # the server (postgres) writes the reports
git -C "$CP_ROOT" ls-files -z | (cd "$CP_ROOT" && xargs -0 tar -cf -) | tar -xf - -C "$build"

sanitize=${CP_SANITIZE:-undefined}
flags="-fsanitize=$sanitize -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
cp_log "building with $flags"
make -s -C "$build" PG_CONFIG="$PG_CONFIG" \
    PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers $flags" \
    SHLIB_LINK="-fsanitize=$sanitize"
make -s -C "$build" PG_CONFIG="$PG_CONFIG" install

# The server and every backend (forked) inherit these; pg_ctl passes its
# environment on.  -fno-sanitize-recover: a report ends the backend, so the test
# that met it fails too.
# (a server built with ASan, test/asan.sh, has it already: no preload)
case $sanitize in
    *address*)
        if ! ldd "$CP_PGBIN/postgres" | grep -q libasan; then
            export LD_PRELOAD="$libasan"
        fi ;;
esac
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$reports/ubsan"
cp_start_cluster
unset LD_PRELOAD                       # not for psql and pg_regress

rc=0
make -C "$build" PG_CONFIG="$PG_CONFIG" installcheck || rc=$?
for diffs in "$build/regression.diffs" "$build/output_iso/regression.diffs"; do
    if [ "$rc" -ne 0 ] && [ -f "$diffs" ]; then
        head -n 300 "$diffs"
    fi
done
cp_stop_cluster

n=0
for f in "$reports"/*; do
    [ -f "$f" ] || continue
    echo "--- $f ---"
    cat "$f"
    n=$((n + $(grep -cE 'ERROR: AddressSanitizer|runtime error:' "$f" || true)))
done
echo "sanitizer reports: $n"
if [ "$rc" -ne 0 ] || [ "$n" -ne 0 ]; then
    exit 1
fi
