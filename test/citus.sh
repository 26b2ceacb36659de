#!/usr/bin/env bash
# test/citus.sh: install Citus 13.2.2 for PG_CONFIG, for test/t/008_citus.pl.
#
#   PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config bash test/citus.sh
#
# Called by test/run_tests.sh before the TAP tests.  Builds Citus from the source
# kept next to the checkout, ../shared/citus (or CP_CITUS_SOURCE; citus-13.2.2.tar.gz and
# citus-pg15.20.patch, see its README.md), and installs it into PG_CONFIG's
# directories, once per machine: when citus.so of 13.2.2 is already installed there,
# nothing is built.  Prints one summary line last, "citus: ok (...)",
# "citus: skipped: <why>" (exit 0: 008_citus.pl then skips too, saying why) or
# "citus: FAILED (...)" (exit 1).  Needs root to install (CI runs as root) and the
# build packages of test/cluster.sh's cp_install_deps.  About 1.5-3 minutes on two
# cores (no LLVM bitcode).

set -euo pipefail

version=13.2.2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The source: CP_CITUS_SOURCE, else ../shared/citus beside the checkout, else beside the
# checkout this one was cloned from (a clean clone made elsewhere, as CI's may be).
source_dir=${CP_CITUS_SOURCE:-$(cd "$root/.." && pwd)/shared/citus}
if [ -z "${CP_CITUS_SOURCE:-}" ] && [ ! -d "$source_dir" ]; then
    origin=$(git -C "$root" remote get-url origin 2>/dev/null || true)
    if [ -n "$origin" ] && [ -d "$origin" ] && [ -d "$(cd "$origin/.." && pwd)/shared/citus" ]; then
        source_dir=$(cd "$origin/.." && pwd)/shared/citus
    fi
fi
tarball=$source_dir/citus-$version.tar.gz
patch_file=$source_dir/citus-pg15.20.patch
pg_config=${PG_CONFIG:-pg_config}

major=$("$pg_config" --version | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p')
if [ "${major:-0}" -lt 15 ] || [ "${major:-0}" -gt 17 ]; then
    echo "citus: skipped: Citus $version supports PostgreSQL 15-17 only, not ${major:-?}"
    exit 0
fi
so=$("$pg_config" --pkglibdir)/citus.so
if [ -f "$so" ] && grep -aq "Citus $version" "$so"; then
    echo "citus: ok (Citus $version already installed in $(dirname "$so"))"
    exit 0
fi
if [ ! -f "$tarball" ] || [ ! -f "$patch_file" ]; then
    echo "citus: skipped: no Citus source at $source_dir (citus-$version.tar.gz and citus-pg15.20.patch)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "citus: skipped: installing Citus into $(dirname "$so") needs root"
    exit 0
fi

build=$(mktemp -d /tmp/customer_priority_citus.XXXXXX)
trap 'rm -rf "$build"' EXIT
start=$(date +%s)
log=$build/build.log
# with_llvm=no: no LLVM bitcode for JIT inlining (half the build time, not needed).
if ! { tar xzf "$tarball" -C "$build" &&
        cd "$build/citus-$version" &&
        patch -p1 <"$patch_file" &&
        ./configure PG_CONFIG="$pg_config" &&
        make -j"$(nproc)" with_llvm=no &&
        make with_llvm=no install; } >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "citus: FAILED (build of Citus $version, log above)"
    exit 1
fi
echo "citus: ok (Citus $version built and installed in $(dirname "$so") in $(($(date +%s) - start)) s)"
