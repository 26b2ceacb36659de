# shellcheck shell=bash
# test/cluster.sh: helpers shared by test/run_tests.sh and test/demo.sh.
# Source it; don't run it:
#
#   source test/cluster.sh
#   cp_install_deps; cp_build_install; cp_start_cluster
#   psql -c 'select 1'      # PGHOST/PGPORT/PGUSER/PGDATABASE are exported
#   cp_stop_cluster         # optional: an EXIT trap does it anyway
#
# The scripts are meant to run as root (CI, fresh containers). PostgreSQL refuses
# to run as root, so the throw-away cluster belongs to the "postgres" OS user and
# lives in a temp dir; it listens on a unix socket in that dir only (no TCP), so
# it can't collide with another server on the machine.
# The server never reads files from the checkout (postgres may not be able to read
# it): load data with psql's client-side \copy.

set -euo pipefail

# The PostgreSQL major to test: the host's 15, or another in a chroot (test/chroot.sh).
CP_PG_MAJOR=${CP_PG_MAJOR:-15}
# CP_PGBIN may point at a relocated copy of the installation (cp -a of
# /usr/lib/postgresql and /usr/share/postgresql under one prefix), so that two
# checkouts can build and test side by side without overwriting each other's
# installed extension.
CP_PGBIN=${CP_PGBIN:-/usr/lib/postgresql/${CP_PG_MAJOR}/bin}
# Repo root = parent of the directory holding this file, wherever it is called from.
CP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Only the socket file name (.s.PGSQL.<port>) depends on the port: no TCP.
CP_PORT=${CP_PORT:-54329}
CP_CLUSTER_DIR=""   # temp dir: data/, server.log, the socket; "" = no cluster

export PG_CONFIG=${CP_PGBIN}/pg_config
# The major's binaries first: Debian's /usr/bin/psql etc. are wrappers that pick a
# version from the installed clusters, which is not what we want.
case ":${PATH}:" in
    *":${CP_PGBIN}:"*) ;;
    *) export PATH="${CP_PGBIN}:${PATH}" ;;
esac

cp_log() { printf '==> %s\n' "$*" >&2; }

