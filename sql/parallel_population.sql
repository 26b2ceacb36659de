-- Parallel aggregation of the population-level aggregates that sql/parallel.sql
-- does not cover: abc_cutoffs() (every form), score_population() (both forms),
-- bgnbd_fit() and gamma_gamma_fit().  Each runs as Partial/Finalize Aggregate
-- with workers launched (states serialized across processes) and gives exactly
-- the answer of the serial plan.  (rfm(), rfm_breaks(), customer_profile(),
-- typology_model() and xyz(): sql/parallel.sql.)
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
SET extra_float_digits = 3;

-- About 16,500 order lines of 2,000 customers (test/generate_orders.sql).
\set customers 2000
\set seed 7
\i test/generate_orders.sql
ALTER TABLE orders RENAME TO pp_orders;
-- One row per customer: the inputs of the population aggregates.
CREATE TABLE pp_customers AS
SELECT customer_id, (m).monetary, (purchase_summary(p, 'week')).*
FROM (SELECT customer_id, rfm(ordered_at, amount, '2025-01-01', order_id) AS m,
             customer_profile(ordered_at, amount, '2025-01-01', order_id) AS p
      FROM pp_orders GROUP BY customer_id) s;
ANALYZE pp_orders, pp_customers;
SELECT count(*) AS customers, count(*) FILTER (WHERE x > 0) AS repeat_buyers FROM pp_customers;

-- The queries, each run under a serial and a forced parallel plan.
CREATE TABLE pp_queries (name text PRIMARY KEY, query text NOT NULL);
INSERT INTO pp_queries VALUES
    ('abc_cutoffs', $$SELECT abc_cutoffs(monetary)::text FROM pp_customers$$),
    ('abc_cutoffs_ab', $$SELECT abc_cutoffs(monetary, 0.7, 0.9)::text FROM pp_customers$$),
    ('abc_cutoffs_share', $$SELECT abc_cutoffs(monetary, 0.2, 0.5, 'share')::text FROM pp_customers$$),
    -- the customers' rows, not the bytea: its order of customers is the hash table's
    ('score_population', $$SELECT md5(string_agg(s::text, ',' ORDER BY s.customer_id)) FROM population_scores(
                               (SELECT score_population(customer_id, ordered_at, amount, '2025-01-01', 5, 0.8, 0.95)
                                FROM pp_orders)) s$$),
    ('score_population_ids', $$SELECT md5(string_agg(s::text, ',' ORDER BY s.customer_id)) FROM population_scores(
                                   (SELECT score_population(customer_id, ordered_at, amount, '2025-01-01', 5, 0.8, 0.95,
                                                            order_id) FROM pp_orders)) s$$),
    ('bgnbd_fit', $$SELECT bgnbd_fit(x, t_x, t_cal)::text FROM pp_customers$$),
    -- mean spends drawn so that the model fits (the generator's do not: p runs away)
    ('gamma_gamma_fit', $$SELECT gamma_gamma_fit(1 + abs(hashint8(customer_id)) % 6,
                                                 exp(3 + (abs(hashint8(customer_id * 3)) % 1000) / 1000.0
                                                     + (abs(hashint8(customer_id * 5)) % 1000) / 1000.0
                                                       / (1 + abs(hashint8(customer_id)) % 6))::float8)::text
                          FROM pp_customers$$);

CREATE FUNCTION pg_temp.run(query text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    result text;
BEGIN
    EXECUTE query INTO result;
    RETURN result;
END
$f$;
-- 'Partial Aggregate' in the plan, and workers launched.
CREATE FUNCTION pg_temp.plan(query text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    line text;
    partial boolean := false;
    workers int := 0;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        partial := partial OR line ~ 'Partial Aggregate';
        IF line ~ 'Workers Launched' THEN
            workers := workers + substring(line FROM 'Workers Launched: (\d+)')::int;
        END IF;
    END LOOP;
    RETURN CASE WHEN partial THEN 'Partial Aggregate' ELSE 'no partial aggregate' END
           || CASE WHEN workers > 0 THEN ', workers launched' ELSE ', no worker' END;
END
$f$;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE pp_serial AS SELECT name, pg_temp.run(query) AS result, pg_temp.plan(query) AS plan FROM pp_queries;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF) SELECT abc_cutoffs(monetary) FROM pp_customers;
EXPLAIN (COSTS OFF) SELECT bgnbd_fit(x, t_x, t_cal) FROM pp_customers;
CREATE TABLE pp_parallel AS SELECT name, pg_temp.run(query) AS result, pg_temp.plan(query) AS plan FROM pp_queries;
RESET ALL;
SET search_path = public, customer_priority;

SELECT s.name, s.plan AS serial_plan, p.plan AS parallel_plan, s.result = p.result AS same_result
FROM pp_serial s JOIN pp_parallel p USING (name) ORDER BY s.name;
-- The results themselves (fits rounded: the exact text is compared above).
SELECT name, result FROM pp_serial WHERE name LIKE 'abc%' ORDER BY name;
SELECT round((m).r::numeric, 4) AS r, round((m).alpha::numeric, 4) AS alpha, round((m).a::numeric, 4) AS a,
       round((m).b::numeric, 4) AS b, (m).customers, (m).converged
FROM (SELECT result::bgnbd_model AS m FROM pp_serial WHERE name = 'bgnbd_fit') s;
SELECT round((m).p::numeric, 4) AS p, round((m).q::numeric, 4) AS q, round((m).v::numeric, 4) AS v,
       (m).customers, (m).converged
FROM (SELECT result::gamma_gamma_model AS m FROM pp_serial WHERE name = 'gamma_gamma_fit') s;

DROP TABLE pp_orders, pp_customers, pp_queries, pp_serial, pp_parallel;
