-- XYZ regularity: xyz() and xyz_class() on hand-made histories, against a
-- plain-SQL reference, under a parallel plan, and the ABC x XYZ matrix.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
-- error_of(query) returns 'SQLSTATE: message' (sql/helpers/error_of.sql).
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- Histories as of 2024-06-30, by calendar month:
--   regular:   10 every month from January: cv 0, X
--   seasonal:  60 in January, 1 in June: cv 2.19, Z
--   uneven:    10, 20, 10, 20, 10, 20: cv 0.33, X
--   every2nd:  20 every other month: cv 1, Y
--   one_order: one order: no cv, Z
--   two_in_june: two orders in the as_of month only: one period, no cv, Z
--   refunded:  30 in March and April, a 30 refund in April: months 30, 0, ... 
CREATE TABLE histories (customer text, ordered_at timestamptz, amount numeric);
INSERT INTO histories
SELECT 'regular', t, 10 FROM generate_series(timestamptz '2024-01-05', '2024-06-05', interval '1 month') t
UNION ALL VALUES ('seasonal', timestamptz '2024-01-05', 60), ('seasonal', '2024-06-05', 1)
UNION ALL SELECT 'uneven', t, CASE WHEN extract(month FROM t)::int % 2 = 1 THEN 10 ELSE 20 END
          FROM generate_series(timestamptz '2024-01-05', '2024-06-05', interval '1 month') t
UNION ALL SELECT 'every2nd', t, 20 FROM generate_series(timestamptz '2024-01-05', '2024-06-05', interval '2 months') t
UNION ALL VALUES ('one_order', timestamptz '2024-02-10', 99),
                 ('two_in_june', '2024-06-01', 5), ('two_in_june', '2024-06-20', 5),
                 ('refunded', '2024-03-01', 30), ('refunded', '2024-04-01', 30), ('refunded', '2024-04-15', -30),
                 ('late', '2024-07-01', 10), ('late', '2024-05-01', 10), ('late', NULL, 10), ('late', '2024-05-02', NULL);
SELECT customer, (x).periods, (x).active_periods, round((x).mean_revenue::numeric, 4) AS mean,
       round((x).cv::numeric, 4) AS cv, xyz_class((x).cv) AS class
FROM (SELECT customer, xyz(ordered_at, amount, '2024-06-30') AS x FROM histories GROUP BY customer) s
ORDER BY customer;

-- Weeks start on Monday; quarters are calendar quarters.
SELECT (xyz(t, 10, '2024-06-09', 'week')).* AS sunday_monday
FROM unnest('{2024-06-02 23:00, 2024-06-03 00:00}'::timestamptz[]) t;
SELECT (xyz(t, 10, '2024-12-31', 'quarter')).*
FROM unnest('{2024-01-15, 2024-04-15, 2024-07-15, 2024-10-15}'::timestamptz[]) t;
-- Periods are calendar periods in the session time zone.
SET TimeZone = 'Asia/Tokyo';
SELECT (xyz(t, 10, '2024-03-31 12:00+00')).periods AS periods_in_tokyo
FROM unnest('{2024-01-31 20:00+00}'::timestamptz[]) t;
SET TimeZone = 'UTC';
SELECT (xyz(t, 10, '2024-03-31 12:00+00')).periods AS periods_in_utc
FROM unnest('{2024-01-31 20:00+00}'::timestamptz[]) t;

-- An explicit time_zone: the periods are on its calendar, whatever the
-- session's TimeZone.  Three orders of 10 as of 2024-03-31 12:00 UTC, which
-- is 2024-04-01 01:00 in Auckland (UTC+13):
--   UTC:      January, February, March: 10, 10, 10, cv 0, X
--   Auckland: February, March (twice), April (empty): 10, 20, 0, cv 0.8165, Y
CREATE TABLE straddling (ordered_at timestamptz, amount numeric);
INSERT INTO straddling VALUES ('2024-01-31 12:00+00', 10), ('2024-02-29 12:00+00', 10), ('2024-03-15 00:00+00', 10);
SELECT zone, (x).periods, (x).active_periods, round((x).mean_revenue::numeric, 4) AS mean,
       round((x).cv::numeric, 4) AS cv, xyz_class((x).cv) AS class
FROM (SELECT 'session (UTC)' AS zone, xyz(ordered_at, amount, '2024-03-31 12:00+00') AS x FROM straddling
      UNION ALL
      SELECT 'UTC', xyz(ordered_at, amount, '2024-03-31 12:00+00', 'month', 'UTC') FROM straddling
      UNION ALL
      SELECT 'Pacific/Auckland', xyz(ordered_at, amount, '2024-03-31 12:00+00', 'month', 'Pacific/Auckland')
      FROM straddling) s;
