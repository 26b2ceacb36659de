-- The Pareto/NBD model: pareto_nbd_fit() and the per-customer closed forms, held to
-- the published CDNOW fit of Fader & Hardie ("A note on implementing the Pareto/NBD
-- model in MATLAB", 2005: r = 0.553, alpha = 10.58, s = 0.606, beta = 11.67,
-- LL = -9594.98), the closed forms to numerical integration of their definitions.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
SET extra_float_digits = 0;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all
-- The fits' warnings without their detail (iteration counts vary with the platform's
-- floating point); the iterations are columns of the models.
\set VERBOSITY terse

CREATE TABLE pn_raw (line text);
\copy pn_raw FROM 'test/data/cdnow_sample.txt'
CREATE TABLE pn_orders AS
SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD')::timestamptz AS ordered_at,
       f[5]::numeric AS amount
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM pn_raw) s;
CREATE TABLE pn_published (id int, frequency int, recency numeric, t numeric);
\copy pn_published FROM 'test/data/cdnow_customers_summary.csv' WITH (FORMAT csv, HEADER)

-- On the published summary (times rounded to 0.01 week): the published parameters
-- (r, s within 0.001, alpha, beta within 0.01) and log-likelihood (within 0.01).
CREATE TABLE pn_fit AS
SELECT pareto_nbd_fit(frequency, recency, t) AS m FROM pn_published;
SELECT round((m).r::numeric, 4) AS r, round((m).alpha::numeric, 4) AS alpha,
       round((m).s::numeric, 4) AS s, round((m).beta::numeric, 4) AS beta,
       round((m).log_likelihood::numeric, 3) AS log_likelihood,
       (m).customers, (m).converged, (m).iterations < 100 AS few_iterations,
       abs((m).r - 0.553) < 0.001 AND abs((m).alpha - 10.58) < 0.01
           AND abs((m).s - 0.606) < 0.001 AND abs((m).beta - 11.67) < 0.01 AS parameters_as_published,
       abs((m).log_likelihood - (-9594.98)) < 0.01 AS log_likelihood_as_published
FROM pn_fit;

-- From the raw orders, unrounded days / 7 as Fader & Hardie's times (the 8 customers
-- whose only transaction was a free CD added as x = 0): the same optimum.
CREATE TABLE pn_own_fit AS
SELECT pareto_nbd_fit(x, t_x, t_cal) AS m FROM (
    SELECT (s).x, (s).t_x, (s).t_cal
    FROM (SELECT purchase_summary(customer_profile(ordered_at, amount, '1997-09-30'), 'week') AS s
          FROM pn_orders GROUP BY customer_id) q WHERE (s).x IS NOT NULL
    UNION ALL
    SELECT 0, 0, (date '1997-09-30' - min(ordered_at)::date) / 7.0
    FROM pn_orders GROUP BY customer_id HAVING max(amount) <= 0) s;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 2) AS alpha,
       round((m).s::numeric, 3) AS s, round((m).beta::numeric, 2) AS beta,
       round((m).log_likelihood::numeric, 2) AS log_likelihood, (m).customers, (m).converged
FROM pn_own_fit;

-- BIC = 4 ln(customers) - 2 LL, customers being all customers fitted.
SELECT round(pareto_nbd_bic(m)::numeric, 3) AS bic,
       abs(pareto_nbd_bic(m) - (4 * ln(2357) - 2 * (m).log_likelihood)) < 1e-9 AS formula,
       pareto_nbd_bic(ROW(0.5, 10, 0.6, 11, NULL, NULL, NULL, NULL)::pareto_nbd_model) IS NULL AS hand_made_null
FROM pn_fit;

-- The per-customer functions for a few customers (x, t_x, T) in weeks: a typical
-- one, a one-time buyer, a long-silent regular, one who bought at T, a heavy buyer.
CREATE TABLE pn_probe (x int, t_x float8, t_cal float8);
INSERT INTO pn_probe VALUES (2, 30.43, 38.86), (0, 0, 38.86), (10, 5, 40), (1, 38.86, 38.86), (50, 38, 38.86);
SELECT x, t_x, t_cal,
       round(pareto_nbd_p_alive(m, x, t_x, t_cal)::numeric, 6) AS p_alive,
       round(pareto_nbd_expected_purchases(m, 39, x, t_x, t_cal)::numeric, 6) AS expected_39,
       round(pareto_nbd_p_purchase_within(m, 39, x, t_x, t_cal)::numeric, 6) AS p_purchase_39,
       round(pareto_nbd_next_purchase_median(m, x, t_x, t_cal)::numeric, 4) AS median_weeks
FROM pn_fit, pn_probe ORDER BY x, t_x;

