#!/usr/bin/env bash
# test/package.sh: build the Debian package and install it on a clean machine.
#
#   bash test/package.sh [OUTDIR]
#
# 1. Builds, from a copy of the checkout (tracked and untracked, not ignored,
#    files), with Debian's pg_buildext (postgresql-server-dev-all): debian/control
#    from debian/control.in for every major of debian/pgversions installed here
#    (`pg_buildext updatecontrol`), then `dpkg-buildpackage -b`, which builds and
#    installs the extension once per major.  On this machine (PostgreSQL 15) that is
#    postgresql-15-customer-priority_<version>_<arch>.deb, copied to OUTDIR
#    (default: a temporary directory).
# 2. Installs it with `apt-get install ./<deb>` in a clean Debian bookworm (a
#    minbase chroot with postgresql-15 and nothing of the extension, cached in
#    $CP_CHROOT_CACHE/chroot-bookworm, with the host's package sources: apt brings
#    the server minor the package needs), starts a cluster there and runs CREATE
#    EXTENSION customer_priority, a segmentation of a few orders and the version
#    check; then purges the package again, so the chroot stays clean.
# Prints, last:
#   package: postgresql-15-customer-priority_0.3.0_amd64.deb (N KiB), installed and CREATE EXTENSION ok
# Runs as root.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/cluster.sh"
root=$CP_ROOT
cache=${CP_CHROOT_CACHE:-/var/cache/customer_priority}
out=${1:-$(mktemp -d /tmp/customer_priority_deb.XXXXXX)}
mkdir -p "$out"

log() { printf '==> [package] %s\n' "$*" >&2; }
fail() { echo "package: FAILED ($*)"; exit 1; }

# One version everywhere it is written.
version=$(sed -nE "s/^default_version = '(.*)'/\1/p" "$root/customer_priority.control")
for pair in "Makefile:$(sed -nE 's/^EXTVERSION = (.*)/\1/p' "$root/Makefile")" \
            "debian/changelog:$(sed -nE '1s/^customer-priority \(([^)]*)\).*/\1/p' "$root/debian/changelog")" \
            "META.json:$(sed -nE '0,/"version"/s/^ *"version": "([^"]*)".*/\1/p' "$root/META.json")"; do
    [ "${pair#*:}" = "$version" ] || fail "${pair%%:*} says version ${pair#*:}, customer_priority.control $version"
done

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in postgresql-server-dev-all debhelper dpkg-dev debootstrap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null || fail "apt-get install ${missing[*]}"
fi

# --- 1. build ------------------------------------------------------------------
src=$(mktemp -d /tmp/customer_priority_src.XXXXXX)
cp_at_exit "rm -rf '$src'"
mkdir -p "$src/customer-priority"
git -C "$root" ls-files -z --cached --others --exclude-standard |
    (cd "$root" && xargs -0 tar -cf - --ignore-failed-read 2>/dev/null) | tar -xf - -C "$src/customer-priority"
log "pg_buildext updatecontrol; dpkg-buildpackage -b"
(cd "$src/customer-priority" && pg_buildext updatecontrol &&
    dpkg-buildpackage -us -uc -b >"$src/build.log" 2>&1) || { tail -n 40 "$src/build.log"; fail "dpkg-buildpackage"; }
shopt -s nullglob
debs=("$src"/postgresql-*-customer-priority_*.deb)
shopt -u nullglob
[ ${#debs[@]} -gt 0 ] || fail "no package was built"
cp "${debs[@]}" "$out/"
deb=$out/$(basename "${debs[0]}")
for d in "${debs[@]}"; do
    log "built $(basename "$d"): $(dpkg-deb -c "$d" | grep -cE '\.(so|sql|control)$') files of the extension"
done

# --- 2. install on a clean bookworm ----------------------------------------------
dir=$cache/chroot-bookworm
if [ ! -x "$dir/usr/lib/postgresql/15/bin/postgres" ]; then
    mirror=$(cp_debian_mirror)
    log "debootstrap bookworm into $dir"
    mkdir -p "$cache"
    rm -rf "$dir.tmp"
    debootstrap --variant=minbase --include=postgresql-15 bookworm "$dir.tmp" "$mirror" \
        >"$cache/debootstrap-bookworm.log" 2>&1 || fail "debootstrap of bookworm"
    mv "$dir.tmp" "$dir"
fi
cp_chroot_mount "$dir"
in_chroot() { chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

if [ -e "$dir/usr/share/postgresql/15/extension/customer_priority.control" ]; then
    fail "the clean machine already has the extension"
fi
# the host's package sources (its security updates above all): the package depends on
# the server minor it was built against
cp /etc/apt/sources.list.d/*.sources "$dir/etc/apt/sources.list.d/" 2>/dev/null || true
in_chroot apt-get update -q </dev/null >/dev/null 2>&1 || fail "apt-get update in the clean bookworm"
cp "$deb" "$dir/tmp/"
log "apt-get install ./$(basename "$deb") in the clean bookworm"
in_chroot apt-get install -y -q "/tmp/$(basename "$deb")" </dev/null >"$src/install.log" 2>&1 ||
    { tail -n 20 "$src/install.log"; fail "apt-get install of the package"; }
cat >"$dir/tmp/customer_priority_check.sh" <<'EOF'
set -e
d=$(mktemp -d /tmp/pg.XXXXXX)
chown postgres: "$d"
runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$d/data" -A trust -U postgres --no-sync >/dev/null
printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = 5433\n" "$d" >>"$d/data/postgresql.conf"
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$d/data" -l "$d/log" -w start >/dev/null
trap 'runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$d/data" -m fast -w stop >/dev/null; rm -rf "$d"' EXIT
runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -q -At -h "$d" -p 5433 -d postgres -v ON_ERROR_STOP=1 <<'SQL' | tail -n 1
CREATE EXTENSION customer_priority;
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO orders SELECT i % 7, timestamptz '2024-01-01' + i * interval '3 days', 10 + i FROM generate_series(1, 50) i;
SELECT customer_priority.create_segmentation('shop', 'orders', 'customer_id', 'ordered_at', 'amount', '{"as_of": "2024-06-30"}');
SELECT extversion || ' ' || (SELECT count(*) FROM shop_customers) FROM pg_extension WHERE extname = 'customer_priority';
SQL
EOF
result=$(in_chroot bash /tmp/customer_priority_check.sh 2>&1) || { echo "$result"; fail "CREATE EXTENSION on the clean machine"; }
rm -f "$dir/tmp/customer_priority_check.sh"
in_chroot apt-get purge -y -q "$(dpkg-deb -f "$deb" Package)" </dev/null >/dev/null 2>&1 || true
rm -f "$dir/tmp/$(basename "$deb")"
if [ "$result" != "$version 7" ]; then
    echo "$result"
    fail "expected version $version and 7 customers, got: $result"
fi
echo "package: $(basename "$deb") ($(($(stat -c %s "$deb") / 1024)) KiB), installed and CREATE EXTENSION ok (version $version, a segmentation of 7 customers)"
