-- Customer potential: purchase_summary(), bgnbd_fit(), gamma_gamma_fit() and the
-- per-customer closed forms, held to the published CDNOW results of Fader,
-- Hardie & Lee (2005): calibration period 1997-01-01 .. 1997-09-30, in weeks.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
SET extra_float_digits = 0;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all
-- The fits' warnings without their detail (iteration counts vary with the platform's
-- floating point); the iterations are columns of the models.
\set VERBOSITY terse

-- test/data/cdnow_sample.txt: customer id (full set), id (1..2357), date, CDs, dollars.
CREATE TABLE cdnow_raw (line text);
\copy cdnow_raw FROM 'test/data/cdnow_sample.txt'
CREATE TABLE cdnow AS
SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD')::timestamptz AS ordered_at,
       f[4]::int AS cds, f[5]::numeric AS amount
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM cdnow_raw) s;
-- the published summary: ID, frequency (x), recency (t_x), T, in weeks, 2 decimals
CREATE TABLE cdnow_published (id int, frequency int, recency numeric, t numeric);
\copy cdnow_published FROM 'test/data/cdnow_customers_summary.csv' WITH (FORMAT csv, HEADER)
SELECT count(*) AS purchases, count(DISTINCT customer_id) AS customers,
       count(*) FILTER (WHERE amount = 0) AS free_purchases FROM cdnow;

-- The summary of each customer, from the same profile aggregate as everything else.
CREATE TABLE cdnow_summary AS
SELECT customer_id,
       purchase_summary(customer_profile(ordered_at, amount, '1997-09-30'), 'week') AS s
FROM cdnow GROUP BY customer_id;

-- Every customer with a paid purchase has exactly the published x, t_x and T
-- (rounded to 2 decimals as published).
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (c.s).x = p.frequency
                          AND round((c.s).t_x::numeric, 2) = p.recency
                          AND round((c.s).t_cal::numeric, 2) = p.t) AS identical,
       count(*) FILTER (WHERE c.s IS NULL) AS no_purchase
FROM cdnow_summary c JOIN cdnow_published p ON p.id = c.customer_id;
-- The 8 without a summary: their only transaction was one free CD ($0.00).  A
-- purchase is a row with a positive amount throughout the extension, so they
-- have none; the published summary counts them with x = 0.
SELECT c.customer_id, o.ordered_at::date, o.cds, o.amount, p.frequency, p.t
FROM cdnow_summary c JOIN cdnow o USING (customer_id) JOIN cdnow_published p ON p.id = c.customer_id
WHERE c.s IS NULL ORDER BY 1;

-- BG/NBD on the published summary: r = 0.243, alpha = 4.414, a = 0.793,
-- b = 2.426 (each within 0.01) and log-likelihood -9582.43 (within 0.01).
CREATE TABLE cdnow_fit AS
SELECT bgnbd_fit(frequency, recency, t) AS m FROM cdnow_published;
SELECT round((m).r::numeric, 4) AS r, round((m).alpha::numeric, 4) AS alpha,
       round((m).a::numeric, 4) AS a, round((m).b::numeric, 4) AS b,
       round((m).log_likelihood::numeric, 3) AS log_likelihood,
       (m).customers, (m).converged, (m).iterations < 100 AS few_iterations,
       abs((m).r - 0.243) < 0.01 AND abs((m).alpha - 4.414) < 0.01
           AND abs((m).a - 0.793) < 0.01 AND abs((m).b - 2.426) < 0.01 AS parameters_as_published,
       abs((m).log_likelihood - (-9582.43)) < 0.01 AS log_likelihood_as_published
FROM cdnow_fit;

-- The same fit from the extension's own summaries, the 8 free-CD customers
-- added as x = 0 from their first transaction: the same optimum.
CREATE TABLE cdnow_own_fit AS
SELECT bgnbd_fit(x, t_x, t_cal) AS m FROM (
    SELECT (s).x, (s).t_x, (s).t_cal FROM cdnow_summary WHERE (s).x IS NOT NULL
    UNION ALL
    SELECT 0, 0, (date '1997-09-30' - min(ordered_at)::date) / 7.0
    FROM cdnow WHERE customer_id IN (SELECT customer_id FROM cdnow_summary WHERE s IS NULL)
    GROUP BY customer_id) s;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 3) AS alpha,
       round((m).a::numeric, 3) AS a, round((m).b::numeric, 3) AS b,
       round((m).log_likelihood::numeric, 2) AS log_likelihood, (m).customers, (m).converged
FROM cdnow_own_fit;

