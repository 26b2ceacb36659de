-- test/generate_orders.sql: deterministic synthetic order lines for tests and
-- benchmarks.
--
--   psql -v customers=1000 -v seed=1 -f test/generate_orders.sql
--
-- Both variables are optional (defaults: customers=1000, seed=1). Creates
-- (replaces) the table
--
--   orders (order_id bigint, line_no int, customer_id bigint,
--           ordered_at timestamptz, amount numeric(12,2))
--
-- with one row per order LINE: about 8.3 lines per customer, so customers=100000
-- gives ~825,000 lines and customers=1200000 ~10 million (about a minute on 2
-- cores).
--
-- Distributions (all per customer unless said otherwise):
--   orders      n = floor(U^(-1/1.3)), capped at 1000: a discrete Pareto tail,
--               P(n >= k) = k^-1.3. ~59% of customers order once, ~76% at most
--               twice, ~0.25% (a few per thousand) 100 times or more; mean ~3.6.
--   dates       each customer buys in an activity window inside 2022-01-01 00:00
--               .. 2024-12-31 23:00 UTC: one end of it is uniform over that span,
--               the other lies a fraction sqrt(U) of the way to the span's start
--               or (as often) its end. Order times are uniform in the window, to
--               the second. Overall the years get about the same number of rows;
--               customers differ in recency (churn) and in tenure.
--   lines       1-5 per order (40%, 25%, 15%, 12%, 8%); the lines of an order
--               share its order_id and ordered_at; line_no = 1..k.
--   amount      log-normal: exp(ln 25 + 0.6 Zc + 0.9 Z) rounded to cents, where Zc
--               is one standard normal per customer (big and small spenders) and
--               Z one per line: median line 25.00, long right tail.
--   refunds     each line is refunded with probability 3% (~2.9% of all rows are
--               refunds). The refunded lines of an order form one refund order:
--               same customer, a new order_id, negative amounts (the full line
--               amount), a timestamp 1 s .. 30 days after the order (never after
--               2024-12-31 23:59:59 UTC).
--   order_id    1, 2, 3, ... in order of ordered_at (ties: customer, then the
--               original order before its refund), as a shop would number them.
--   customer_id 1 .. customers; every customer has at least one order.
--
-- Deterministic: every random number is a hash of (seed, customer, order, line,
-- purpose) built by chaining hashint8extended(key, previous hash); random() is
-- never used. Same arguments => same rows, on any run and any plan (parallel or
-- not). A customer's rows depend only on (seed, customer): a bigger run contains
-- the smaller one's rows, with other order_ids. hashint8extended hashes the
-- integer's value, not its bytes, so the data does not depend on the machine's
-- endianness either (the floating-point ln/exp/cos could, in principle, differ
-- in the last bit between libms).
-- Set-based (generate_series), no loops; the only sort is one row per order, to
-- number them.

\set ON_ERROR_STOP on
\set QUIET on
\if :{?customers}
\else
  \set customers 1000
\endif
\if :{?seed}
\else
  \set seed 1
\endif

SET client_min_messages = warning;   -- no "table does not exist, skipping"

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

DROP TABLE IF EXISTS orders;
CREATE TABLE orders (
  order_id    bigint,
  line_no     int,
  customer_id bigint,
  ordered_at  timestamptz,
  amount      numeric(12,2)
);

