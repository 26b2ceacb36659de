-- The whole-table path: score_population() / population_scores() /
-- score_customers() give exactly what the composable per-customer aggregates
-- give (rfm() GROUP BY customer, rfm_breaks(), rfm_score(), abc_cutoffs(),
-- abc_class()), serially and under forced parallel plans.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- A hand-worked shop, as_of 2024-01-10 00:00 UTC, 3 bins, ABC a = 0.5, b = 0.9.
--   1: buys 100 on Jan 1 and 50 on Jan 9             net 150, 2 purchases
--   2: buys 30 on Jan 5, refunds 10 on Jan 6          net  20, 1 purchase
--   3: buys 40 on Jan 2, 40 on Jan 3, 40 on Jan 4    net 120, 3 purchases
--   4: refund of 5 only (no purchase)                 net  -5, 0 purchases
--   5: buys 999 on Jan 20, after as_of               not counted: no row
--   NULL customer: skipped
CREATE TABLE shop (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO shop VALUES
    (1, '2024-01-01 10:00', 100), (1, '2024-01-09 23:00', 50),
    (2, '2024-01-05 12:00', 30), (2, '2024-01-06 12:00', -10),
    (3, '2024-01-02 08:00', 40), (3, '2024-01-03 08:00', 40), (3, '2024-01-04 08:00', 40),
    (4, '2024-01-07 09:00', -5),
    (5, '2024-01-20 09:00', 999),
    (NULL, '2024-01-03 09:00', 77);
-- Break points over the 3 purchasers (percentile_disc of 1/3 and 2/3: the
-- 1st and 2nd of 3 sorted values):
--   last purchase: Jan 4 08:00, Jan 5 12:00 (3, 2, 1 -> R = 1, 2, 3 for 3, 2, 1)
--   frequency 1, 2, 3 -> breaks 1, 2 -> F = 1, 2, 3 for 2, 1, 3
--   net 20, 120, 150 -> breaks 20, 120 -> M = 1, 2, 3 for 2, 3, 1
-- ABC over the 4 customers' net revenue, total of the positive = 290:
--   150 (before 0 < 145) A; 120 (before 150 >= 145, < 261) B;
--   20 (before 270 >= 261) C; -5 C.
-- recency_days: Jan 10 - Jan 9 = 1; - Jan 5 = 5; - Jan 4 = 6.
SELECT * FROM score_customers('shop', 'customer_id', 'ordered_at', 'amount',
                              as_of => '2024-01-10', bins => 3, abc_a => 0.5, abc_b => 0.9)
ORDER BY customer_id;

-- The aggregate itself, on an empty table and on rows all after as_of: no row.
SELECT count(*) FROM population_scores(
    (SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', 3, 0.5, 0.9)
     FROM shop WHERE false));
SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', 3, 0.5, 0.9) IS NULL AS null_state
FROM shop WHERE false;
SELECT count(*) FROM population_scores(
    (SELECT score_population(customer_id, ordered_at, amount, '2023-01-01', 3, 0.5, 0.9) FROM shop));

-- Generated order lines: 3,000 customers, order ids, refunds.
CREATE TABLE lines AS
SELECT c AS customer_id,
       c * 1000 + o AS order_id,
       timestamptz '2023-01-01' + (abs(hashint8(c * 1000 + o)) % 500) * interval '1 day'
           + (abs(hashint8(c + o)) % 86400) * interval '1 second' AS ordered_at,
       CASE WHEN abs(hashint8(c * 7 + o)) % 20 = 0 THEN -1 ELSE 1 END
           * ((abs(hashint8(c * 13 + o + l)) % 10000)::numeric / 100) AS amount
FROM generate_series(1, 3000) c,
     LATERAL generate_series(1, 1 + abs(hashint4(c)) % 9) o,
     LATERAL generate_series(1, 1 + (c + o) % 3) l
ORDER BY ordered_at;
ANALYZE lines;
SELECT count(*) AS order_lines, count(DISTINCT customer_id) AS customers FROM lines;

-- The composable way, with and without order ids.
CREATE FUNCTION composable(with_order_id boolean, as_of timestamptz, bins integer)
RETURNS TABLE(customer_id bigint, first_order_at timestamptz, last_order_at timestamptz,
              recency_days integer, frequency bigint, monetary numeric,
              r_score integer, f_score integer, m_score integer, abc_class text)
LANGUAGE sql AS $$
    WITH m AS (
        SELECT l.customer_id,
               CASE WHEN with_order_id THEN rfm(l.ordered_at, l.amount, as_of, l.order_id)
                    ELSE rfm(l.ordered_at, l.amount, as_of) END AS m
        FROM lines l GROUP BY l.customer_id
    ), b AS (SELECT rfm_breaks((m).last_order, (m).frequency, (m).monetary, bins) AS b FROM m),
    c AS (SELECT abc_cutoffs((m).monetary, 0.8, 0.95) AS c FROM m WHERE (m).as_of IS NOT NULL)
    SELECT m.customer_id, (m).first_order, (m).last_order, (m).recency_days, (m).frequency,
           (m).monetary, s.recency_score, s.frequency_score, s.monetary_score,
           abc_class((m).monetary, c.c)
    FROM m CROSS JOIN b CROSS JOIN c
    LEFT JOIN LATERAL rfm_score((m).last_order, (m).frequency, (m).monetary, b.b) s ON true
    WHERE (m).as_of IS NOT NULL
$$;

-- Differences in both directions: 0 rows each time.  as_of mid-history leaves
-- rows after it and customers with only refunds.
SELECT w, a, bins,
       (SELECT count(*) FROM (SELECT * FROM composable(w, a, bins)
                              EXCEPT ALL
                              SELECT * FROM score_customers('lines', 'customer_id', 'ordered_at', 'amount',
                                  a, bins, order_id_column => CASE WHEN w THEN 'order_id' END)) x) AS only_composable,
       (SELECT count(*) FROM (SELECT * FROM score_customers('lines', 'customer_id', 'ordered_at', 'amount',
                                  a, bins, order_id_column => CASE WHEN w THEN 'order_id' END)
                              EXCEPT ALL
                              SELECT * FROM composable(w, a, bins)) x) AS only_fast,
       (SELECT count(*) FROM composable(w, a, bins)) AS customers
FROM (VALUES (false, timestamptz '2024-06-01', 5), (true, '2024-06-01', 5),
             (true, '2023-06-01', 3), (false, '2023-02-01', 10)) AS v(w, a, bins);

-- Forced parallel plans of the aggregate (combine, serial and deserial
-- functions) give the same rows.
CREATE TABLE serial_scores AS
SELECT s.* FROM population_scores(
    (SELECT score_population(customer_id, ordered_at, amount, '2024-06-01', 5, 0.8, 0.95, order_id)
     FROM lines)) s;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF)