-- Conditional expected purchases in the next 39 weeks of x = 2, t_x = 30.43,
-- T = 38.86: 1.226 (within 0.001); and that customer's P(alive).
SELECT round(bgnbd_expected_purchases(m, 39, 2, 30.43, 38.86)::numeric, 4) AS expected_39,
       abs(bgnbd_expected_purchases(m, 39, 2, 30.43, 38.86) - 1.226) < 0.001 AS as_published,
       round(bgnbd_p_alive(m, 2, 30.43, 38.86)::numeric, 4) AS p_alive
FROM cdnow_fit;
-- A new customer's expected purchases in their first t weeks: 0.0532, 0.1506,
-- 1.0437, 1.858 (within 0.002).
SELECT t, round(bgnbd_expected_purchases(m, t)::numeric, 4) AS expected,
       abs(bgnbd_expected_purchases(m, t) - published) < 0.002 AS as_published
FROM cdnow_fit, (VALUES (1, 0.0532), (3, 0.1506), (32, 1.0437), (78, 1.858)) v(t, published);

-- Gamma-Gamma on the repeat customers' mean spend per repeat purchase day:
-- p = 6.25, q = 3.74, v = 15.44 (each within 0.01).
CREATE TABLE cdnow_spend_fit AS
SELECT gamma_gamma_fit((s).x, (s).repeat_spend) AS g FROM cdnow_summary;
SELECT round((g).p::numeric, 4) AS p, round((g).q::numeric, 4) AS q, round((g).v::numeric, 4) AS v,
       (g).customers, (g).converged,
       abs((g).p - 6.25) < 0.01 AND abs((g).q - 3.74) < 0.01 AND abs((g).v - 15.44) < 0.01 AS as_published
FROM cdnow_spend_fit;

-- Customer 1 (x = 2: $29.73 on 1997-01-18 and $14.96 on 1997-08-02 after
-- $29.33 on 1997-01-01): mean repeat spend (29.73 + 14.96) / 2 = 22.345, pulled
-- towards the population's mean p v / (q - 1) by the model.
SELECT (s).x, round((s).t_x::numeric, 4) AS t_x, round((s).t_cal::numeric, 4) AS t_cal, (s).repeat_spend,
       round(gamma_gamma_expected_spend(g, (s).x, (s).repeat_spend)::numeric, 4) AS expected_spend,
       round(gamma_gamma_expected_spend(g, 0, NULL)::numeric, 4) AS population_mean,
       round(((g).p * (g).v / ((g).q - 1))::numeric, 4) AS p_v_over_q_minus_1
FROM cdnow_summary, cdnow_spend_fit WHERE customer_id = 1;
-- CLV: undiscounted, it is expected spend times expected purchases; discounted
-- it is less; over 0 weeks it is 0.  A customer without repeat purchase is
-- valued at the population's mean spend.
SELECT round(customer_clv(m, g, 2, 30.43, 38.86, 22.345, 39)::numeric, 6) =
       round((bgnbd_expected_purchases(m, 39, 2, 30.43, 38.86)
              * gamma_gamma_expected_spend(g, 2, 22.345))::numeric, 6) AS undiscounted_is_product,
       round(customer_clv(m, g, 2, 30.43, 38.86, 22.345, 39)::numeric, 4) AS clv_39_weeks,
       round(customer_clv(m, g, 2, 30.43, 38.86, 22.345, 39, 0.01)::numeric, 4) AS clv_discounted,
       customer_clv(m, g, 2, 30.43, 38.86, 22.345, 0) AS clv_no_horizon,
       round(customer_clv(m, g, 0, 0, 38.86, NULL, 39)::numeric, 4) AS clv_one_timer,
       round((bgnbd_expected_purchases(m, 39, 0, 0, 38.86)
              * gamma_gamma_expected_spend(g, 0, NULL))::numeric, 4) AS one_timer_product
FROM cdnow_fit, cdnow_spend_fit;

-- A hand-worked repeat spend (UTC days): order lines of order 1 (10 + 5) on
-- Jan 1, a line without order id (7) on Jan 1, order 2 (20) on Jan 3 whose
-- second line (4) is on Jan 4, a line without order id (30) on Jan 7, a refund.
--   purchase days Jan 1, 3, 7 (order 2 counts on the day of its first line)
--   x = 2, repeat spend = (20 + 4 + 30) / 2 = 27 (refunds are not subtracted)
--   t_x = 6 days, T = Jan 1 .. Jan 11 = 10 days
CREATE TABLE hand (order_id int, ordered_at timestamptz, amount numeric);
INSERT INTO hand VALUES (1, '2024-01-01 09:00', 10), (1, '2024-01-01 09:00', 5),
    (NULL, '2024-01-01 18:00', 7), (2, '2024-01-03 23:30', 20), (2, '2024-01-04 00:10', 4),
    (NULL, '2024-01-07 12:00', 30), (NULL, '2024-01-08 12:00', -30);