-- Numerical integration of the definitions (Simpson's rule, 20,000 panels; its own
-- error, 1/15 of the change from 10,000 panels (it falls as h^4), is below 1e-10
-- here, a tenth of the tolerance):
--   P(alive) = F / (F + s int_{t_x}^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du),
--              F = (alpha+T)^-(r+x) (beta+T)^-s
--   P(purchase in t | alive) = int_0^t E[lambda e^(-lambda u)] E[e^(-mu u)] du
--              = int_0^t (r+x)/A (A/(A+u))^(r+x+1) (B/(B+u))^s du, A = alpha+T, B = beta+T
--   E[Y(t) | alive] = (r+x)/A int_0^t (B/(B+u))^s du
CREATE FUNCTION pg_temp.simpson(f text, lo float8, hi float8, n int) RETURNS float8
LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE
    result float8;
BEGIN
    EXECUTE format($q$SELECT ($2 - $1) / $3 / 3 * sum(w * (%s))
                      FROM (SELECT $1 + ($2 - $1) * i / $3 AS u,
                                   CASE WHEN i IN (0, $3) THEN 1 WHEN i %% 2 = 1 THEN 4 ELSE 2 END AS w
                            FROM generate_series(0, $3) i) g$q$, f)
        INTO result USING lo, hi, n;
    RETURN result;
END
$f$;
CREATE TABLE pn_integrated AS
SELECT x, t_x, t_cal, h, pareto_nbd_p_alive(m, x, t_x, t_cal) AS p_alive,
       pareto_nbd_p_purchase_within(m, h, x, t_x, t_cal) AS p_purchase,
       pareto_nbd_expected_purchases(m, h, x, t_x, t_cal) AS expected,
       f / (f + (m).s * pg_temp.simpson(format('(%s + u) ^ -(%s) * (%s + u) ^ -(%s)', (m).alpha, (m).r + x, (m).beta, (m).s + 1),
                                        t_x, t_cal, 20000)) AS p_alive_integrated,
       pg_temp.simpson(format('%1$s / %2$s * (%2$s / (%2$s + u)) ^ (%1$s + 1) * (%3$s / (%3$s + u)) ^ %4$s',
                              (m).r + x, (m).alpha + t_cal, (m).beta + t_cal, (m).s), 0, h, 20000) AS p_purchase_if_alive,
       pg_temp.simpson(format('%1$s / %2$s * (%2$s / (%2$s + u)) ^ (%1$s + 1) * (%3$s / (%3$s + u)) ^ %4$s',
                              (m).r + x, (m).alpha + t_cal, (m).beta + t_cal, (m).s), 0, h, 10000) AS p_purchase_if_alive_coarse,
       ((m).r + x) / ((m).alpha + t_cal)
           * pg_temp.simpson(format('(%1$s / (%1$s + u)) ^ %2$s', (m).beta + t_cal, (m).s), 0, h, 20000) AS expected_if_alive
FROM pn_fit, pn_probe, (VALUES (1.0), (39.0), (200.0)) v(h),
     LATERAL (SELECT ((m).alpha + t_cal) ^ -((m).r + x) * ((m).beta + t_cal) ^ -(m).s AS f) q;
SELECT x, t_x, h,
       abs(p_alive - p_alive_integrated) < 1e-9 AS p_alive_ok,
       abs(p_purchase - p_alive * p_purchase_if_alive) < 1e-9 AS p_purchase_ok,
       abs(p_purchase_if_alive - p_purchase_if_alive_coarse) / 15 < 1e-10 AS integration_converged,
       abs(expected - p_alive * expected_if_alive) < 1e-9 * greatest(1, expected) AS expected_ok
FROM pn_integrated ORDER BY x, t_x, h;

