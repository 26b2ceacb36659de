-- ABC classes: abc_cutoffs() and abc_class() against the contract and a
-- plain-SQL reference, the share method, multi-criteria scores, potential.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
-- error_of(query) returns 'SQLSTATE: message' (sql/helpers/error_of.sql).
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- The classic cut: total 100; 50 + 20 = 70 before the two 10s, so both are A
-- (the customer crossing the 80 % line is still A, and equal values share a
-- class); 90 before the 5s: B; zero and negative revenue: C.
CREATE TABLE revenue (customer_id int, revenue numeric);
INSERT INTO revenue VALUES (1, 50), (2, 20), (3, 10), (4, 10), (5, 5), (6, 5), (7, 0), (8, -3), (9, NULL);
SELECT (abc_cutoffs(revenue)).* FROM revenue;
SELECT customer_id, revenue, abc_class(revenue, c) AS class
FROM revenue, (SELECT abc_cutoffs(revenue) AS c FROM revenue) p
ORDER BY customer_id;

-- Ties across the 80 % line: 40 + 40 + 20, both 40s are A, the 20 (80 before
-- it, not below 80) is B.
SELECT v, abc_class(v, c)
FROM unnest('{40,40,20}'::numeric[]) v, (SELECT abc_cutoffs(v) AS c FROM unnest('{40,40,20}'::numeric[]) v) p;
-- All customers equal: nobody is before anybody, all A.
SELECT (abc_cutoffs(7.5)).a_customers FROM generate_series(1, 10);
-- One customer: A.  All revenue negative or zero: all C, no cut-offs.
SELECT abc_class(3, abc_cutoffs(3)) AS single;
SELECT (c).total, (c).a_min, (c).b_min, abc_class(-1, c) AS negative, abc_class(0, c) AS zero
FROM (SELECT abc_cutoffs(v) AS c FROM unnest('{-1,-5,0}'::numeric[]) v) p;
-- Empty input: no cut-offs (NULL); classifying against NULL gives NULL.
SELECT abc_cutoffs(v) IS NULL AS empty FROM unnest('{}'::numeric[]) v;
SELECT abc_class(1, NULL) IS NULL AS no_class;
-- b = 1: every customer with positive revenue is A or B.
SELECT string_agg(abc_class(v, c), '' ORDER BY v DESC)
FROM unnest('{50,30,15,5,0}'::numeric[]) v,
     (SELECT abc_cutoffs(v, 0.5, 1) AS c FROM unnest('{50,30,15,5,0}'::numeric[]) v) p;
-- Exact money: thresholds and sums are numeric, no float rounding at the line.
SELECT string_agg(abc_class(v, c), '' ORDER BY v DESC)
FROM unnest('{0.7,0.1,0.1,0.1}'::numeric[]) v,
     (SELECT abc_cutoffs(v, 0.8, 0.9) AS c FROM unnest('{0.7,0.1,0.1,0.1}'::numeric[]) v) p;

-- The share method: class A = the top a share of customers by value.
SELECT (abc_cutoffs(revenue, 0.2, 0.5, 'share')).* FROM revenue;
SELECT customer_id, revenue, abc_class(revenue, c) AS class
FROM revenue, (SELECT abc_cutoffs(revenue, 0.2, 0.5, 'share') AS c FROM revenue) p
WHERE revenue IS NOT NULL ORDER BY customer_id;

-- Against a plain-SQL reference of the contract on generated orders
-- (3,000 customers): zero differences, for both methods and two thresholds.
\set ECHO none
\set QUIET on
\set customers 3000
\set seed 11
\i test/generate_orders.sql
\set QUIET off
\set ECHO all
CREATE TABLE gen_revenue AS
SELECT customer_id, (rfm(ordered_at, amount, '2025-01-01', order_id)).monetary AS revenue
FROM orders GROUP BY customer_id;
CREATE TABLE reference AS
SELECT customer_id, revenue,
       coalesce(sum(greatest(revenue, 0)) OVER w, 0) AS before_value,
       coalesce(count(*) OVER w, 0) AS before_customers,
       sum(greatest(revenue, 0)) OVER () AS total_value,
       count(*) OVER () AS total_customers
FROM gen_revenue
WINDOW w AS (ORDER BY revenue DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP);
SELECT t.a, t.b, t.method, count(*) AS customers,
       count(*) FILTER (WHERE abc_class(r.revenue, c) =
           CASE WHEN t.method = 'pareto' THEN
                CASE WHEN r.revenue > 0 AND r.before_value < t.a * r.total_value THEN 'A'
                     WHEN r.revenue > 0 AND r.before_value < t.b * r.total_value THEN 'B' ELSE 'C' END
           ELSE CASE WHEN r.before_customers < t.a * r.total_customers THEN 'A'
                     WHEN r.before_customers < t.b * r.total_customers THEN 'B' ELSE 'C' END
           END) AS same_as_sql,
       string_agg(DISTINCT abc_class(r.revenue, c), '' ORDER BY abc_class(r.revenue, c)) AS classes
FROM (VALUES (0.80, 0.95, 'pareto'), (0.5, 0.7, 'pareto'), (0.2, 0.5, 'share'), (0.1, 0.3, 'share')) t(a, b, method)
CROSS JOIN LATERAL (SELECT abc_cutoffs(revenue, t.a, t.b, t.method) AS c FROM gen_revenue) p
CROSS JOIN reference r
GROUP BY t.a, t.b, t.method ORDER BY t.method, t.a;
-- Pareto in practice: the A customers' share of customers and of revenue.
SELECT (c).a_customers, (c).b_customers, (c).customers,
       round(100.0 * (c).a_customers / (c).customers, 1) AS a_pct_of_customers
