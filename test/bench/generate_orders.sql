-- test/bench/generate_orders.sql: a deterministic synthetic orders table for the
-- benchmark (test/bench/run.sh), one row per ORDER.
--
--   psql -v orders=1000000 -v customers=100000 -v seed=1 -f test/bench/generate_orders.sql
--
-- Every variable is optional (defaults: orders=1000000, customers=orders/10,
-- seed=1). Creates (replaces) the table
--
--   bench_orders (order_id bigint, customer_id bigint, ordered_at timestamptz,
--                 amount numeric(12,2))
--
-- with exactly :orders rows, stored in time order (inserted ORDER BY ordered_at,
-- order_id), as an append-only orders table is: a customer's rows are spread over
-- the whole table, not clustered. No index. Then VACUUM ANALYZE, so that the
-- benchmark does not pay for hint bits or missing statistics.
-- Generation takes ~5 s per million rows on 2 cores (about 1 minute for 10 M);
-- run.sh prints the time it took.
--
-- Distributions (all per customer unless said otherwise):
--   orders      every customer has at least one; the other orders - customers
--               rows ("extra" rows) are shared out in proportion to a weight:
--               0 for 40% of the customers (one-time buyers), else a Pareto
--               (Lomax) draw min(1000, U^(-1/1.5) - 1): most repeat customers
--               a few orders, a heavy tail of big ones. Rounding keeps the
--               total exact: customer c gets floor(E*W_c/W) - floor(E*W_(c-1)/W)
--               extra rows, E = orders - customers, W_c the running sum of the
--               weights in customer order, W their total; so there are exactly
--               :orders rows. With the default 10 rows per customer (measured
--               at 1 M customers): 45% one-time buyers, median 2 rows, 90th
--               percentile 19, 99th 113, the biggest customer ~7,800; the top
--               20% of the customers hold 80% of the rows (Pareto's 80/20), the
--               top 1% 31%.
--   dates       each customer buys in an activity window inside 2022-01-01 00:00
--               .. 2024-12-31 23:00 UTC: one end of it is uniform over that span,
--               the other lies a fraction sqrt(U) of the way to the span's start
--               or (as often) its end. Sales are uniform in the window, to the
--               second: customers differ in recency (churn) and in tenure, and
--               each year gets about the same number of rows.
--   amount      log-normal: exp(ln 40 + 0.7 Zc + 0.8 Z) rounded to cents (at
--               least 0.01), Zc one standard normal per customer (big and small
--               spenders), Z one per order: median order 40.00, mean ~70.
--   refunds     ~3% of all rows: a customer's row k >= 2 is a refund with
--               probability p = 0.03 * orders / (orders - customers), so that
--               p * (extra rows) = 3% of the rows (one-time buyers have no refund).
--               A refund returns the full amount (negative) of an earlier sale
--               of the same customer, chosen uniformly among its rows 1..k-1
--               (row 1 if the chosen row is itself a refund; rarely, an order is
--               refunded twice), 1 s .. 30 days after that sale (never after
--               2024-12-31 23:59:59 UTC). A customer's first row in time is a
--               sale; the last one may be a refund.
--   order_id    1, 2, 3, ... in order of ordered_at (ties: customer, then the
--               customer's row number), as a shop numbers its orders.
--   customer_id 1 .. customers, each with at least one row (a sale).
--
-- The benchmark's as_of is 2025-01-01 00:00 UTC, just after the last possible row.
--
-- Deterministic: every random number is a hash of (seed, customer, row, purpose)
-- built by chaining hashint8extended(key, previous hash); random() is never used.
-- Same arguments => same rows on any run and any plan (parallel or not).
-- hashint8extended hashes the integer's value, not its bytes, so the data does
-- not depend on the machine's endianness (the floating-point ln/exp/cos could,
-- in principle, differ in the last bit between libms).
--
-- Set-based (generate_series, window sums), no loops. Two statements: the
-- customers (one narrow row each, into an unlogged helper table), then their
-- orders by CREATE TABLE AS, which PostgreSQL may run in parallel (an INSERT ...
-- SELECT never is in PostgreSQL 15); the only big sort is the one that puts the
-- rows in time order.

\set ON_ERROR_STOP on
\set QUIET on
\if :{?orders}
\else
  \set orders 1000000
\endif
\if :{?customers}
\else
  SELECT greatest(1, :orders::bigint / 10) AS customers \gset
\endif
\if :{?seed}
\else
  \set seed 1
\endif

SET client_min_messages = warning;   -- no "table does not exist, skipping"

-- The arguments go through settings so that a DO block can check them (psql
-- does not interpolate variables inside dollar quotes).
SET bench.orders = :'orders';
SET bench.customers = :'customers';
SET bench.seed = :'seed';
DO $$
BEGIN
    IF current_setting('bench.orders') !~ '^[0-9]+$'
       OR current_setting('bench.customers') !~ '^[0-9]+$'
       OR current_setting('bench.seed') !~ '^-?[0-9]+$' THEN
        RAISE EXCEPTION 'orders and customers must be whole numbers, seed an integer';
    END IF;
    IF current_setting('bench.customers')::bigint < 1
       OR current_setting('bench.orders')::bigint < current_setting('bench.customers')::bigint THEN
        RAISE EXCEPTION 'need 1 <= customers <= orders (got orders=%, customers=%)',
            current_setting('bench.orders'), current_setting('bench.customers');
    END IF;
END
$$;

-- Refund probability of a customer's rows 2, 3, ...: 3% of all rows.
SELECT CASE WHEN :orders::bigint = :customers::bigint THEN 0
            ELSE least(0.5, 0.03 * :orders::float8 / (:orders::bigint - :customers::bigint))
       END AS refund_p \gset

-- u(h): a uniform number in the open interval (0, 1) from the top 53 bits of a
-- hash (open: ln(u) must stay finite). Inlined by the planner (one-expression
-- SQL function), so it costs nothing and does not stop parallel plans.
CREATE OR REPLACE FUNCTION pg_temp.cp_u(h bigint) RETURNS float8
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT (((h >> 11) & 9007199254740991)::float8 + 0.5) / 9007199254740992.0 $$;

-- z(h): a standard normal number (Box-Muller) from a hash.
CREATE OR REPLACE FUNCTION pg_temp.cp_z(h bigint) RETURNS float8
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT sqrt(-2.0 * ln(pg_temp.cp_u(h)))
               * cos(2.0 * pi() * pg_temp.cp_u(hashint8extended(-100, h))) $$;

DROP TABLE IF EXISTS bench_orders;
DROP TABLE IF EXISTS bench_customer_gen;

-- One row per customer: its hash, amount level, activity window and row count.
-- Unlogged, not temporary: a temporary table cannot be read by parallel workers.
-- Times are epoch seconds (UTC): 2022-01-01 00:00:00 = 1640995200; sales end at
-- 2024-12-31 23:00:00 = 1735686000.
CREATE UNLOGGED TABLE bench_customer_gen AS
WITH
customer AS (
  SELECT c, hc,
         -- weight of the customer's extra rows, in millionths (exact integer sums)
         CASE WHEN pg_temp.cp_u(hashint8extended(-1, hc)) < 0.40 THEN 0
              ELSE round(1e6 * least(1000.0, pg_temp.cp_u(hashint8extended(-2, hc)) ^ (-1.0 / 1.5) - 1.0))
         END::bigint AS w,
         ln(40.0) + 0.7 * pg_temp.cp_z(hashint8extended(-3, hc)) AS mu,
         -- activity window [lo, hi]: one end uniform, the other a random
         -- fraction of the way to the start or (as often) the end of the span
         CASE WHEN pg_temp.cp_u(hashint8extended(-6, hc)) < 0.5
              THEN x ELSE x - (x - 1640995200) * f END AS lo,
         CASE WHEN pg_temp.cp_u(hashint8extended(-6, hc)) < 0.5
              THEN x + (1735686000 - x) * f ELSE x END AS hi
  FROM generate_series(1, :customers::bigint) AS c,
       LATERAL (SELECT hashint8extended(c, :seed::bigint) AS hc) AS h,
       LATERAL (SELECT 1640995200 + (1735686000 - 1640995200)
                         * pg_temp.cp_u(hashint8extended(-4, hc)) AS x,
                       sqrt(pg_temp.cp_u(hashint8extended(-5, hc))) AS f) AS w
),
running AS (
  SELECT *, sum(w) OVER (ORDER BY c ROWS UNBOUNDED PRECEDING) AS cum, sum(w) OVER () AS total
  FROM customer
)
-- extra rows: floor(E * W_c / W) - floor(E * W_(c-1) / W) telescopes to exactly
-- E = orders - customers; evenly shared if every weight is 0 (tiny runs)
SELECT c, hc, mu, lo, hi,
       (1 + CASE WHEN total > 0
                 THEN div((:orders::numeric - :customers::bigint) * cum, total)
                    - div((:orders::numeric - :customers::bigint) * (cum - w), total)
                 ELSE div((:orders::numeric - :customers::bigint) * c, :customers::bigint)
                    - div((:orders::numeric - :customers::bigint) * (c - 1), :customers::bigint)
            END)::int AS n
FROM running;

ANALYZE bench_customer_gen;

-- Every row k of customer c: a sale, or (k >= 2, probability :refund_p) a refund
-- of the sale j < k. The sale j's time and amount are functions of the hash of
-- (c, j), so a refund recomputes them instead of joining.
CREATE TABLE bench_orders AS
WITH
slot AS (
  SELECT g.c, k, g.hc, g.mu, g.lo, g.hi, hk,
         k > 1 AND pg_temp.cp_u(hashint8extended(-1, hk)) < :refund_p AS is_refund
  FROM bench_customer_gen AS g,
       generate_series(1, g.n) AS k,
       LATERAL (SELECT hashint8extended(k, g.hc) AS hk) AS h
),
target AS (
  -- j: the sale this row is (itself) or refunds (a uniform earlier row, or row 1
  -- if that one is a refund too: row 1 always is a sale)
  SELECT slot.*, hashint8extended(j, hc) AS hj
  FROM slot,
       LATERAL (SELECT CASE WHEN NOT is_refund THEN k
                            ELSE 1 + floor((k - 1) * pg_temp.cp_u(hashint8extended(-2, hk)))::int
                       END AS j0) AS a,
       LATERAL (SELECT CASE WHEN is_refund AND j0 > 1
                             AND pg_temp.cp_u(hashint8extended(-1, hashint8extended(j0, hc))) < :refund_p
                            THEN 1 ELSE j0 END AS j) AS b
),
priced AS (
  SELECT c, k, is_refund, hk,
         floor(lo + (hi - lo) * pg_temp.cp_u(hashint8extended(-3, hj)))::bigint AS t_sale,
         greatest(0.01, round(exp(mu + 0.8 * pg_temp.cp_z(hashint8extended(-4, hj)))::numeric, 2)) AS sale_amount
  FROM target
),
timed AS (
  SELECT c, k,
         CASE WHEN is_refund
              -- 1 s .. 30 days later, at the latest 2024-12-31 23:59:59 = 1735689599
              THEN t_sale + 1 + floor((least(30 * 86400, 1735689599 - t_sale) - 1)
                                      * pg_temp.cp_u(hashint8extended(-5, hk)))::bigint
              ELSE t_sale END AS t,
         CASE WHEN is_refund THEN -sale_amount ELSE sale_amount END AS amount
  FROM priced
)
SELECT row_number() OVER (ORDER BY t, c, k)::bigint AS order_id,
       c::bigint AS customer_id,
       to_timestamp(t) AS ordered_at,
       amount::numeric(12,2) AS amount
FROM timed
ORDER BY t, c, k;

DROP TABLE bench_customer_gen;
DROP FUNCTION pg_temp.cp_z(bigint);
DROP FUNCTION pg_temp.cp_u(bigint);
RESET client_min_messages;

VACUUM ANALYZE bench_orders;