SELECT (p).purchase_days, (p).gross, (p).repeat_spend, (s).x, (s).t_x, (s).t_cal, (s).repeat_spend
FROM (SELECT customer_profile(ordered_at, amount, '2024-01-11', order_id) AS p FROM hand) q,
     LATERAL (SELECT purchase_summary(p, 'day') AS s) s;
-- The same rows in other orders and split over parallel states: the same.
SELECT (customer_profile(ordered_at, amount, '2024-01-11', order_id ORDER BY amount DESC)).repeat_spend
FROM hand;
-- One purchase day: no repeat spend.
SELECT (p).repeat_spend, (purchase_summary(p)).*
FROM (SELECT customer_profile(ordered_at, amount, '2024-01-11') AS p FROM hand WHERE order_id = 1) q;

-- Time units: a week is 7 days, a month 365.25/12, a year 365.25.
SELECT unit, (purchase_summary(p, unit)).*
FROM (SELECT customer_profile(ordered_at, amount, '2024-01-11', order_id) AS p FROM hand) q,
     unnest(ARRAY['day', 'week', 'month', 'year']) unit;

-- Errors and edge cases: a clear error or a documented answer, never NaN.
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT purchase_summary(customer_profile(now(), 1, now()), 'fortnight')$$),
    ($$SELECT bgnbd_fit(x, 0, 10) FROM (VALUES (0), (0)) v(x)$$),
    ($$SELECT bgnbd_fit(-1, 0, 10)$$),
    ($$SELECT bgnbd_fit(0, 1, 10)$$),
    ($$SELECT bgnbd_fit(2, 11, 10)$$),
    ($$SELECT bgnbd_fit(2, 'NaN', 10)$$),
    ($$SELECT bgnbd_fit(2, 1, 'Infinity')$$),
    ($$SELECT gamma_gamma_fit(2, 0)$$),
    ($$SELECT gamma_gamma_fit(2, -5)$$),
    ($$SELECT gamma_gamma_fit(-2, 5)$$),
    ($$SELECT bgnbd_p_alive(ROW(0, 1, 1, 1, NULL, NULL, NULL, NULL)::bgnbd_model, 1, 1, 2)$$),
    ($$SELECT bgnbd_p_alive(ROW(1, 'NaN', 1, 1, NULL, NULL, NULL, NULL)::bgnbd_model, 1, 1, 2)$$),
    ($$SELECT bgnbd_p_alive(ROW(1, NULL, 1, 1, NULL, NULL, NULL, NULL)::bgnbd_model, 1, 1, 2)$$),
    ($$SELECT bgnbd_expected_purchases(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::bgnbd_model, -1)$$),
    ($$SELECT bgnbd_expected_purchases(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::bgnbd_model, 'Infinity')$$),
    ($$SELECT bgnbd_expected_purchases(ROW(1, 1, 0.3, 0.3, NULL, NULL, NULL, NULL)::bgnbd_model, 5)$$),
    ($$SELECT bgnbd_expected_purchases(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::bgnbd_model, 1e12)$$),
    ($$SELECT bgnbd_expected_purchases(ROW(0.25, 4.4, 0.8, 2.4, NULL, NULL, NULL, NULL)::bgnbd_model, 1e17)$$),
    ($$SELECT gamma_gamma_fit(x, s) FROM (VALUES (5, 1e-300::float8), (3, 1e300)) v(x, s)$$),
    ($$SELECT bgnbd_fit(1, 5e-324, 5e-324)$$),
    ($$SELECT gamma_gamma_expected_spend(ROW(2, 0.5, 10, NULL, NULL, NULL, NULL)::gamma_gamma_model, 1, 5)$$),
    ($$SELECT gamma_gamma_expected_spend(ROW(2, 3, 10, NULL, NULL, NULL, NULL)::gamma_gamma_model, 1, 0)$$),
    ($$SELECT customer_clv(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::bgnbd_model, ROW(2, 3, 10, NULL, NULL, NULL, NULL)::gamma_gamma_model, 1, 1, 2, 5, -1)$$),
    ($$SELECT customer_clv(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::bgnbd_model, ROW(2, 3, 10, NULL, NULL, NULL, NULL)::gamma_gamma_model, 1, 1, 2, 5, 10001)$$),
    ($$SELECT customer_clv(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::bgnbd_model, ROW(2, 3, 10, NULL, NULL, NULL, NULL)::gamma_gamma_model, 1, 1, 2, 5, 10, -0.5)$$)
) v(q);

