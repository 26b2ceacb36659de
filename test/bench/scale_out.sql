-- test/bench/scale_out.sql: the per-node figures of docs/scale-out.md, for one size.
--
--   psql -v customers=120000 -f test/bench/scale_out.sql     (from the checkout's root)
--
-- Generates orders (test/generate_orders.sql, ~8.3 lines per customer), then measures
-- in one backend, serially (a shard runs postgres_fdw's remote query without workers):
--   shard_s      the per-customer step a shard runs (the remote SQL of a
--                segmentation over foreign partitions): customer_profile() and
--                xyz() grouped by customer, into a temporary table
--   hash_kb      the HashAggregate's memory for that step (EXPLAIN ANALYZE)
--   row_bytes    bytes of one result row on the wire: its columns as text (postgres_fdw
--                fetches text) plus 7 + 4 x 4 bytes of DataRow framing
--   order_bytes  the same for one order row (what crosses the network when nothing
--                is pushed down)
--   segmentation_s  create_segmentation() on the local table (every step on one node)
\set QUIET on
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET work_mem = '2GB';
SET TimeZone = 'UTC';
DROP TABLE IF EXISTS orders CASCADE;
\i test/generate_orders.sql
SELECT customer_priority.drop_segmentation('bench') FROM customer_priority.segmentations WHERE name = 'bench';
ANALYZE orders;
CREATE TEMP TABLE figures (name text, value numeric);
DO $$
DECLARE
    t0 timestamptz;
    line text;
    q constant text := $q$SELECT customer_id,
        customer_priority.customer_profile(ordered_at, amount::numeric, '2025-01-01'::timestamptz, order_id,
                                           NULL::numeric, NULL::numeric, 'Etc/UTC'::customer_priority.calendar_name) AS profile,
        customer_priority.xyz(ordered_at, amount::numeric, '2025-01-01'::timestamptz,
                              'month'::customer_priority.calendar_name, 'Etc/UTC'::customer_priority.calendar_name) AS xyz,
        NULL::numeric AS profit
        FROM orders WHERE customer_id IS NOT NULL AND ordered_at <= '2025-01-01' GROUP BY 1$q$;
BEGIN
    INSERT INTO figures SELECT 'lines', count(*) FROM orders;
    INSERT INTO figures SELECT 'customers', count(DISTINCT customer_id) FROM orders;
    t0 := clock_timestamp();
    EXECUTE 'CREATE TEMP TABLE grouped AS ' || q;
    INSERT INTO figures VALUES ('shard_s', extract(epoch FROM clock_timestamp() - t0));
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ' || q LOOP
        IF line ~ 'Memory Usage' THEN
            INSERT INTO figures VALUES ('hash_kb', substring(line FROM 'Memory Usage: (\d+)kB')::numeric);
        END IF;
    END LOOP;
    INSERT INTO figures
    SELECT 'row_bytes', round(avg(octet_length(customer_id::text) + octet_length(profile::text)
                                 + octet_length(xyz::text) + 7 + 4 * 4), 1) FROM grouped;
    INSERT INTO figures
    SELECT 'order_bytes', round(avg(octet_length(order_id::text) + octet_length(customer_id::text)
                                   + octet_length(ordered_at::text) + octet_length(amount::text) + 7 + 4 * 4), 1)
    FROM orders;
    t0 := clock_timestamp();
    PERFORM customer_priority.create_segmentation('bench', 'orders', 'customer_id', 'ordered_at', 'amount',
                                                  '{"as_of": "2025-01-01", "order_id": "order_id"}');
    INSERT INTO figures VALUES ('segmentation_s', extract(epoch FROM clock_timestamp() - t0));
    PERFORM customer_priority.drop_segmentation('bench');
END
$$;
\set QUIET off
SELECT string_agg(format('%s=%s', name, value), ' ') AS figures FROM figures;
DROP TABLE grouped, figures, orders;