-- Two passes over the orders: number them (a sort of one narrow row per order,
-- not per line), then expand each into its lines.
INSERT INTO orders (order_id, line_no, customer_id, ordered_at, amount)
WITH
-- Times are epoch seconds (UTC): 2022-01-01 00:00:00 = 1640995200; sales end at
-- 2024-12-31 23:00:00 = 1735686000, refunds at 2024-12-31 23:59:59 = 1735689599.
customer AS (
  SELECT c, hc,
         least(1000, floor(pg_temp.cp_u(hashint8extended(-1, hc)) ^ (-1.0 / 1.3)))::int AS n_orders,
         ln(25.0) + 0.6 * pg_temp.cp_z(hashint8extended(-2, hc)) AS mu,
         -- activity window [lo, hi]: one end uniform, the other a random
         -- fraction of the way to the start or (as often) the end of the span
         CASE WHEN pg_temp.cp_u(hashint8extended(-5, hc)) < 0.5
              THEN x ELSE x - (x - 1640995200) * f END AS lo,
         CASE WHEN pg_temp.cp_u(hashint8extended(-5, hc)) < 0.5
              THEN x + (1735686000 - x) * f ELSE x END AS hi
  FROM generate_series(1, :customers::bigint) AS c,
       LATERAL (SELECT hashint8extended(c, :seed::bigint) AS hc) AS h,
       LATERAL (SELECT 1640995200 + (1735686000 - 1640995200)
                         * pg_temp.cp_u(hashint8extended(-3, hc)) AS x,
                       sqrt(pg_temp.cp_u(hashint8extended(-4, hc))) AS f) AS w
),
sale AS (
  SELECT c, o, mu, ho,
         floor(lo + (hi - lo) * pg_temp.cp_u(hashint8extended(-1, ho)))::bigint AS t,
         CASE WHEN u_l < 0.40 THEN 1 WHEN u_l < 0.65 THEN 2 WHEN u_l < 0.80 THEN 3
              WHEN u_l < 0.92 THEN 4 ELSE 5 END AS n_lines
  FROM customer,
       generate_series(1, n_orders) AS o,
       LATERAL (SELECT hashint8extended(o, hc) AS ho) AS h,
       LATERAL (SELECT pg_temp.cp_u(hashint8extended(-2, ho)) AS u_l) AS n
),
-- kind 0: the sale; kind 1: the refund of its refunded lines, if any
any_order AS (
  SELECT c, o, mu, ho, n_lines, k.kind,
         CASE k.kind WHEN 0 THEN t
              ELSE t + 1 + floor((least(30 * 86400, 1735689599 - t) - 1)
                                 * pg_temp.cp_u(hashint8extended(-3, ho)))::bigint
         END AS t
  FROM sale,
       LATERAL (VALUES (0), (1)) AS k(kind)
  WHERE k.kind = 0
     OR EXISTS (SELECT FROM generate_series(1, n_lines) AS l
                WHERE pg_temp.cp_u(hashint8extended(-2, hashint8extended(l, ho))) < 0.03)
),
numbered AS (
  SELECT row_number() OVER (ORDER BY t, c, o, kind) AS order_id, *
  FROM any_order
)
SELECT order_id,
       CASE kind WHEN 0 THEN l
            -- refund lines are numbered 1..k: count the refunded lines up to l
            ELSE (SELECT count(*)::int FROM generate_series(1, l) AS j
                  WHERE pg_temp.cp_u(hashint8extended(-2, hashint8extended(j, ho))) < 0.03)
       END AS line_no,
       c, to_timestamp(t),
       CASE kind WHEN 0 THEN 1 ELSE -1 END
         * greatest(0.01, round(exp(mu + 0.9 * pg_temp.cp_z(hashint8extended(-1, hl)))::numeric, 2))
FROM numbered,
     generate_series(1, n_lines) AS l,
     LATERAL (SELECT hashint8extended(l, ho) AS hl) AS h
WHERE kind = 0
   OR pg_temp.cp_u(hashint8extended(-2, hl)) < 0.03;

ANALYZE orders;

DROP FUNCTION pg_temp.cp_z(bigint);
DROP FUNCTION pg_temp.cp_u(bigint);
RESET client_min_messages;

SELECT count(*) AS lines, count(DISTINCT order_id) AS orders,
       count(DISTINCT customer_id) AS customers,
       count(*) FILTER (WHERE amount < 0) AS refund_lines,
       min(ordered_at) AS first, max(ordered_at) AS last, sum(amount) AS net_amount
FROM orders;
