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

-- customer_profile() and typology_model(): serial answers, then the same
-- under forced parallel plans (order sets, order maps, purchase days and
-- ranked lists cross process boundaries serialized).
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_profiles AS
SELECT customer_id,
       customer_profile(ordered_at, amount, '2024-06-01', order_id, NULL,
                        CASE WHEN order_id % 3 = 0 THEN 1 ELSE 0 END, 'Europe/Berlin') AS p
FROM par_orders GROUP BY customer_id;
CREATE TABLE serial_model AS
SELECT typology_model(p, (customer_id % 7)::numeric) AS m FROM serial_profiles;
ANALYZE serial_profiles;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF)
SELECT customer_id, customer_profile(ordered_at, amount, '2024-06-01', order_id) FROM par_orders GROUP BY customer_id;
SELECT pg_temp.workers_launched($$SELECT customer_id,
                                  customer_profile(ordered_at, amount, '2024-06-01', order_id, NULL,
                                                   CASE WHEN order_id % 3 = 0 THEN 1 ELSE 0 END, 'Europe/Berlin')
                                  FROM par_orders GROUP BY customer_id$$) > 0 AS workers_ran;
CREATE TABLE parallel_profiles AS
SELECT customer_id,
       customer_profile(ordered_at, amount, '2024-06-01', order_id, NULL,
                        CASE WHEN order_id % 3 = 0 THEN 1 ELSE 0 END, 'Europe/Berlin') AS p
FROM par_orders GROUP BY customer_id;
SELECT (SELECT count(*) FROM serial_profiles) AS customers,
       (SELECT count(*) FROM (SELECT customer_id, p::text FROM serial_profiles
                              EXCEPT ALL SELECT customer_id, p::text FROM parallel_profiles) d) AS only_serial,
       (SELECT count(*) FROM (SELECT customer_id, p::text FROM parallel_profiles
                              EXCEPT ALL SELECT customer_id, p::text FROM serial_profiles) d) AS only_parallel;
-- All lines in one group: one customer's lines split over the workers.
SELECT (SELECT customer_profile(ordered_at, amount, '2024-06-01', order_id)::text FROM par_orders)
     = (SELECT customer_profile(ordered_at, amount, '2024-06-01', order_id)::text
        FROM (SELECT * FROM par_orders ORDER BY ordered_at DESC LIMIT ALL) s) AS whole_table_same;
EXPLAIN (COSTS OFF)
SELECT typology_model(p, (customer_id % 7)::numeric) FROM serial_profiles;
SELECT pg_temp.workers_launched($$SELECT typology_model(p, (customer_id % 7)::numeric)
                                  FROM serial_profiles$$) > 0 AS workers_ran;
SELECT (SELECT typology_model(p, (customer_id % 7)::numeric)::text FROM serial_profiles)
     = (SELECT m::text FROM serial_model) AS same_model;
SELECT (m).customers, (m).royal_min_revenue_per_year, round((m).mean_revenue_per_year, 2) AS mean_rpy,
       round((m).median_gap_cv::numeric, 6) AS median_gap_cv, (m).service_customers,
       round((m).service_demander_min_intensity::numeric, 6) AS service_min
FROM serial_model;
CREATE TABLE parallel_labels AS
SELECT customer_id, (customer_typology(p, m, service_contacts => (customer_id % 7)::numeric)).labels
FROM parallel_profiles, serial_model;
RESET ALL;
SET search_path = public, customer_priority;
SELECT count(*) AS differing
FROM parallel_labels l JOIN serial_profiles s USING (customer_id), serial_model
WHERE l.labels IS DISTINCT FROM
      (customer_typology(s.p, m, service_contacts => (customer_id % 7)::numeric)).labels;
SELECT labels[1] AS primary_type, count(*) FROM parallel_labels GROUP BY 1 ORDER BY 2 DESC, 1;

-- xyz() with an explicit time_zone: the serial answer in a UTC session, the
-- parallel one in an Auckland session; workers and leader use the zone
-- carried in the state, not their session's.  Orders at midnight UTC fall on
-- the previous day in Los Angeles, so the zone changes many customers' weeks;
-- as_of, Monday 00:00 UTC, is still in the previous week there (not in
-- Auckland), so the leader's final function must use the zone too.
SET TimeZone = 'UTC';
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_xyz AS
SELECT customer_id, xyz(ordered_at, amount, '2024-06-03 00:00+00', 'week', 'America/Los_Angeles') AS x
FROM par_orders GROUP BY customer_id;
SELECT count(*) FILTER (WHERE s.x::text IS DISTINCT FROM u.x::text) > 0 AS zone_matters
FROM serial_xyz s JOIN (SELECT customer_id, xyz(ordered_at, amount, '2024-06-03 00:00+00', 'week') AS x
                        FROM par_orders GROUP BY customer_id) u USING (customer_id);
SET TimeZone = 'Pacific/Auckland';
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF)
SELECT customer_id, xyz(ordered_at, amount, '2024-06-03 00:00+00', 'week', 'America/Los_Angeles')
FROM par_orders GROUP BY customer_id;
SELECT pg_temp.workers_launched($$SELECT customer_id,
                                  xyz(ordered_at, amount, '2024-06-03 00:00+00', 'week', 'America/Los_Angeles')
                                  FROM par_orders GROUP BY customer_id$$) > 0 AS workers_ran;
CREATE TABLE parallel_xyz AS
SELECT customer_id, xyz(ordered_at, amount, '2024-06-03 00:00+00', 'week', 'America/Los_Angeles') AS x
FROM par_orders GROUP BY customer_id;
SELECT (SELECT count(*) FROM serial_xyz) AS customers,
       (SELECT count(*) FROM (SELECT customer_id, x::text FROM serial_xyz
                              EXCEPT ALL SELECT customer_id, x::text FROM parallel_xyz) d) AS only_serial,
       (SELECT count(*) FROM (SELECT customer_id, x::text FROM parallel_xyz
                              EXCEPT ALL SELECT customer_id, x::text FROM serial_xyz) d) AS only_parallel;
-- All lines in one group: one state split over the workers, then combined.
SELECT pg_temp.workers_launched($$SELECT xyz(ordered_at, amount, '2024-06-03 00:00+00', 'week', 'America/Los_Angeles')
                                  FROM par_orders$$) > 0 AS workers_ran;
CREATE TABLE parallel_xyz_all AS
SELECT xyz(ordered_at, amount, '2024-06-03 00:00+00', 'week', 'America/Los_Angeles') AS x FROM par_orders;
RESET ALL;
SET search_path = public, customer_priority;
SET TimeZone = 'UTC';
SELECT (SELECT x::text FROM parallel_xyz_all)
     = (SELECT xyz(ordered_at, amount, '2024-06-03 00:00+00', 'week', 'America/Los_Angeles')::text
        FROM par_orders) AS whole_table_same;

DROP TABLE par_orders, serial_metrics, serial_breaks, parallel_metrics, par_customers, parallel_segments,
           serial_profiles, serial_model, parallel_profiles, parallel_labels, serial_xyz, parallel_xyz,
           parallel_xyz_all;