-- No customers: NULL, as for avg().  NULL inputs are skipped; x = 0 rows do
-- not enter the spend model.
SELECT bgnbd_fit(x, t_x, t_cal) IS NULL AS bgnbd_empty,
       gamma_gamma_fit(x, t_x) IS NULL AS spend_empty
FROM (VALUES (NULL::int, NULL::float8, NULL::float8), (0, 0, 10)) v(x, t_x, t_cal)
WHERE x IS NULL;
SELECT (gamma_gamma_fit(x, s)).customers
FROM (VALUES (0, NULL::float8), (NULL, 3), (1, NULL), (2, 10), (1, 20), (3, 15)) v(x, s);

-- One customer, and many identical customers: the likelihood has no single
-- optimum; the fit says so (converged = false, with a warning) or stops at a
-- flat optimum, and the values it returns stay finite.
SELECT (m).customers, (m).r > 0 AND (m).alpha > 0 AND (m).a > 0 AND (m).b > 0 AS positive,
       bgnbd_p_alive(m, 2, 5, 10) BETWEEN 0 AND 1 AS p_alive_is_probability,
       bgnbd_expected_purchases(m, 10, 2, 5, 10) >= 0 AS expected_not_negative
FROM (SELECT bgnbd_fit(2, 5, 10) AS m) q;
SELECT (m).customers, (m).r > 0 AND (m).alpha > 0 AND (m).a > 0 AND (m).b > 0 AS positive,
       bgnbd_p_alive(m, 2, 5, 10) BETWEEN 0 AND 1 AS p_alive_is_probability
FROM (SELECT bgnbd_fit(2, 5, 10) AS m FROM generate_series(1, 1000)) q;

-- Spend at the ends of double precision: the fit is made (one over a mean of 5e-324 is
-- a scale of 2e323), and when the data pull a parameter to infinity it stops at a
-- finite one, with converged = false and a warning.
SELECT (m).p, (m).q, (m).v, (m).converged
FROM (SELECT gamma_gamma_fit(x, s) AS m FROM (VALUES (5, 5e-324::float8)) v(x, s)) q;
SELECT (m).p > 0 AND (m).q > 0 AND (m).v > 0 AS positive,
       (m).p < 'Infinity' AND (m).q < 'Infinity' AND (m).v < 'Infinity' AND (m).log_likelihood > '-Infinity' AS finite,
       (m).converged
FROM (SELECT gamma_gamma_fit(x, s) AS m FROM (VALUES (5, 1e300::float8), (3, 2)) v(x, s)) q;
SELECT (m).r < 'Infinity' AND (m).alpha < 'Infinity' AND (m).a < 'Infinity' AND (m).b < 'Infinity' AS finite,
       (m).r > 0 AND (m).alpha > 0 AND (m).a > 0 AND (m).b > 0 AS positive, (m).converged
FROM (SELECT bgnbd_fit(x, tx, t) AS m
      FROM (VALUES (1, 1e-300::float8, 1e300::float8), (0, 0, 1e300), (3, 1e300, 1e300)) v(x, tx, t)) q;

-- Extremes give finite answers: x = 0 is alive by definition; a customer who
-- has not bought for ages is nearly surely gone; a huge T is fine.
SELECT bgnbd_p_alive(m, 0, 0, 38.86) AS p_alive_one_timer,
       bgnbd_p_alive(m, 50, 1, 1e6) AS p_alive_long_gone,
       round(bgnbd_expected_purchases(m, 39, 0, 0, 1e9)::numeric, 12) AS expected_after_1e9_weeks,
       round(bgnbd_p_alive(m, 1000, 38, 38.86)::numeric, 4) AS p_alive_heavy_buyer
FROM cdnow_fit;

-- a = 1 makes (a - 1) vanish in the closed forms; the limit is continuous.
SELECT round(bgnbd_expected_purchases(ROW(0.5, 4, 1, 2.4, NULL, NULL, NULL, NULL)::bgnbd_model, 39, 2, 30, 38)::numeric, 6) AS at_1,
       round(bgnbd_expected_purchases(ROW(0.5, 4, 1.001, 2.4, NULL, NULL, NULL, NULL)::bgnbd_model, 39, 2, 30, 38)::numeric, 3) AS near_1_above,
       round(bgnbd_expected_purchases(ROW(0.5, 4, 0.999, 2.4, NULL, NULL, NULL, NULL)::bgnbd_model, 39, 2, 30, 38)::numeric, 3) AS near_1_below;

