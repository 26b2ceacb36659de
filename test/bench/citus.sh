#!/usr/bin/env bash
# test/bench/citus.sh: the Citus figures of docs/scale-out.md, for one size.
#
#   PGHOST=... PGPORT=<coordinator> bash test/bench/citus.sh 120000     (customers)
#
# Needs a running Citus cluster whose coordinator PGHOST/PGPORT reach (CREATE
# EXTENSION citus and customer_priority on the coordinator, workers added; the
# nodes of test/t/008_citus.pl are set up the same way) and TCP between the nodes on
# loopback, so that /proc/net/dev's "lo" counts what the workers send.  Replaces the
# tables orders and orders_local of the coordinator's database.  Generates the orders
# (test/generate_orders.sql, ~8.2 lines per customer), distributes a copy by
# customer id (citus.shard_count, 32 by default), then, twice each, times and counts
# the bytes received on lo for:
#   segmentation   create_segmentation() (options: as_of, order_id), then dropped
#   score          score_customers() into a temporary table (the whole-table path)
# over the distributed table and over the local one (one node, nothing on lo).
# Prints one line per run: what, relation, seconds, bytes on lo.  lo also carries
# anything else on the machine that uses TCP on loopback: run it on a quiet machine,
# and print the load average with the figures.

set -euo pipefail
customers=${1:-120000}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

lo_bytes() { awk '$1 == "lo:" { print $2 }' /proc/net/dev; }

psql -X -q -v ON_ERROR_STOP=1 -v customers="$customers" -v seed=3 <<EOF
SET client_min_messages = warning;
DROP TABLE IF EXISTS orders, orders_local CASCADE;
\i $here/test/generate_orders.sql
ALTER TABLE orders RENAME TO orders_local;
CREATE TABLE orders (LIKE orders_local);
SELECT create_distributed_table('orders', 'customer_id');
INSERT INTO orders SELECT * FROM orders_local;
ANALYZE orders, orders_local;
EOF
psql -X -At -c "SELECT count(*) || ' order lines, ' || count(DISTINCT customer_id) || ' customers, '
                       || (SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'orders'::regclass) || ' shards'
                FROM orders_local"

run() {
    local what=$1 rel=$2 sql before after t0 t1
    case $what in
        segmentation)
            sql="SET client_min_messages = error;
                 SELECT customer_priority.create_segmentation('bench', '$rel', 'customer_id', 'ordered_at', 'amount',
                                                              '{\"as_of\": \"2025-01-01\", \"order_id\": \"order_id\"}');" ;;
        score)
            sql="CREATE TEMP TABLE s AS SELECT * FROM customer_priority.score_customers('$rel', 'customer_id', 'ordered_at',
                     'amount', '2025-01-01', order_id_column => 'order_id');" ;;
    esac
    before=$(lo_bytes)
    t0=$(date +%s.%N)
    psql -X -q -v ON_ERROR_STOP=1 -c "$sql" >/dev/null
    t1=$(date +%s.%N)
    after=$(lo_bytes)
    printf '%s %s %.3f s %d bytes\n' "$what" "$rel" "$(echo "$t1 - $t0" | bc)" $((after - before))
    if [ "$what" = segmentation ]; then
        psql -X -q -c "SELECT customer_priority.drop_segmentation('bench')" >/dev/null
    fi
}
for what in segmentation score; do
    for rel in orders orders_local orders orders_local; do
        run "$what" "$rel"
    done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
