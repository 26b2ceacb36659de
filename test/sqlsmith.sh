#!/usr/bin/env bash
# test/sqlsmith.sh: random queries (SQLsmith) against a database with the
# extension and a segmentation, for a bounded time; fails if the server crashed.
#
#   bash test/sqlsmith.sh SECONDS SERVER_LOG
#
# Runs against the server of PGHOST/PGPORT (test/run_tests.sh's cluster), as a
# role without superuser rights (SQLsmith calls any function it finds; as a
# superuser it would also end sessions, write files and reload settings), with
# a statement_timeout.  A database "sqlsmith" is made with orders, a segmentation
# with history and potential, and the extension's schema on the role's
# search_path, so that its functions, aggregates, types and views are in what
# SQLsmith picks from.  The server log SERVER_LOG tells whether a backend died
# of a signal or the postmaster restarted: that is the failure.  Errors of the
# random queries are expected; those with SQLSTATE XX000 (internal error) are
# counted and printed, for a look (PostgreSQL's own functions raise some on
# random input).  Prints, last:
#   sqlsmith: N queries in S s, 0 crashes, K internal errors (XX000), ok
set -euo pipefail

seconds=${1:?seconds}
server_log=${2:?server log}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! command -v sqlsmith >/dev/null; then
    echo "sqlsmith: FAILED (sqlsmith is not installed)"
    exit 1
fi

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'EOF' >/dev/null
SET client_min_messages = warning;
DROP DATABASE IF EXISTS sqlsmith;
DROP ROLE IF EXISTS cp_sqlsmith;
CREATE ROLE cp_sqlsmith LOGIN;
CREATE DATABASE sqlsmith OWNER cp_sqlsmith;
ALTER ROLE cp_sqlsmith SET statement_timeout = '2s';
ALTER ROLE cp_sqlsmith SET search_path = public, customer_priority;
EOF
psql -X -q -v ON_ERROR_STOP=1 -d sqlsmith -v customers=300 -f "$here/generate_orders.sql" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d sqlsmith <<'EOF' >/dev/null
CREATE EXTENSION customer_priority;
ALTER TABLE orders OWNER TO cp_sqlsmith;
SET ROLE cp_sqlsmith;
SET client_min_messages = error;
SELECT customer_priority.create_segmentation('shop', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"order_id": "order_id", "time_zone": "UTC", "as_of": "2024-12-31", "snapshot": true, "potential": true}');
SELECT count(*) FROM customer_priority.backfill_segmentation('shop', '2024-09-01', '2024-11-01');
EOF

log_lines_before=$(wc -l <"$server_log")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
# SIGINT: SQLsmith prints its summary on the way out.
timeout -s INT "$seconds" sqlsmith --verbose --exclude-catalog --seed=42 \
    --target="host=$PGHOST port=$PGPORT dbname=sqlsmith user=cp_sqlsmith" >"$out" 2>&1 || true
elapsed=$(($(date +%s) - start))

queries=$(sed -nE 's/^queries: ([0-9]+)$/\1/p' "$out" | tail -n 1)
queries=${queries:-0}
new_log=$(tail -n +"$((log_lines_before + 1))" "$server_log")
crashes=$(grep -cE 'terminated by signal|was terminated by exception|all server processes terminated' <<<"$new_log" || true)
# the cluster's log_line_prefix has the SQLSTATE (%e): internal errors, for a look
internal=$(grep -cE ' XX000 .*ERROR:' <<<"$new_log" || true)
if [ "$internal" -ne 0 ]; then
    echo "--- internal errors (XX000) of the random queries ---"
    grep -E -A3 ' XX000 .*ERROR:' <<<"$new_log" | head -n 60
fi

if [ "$crashes" -ne 0 ]; then
    echo "--- server log of the crash ---"
    grep -E -B5 -A20 'terminated by signal|was terminated by exception' <<<"$new_log" | head -n 200
    echo "sqlsmith: $queries queries in $elapsed s, $crashes crashes, FAILED"
    exit 1
fi
if [ "$queries" -lt 100 ]; then
    tail -n 30 "$out"
    echo "sqlsmith: only $queries queries in $elapsed s, FAILED"
    exit 1
fi
echo "sqlsmith: $queries queries in $elapsed s, 0 crashes, $internal internal errors (XX000), ok"