SELECT score_population(customer_id, ordered_at, amount, '2024-06-01', 5, 0.8, 0.95, order_id)
FROM lines;
CREATE TABLE parallel_scores AS
SELECT s.* FROM population_scores(
    (SELECT score_population(customer_id, ordered_at, amount, '2024-06-01', 5, 0.8, 0.95, order_id)
     FROM lines)) s;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'off', false) AS unforced;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
SELECT (SELECT count(*) FROM serial_scores) AS customers,
       (SELECT count(*) FROM (SELECT * FROM serial_scores EXCEPT ALL SELECT * FROM parallel_scores) x) AS only_serial,
       (SELECT count(*) FROM (SELECT * FROM parallel_scores EXCEPT ALL SELECT * FROM serial_scores) x) AS only_parallel;

-- Errors.
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT score_population(customer_id, ordered_at, amount, NULL, 5, 0.8, 0.95) FROM shop$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', NULL, 0.8, 0.95) FROM shop$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', 5, NULL, 0.95) FROM shop$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', 5, 0.8, NULL) FROM shop$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', 11, 0.8, 0.95) FROM shop$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', 5, 0.95, 0.8) FROM shop$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, 'infinity', 5, 0.8, 0.95) FROM shop$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', 5, 0.8, 0.95 - customer_id / 1000.0) FROM shop WHERE customer_id IS NOT NULL$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, '2024-01-10', 2 + customer_id % 2, 0.8, 0.95) FROM shop$$),
    ($$SELECT score_population(customer_id, ordered_at, amount, '2024-01-10'::timestamptz + customer_id * interval '1 s', 5, 0.8, 0.95) FROM shop$$),
    ($$SELECT score_population(1, now(), 'NaN', '2024-01-10', 5, 0.8, 0.95)$$),
    ($$SELECT score_population(1, 'infinity', 1, '2024-01-10', 5, 0.8, 0.95)$$),
    ($$SELECT * FROM population_scores('\x00')$$),
    ($$SELECT * FROM population_scores('\x01000000000000000a')$$),
    ($$SELECT * FROM score_customers(NULL, 'customer_id', 'ordered_at', 'amount')$$),
    ($$SELECT * FROM score_customers('shop', 'customer_id', 'ordered_at', 'amount', NULL)$$),
    ($$SELECT * FROM score_customers('shop', 'no_such_column', 'ordered_at', 'amount')$$),
    ($$SELECT * FROM score_customers('shop', 'ordered_at', 'ordered_at', 'amount')$$)
) AS t(q);

-- Memory limit: 1 MB is not enough for 3,000 customers.
SET customer_priority.population_memory_limit = '1MB';
SHOW customer_priority.population_memory_limit;
SELECT pg_temp.error_of($$SELECT count(*) FROM score_customers('lines', 'customer_id', 'ordered_at', 'amount', '2024-06-01')$$)
    ~ '^54000: the customers of score_population\(\) need more than customer_priority.population_memory_limit \(1024 kB\)$' AS limited;
RESET customer_priority.population_memory_limit;
-- (the message's range has units from PostgreSQL 17 on: print up to it)
SELECT split_part(pg_temp.error_of($$SET customer_priority.population_memory_limit = '100kB'$$),
                  ' is outside', 1) AS error;

-- Hostile names are quoted.
CREATE TABLE "odd ""orders""; DROP TABLE shop; --" ("customer id" bigint, "at" timestamptz, "€" numeric);
INSERT INTO "odd ""orders""; DROP TABLE shop; --" VALUES (7, '2024-01-01', 10);
SELECT customer_id, frequency, monetary, abc_class
FROM score_customers('"odd ""orders""; DROP TABLE shop; --"', 'customer id', 'at', '€', '2024-01-10');
SELECT count(*) AS shop_still_there FROM shop;