-- A model that changes from row to row: each row is scored with its own (the
-- functions read a model's parameters once per query and compare the bytes of
-- the next one): rows 1, 3 and 4 (the same parameters) alike, row 2 not; and an
-- invalid model still fails after a valid one.
CREATE TABLE changing_models AS
SELECT i, m, g FROM (VALUES
    (1, ROW(0.25, 4.4, 0.8, 2.4, NULL, NULL, NULL, NULL)::bgnbd_model, ROW(6, 4, 15, NULL, NULL, NULL, NULL)::gamma_gamma_model),
    (2, ROW(0.5, 2, 1.5, 3, NULL, NULL, NULL, NULL)::bgnbd_model, ROW(2, 3, 10, NULL, NULL, NULL, NULL)::gamma_gamma_model),
    (3, ROW(0.25, 4.4, 0.8, 2.4, NULL, NULL, NULL, NULL)::bgnbd_model, ROW(6, 4, 15, NULL, NULL, NULL, NULL)::gamma_gamma_model),
    (4, ROW(0.25, 4.4, 0.8, 2.4, -6, 12, 100, true)::bgnbd_model, ROW(6, 4, 15, -7, 9, 50, true)::gamma_gamma_model)
) v(i, m, g);
SELECT i, round(bgnbd_p_alive(m, 2, 30, 38)::numeric, 6) AS p_alive,
       round(bgnbd_expected_purchases(m, 39, 2, 30, 38)::numeric, 6) AS expected,
       round(bgnbd_expected_purchases(m, 39)::numeric, 6) AS expected_new,
       round(gamma_gamma_expected_spend(g, 2, 20)::numeric, 6) AS spend,
       round(customer_clv(m, g, 2, 30, 38, 20, 39)::numeric, 6) AS clv,
       round(customer_clv(m, g, 2, 30, 38, 20, 39, 0.01)::numeric, 6) AS clv_discounted
FROM changing_models ORDER BY i;
SELECT pg_temp.error_of($$SELECT bgnbd_p_alive(m, 2, 30, 38) FROM (VALUES (1, ROW(0.25, 4.4, 0.8, 2.4, NULL, NULL, NULL, NULL)::bgnbd_model), (2, ROW(0.25, -1, 0.8, 2.4, NULL, NULL, NULL, NULL)::bgnbd_model)) v(i, m) ORDER BY i$$) AS invalid_after_valid;

-- Parallel plans: the fits merge partial samples from the workers and give
-- exactly the serial answer.
CREATE TABLE many AS
SELECT g AS id, (s).x, (s).t_x, (s).t_cal, (s).repeat_spend
FROM cdnow_summary, generate_series(1, 10) g WHERE (s).x IS NOT NULL;
ANALYZE many;
-- all of cdnow as one customer's rows without order id, shuffled, so each
-- worker's partial profile has its own first day and the merge must pick it
CREATE TABLE cdnow_shuffled AS SELECT * FROM cdnow ORDER BY hashint8(customer_id * 7919 + extract(epoch FROM ordered_at)::bigint), amount;
ANALYZE cdnow_shuffled;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_fit AS
SELECT bgnbd_fit(x, t_x, t_cal) AS m, gamma_gamma_fit(x, repeat_spend) AS g FROM many;
CREATE TABLE serial_profile AS
SELECT customer_profile(ordered_at, amount, '1997-09-30') AS p FROM cdnow_shuffled;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF)
SELECT bgnbd_fit(x, t_x, t_cal), gamma_gamma_fit(x, repeat_spend) FROM many;
SELECT (p.m) = (s.m) AS bgnbd_identical, (p.g) = (s.g) AS spend_identical, (p.m).customers
FROM (SELECT bgnbd_fit(x, t_x, t_cal) AS m, gamma_gamma_fit(x, repeat_spend) AS g FROM many) p, serial_fit s;
EXPLAIN (COSTS OFF)
SELECT customer_profile(ordered_at, amount, '1997-09-30') FROM cdnow_shuffled;
SELECT (s.p).purchase_days, (s.p).repeat_spend, s.p::text = q.p::text AS identical
FROM serial_profile s, (SELECT customer_profile(ordered_at, amount, '1997-09-30') AS p FROM cdnow_shuffled) q;
RESET ALL;