SET TimeZone = 'America/Los_Angeles';
SELECT zone, (x).periods, (x).active_periods, round((x).mean_revenue::numeric, 4) AS mean,
       round((x).cv::numeric, 4) AS cv, xyz_class((x).cv) AS class
FROM (SELECT 'session (America/Los_Angeles)' AS zone, xyz(ordered_at, amount, '2024-03-31 12:00+00') AS x
      FROM straddling
      UNION ALL
      SELECT 'UTC', xyz(ordered_at, amount, '2024-03-31 12:00+00', 'month', 'UTC') FROM straddling
      UNION ALL
      SELECT 'Pacific/Auckland', xyz(ordered_at, amount, '2024-03-31 12:00+00', 'month', 'Pacific/Auckland')
      FROM straddling) s;
SET TimeZone = 'Pacific/Auckland';
SELECT (xyz(ordered_at, amount, '2024-03-31 12:00+00')).* AS session_auckland FROM straddling;
-- Zone names are case-insensitive, as in SET TimeZone.
SELECT (xyz(ordered_at, amount, '2024-03-31 12:00+00', 'month', 'utc')).* AS explicit_utc FROM straddling;
SET TimeZone = 'UTC';
-- Weeks start on Monday in the given zone: Sunday 23:00 UTC is Monday in Auckland.
SELECT (xyz(t, 10, '2024-06-09', 'week', 'Pacific/Auckland')).* AS monday_in_auckland
FROM unnest('{2024-06-02 23:00, 2024-06-03 00:00}'::timestamptz[]) t;
-- Before 1970 and across years.
SELECT (xyz(t, 10, '1961-02-01')).* FROM unnest('{1960-11-30, 1960-12-01, 1961-01-31}'::timestamptz[]) t;
-- No counted row: NULL; only refunds: no periods.
SELECT xyz(now(), 1, '2000-01-01') IS NULL AS all_after_as_of;
SELECT (xyz('2024-01-01', -5, '2024-06-30')).*;

-- xyz_class thresholds.
SELECT cv, xyz_class(cv) AS default_classes, xyz_class(cv, 0.2, 0.6) AS strict_classes
FROM unnest('{0, 0.2, 0.5, 0.50001, 0.6, 1, 1.5}'::float8[]) cv;

-- Against a plain-SQL reference on generated orders (3,000 customers).
\set ECHO none
\set QUIET on
\set customers 3000
\set seed 5
\i test/generate_orders.sql
\set QUIET off
\set ECHO all
CREATE TABLE ours AS
SELECT customer_id, xyz(ordered_at, amount, '2024-12-31 12:00') AS x FROM orders GROUP BY customer_id;
CREATE TABLE reference AS
WITH firsts AS (
    SELECT customer_id, date_trunc('month', min(ordered_at) FILTER (WHERE amount > 0)) AS first_month
    FROM orders WHERE ordered_at <= '2024-12-31 12:00' GROUP BY customer_id),
months AS (
    SELECT customer_id, generate_series(first_month, date_trunc('month', timestamptz '2024-12-31 12:00'),
                                        interval '1 month') AS month
    FROM firsts WHERE first_month IS NOT NULL),
revenue AS (
    SELECT customer_id, date_trunc('month', ordered_at) AS month, sum(amount) AS revenue,
           bool_or(amount > 0) AS purchased
    FROM orders WHERE ordered_at <= '2024-12-31 12:00' GROUP BY 1, 2),
per_month AS (
    SELECT customer_id, month, coalesce(r.revenue, 0) AS revenue, coalesce(r.purchased, false) AS purchased
    FROM months LEFT JOIN revenue r USING (customer_id, month))
SELECT customer_id, count(*) AS periods, count(*) FILTER (WHERE purchased) AS active_periods,
       avg(revenue)::float8 AS mean_revenue,
       CASE WHEN count(*) FILTER (WHERE purchased) >= 2 AND avg(revenue) > 0
            THEN (stddev_pop(revenue) / avg(revenue))::float8 END AS cv