-- The median: P(purchase within the median) = 1/2, and just below it less; NULL when
-- the limit for an infinite horizon (P(alive) times the share of purchases among
-- the customer's events) is at most 1/2.
SELECT x, t_x,
       round(pareto_nbd_p_purchase_within(m, 1e12, x, t_x, t_cal)::numeric, 6) AS limit_infinite,
       abs(pareto_nbd_p_purchase_within(m, pareto_nbd_next_purchase_median(m, x, t_x, t_cal), x, t_x, t_cal) - 0.5) < 1e-12 AS at_half,
       pareto_nbd_p_purchase_within(m, pareto_nbd_next_purchase_median(m, x, t_x, t_cal) * (1 - 1e-9), x, t_x, t_cal) < 0.5 AS below_before,
       pareto_nbd_next_purchase_median(m, x, t_x, t_cal) IS NULL AS no_median
FROM pn_fit, pn_probe ORDER BY x, t_x;
-- Monotone in t, 0 at t = 0, below 1.
SELECT bool_and(p2 >= p1) AS monotone, min(p1) AS at_zero, max(p2) < 1 AS below_one
FROM pn_fit, pn_probe, generate_series(0, 100) i,
     LATERAL (SELECT pareto_nbd_p_purchase_within(m, i * 2, x, t_x, t_cal) AS p1,
                     pareto_nbd_p_purchase_within(m, i * 2 + 2, x, t_x, t_cal) AS p2) q;

-- Both forms of the hypergeometric term (alpha >= beta and alpha < beta) and their
-- meeting point alpha = beta give continuous answers.
SELECT alpha, round(pareto_nbd_p_alive(ROW(0.5, alpha, 0.6, 11, NULL, NULL, NULL, NULL)::pareto_nbd_model, 2, 30, 38)::numeric, 8) AS p_alive
FROM (VALUES (10.999999::float8), (11), (11.000001)) v(alpha) ORDER BY alpha;

-- Errors and edge cases: a clear error or a documented answer, never NaN or XX000.
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT pareto_nbd_fit(0, 0, t) FROM (VALUES (10), (20)) v(t)$$),
    ($$SELECT pareto_nbd_fit(x, 0, 0) FROM (VALUES (0), (1)) v(x)$$),
    ($$SELECT pareto_nbd_fit(-1, 0, 10)$$),
    ($$SELECT pareto_nbd_fit(0, 1, 10)$$),
    ($$SELECT pareto_nbd_fit(2, 11, 10)$$),
    ($$SELECT pareto_nbd_fit(2, 'NaN', 10)$$),
    ($$SELECT pareto_nbd_fit(2, 1, 'Infinity')$$),
    ($$SELECT pareto_nbd_p_alive(ROW(0, 1, 1, 1, NULL, NULL, NULL, NULL)::pareto_nbd_model, 1, 1, 2)$$),
    ($$SELECT pareto_nbd_p_alive(ROW(1, 'NaN', 1, 1, NULL, NULL, NULL, NULL)::pareto_nbd_model, 1, 1, 2)$$),
    ($$SELECT pareto_nbd_p_alive(ROW(1, 1, NULL, 1, NULL, NULL, NULL, NULL)::pareto_nbd_model, 1, 1, 2)$$),
    ($$SELECT pareto_nbd_p_alive(ROW(1, 1, 1, 'Infinity', NULL, NULL, NULL, NULL)::pareto_nbd_model, 1, 1, 2)$$),
    ($$SELECT pareto_nbd_p_alive(ROW(1, 1, 1, 1, NULL, NULL, NULL, NULL)::pareto_nbd_model, 2, 3, 2)$$),
    ($$SELECT pareto_nbd_expected_purchases(ROW(1, 1, 1, 1, NULL, NULL, NULL, NULL)::pareto_nbd_model, -1, 1, 1, 2)$$),
    ($$SELECT pareto_nbd_p_purchase_within(ROW(1, 1, 1, 1, NULL, NULL, NULL, NULL)::pareto_nbd_model, 'Infinity', 1, 1, 2)$$),
    ($$SELECT pareto_nbd_next_purchase_median(ROW(1, 1, 1, 1, NULL, NULL, NULL, NULL)::pareto_nbd_model, 0, 1, 2)$$),
    -- alpha dwarfs beta + T: the series' argument rounds to 1
    ($$SELECT pareto_nbd_p_alive(ROW(0.5, 1e20, 0.6, 1, NULL, NULL, NULL, NULL)::pareto_nbd_model, 2, 0, 1)$$),
    ($$SELECT pareto_nbd_p_purchase_within(ROW(0.5, 1, 0.6, 1e20, NULL, NULL, NULL, NULL)::pareto_nbd_model, 5, 0, 0, 1)$$),
    ($$SELECT pareto_nbd_bic(ROW(0.5, 1, 0.6, 1, 'NaN', 1, 10, true)::pareto_nbd_model)$$),
    ($$SELECT pareto_nbd_bic(ROW(0.5, 1, 0.6, 1, -10, 1, 0, true)::pareto_nbd_model)$$)
) v(q);

-- Fits of too few or too alike customers have no optimum: converged = false with a
-- WARNING, "did not converge" or "has no finite optimum" depending on where the
-- platform's floating point ends the search (r or s run towards 0 or infinity).
-- The warnings are not shown below, so that the output is the same everywhere;
-- converged is.
SET client_min_messages = error;
-- No customers: NULL.  NULL inputs are skipped.
SELECT pareto_nbd_fit(x, t_x, t_cal) IS NULL AS empty
FROM (VALUES (NULL::int, NULL::float8, NULL::float8), (0, 0, 10)) v(x, t_x, t_cal) WHERE x IS NULL;
SELECT (pareto_nbd_fit(x, t_x, t_cal)).customers
FROM (VALUES (NULL::int, 0::float8, 10::float8), (1, NULL, 10), (2, 3, NULL), (2, 5, 10), (0, 0, 8)) v(x, t_x, t_cal);

