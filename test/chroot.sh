#!/usr/bin/env bash
# test/chroot.sh: the test suite on another PostgreSQL major, in a Debian chroot.
#
#   bash test/chroot.sh MAJOR        # 13 (bullseye), 17 (trixie) or 18 (sid)
#
# Debian's archive is the only package source the project's machines reach, and
# each major is packaged by one Debian suite.  The chroot of that suite is kept in
# $CP_CHROOT_CACHE (default /var/cache/customer_priority), one directory per suite,
# and made with debootstrap when missing (about 1.5 minutes and 1.7 GB each); its
# packages are installed by test/run_tests.sh inside it, when missing.  For the
# run, /proc, /dev and /dev/shm are mounted into it (unmounted again at exit, also on
# failure), the checkout (its tracked and untracked, not ignored, files) is copied to
# /build in it, and test/run_tests.sh runs there with CP_PG_MAJOR=MAJOR: build with
# -Werror, pg_regress, TAP and isolation tests (cppcheck, SQLsmith and the fuzzers are
# version-independent and run on the host only).  Its output is shown; its last line
# is printed again as
#   pg MAJOR: tests: N passed, M failed
# and the exit status is that of the run.  Runs as root.

set -euo pipefail

major=${1:?usage: test/chroot.sh MAJOR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/cluster.sh"
root=$CP_ROOT
cache=${CP_CHROOT_CACHE:-/var/cache/customer_priority}

case $major in
    13) suite=bullseye ;;
    17) suite=trixie ;;
    18) suite=sid ;;
    *) echo "chroot.sh: no Debian suite packages PostgreSQL $major here (13, 17, 18)" >&2; exit 2 ;;
esac
dir=$cache/chroot-$suite

log() { printf '==> [pg %s] %s\n' "$major" "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    echo "chroot.sh: must run as root (debootstrap, mount, chroot)" >&2
    exit 2
fi

mirror=$(cp_debian_mirror)

if [ ! -x "$dir/usr/lib/postgresql/$major/bin/postgres" ]; then
    if ! command -v debootstrap >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap </dev/null >/dev/null
    fi
    log "debootstrap $suite into $dir (from $mirror)"
    mkdir -p "$cache"
    rm -rf "$dir.tmp"
    start=$(date +%s)
    debootstrap --variant=minbase \
        --include="postgresql-$major,postgresql-server-dev-$major,make,gcc,libc6-dev,xz-utils,libipc-run-perl" \
        "$suite" "$dir.tmp" "$mirror" >"$cache/debootstrap-$suite.log" 2>&1 || {
        tail -n 30 "$cache/debootstrap-$suite.log" >&2
        echo "pg $major: FAILED (debootstrap of $suite)"
        exit 1
    }
    mv "$dir.tmp" "$dir"
    log "chroot made in $(($(date +%s) - start)) s"
fi
# sid's Release file is older than its validity in the archive this machine reaches
echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99customer-priority"

cp_at_exit "rm -rf '$dir/build'"
cp_chroot_mount "$dir"

# For PostgreSQL 18, the host's 15 beside it (test/t/007_dump_restore_major.pl dumps
# a 15 cluster into an 18 one): the host's installation, with this checkout's
# extension installed into it first, copied to the same paths in the chroot, with the
# shared libraries its programs need that the chroot's suite lacks in its lib/
# (the TAP framework puts an install_path's lib/ on LD_LIBRARY_PATH).
old_install=
if [ "$major" = 18 ] && [ -x /usr/lib/postgresql/15/bin/postgres ]; then
    log "installing this checkout into the host's PostgreSQL 15 and copying it in"
    make -s -C "$root" PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null
    make -s -C "$root" PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config install >/dev/null
    rm -rf "$dir/usr/lib/postgresql/15" "$dir/usr/share/postgresql/15"
    mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql"
    cp -a /usr/lib/postgresql/15 "$dir/usr/lib/postgresql/15"
    cp -a /usr/share/postgresql/15 "$dir/usr/share/postgresql/15"
    have=$(chroot "$dir" /sbin/ldconfig -p | awk 'NR > 1 {print $1}')
    for lib in $(ldd /usr/lib/postgresql/15/bin/* /usr/lib/postgresql/15/lib/*.so 2>/dev/null |
                 awk '/=> \//{print $3}' | sort -u); do
        name=$(basename "$lib")
        if ! grep -qxF "$name" <<<"$have"; then
            cp -L "$lib" "$dir/usr/lib/postgresql/15/lib/$name"
        fi
    done
    old_install=/usr/lib/postgresql/15
fi

rm -rf "$dir/build"
mkdir -p "$dir/build"
git -C "$root" ls-files -z --cached --others --exclude-standard |
    (cd "$root" && xargs -0 tar -cf - --ignore-failed-read 2>/dev/null) | tar -xf - -C "$dir/build"

log "running test/run_tests.sh in the $suite chroot"
out=$(mktemp)
set +e
chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    CP_PG_MAJOR="$major" CP_IN_CHROOT=1 CP_READERS_SECONDS="${CP_READERS_SECONDS:-}" \
    CP_OLD_INSTALL="$old_install" \
    bash /build/test/run_tests.sh 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^tests: ' "$out" | tail -n 1 || true)
rm -f "$out"
echo "pg $major: ${summary:-tests: no summary (the run stopped), FAILED}"
exit "$rc"