FROM per_month GROUP BY customer_id;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (o.x).periods = r.periods AND (o.x).active_periods = r.active_periods
                          AND abs((o.x).mean_revenue - r.mean_revenue) <= 1e-9 * greatest(1, abs(r.mean_revenue))
                          AND ((o.x).cv IS NULL AND r.cv IS NULL
                               OR abs((o.x).cv - r.cv) <= 1e-9 * greatest(1, r.cv))) AS same_as_sql,
       count(*) FILTER (WHERE xyz_class((o.x).cv) = xyz_class(r.cv)) AS same_class
FROM ours o JOIN reference r USING (customer_id);
SELECT xyz_class((x).cv) AS class, count(*) FROM ours GROUP BY 1 ORDER BY 1;
-- time_zone 'UTC' gives the session-zone answer above (computed in UTC), also
-- when the session's TimeZone is another one, which moves some customers'
-- orders into other months for the form without time_zone.
SET TimeZone = 'Asia/Kolkata';
SELECT count(*) AS customers,
       count(*) FILTER (WHERE o.x::text IS NOT DISTINCT FROM z.x::text) AS same_as_session_utc,
       count(*) FILTER (WHERE o.x::text IS DISTINCT FROM k.x::text) AS session_form_differs
FROM ours o
FULL JOIN (SELECT customer_id, xyz(ordered_at, amount, '2024-12-31 12:00+00', 'month', 'UTC') AS x
           FROM orders GROUP BY customer_id) z USING (customer_id)
FULL JOIN (SELECT customer_id, xyz(ordered_at, amount, '2024-12-31 12:00+00') AS x
           FROM orders GROUP BY customer_id) k USING (customer_id);
SET TimeZone = 'UTC';

-- A forced parallel plan gives the same metrics.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT customer_id, xyz(ordered_at, amount, '2024-12-31 12:00') FROM orders GROUP BY customer_id;
CREATE TABLE ours_parallel AS
SELECT customer_id, xyz(ordered_at, amount, '2024-12-31 12:00') AS x FROM orders GROUP BY customer_id;
RESET ALL;
SET search_path = public, customer_priority;
SET TimeZone = 'UTC';
SELECT count(*) AS differing
FROM ours o FULL JOIN ours_parallel p USING (customer_id)
WHERE o.x::text IS DISTINCT FROM p.x::text;

-- The ABC x XYZ matrix: customers per revenue class and regularity class.
WITH customers AS (
    SELECT customer_id, (rfm(ordered_at, amount, '2024-12-31 12:00', order_id)).monetary AS revenue,
           xyz(ordered_at, amount, '2024-12-31 12:00') AS x
    FROM orders GROUP BY customer_id),
classes AS (
    SELECT abc_class(revenue, c) AS abc, xyz_class((x).cv) AS xyz
    FROM customers, (SELECT abc_cutoffs(revenue) AS c FROM customers) p)
SELECT abc AS "ABC \ XYZ",
       count(*) FILTER (WHERE xyz = 'X') AS "X",
       count(*) FILTER (WHERE xyz = 'Y') AS "Y",
       count(*) FILTER (WHERE xyz = 'Z') AS "Z"
FROM classes GROUP BY abc ORDER BY abc;

-- Bad input.
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT xyz(now(), 1, NULL)$$),
    ($$SELECT xyz(now(), 1, now(), 'year')$$),
    ($$SELECT xyz(now(), 1, now(), NULL)$$),
    ($$SELECT xyz(ordered_at, amount, '2024-06-30', CASE WHEN amount > 10 THEN 'week' ELSE 'month' END) FROM histories$$),
    ($$SELECT xyz(now(), 1, now(), 'month', 'Mars/Olympus')$$),
    ($$SELECT xyz(now(), 1, now(), 'month', NULL)$$),
    ($$SELECT xyz(ordered_at, amount, '2024-06-30', 'month', CASE WHEN amount > 10 THEN 'UTC' ELSE 'Pacific/Auckland' END) FROM histories$$),
    ($$SELECT xyz(now(), 'NaN', now())$$),
    ($$SELECT xyz('infinity', 1, now())$$),
    ($$SELECT xyz(now(), 1, 'infinity')$$),
    ($$SELECT xyz_class(0.5, 1, 0.5)$$),
    ($$SELECT xyz_class(0.5, -1, 0.5)$$),
    ($$SELECT xyz_class(0.5, NULL, 1)$$),
    ($$SELECT xyz_class(0.5, 0.5, 'Infinity')$$),
    ($$SELECT xyz_class(-0.1)$$),
    ($$SELECT xyz_class('NaN')$$)
) v(q);

DROP TABLE histories, straddling, orders, ours, reference, ours_parallel;
