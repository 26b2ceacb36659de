#!/usr/bin/env bash
# test/asan.sh: the regression suite under AddressSanitizer, with PostgreSQL 15
# itself built with -fsanitize=address (by hand: it takes about 15 minutes the
# first time on two cores, 3 minutes after; CI does not run it).
#
#   bash test/asan.sh
#
# 1. PostgreSQL 15 from Debian's source package (apt-get source postgresql-15,
#    with a deb-src line for bookworm in a file of its own; unpacked without
#    Debian's patches, which install into /usr/lib/postgresql), configured with
#    -fsanitize=address (no NLS, readline, ICU or zlib: nothing the tests need)
#    and installed into .asan/pg under the checkout (git-ignored), unless that is
#    there already (delete .asan to rebuild);
# 2. test/sanitize.sh with that installation and CP_SANITIZE=address,undefined:
#    the extension built with ASan and UBSan against it, a cluster of that
#    server, make installcheck, every sanitizer report printed and counted.
# A preloaded libasan deadlocks Debian's own server binaries at start; a server
# built with ASan needs no preload.
# Runs as root, like run_tests.sh.  Exit status non-zero on a failed test or a report.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
prefix=$root/.asan/pg
src=$root/.asan/src

log() { printf '==> %s\n' "$*" >&2; }

if [ ! -x "$prefix/bin/postgres" ]; then
    export DEBIAN_FRONTEND=noninteractive
    if ! ls /etc/apt/sources.list.d/customer-priority-src.sources >/dev/null 2>&1; then
        log "adding a deb-src line for bookworm"
        cat >/etc/apt/sources.list.d/customer-priority-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    apt-get update -q </dev/null >/dev/null
    apt-get install -y -q --no-install-recommends dpkg-dev gcc make perl bison flex </dev/null >/dev/null
    rm -rf "$src"
    mkdir -p "$src"
    # Unpacked without Debian's patches: they point the library directory at
    # /usr/lib/postgresql/15/lib whatever the prefix, and make install would then
    # overwrite the system's server libraries with instrumented ones.
    log "apt-get source postgresql-15 (without Debian's patches)"
    (cd "$src" && apt-get source -q --download-only postgresql-15 </dev/null >/dev/null &&
        dpkg-source --skip-patches -x ./*.dsc >/dev/null)
    dir=$(find "$src" -maxdepth 1 -type d -name 'postgresql-15-*' | head -n 1)
    log "configuring $dir with -fsanitize=address"
    start=$(date +%s)
    (cd "$dir" && ./configure --prefix="$prefix" --without-readline --without-icu --without-zlib \
        --disable-nls CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address" \
        LDFLAGS="-fsanitize=address" >"$src/configure.log")
    dirs=$(make -C "$dir" -s -f - top_builddir=. print-dirs <<<'include src/Makefile.global
print-dirs: ; @echo $(pkglibdir) $(bindir) $(datadir) $(pgxsdir)')
    [ -n "$dirs" ] || { echo "asan.sh: cannot read the installation directories" >&2; exit 1; }
    for d in $dirs; do
        case $d in
            "$prefix"/*) ;;
            *) echo "asan.sh: the build would install into $d, outside $prefix: stopping" >&2; exit 1 ;;
        esac
    done
    log "building (make -j2; the log is $src/build.log)"
    # ASAN_OPTIONS: the build runs some of its own programs (gen_* tools)
    ASAN_OPTIONS=detect_leaks=0 make -C "$dir" -j2 -s >"$src/build.log" 2>&1
    ASAN_OPTIONS=detect_leaks=0 make -C "$dir" -s install >>"$src/build.log" 2>&1
    ASAN_OPTIONS=detect_leaks=0 make -C "$dir/src/test/regress" -s install >>"$src/build.log" 2>&1
    ASAN_OPTIONS=detect_leaks=0 make -C "$dir/src/test/isolation" -s install >>"$src/build.log" 2>&1
    log "PostgreSQL with ASan built in $(($(date +%s) - start)) s"
    # the server runs as postgres: it must read the installation
    chmod -R a+rX "$root/.asan"
fi

# The checkout's directories must be enterable by postgres for the installation
# under it: open the path to .asan (only the directories, not their files).
d=$root
while [ "$d" != / ]; do
    chmod a+x "$d" 2>/dev/null || true
    d=$(dirname "$d")
done

start=$(date +%s)
rc=0
CP_PGBIN=$prefix/bin CP_PORT=${CP_PORT:-55524} CP_SANITIZE=address,undefined \
    ASAN_OPTIONS=detect_leaks=0 bash "$here/sanitize.sh" || rc=$?
log "the regression suite under ASan took $(($(date +%s) - start)) s"
exit "$rc"
