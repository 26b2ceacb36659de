-- Parallel aggregation: rfm() and rfm_breaks() run as Partial/Finalize
-- aggregates (combine, serial and deserial functions) and give exactly the
-- serial answer.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;

-- 40,000 order lines of 3,000 customers, with order ids, refunds and
-- repeated lines, derived deterministically from hashes.
CREATE TABLE par_orders AS
SELECT c AS customer_id,
       c * 1000 + o AS order_id,
       timestamptz '2023-01-01' + (abs(hashint8(c * 1000 + o)) % 500) * interval '1 day' AS ordered_at,
       CASE WHEN abs(hashint8(c * 7 + o)) % 20 = 0 THEN -1 ELSE 1 END
           * ((abs(hashint8(c * 13 + o + l)) % 10000)::numeric / 100) AS amount
FROM generate_series(1, 3000) c,
     LATERAL generate_series(1, 1 + abs(hashint4(c)) % 9) o,
     LATERAL generate_series(1, 1 + (c + o) % 3) l;
ANALYZE par_orders;
SELECT count(*) AS order_lines, count(DISTINCT customer_id) AS customers FROM par_orders;

-- Serial answers.
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_metrics AS
SELECT customer_id, rfm(ordered_at, amount, '2024-06-01', order_id) AS m
FROM par_orders GROUP BY customer_id;
CREATE TABLE serial_breaks AS
SELECT rfm_breaks((m).last_order, (m).frequency, (m).monetary, 5) AS b FROM serial_metrics;

-- Force parallel plans.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;

EXPLAIN (COSTS OFF)
SELECT customer_id, rfm(ordered_at, amount, '2024-06-01', order_id) AS m
FROM par_orders GROUP BY customer_id;
-- Workers really run, so states cross process boundaries serialized.
CREATE FUNCTION pg_temp.workers_launched(query text) RETURNS int LANGUAGE plpgsql AS $f$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        IF line ~ 'Workers Launched' THEN
            RETURN substring(line FROM 'Workers Launched: (\d+)')::int;
        END IF;
    END LOOP;
    RETURN 0;
END
$f$;
SELECT pg_temp.workers_launched($$SELECT customer_id, rfm(ordered_at, amount, '2024-06-01', order_id)
                                  FROM par_orders GROUP BY customer_id$$) > 0 AS workers_ran;
CREATE TABLE parallel_metrics AS
SELECT customer_id, rfm(ordered_at, amount, '2024-06-01', order_id) AS m
FROM par_orders GROUP BY customer_id;
SELECT (SELECT count(*) FROM serial_metrics) AS customers,
       (SELECT count(*) FROM (SELECT customer_id, m::text FROM serial_metrics
                              EXCEPT ALL SELECT customer_id, m::text FROM parallel_metrics) d) AS only_serial,
       (SELECT count(*) FROM (SELECT customer_id, m::text FROM parallel_metrics
                              EXCEPT ALL SELECT customer_id, m::text FROM serial_metrics) d) AS only_parallel;

-- One customer's lines split over the workers: the order-id sets are merged,
-- so frequency counts distinct orders across workers.
EXPLAIN (COSTS OFF)
SELECT rfm(ordered_at, amount, '2024-06-01', order_id) FROM par_orders WHERE customer_id <= 50;
SELECT (SELECT rfm(ordered_at, amount, '2024-06-01', order_id)::text FROM par_orders)
     = (SELECT rfm(ordered_at, amount, '2024-06-01', order_id)::text
        FROM (SELECT * FROM par_orders ORDER BY ordered_at LIMIT ALL) s) AS whole_table_same;
RESET max_parallel_workers_per_gather;
SELECT (SELECT (rfm(ordered_at, amount, '2024-06-01', order_id)).frequency FROM par_orders)
     = (SELECT count(DISTINCT order_id) FROM par_orders WHERE amount > 0) AS distinct_orders;
SET max_parallel_workers_per_gather = 2;

-- The population aggregate in parallel.
CREATE TABLE par_customers AS SELECT customer_id, (m).* FROM serial_metrics;
ANALYZE par_customers;
EXPLAIN (COSTS OFF)
SELECT rfm_breaks(last_order, frequency, monetary, 5) FROM par_customers;
SELECT pg_temp.workers_launched($$SELECT rfm_breaks(last_order, frequency, monetary, 5)
                                  FROM par_customers$$) > 0 AS workers_ran;
SELECT (SELECT rfm_breaks(last_order, frequency, monetary, 5) FROM par_customers)::text
     = (SELECT b::text FROM serial_breaks) AS same_breaks;
SELECT (b).customers, (b).frequency, (b).monetary FROM serial_breaks;

-- Scores and segments under a parallel plan equal the serial ones.
CREATE TABLE parallel_segments AS
SELECT customer_id, rfm_segment(rfm_score(last_order, frequency, monetary, b)) AS segment
FROM par_customers, serial_breaks;
RESET ALL;
SET search_path = public, customer_priority;
SELECT count(*) AS differing
FROM parallel_segments p JOIN par_customers c USING (customer_id), serial_breaks
WHERE p.segment IS DISTINCT FROM rfm_segment(rfm_score(c.last_order, c.frequency, c.monetary, b));
SELECT segment, count(*) FROM parallel_segments GROUP BY segment ORDER BY 2 DESC, 1;

DROP TABLE par_orders, serial_metrics, serial_breaks, parallel_metrics, par_customers, parallel_segments;