# --- cleanup on exit ---------------------------------------------------------
# One EXIT trap runs every registered command (newest first), so callers can add
# their own cleanup without replacing ours: cp_at_exit 'rm -rf "$dir"'.
CP_EXIT_CMDS=()
_cp_run_exit_cmds() {
    local i
    # Output may go to a closed pipe (`demo.sh | head`): a write must not kill
    # us (SIGPIPE) before the server is stopped.
    trap '' PIPE
    for (( i=${#CP_EXIT_CMDS[@]}-1; i>=0; i-- )); do
        eval "${CP_EXIT_CMDS[$i]}" || true
    done
    CP_EXIT_CMDS=()
}
cp_at_exit() {
    if [ ${#CP_EXIT_CMDS[@]} -eq 0 ]; then
        trap _cp_run_exit_cmds EXIT
        # A signal must end the script so that the EXIT trap runs (bash does not
        # run it on an untrapped signal).
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
        trap 'exit 141' PIPE
    fi
    CP_EXIT_CMDS+=("$1")
}

# Run a command as the postgres OS user (as ourselves when we are not root), from
# a directory that user can enter ("/"): initdb and pg_ctl fail when the current
# directory (maybe the checkout) is unreadable.
_cp_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# --- install -----------------------------------------------------------------
cp_install_deps() {
    local pkgs=("postgresql-$CP_PG_MAJOR" "postgresql-server-dev-$CP_PG_MAJOR" libipc-run-perl xz-utils
                make gcc)
    # the version-independent steps run on the host only (test/run_tests.sh)
    if [ -z "${CP_IN_CHROOT:-}" ]; then
        pkgs+=(cppcheck
               clang libclang-rt-14-dev     # clang + libFuzzer: test/fuzz/run.sh
               sqlsmith                     # test/sqlsmith.sh
               chromium python3-pil         # test/report_browser.sh
               debootstrap                  # test/chroot.sh
               # the Citus build (test/citus.sh, ../shared/citus/README.md)
               libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libssl-dev libselinux1-dev
               libxslt1-dev libpam0g-dev libreadline-dev zlib1g-dev)
    fi
    local missing=() p
    for p in "${pkgs[@]}"; do
        # "install ok installed" only: dpkg -s also succeeds for removed packages
        # whose config files are still there.
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    cp_log "installing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "cp_install_deps: missing packages (${missing[*]}); run as root or install them" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # </dev/null: CI has no stdin; nothing may prompt.
    apt-get update -q </dev/null &&
        apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

# cp_build_install [--quiet]: --quiet shows make's output only if it fails.
cp_build_install() {
    cp_log "building and installing the extension (PG_CONFIG=${PG_CONFIG})"
    if [ "${1:-}" = --quiet ]; then
        local log rc=0
        log=$(mktemp) || return 1
        # -s: no "Entering directory" lines
        { make -s -C "$CP_ROOT" PG_CONFIG="$PG_CONFIG" &&
            make -s -C "$CP_ROOT" PG_CONFIG="$PG_CONFIG" install; } >"$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            cat "$log" >&2
        fi
        rm -f "$log"
        return "$rc"
    fi
    # &&: set -e does not apply inside a function called from "if !" / "||".
    make -C "$CP_ROOT" PG_CONFIG="$PG_CONFIG" &&
        make -C "$CP_ROOT" PG_CONFIG="$PG_CONFIG" install
}

# --- cluster -----------------------------------------------------------------
cp_start_cluster() {
    if [ -n "$CP_CLUSTER_DIR" ]; then
        cp_log "cluster already running in $CP_CLUSTER_DIR"
        return 0
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        echo "cp_start_cluster: no 'postgres' OS user (is postgresql-$CP_PG_MAJOR installed?)" >&2
        return 1
    fi
    # Under /tmp rather than $TMPDIR: the postgres user must be able to enter it,
    # and a unix socket path must stay under ~100 bytes.
    CP_CLUSTER_DIR=$(mktemp -d /tmp/customer_priority.XXXXXX) || return 1
    # Register cleanup before anything can fail, so a half-started cluster is
    # stopped and the dir removed too.
    cp_at_exit cp_stop_cluster
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$CP_CLUSTER_DIR" || return 1
    fi

    # C.UTF-8 where the libc has it (bookworm does): codepoint sort order, so
    # results don't depend on the machine's locales; plain C otherwise.
    local locale=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale=C.UTF-8
    fi
    cp_log "initdb in $CP_CLUSTER_DIR/data"
    if ! _cp_as_postgres "$CP_PGBIN/initdb" -D "$CP_CLUSTER_DIR/data" -A trust -U postgres \
            --locale="$locale" -E UTF8 --no-sync >"$CP_CLUSTER_DIR/initdb.log" 2>&1; then
        cat "$CP_CLUSTER_DIR/initdb.log" >&2
        return 1
    fi

    # postgresql.conf: the last setting of a parameter wins, so appending is enough.
    cat >>"$CP_CLUSTER_DIR/data/postgresql.conf" <<EOF || return 1

# --- test cluster (test/cluster.sh) ---
listen_addresses = ''                  # unix socket only
unix_socket_directories = '$CP_CLUSTER_DIR'
port = $CP_PORT
fsync = off                            # throw-away data: speed over durability
synchronous_commit = off
full_page_writes = off
# Enough workers that tests forcing parallel plans really get workers.
max_worker_processes = 8
max_parallel_workers = 8
max_parallel_workers_per_gather = 4
log_min_messages = warning
log_line_prefix = '%m [%p] %e %q%a '           # %e: the SQLSTATE, for test/sqlsmith.sh
EOF

    cp_log "starting the server (log: $CP_CLUSTER_DIR/server.log)"
    if ! _cp_as_postgres "$CP_PGBIN/pg_ctl" -D "$CP_CLUSTER_DIR/data" \
            -l "$CP_CLUSTER_DIR/server.log" -w -t 60 start >/dev/null; then
        echo "cp_start_cluster: the server did not start; end of its log:" >&2
        tail -n 50 "$CP_CLUSTER_DIR/server.log" >&2 || true
        return 1
    fi

    export PGHOST="$CP_CLUSTER_DIR" PGPORT="$CP_PORT" PGUSER=postgres PGDATABASE=postgres
    # The cluster's superuser is "postgres" (initdb -U); trust auth on the socket.
    unset PGPASSWORD PGSERVICE PGHOSTADDR 2>/dev/null || true
}

# Idempotent: safe to call any number of times, with or without a cluster.
cp_stop_cluster() {
    local dir=$CP_CLUSTER_DIR
    if [ -z "$dir" ]; then
        return 0
    fi
    CP_CLUSTER_DIR=""
    if [ -f "$dir/data/postmaster.pid" ]; then
        cp_log "stopping the server"
        # "fast" rolls back and disconnects sessions; fall back to immediate if
        # that hangs (e.g. a backend stuck in C code).
        _cp_as_postgres "$CP_PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            _cp_as_postgres "$CP_PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            echo "cp_stop_cluster: could not stop the server in $dir" >&2
    fi
    rm -rf "$dir"
    unset PGHOST PGPORT
}

# --- the demo's data -----------------------------------------------------------
# cp_demo_shop: in the database of PGDATABASE, the extension, the UCI Online Retail
# order lines (test/data/README.md) and the segmentation "shop" of the README's demo
# (test/demo.sh), with two snapshots (2011-11-10 and 2011-12-10: the transitions of
# its report, test/report_browser.sh). \copy ... FROM PROGRAM runs xz on the client
# side (as us), so the server never reads the checkout.
cp_demo_shop() {
    local data=$CP_ROOT/test/data/online_retail.csv.xz
    if [ ! -r "$data" ]; then
        echo "cp_demo_shop: $data is missing" >&2
        return 1
    fi
    # The path goes inside an SQL string literal: double any '.
    local data_sql=${data//\'/\'\'}
    # -X: ignore ~/.psqlrc; ON_ERROR_STOP: fail on the first error; -q: only results.
    psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION customer_priority;
SET TimeZone = 'UTC';

CREATE TABLE online_retail (invoice_no text, stock_code text, description text,
  quantity int, invoice_date timestamp, unit_price numeric, customer_id int, country text);
\\copy online_retail FROM PROGRAM 'xz -dc ${data_sql}' WITH (FORMAT csv, HEADER)
ANALYZE online_retail;

-- The order lines as the segmentation reads them: the amount of a line is
-- quantity * unit_price; cancellations (negative quantities) are refunds.
CREATE VIEW order_lines AS
SELECT invoice_no, customer_id, invoice_date, quantity * unit_price AS amount, country
FROM online_retail;

-- One call: the views shop_customers, shop_membership, shop_segments, shop_profiles,
-- shop_cohorts. invoice_date is the shop's local time (London). potential: BG/NBD and
-- Gamma-Gamma, each customer's expected purchases and value in the next 52 weeks.
-- snapshot: a snapshot of every customer's segments at each refresh (and one a month
-- earlier, computed below), for the transitions.
SELECT customer_priority.create_segmentation('shop', 'order_lines', 'customer_id', 'invoice_date', 'amount',
    '{"as_of": "2011-12-10", "time_zone": "Europe/London", "order_id": "invoice_no",
      "order_attributes": ["country"], "potential": true, "snapshot": true}') IS NULL AS created \\gset
SET client_min_messages = error;   -- (a fit's convergence warning on the earlier data, if any)
SELECT customer_priority.snapshot_segmentation('shop', '2011-11-10') IS NOT NULL AS snapshot \\gset
SQL
}

# --- Debian chroots (test/chroot.sh, test/package.sh) -------------------------------
# cp_debian_mirror: the Debian archive the host's apt uses (deb822 or one-line
# sources), for debootstrap.
cp_debian_mirror() {
    local mirror
    mirror=$(sed -nE 's/^URIs: *(http[^ ]*debian)\/? *$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    if [ -z "$mirror" ]; then
        mirror=$(sed -nE 's/^deb +(http[^ ]*debian)\/? .*/\1/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
    fi
    echo "${mirror:-http://deb.debian.org/debian}"
}

# cp_chroot_mount DIR: /proc, /dev and /dev/shm in the chroot DIR (initdb and the
# server need them), unmounted again at exit (cp_at_exit), also on failure.
cp_chroot_mount() {
    local dir=$1 m
    for m in proc dev dev/shm; do
        mkdir -p "$dir/$m"
        mountpoint -q "$dir/$m" && continue
        case $m in
            proc) mount -t proc proc "$dir/proc" ;;
            dev) mount --bind /dev "$dir/dev" ;;
            dev/shm) mount -t tmpfs -o mode=1777 shm "$dir/dev/shm" ;;
        esac
        cp_at_exit "umount -l '$dir/$m' 2>/dev/null"
    done
}