-- Pathological data: one customer, many identical customers, T = 1e9 next to CDNOW,
-- times near the ends of double precision.  Each gives finite, positive parameters;
-- converged is true only at an optimum, otherwise there is a warning.
CREATE FUNCTION pg_temp.sane(m pareto_nbd_model) RETURNS text LANGUAGE sql AS $$
    SELECT format('customers %s, finite %s, positive %s, converged %s', (m).customers,
                  (m).r < 'Infinity' AND (m).alpha < 'Infinity' AND (m).s < 'Infinity' AND (m).beta < 'Infinity'
                      AND (m).log_likelihood > '-Infinity' AND (m).log_likelihood < 'Infinity',
                  (m).r > 0 AND (m).alpha > 0 AND (m).s > 0 AND (m).beta > 0, (m).converged)
$$;
SELECT pg_temp.sane(pareto_nbd_fit(2, 5, 10)) AS one_customer;
SELECT pg_temp.sane(pareto_nbd_fit(2, 5, 10)) AS identical FROM generate_series(1, 1000);
SELECT pg_temp.sane(pareto_nbd_fit(x, tx, t)) AS t_1e9
FROM (SELECT frequency AS x, recency::float8 AS tx, t::float8 AS t FROM pn_published
      UNION ALL VALUES (3, 5e8, 1e9)) v;
SELECT pg_temp.sane(pareto_nbd_fit(x, tx, t)) AS extremes
FROM (VALUES (1, 1e-300::float8, 1e300::float8), (0, 0, 1e300), (3, 1e300, 1e300)) v(x, tx, t);
SELECT pg_temp.sane(pareto_nbd_fit(x, tx, t)) AS heavy_buyers
FROM (VALUES (5000, 99.0::float8, 100.0::float8), (3000, 50, 100), (0, 0, 100), (1, 1, 100)) v(x, tx, t);
-- The per-customer functions on such a model stay probabilities.
SELECT pareto_nbd_p_alive(m, 2, 5, 10) BETWEEN 0 AND 1 AS p_alive_is_probability,
       pareto_nbd_p_purchase_within(m, 10, 2, 5, 10) BETWEEN 0 AND 1 AS p_purchase_is_probability
FROM (SELECT pareto_nbd_fit(2, 5, 10) AS m FROM generate_series(1, 1000)) q;
-- The second rule: a vanishing gradient with a shape beyond 1e6 or below 1e-6 is no
-- optimum either.
SELECT (m).converged, (m).r > 1e6 OR (m).s > 1e6 OR (m).r < 1e-6 OR (m).s < 1e-6 AS shape_at_a_limit
FROM (SELECT pareto_nbd_fit(2, 5, 10) AS m FROM generate_series(1, 1000)) q;
RESET client_min_messages;
-- T = 1e9 in scoring, x = 0 at T = 0, a heavy buyer: finite.
SELECT round(pareto_nbd_p_alive(m, 0, 0, 1e9)::numeric, 12) AS p_alive_after_1e9,
       round(pareto_nbd_expected_purchases(m, 39, 0, 0, 1e9)::numeric, 12) AS expected_after_1e9,
       round(pareto_nbd_p_alive(m, 0, 0, 0)::numeric, 6) AS p_alive_new,
       round(pareto_nbd_p_alive(m, 1000, 38, 38.86)::numeric, 6) AS p_alive_heavy,
       pareto_nbd_expected_purchases(m, 0, 2, 30.43, 38.86) AS expected_no_horizon
FROM pn_fit;

-- Parallel plans: the fit merges the workers' samples (combine, serial and deserial
-- functions) and gives exactly the serial answer.
CREATE TABLE pn_many AS
SELECT g AS id, frequency AS x, recency::float8 AS t_x, t::float8 AS t_cal
FROM pn_published, generate_series(1, 10) g;
ANALYZE pn_many;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE pn_serial_fit AS SELECT pareto_nbd_fit(x, t_x, t_cal) AS m FROM pn_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF) SELECT pareto_nbd_fit(x, t_x, t_cal) FROM pn_many;
SELECT (p.m) = (s.m) AS identical, (p.m).customers, (p.m).converged
FROM (SELECT pareto_nbd_fit(x, t_x, t_cal) AS m FROM pn_many) p, pn_serial_fit s;
-- one worker with no rows: an empty partial state is combined
SELECT (pareto_nbd_fit(x, t_x, t_cal)).customers FROM pn_many WHERE id = 1 AND x >= 0;
RESET ALL;
SET search_path = public, customer_priority;

DROP TABLE pn_raw, pn_orders, pn_published, pn_fit, pn_own_fit, pn_probe, pn_integrated, pn_many, pn_serial_fit;
