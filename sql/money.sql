-- Exact money sums.  Amounts are added as int64 counts of 1/10000 when that is
-- exact (nearly always) and as numeric otherwise; either way rfm(), the
-- whole-table path and customer_profile() must give the very number, with the
-- very display scale, that numeric's own sum() gives.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;

CREATE TABLE money_rows (customer bigint, amount numeric);
INSERT INTO money_rows VALUES
    (1, 10), (1, 2.5), (1, 0.25),                       -- 12.75: the largest scale, 2
    (2, 1.50), (2, 1),                                  -- 2.50: scale 2 kept for a whole sum
    (3, 1.00000), (3, 2),                               -- 3.00000: scale 5, still exact in units
    (4, 0.00001), (4, 1),                               -- 1.00001: a 5th decimal, numeric part
    (5, 922337203685477.5807), (5, 0.0001),             -- one unit past int64: overflow to numeric
    (6, 1e20), (6, 3.14),                               -- too large for units
    (7, -5.5), (7, 20),                                 -- refund: returned 5.5, net 14.5
    (8, 99999999999999999999.9999), (8, -99999999999999999999.9999), (8, 1),
    (9, 0), (9, 7.0),                                   -- zero is no purchase: 7.0
    (10, -0.001), (10, -2),                             -- refunds only: net -2.001
    (11, 0.0000), (11, 12345678.1234);                  -- scale 4, zero with scale
-- The plain-SQL net revenue: purchases minus refunds.
CREATE VIEW money_expected AS
SELECT customer,
       coalesce(sum(amount) FILTER (WHERE amount > 0), 0)
         - coalesce(sum(-amount) FILTER (WHERE amount < 0), 0) AS net,
       coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS gross,
       coalesce(sum(-amount) FILTER (WHERE amount < 0), 0) AS returned
FROM money_rows GROUP BY customer;

-- rfm(): value and text (the display scale) of gross, returned and monetary.
SELECT e.customer, (m).gross, (m).returned, (m).monetary,
       (m).monetary::text = e.net::text AS same_net,
       (m).gross::text = e.gross::text AND (m).returned::text = e.returned::text AS same_parts
FROM (SELECT customer, rfm(timestamptz '2024-01-01', amount, timestamptz '2024-02-01') AS m
      FROM money_rows GROUP BY customer) r
JOIN money_expected e USING (customer)
ORDER BY 1;

-- The whole-table path: one customer outside units (4, 5, 6, 8) puts the
-- whole population on the numeric path; without them it stays on units.
-- Both give the plain-SQL net revenue, and the scores of the composable way.
SELECT s.customer_id, s.monetary, s.monetary::text = e.net::text AS same_net, s.m_score, s.abc_class
FROM population_scores((SELECT score_population(customer, timestamptz '2024-01-01', amount, timestamptz '2024-02-01', 3, 0.8, 0.95)
                        FROM money_rows)) s
JOIN money_expected e ON e.customer = s.customer_id
ORDER BY 1;
SELECT s.customer_id, s.monetary, s.monetary::text = e.net::text AS same_net, s.m_score, s.abc_class
FROM population_scores((SELECT score_population(customer, timestamptz '2024-01-01', amount, timestamptz '2024-02-01', 3, 0.8, 0.95)
                        FROM money_rows WHERE customer NOT IN (4, 5, 6, 8))) s
JOIN money_expected e ON e.customer = s.customer_id
ORDER BY 1;

-- Both paths against the composable aggregates, on 20,000 random amounts of
-- every scale from 0 to 6 decimals and magnitudes up to 1e12, refunds
-- included: no customer differs in net revenue (value and scale), scores or
-- class, serially and under a forced parallel plan (which serializes the sums).
CREATE TABLE random_rows AS
SELECT (i % 700)::bigint AS customer,
       timestamptz '2023-01-01' + (i * 7919 % 365) * interval '1 day' AS ordered_at,
       round(((i * 104729 % 2000003) - 300000)::numeric / 1000
             * (10::numeric ^ (i % 5)), i % 7) AS amount
FROM generate_series(1, 20000) AS i;
SELECT count(*) FILTER (WHERE scale(amount) > 4) AS beyond_units, count(DISTINCT scale(amount)) AS scales,
       count(*) FILTER (WHERE amount < 0) AS refunds
FROM random_rows;
CREATE FUNCTION composable_scores(rows_filter text)
RETURNS TABLE (customer_id bigint, monetary text, r_score int, f_score int, m_score int, abc_class text)
LANGUAGE plpgsql AS $f$
BEGIN
    RETURN QUERY EXECUTE format($q$
    WITH m AS (SELECT customer, rfm(ordered_at, amount, timestamptz '2024-01-01') AS m
               FROM random_rows WHERE %s GROUP BY customer),
         b AS (SELECT rfm_breaks((m).last_order, (m).frequency, (m).monetary, 5) AS b FROM m),
         c AS (SELECT abc_cutoffs((m).monetary, 0.8, 0.95) AS c FROM m)
    SELECT m.customer, (m).monetary::text, s.recency_score, s.frequency_score, s.monetary_score,
           abc_class((m).monetary, c.c)
    FROM m CROSS JOIN b CROSS JOIN c
    LEFT JOIN LATERAL rfm_score((m).last_order, (m).frequency, (m).monetary, b.b) s ON true$q$, rows_filter);
END
$f$;
CREATE FUNCTION whole_table_scores(rows_filter text)
RETURNS TABLE (customer_id bigint, monetary text, r_score int, f_score int, m_score int, abc_class text)
LANGUAGE plpgsql AS $f$
BEGIN
    RETURN QUERY EXECUTE format($q$
    SELECT customer_id, monetary::text, r_score, f_score, m_score, abc_class
    FROM population_scores((SELECT score_population(customer, ordered_at, amount, timestamptz '2024-01-01', 5, 0.8, 0.95)
                            FROM random_rows WHERE %s))$q$, rows_filter);
END
$f$;
CREATE FUNCTION differences(rows_filter text)
RETURNS TABLE (customers bigint, only_composable bigint, only_whole_table bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM composable_scores(rows_filter)),
           (SELECT count(*) FROM (SELECT * FROM composable_scores(rows_filter)
                                  EXCEPT ALL SELECT * FROM whole_table_scores(rows_filter)) x),
           (SELECT count(*) FROM (SELECT * FROM whole_table_scores(rows_filter)
                                  EXCEPT ALL SELECT * FROM composable_scores(rows_filter)) x)
$$;
-- every row (numeric path), the rows exact in units (units path)
SELECT f AS rows_filter, d.* FROM (VALUES ('true'), ('scale(amount) <= 4')) AS v(f), differences(f) d;
-- the same under a forced parallel plan, which serializes and combines the sums
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF)
SELECT score_population(customer, ordered_at, amount, timestamptz '2024-01-01', 5, 0.8, 0.95) FROM random_rows;
EXPLAIN (COSTS OFF)
SELECT customer, rfm(ordered_at, amount, timestamptz '2024-01-01') FROM random_rows GROUP BY customer;
SELECT f AS rows_filter, d.* FROM (VALUES ('true'), ('scale(amount) <= 4')) AS v(f), differences(f) d;