FROM (SELECT abc_cutoffs(revenue) AS c FROM gen_revenue) p;

-- A forced parallel plan gives the same cut-offs.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT abc_cutoffs(revenue) FROM gen_revenue;
SELECT (SELECT abc_cutoffs(revenue)::text FROM gen_revenue) AS parallel \gset
SELECT (SELECT abc_cutoffs(revenue, 0.2, 0.5, 'share')::text FROM gen_revenue) AS parallel_share \gset
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;
SELECT (SELECT abc_cutoffs(revenue)::text FROM gen_revenue) = :'parallel' AS same_pareto,
       (SELECT abc_cutoffs(revenue, 0.2, 0.5, 'share')::text FROM gen_revenue) = :'parallel_share' AS same_share;
RESET max_parallel_workers_per_gather;

-- Multi-criteria ABC: each criterion ranked 0..1 with cume_dist(), combined
-- with weights, cut by shares of customers or by the Pareto rule on the score.
-- Revenue only (weights {1,0,0,0}) ranks customers exactly as revenue does.
CREATE TABLE criteria AS
SELECT customer_id, (m).monetary AS revenue, (m).monetary * 0.3 AS margin,
       (m).frequency, (m).tenure_days, customer_potential(m) AS potential
FROM (SELECT customer_id, rfm(ordered_at, amount, '2025-01-01', order_id) AS m
      FROM orders GROUP BY customer_id) s;
CREATE TABLE ranked AS
SELECT customer_id, revenue,
       cume_dist() OVER (ORDER BY revenue) AS revenue_rank,
       cume_dist() OVER (ORDER BY margin) AS margin_rank,
       (cume_dist() OVER (ORDER BY frequency) + cume_dist() OVER (ORDER BY tenure_days)) / 2 AS loyalty_rank,
       cume_dist() OVER (ORDER BY potential NULLS FIRST) AS potential_rank
FROM criteria;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE abc_weighted_score(ARRAY[revenue_rank, margin_rank, loyalty_rank, potential_rank],
                                                 '{1,0,0,0}') = revenue_rank) AS revenue_only_is_revenue_rank
FROM ranked;
CREATE TABLE weighted AS
SELECT customer_id, revenue,
       abc_weighted_score(ARRAY[revenue_rank, margin_rank, loyalty_rank, potential_rank],
                          '{0.4,0.2,0.2,0.2}')::numeric AS score
FROM ranked;
SELECT method, abc_class(score, c) AS class, count(*) AS customers, round(avg(revenue), 2) AS avg_revenue
FROM weighted,
     LATERAL (VALUES ('share'), ('pareto')) m(method),
     LATERAL (SELECT abc_cutoffs(score, 0.2, 0.5, m.method) AS c FROM weighted) p
GROUP BY 1, 2 ORDER BY 1, 2;

-- customer_potential: a monthly buyer of 10 with the last order 25 days ago;
-- one order long ago; no purchase.
SELECT customer_potential(rfm(t, 10, '2024-06-30')) AS monthly
FROM generate_series(timestamptz '2024-01-05', '2024-06-05', interval '1 month') t;
SELECT customer_potential(rfm('2020-01-01', 100, '2024-06-30')) AS one_old_order,
       customer_potential(rfm('2024-06-29', 100, '2024-06-30')) AS one_new_order,
       customer_potential(rfm('2024-06-29', -100, '2024-06-30')) IS NULL AS no_purchase;

-- Bad input.
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT abc_cutoffs(revenue, 0.9, 0.8) FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, 0, 0.8) FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, 0.8, 0.8) FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, 0.8, 1.01) FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, -0.1, 0.5) FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, 'NaN', 0.5) FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, NULL, 0.5) FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, 0.8, 0.95, 'median') FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, 0.8, 0.95, NULL) FROM revenue$$),
    ($$SELECT abc_cutoffs(revenue, 0.5 + customer_id / 100.0, 0.95) FROM revenue$$),
    ($$SELECT abc_cutoffs('NaN'::numeric) FROM revenue$$),
    ($$SELECT abc_class('NaN', c) FROM (SELECT abc_cutoffs(revenue) c FROM revenue) p$$),
    ($$SELECT abc_class(1, ROW(NULL, 0.8, 0.95, 1, 1, 1, 1, 1, 0)::abc_cutoffs)$$),
    ($$SELECT abc_class(1, ROW('median', 0.8, 0.95, 1, 1, 1, 1, 1, 0)::abc_cutoffs)$$),
    ($$SELECT abc_weighted_score('{0.5,0.5}', '{-1,2}')$$),
    ($$SELECT abc_weighted_score('{0.5,0.5}', '{0,0}')$$),
    ($$SELECT abc_weighted_score('{0.5,0.5}', '{1}')$$),
    ($$SELECT abc_weighted_score('{0.5,1.5}', '{1,1}')$$),
    ($$SELECT abc_weighted_score('{0.5,NULL}', '{1,1}')$$),
    ($$SELECT abc_weighted_score('{0.5,0.5}', '{1,NaN}')$$),
    ($$SELECT abc_weighted_score('{}', '{}')$$)
) v(q);

DROP TABLE revenue, orders, gen_revenue, reference, criteria, ranked, weighted;
