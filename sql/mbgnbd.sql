-- The MBG/NBD model (Batislam, Denizel & Filiztekin 2007): mbgnbd_fit() and the
-- per-customer closed forms, held to a reference estimate on CDNOW, to a likelihood
-- computed here in SQL, to numerical integrations over the model's posterior and to
-- a simulated population of known parameters (src/mbgnbd.c, docs/potential.md).
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
SET extra_float_digits = 0;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all
-- The fits' warnings without their detail (iteration counts vary with the platform).
\set VERBOSITY terse

-- The MBG/NBD log-likelihood of a table of customers, written out here in SQL and
-- independent of the C code: for integer x, ln G(r+x) - ln G(r) = sum ln(r+k),
-- k < x, and ln B(a, b+x+1) - ln B(a, b) = sum ln(b+k) - ln(a+b+k), k <= x; the
-- bracket (alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x) in log space.
CREATE FUNCTION pg_temp.mbgnbd_ll(r float8, alpha float8, a float8, b float8, customers regclass)
RETURNS float8 LANGUAGE plpgsql AS $f$
DECLARE
    ll float8;
BEGIN
    EXECUTE format($q$
        WITH c AS (SELECT x, t_x, t_cal, count(*) AS n FROM %s GROUP BY x, t_x, t_cal),
        head AS (
            SELECT x, (SELECT coalesce(sum(ln($1 + k)), 0) FROM generate_series(0, x - 1) k)
                      + $1 * ln($2)
                      + (SELECT sum(ln($4 + k) - ln($3 + $4 + k)) FROM generate_series(0, x) k) AS h
            FROM (SELECT DISTINCT x FROM c) d),
        terms AS (
            SELECT c.n, head.h, -($1 + c.x) * ln($2 + c.t_cal) AS l3,
                   ln($3) - ln($4 + c.x) - ($1 + c.x) * ln($2 + c.t_x) AS l4
            FROM c JOIN head USING (x))
        SELECT sum(n * (h + greatest(l3, l4) + ln(exp(l3 - greatest(l3, l4)) + exp(l4 - greatest(l3, l4)))))
        FROM terms$q$, customers)
    INTO ll USING r, alpha, a, b;
    RETURN ll;
END
$f$;

-- Expected purchases in (T, T+t] by the joint posterior of (lambda, p) on a midpoint
-- grid, assuming nothing of the closed forms: prior Gamma(r, alpha) x Beta(a, b) times
-- the likelihood of (x, t_x, T) -- alive at T: (1-p)^(x+1) lambda^x e^(-lambda T);
-- dropped out at 0 or after the last purchase: p (1-p)^x lambda^x e^(-lambda t_x) --
-- and, alive, (1 - e^(-lambda p t)) / p purchases in the next t (a Poisson process
-- stopped at the first purchase followed by a dropout).  lambda = u^(1/r) and
-- p = v^(1/a) take the prior's singularities into the measure.  At x = t_x = T = 0
-- it is E[X(t)] of a new customer.
CREATE FUNCTION pg_temp.expected_by_integration(r float8, alpha float8, a float8, b float8,
                                                x int, t_x float8, t_cal float8, t float8)
RETURNS float8 LANGUAGE sql AS $$
    WITH grid AS (
        SELECT (((i - 0.5) / 300) * u_max) ^ (1 / r) AS lambda,
               ((j - 0.5) / 300) ^ (1 / a) AS p
        FROM (SELECT ((r + x + 60) / (alpha + t_x)) ^ r AS u_max) m,
             generate_series(1, 300) i, generate_series(1, 300) j
    ), terms AS (
        SELECT (1 - p) ^ (b - 1) * lambda ^ x * (1 - p) ^ (x + 1) * exp(-lambda * (alpha + t_cal)) AS alive,
               (1 - p) ^ (b - 1) * lambda ^ x * p * (1 - p) ^ x * exp(-lambda * (alpha + t_x)) AS gone,
               lambda, p
        FROM grid
    )
    SELECT sum(alive * (1 - exp(-lambda * p * t)) / p) / sum(alive + gone) FROM terms
$$;

-------------------------------------------------------------------------------
-- CDNOW (Fader, Hardie & Lee 2005's 2,357 customers, weeks)
-------------------------------------------------------------------------------
CREATE TABLE mbg_published (id int, frequency int, recency numeric, t numeric);
\copy mbg_published FROM 'test/data/cdnow_customers_summary.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE mbg_customers AS
SELECT frequency AS x, recency::float8 AS t_x, t::float8 AS t_cal FROM mbg_published;

-- The reference estimate on this summary: r = 0.525, alpha = 6.183, a = 0.891,
-- b = 1.614 (lifetimes' ModifiedBetaGeoFitter test "close to BTYDplus", to 3
-- decimals); and the log-likelihood the C code reports equals the SQL one above.
CREATE TABLE mbg_fit AS SELECT mbgnbd_fit(x, t_x, t_cal) AS m FROM mbg_customers;
SELECT round((m).r::numeric, 4) AS r, round((m).alpha::numeric, 4) AS alpha,
       round((m).a::numeric, 4) AS a, round((m).b::numeric, 4) AS b,
       round((m).log_likelihood::numeric, 3) AS log_likelihood,
       (m).customers, (m).converged, (m).iterations < 100 AS few_iterations,
       abs((m).r - 0.525) < 0.0015 AND abs((m).alpha - 6.183) < 0.0015
           AND abs((m).a - 0.891) < 0.0015 AND abs((m).b - 1.614) < 0.0015 AS as_reference,
       abs((m).log_likelihood - pg_temp.mbgnbd_ll((m).r, (m).alpha, (m).a, (m).b, 'mbg_customers'))
           < 1e-8 * abs((m).log_likelihood) AS log_likelihood_as_sql
FROM mbg_fit;

-- Against BG/NBD on the same customers: MBG/NBD fits a little better with as many
-- parameters (log-likelihood -9582.13 against -9582.43), so its BIC
-- 4 ln(customers) - 2 LL is lower.
SELECT round((m).log_likelihood::numeric, 2) AS mbgnbd_ll, round((g).log_likelihood::numeric, 2) AS bgnbd_ll,
       round((4 * ln((m).customers) - 2 * (m).log_likelihood)::numeric, 2) AS mbgnbd_bic,
       round((4 * ln((g).customers) - 2 * (g).log_likelihood)::numeric, 2) AS bgnbd_bic
FROM mbg_fit, (SELECT bgnbd_fit(x, t_x, t_cal) AS g FROM mbg_customers) b;

-- The same fit from the raw transactions through the extension's own summaries,
-- the 8 free-CD customers (no paid purchase, so no summary) added as x = 0 from their
-- first transaction, as in sql/potential.sql: the same optimum.
CREATE TABLE mbg_raw (line text);
\copy mbg_raw FROM 'test/data/cdnow_sample.txt'
CREATE TABLE mbg_orders AS
SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD')::timestamptz AS ordered_at,
       f[5]::numeric AS amount
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM mbg_raw) s;
CREATE TABLE mbg_summary AS
SELECT customer_id, purchase_summary(customer_profile(ordered_at, amount, '1997-09-30'), 'week') AS s
FROM mbg_orders GROUP BY customer_id;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 3) AS alpha,
       round((m).a::numeric, 3) AS a, round((m).b::numeric, 3) AS b,
       round((m).log_likelihood::numeric, 2) AS log_likelihood, (m).customers, (m).converged
FROM (SELECT mbgnbd_fit(x, t_x, t_cal) AS m FROM (
    SELECT (s).x, (s).t_x, (s).t_cal FROM mbg_summary WHERE (s).x IS NOT NULL
    UNION ALL
    SELECT 0, 0, (date '1997-09-30' - min(ordered_at)::date) / 7.0
    FROM mbg_orders WHERE customer_id IN (SELECT customer_id FROM mbg_summary WHERE s IS NULL)
    GROUP BY customer_id) s) q;

-------------------------------------------------------------------------------
-- Per-customer closed forms
-------------------------------------------------------------------------------
CREATE TABLE mbg_people (id int, x int, t_x float8, t_cal float8);
INSERT INTO mbg_people VALUES
    (1, 0, 0, 38.86),        -- a one-time buyer
    (2, 2, 30.43, 38.86),    -- FHL's example customer
    (3, 5, 10, 38.86),       -- bought often, then went quiet
    (4, 10, 38, 38.86),      -- a heavy, recent buyer
    (5, 1, 1, 3),            -- a new customer
    (6, 0, 0, 0);            -- just arrived

-- P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)): below 1 for a one-time
-- buyer too (BG/NBD says 1), highest for the heavy recent buyer; the customer who
-- just arrived has survived nothing yet: b / (a + b).
SELECT c.id, round(mbgnbd_p_alive(m, x, t_x, t_cal)::numeric, 4) AS p_alive,
       round(bgnbd_p_alive(ROW((m).r, (m).alpha, (m).a, (m).b, NULL, NULL, NULL, NULL)::bgnbd_model,
                           x, t_x, t_cal)::numeric, 4) AS bgnbd_formula_same_parameters,
       abs(mbgnbd_p_alive(m, x, t_x, t_cal) -
           1 / (1 + (m).a / ((m).b + x) * (((m).alpha + t_cal) / ((m).alpha + t_x)) ^ ((m).r + x))) < 1e-14
           AS as_formula
FROM mbg_fit, mbg_people c ORDER BY c.id;
SELECT abs(mbgnbd_p_alive(m, 0, 0, 0) - (m).b / ((m).a + (m).b)) < 1e-15 AS new_customer_b_over_a_plus_b
FROM mbg_fit;

-- Expected purchases in the next t against the integral over the posterior (agree to
-- 2e-4; the grid's error falls as 1/n^2, a slip in the closed form shows in the
-- second decimal); x = t_x = T = 0 is E[X(t)] of a new customer, the overload.
SELECT c.id, t, round(mbgnbd_expected_purchases(m, t, x, t_x, t_cal)::numeric, 4) AS expected,
       abs(mbgnbd_expected_purchases(m, t, x, t_x, t_cal) -
           pg_temp.expected_by_integration((m).r, (m).alpha, (m).a, (m).b, x, t_x, t_cal, t))
           < 2e-4 AS matches_integral
FROM mbg_fit, mbg_people c, unnest(ARRAY[4, 39]::float8[]) t
ORDER BY c.id, t;
SELECT t, round(mbgnbd_expected_purchases(m, t)::numeric, 4) AS expected_new,
       abs(mbgnbd_expected_purchases(m, t) - mbgnbd_expected_purchases(m, t, 0, 0, 0)) < 1e-12
           AS is_conditional_at_zero
FROM mbg_fit, (VALUES (1), (3), (32), (78)) v(t)
ORDER BY t;

-- a = 1 makes (a - 1) vanish in the closed forms; the limit is continuous.
SELECT round(mbgnbd_expected_purchases(ROW(0.5, 4, 1, 2.4, NULL, NULL, NULL, NULL)::mbgnbd_model, 39, 2, 30, 38)::numeric, 6) AS at_1,
       round(mbgnbd_expected_purchases(ROW(0.5, 4, 1.001, 2.4, NULL, NULL, NULL, NULL)::mbgnbd_model, 39, 2, 30, 38)::numeric, 3) AS near_1_above,
       round(mbgnbd_expected_purchases(ROW(0.5, 4, 0.999, 2.4, NULL, NULL, NULL, NULL)::mbgnbd_model, 39, 2, 30, 38)::numeric, 3) AS near_1_below,
       round(mbgnbd_expected_purchases(ROW(0.5, 4, 1, 2.4, NULL, NULL, NULL, NULL)::mbgnbd_model, 39)::numeric, 6) AS new_at_1;

-- The next purchase (as bgnbd_p_purchase_within, with MBG/NBD's P(alive); checked
-- against the posterior in sql/next_purchase.sql): 0 within no time, P(alive) within
-- forever, the median where it is 1/2, NULL when P(alive) <= 1/2.
SELECT c.id, round(mbgnbd_p_purchase_within(m, 52, x, t_x, t_cal)::numeric, 4) AS within_52,
       mbgnbd_p_purchase_within(m, 0, x, t_x, t_cal) AS within_nothing,
       abs(mbgnbd_p_purchase_within(m, 1e300, x, t_x, t_cal) - mbgnbd_p_alive(m, x, t_x, t_cal)) < 1e-12
           AS within_forever_is_p_alive,
       round(mbgnbd_next_purchase_median(m, x, t_x, t_cal)::numeric, 3) AS median_weeks,
       abs(mbgnbd_p_purchase_within(m, mbgnbd_next_purchase_median(m, x, t_x, t_cal), x, t_x, t_cal) - 0.5)
           < 1e-12 AS half_at_median
FROM mbg_fit, mbg_people c ORDER BY c.id;

-- Extremes give finite answers: long gone, a huge T, a heavy buyer.
SELECT mbgnbd_p_alive(m, 50, 1, 1e6) < 1e-200 AS p_alive_long_gone_tiny,
       round(mbgnbd_p_alive(m, 0, 0, 1e9)::numeric, 6) AS p_alive_one_timer_1e9,
       round(mbgnbd_expected_purchases(m, 39, 0, 0, 1e9)::numeric, 12) AS expected_after_1e9_weeks,
       round(mbgnbd_p_alive(m, 1000, 38, 38.86)::numeric, 4) AS p_alive_heavy_buyer,
       round(mbgnbd_expected_purchases(m, 39, 1000, 38, 38.86)::numeric, 2) AS expected_heavy_buyer
FROM mbg_fit;

-------------------------------------------------------------------------------
-- A simulated population of known parameters
-------------------------------------------------------------------------------
-- Uniforms from hashes (stable across versions and platforms, unlike random()):
-- stream s of customer i, draw j.
CREATE FUNCTION pg_temp.u(i int, s int, j int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT (hashint8((i::bigint * 8 + s) * 1000000 + j)::float8 + 2147483648.5) / 4294967296.0
$$;
-- Gamma(shape, 1) by Marsaglia & Tsang (2000), shape < 1 through Gamma(shape + 1) U^(1/shape).
CREATE FUNCTION pg_temp.gamma(shape float8, i int, s int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    d float8 := CASE WHEN shape < 1 THEN shape + 1 ELSE shape END - 1.0 / 3;
    c float8 := 1 / sqrt(9 * d);
    j int := 0;
    z float8;
    v float8;
    u float8;
BEGIN
    LOOP
        z := sqrt(-2 * ln(pg_temp.u(i, s, j))) * cos(2 * pi() * pg_temp.u(i, s, j + 1));
        u := pg_temp.u(i, s, j + 2);
        j := j + 3;
        v := (1 + c * z) ^ 3;
        EXIT WHEN v > 0 AND ln(u) < z * z / 2 + d - d * v + d * ln(v);
    END LOOP;
    IF shape < 1 THEN
        RETURN d * v * pg_temp.u(i, s, j) ^ (1 / shape);
    END IF;
    RETURN d * v;
END
$$;
-- One MBG/NBD customer observed for t_cal: lambda ~ Gamma(r, alpha), p ~ Beta(a, b);
-- a dropout with probability p at time 0 and after each purchase.
CREATE FUNCTION pg_temp.simulate(i int, r float8, alpha float8, a float8, b float8, t_cal float8,
                                 OUT x int, OUT t_x float8, OUT alive boolean)
LANGUAGE plpgsql AS $$
DECLARE
    lambda float8 := pg_temp.gamma(r, i, 1) / alpha;
    g float8 := pg_temp.gamma(a, i, 2);
    p float8 := g / (g + pg_temp.gamma(b, i, 3));
    t float8 := 0;
    j int := 0;
BEGIN
    x := 0;
    t_x := 0;
    alive := pg_temp.u(i, 4, j) >= p;
    WHILE alive LOOP
        t := t - ln(pg_temp.u(i, 5, j)) / lambda;
        EXIT WHEN t > t_cal;
        x := x + 1;
        t_x := t;
        j := j + 1;
        alive := pg_temp.u(i, 4, j) >= p;
    END LOOP;
END
$$;
-- 10,000 customers of BTYDplus's test parameters (r = 0.85, alpha = 1.45, a = 0.79,
-- b = 2.42), T from 12 to 96 weeks.
CREATE TABLE mbg_simulated AS
SELECT i, (s).x, (s).t_x, t_cal, (s).alive
FROM generate_series(1, 10000) i,
     LATERAL (SELECT 12 + 4 * (i % 22)::float8 AS t_cal) t,
     LATERAL (SELECT pg_temp.simulate(i, 0.85, 1.45, 0.79, 2.42, t_cal) AS s) s;
SELECT count(*) AS customers, count(*) FILTER (WHERE x = 0) AS one_time_buyers,
       count(*) FILTER (WHERE alive) AS alive, sum(x) AS repeat_purchases
FROM mbg_simulated;

-- The fit recovers the parameters: the likelihood-ratio statistic 2 (LL(fit) -
-- LL(truth)) is at least 0 (the fit found no worse a point than the truth) and below
-- 18.47, the 99.9 % quantile of chi-square with 4 degrees of freedom, its asymptotic
-- law at this sample size; the expected number alive is the simulated one within
-- 3 standard deviations of a sum of Bernoullis.
CREATE TABLE mbg_simulated_fit AS SELECT mbgnbd_fit(x, t_x, t_cal) AS m FROM mbg_simulated;
SELECT round((m).r::numeric, 2) AS r, round((m).alpha::numeric, 2) AS alpha,
       round((m).a::numeric, 2) AS a, round((m).b::numeric, 2) AS b, (m).converged,
       abs((m).log_likelihood - pg_temp.mbgnbd_ll((m).r, (m).alpha, (m).a, (m).b, 'mbg_simulated'))
           < 1e-8 * abs((m).log_likelihood) AS log_likelihood_as_sql,
       2 * ((m).log_likelihood - pg_temp.mbgnbd_ll(0.85, 1.45, 0.79, 2.42, 'mbg_simulated'))
           BETWEEN 0 AND 18.47 AS likelihood_ratio_within_chi2
FROM mbg_simulated_fit;
SELECT abs(sum(mbgnbd_p_alive(m, x, t_x, t_cal)) - count(*) FILTER (WHERE alive))
           < 3 * sqrt(sum(mbgnbd_p_alive(m, x, t_x, t_cal) * (1 - mbgnbd_p_alive(m, x, t_x, t_cal))))
           AS alive_as_simulated
FROM mbg_simulated, mbg_simulated_fit;

-------------------------------------------------------------------------------
-- Pathological data: an error, or a fit that says it did not converge, with finite
-- parameters
-------------------------------------------------------------------------------
-- All one-time buyers: "everybody dropped out at once" explains them as well as
-- "nobody buys", and no optimum exists: an error, as for bgnbd_fit.
SELECT pg_temp.error_of($$SELECT mbgnbd_fit(0, 0, t) FROM generate_series(1, 100) t$$) AS all_one_time_buyers;
-- One customer, or many identical ones: the likelihood grows towards parameters of 0
-- or infinity (a population without heterogeneity); the gradient vanishes on the way,
-- and the fit says that this is no optimum (a warning, converged = false), with
-- finite parameters that still give sensible values.  Then T = 1e9 next to T = 38, and
-- times at the ends of double precision.
SELECT (m).customers, (m).converged, (m).r > 0 AND (m).alpha > 0 AND (m).a > 0 AND (m).b > 0 AS positive,
       (m).r < 'Infinity' AND (m).alpha < 'Infinity' AND (m).a < 'Infinity' AND (m).b < 'Infinity' AS finite,
       mbgnbd_p_alive(m, 2, 5, 10) BETWEEN 0 AND 1 AS p_alive_is_probability,
       mbgnbd_expected_purchases(m, 10, 2, 5, 10) >= 0 AS expected_not_negative
FROM (SELECT mbgnbd_fit(2, 5, 10) AS m) q;
SELECT (m).customers, (m).r > 0 AND (m).alpha > 0 AND (m).a > 0 AND (m).b > 0 AS positive,
       (m).r < 'Infinity' AND (m).alpha < 'Infinity' AND (m).a < 'Infinity' AND (m).b < 'Infinity' AS finite,
       mbgnbd_p_alive(m, 2, 5, 10) BETWEEN 0 AND 1 AS p_alive_is_probability
FROM (SELECT mbgnbd_fit(2, 5, 10) AS m FROM generate_series(1, 1000)) q;
SELECT (m).customers, (m).converged,
       (m).r < 'Infinity' AND (m).alpha < 'Infinity' AND (m).a < 'Infinity' AND (m).b < 'Infinity'
           AND (m).log_likelihood > '-Infinity' AS finite,
       (m).r > 0 AND (m).alpha > 0 AND (m).a > 0 AND (m).b > 0 AS positive
FROM (SELECT mbgnbd_fit(x, t_x, t_cal) AS m
      FROM (SELECT x, t_x, t_cal FROM mbg_customers UNION ALL VALUES (3, 20, 1e9), (0, 0, 1e9)) c) q;
SELECT (m).r < 'Infinity' AND (m).alpha < 'Infinity' AND (m).a < 'Infinity' AND (m).b < 'Infinity' AS finite,
       (m).r > 0 AND (m).alpha > 0 AND (m).a > 0 AND (m).b > 0 AS positive, (m).converged
FROM (SELECT mbgnbd_fit(x, tx, t) AS m
      FROM (VALUES (1, 1e-300::float8, 1e300::float8), (0, 0, 1e300), (3, 1e300, 1e300)) v(x, tx, t)) q;

-- No customers: NULL; NULL inputs are skipped.
SELECT mbgnbd_fit(x, t_x, t_cal) IS NULL AS empty
FROM (VALUES (NULL::int, NULL::float8, NULL::float8), (0, 0, 10)) v(x, t_x, t_cal) WHERE x IS NULL;
SELECT (mbgnbd_fit(x, t_x, t_cal)).customers
FROM (VALUES (NULL::int, 1::float8, 2::float8), (1, NULL, 2), (1, 1, NULL), (2, 5, 10), (0, 0, 10)) v(x, t_x, t_cal);

-------------------------------------------------------------------------------
-- Parallel plans: workers' partial samples are serialized, deserialized (validated)
-- and combined (bgnbd_fit's combine and serial functions), and the fit is exactly the
-- serial one.
-------------------------------------------------------------------------------
CREATE TABLE mbg_many AS SELECT g AS copy, c.* FROM mbg_customers c, generate_series(1, 10) g;
ANALYZE mbg_many;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE mbg_serial_fit AS SELECT mbgnbd_fit(x, t_x, t_cal) AS m FROM mbg_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF) SELECT mbgnbd_fit(x, t_x, t_cal) FROM mbg_many;
SELECT p.m = s.m AS identical, (p.m).customers, (p.m).converged
FROM (SELECT mbgnbd_fit(x, t_x, t_cal) AS m FROM mbg_many) p, mbg_serial_fit s;
-- several fits in one parallel aggregation, grouped
SELECT copy % 2 AS half, (mbgnbd_fit(x, t_x, t_cal)).customers
FROM mbg_many GROUP BY 1 ORDER BY 1;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'off', false) AS unforced;

-- (The decoder of the partial samples is fuzzed by test/fuzz with corrupted bytes.)

-------------------------------------------------------------------------------
-- Bad input: a clear error with its SQLSTATE
-------------------------------------------------------------------------------
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT mbgnbd_fit(-1, 0, 10)$$),
    ($$SELECT mbgnbd_fit(0, 1, 10)$$),
    ($$SELECT mbgnbd_fit(2, 11, 10)$$),
    ($$SELECT mbgnbd_fit(2, 'NaN', 10)$$),
    ($$SELECT mbgnbd_fit(2, 1, 'Infinity')$$),
    ($$SELECT mbgnbd_fit(2, 0, 0)$$),
    ($$SELECT mbgnbd_fit(1, 5e-324, 5e-324)$$),
    ($$SELECT mbgnbd_p_alive(ROW(0, 1, 1, 1, NULL, NULL, NULL, NULL)::mbgnbd_model, 1, 1, 2)$$),
    ($$SELECT mbgnbd_p_alive(ROW(1, 'NaN', 1, 1, NULL, NULL, NULL, NULL)::mbgnbd_model, 1, 1, 2)$$),
    ($$SELECT mbgnbd_p_alive(ROW(1, 1, NULL, 1, NULL, NULL, NULL, NULL)::mbgnbd_model, 1, 1, 2)$$),
    ($$SELECT mbgnbd_p_alive(ROW(1, 1, 1, 'Infinity', NULL, NULL, NULL, NULL)::mbgnbd_model, 1, 1, 2)$$),
    ($$SELECT mbgnbd_p_alive(ROW(1, 1, 1, 1, NULL, NULL, NULL, NULL)::mbgnbd_model, 1, 3, 2)$$),
    ($$SELECT mbgnbd_expected_purchases(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::mbgnbd_model, -1)$$),
    ($$SELECT mbgnbd_expected_purchases(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::mbgnbd_model, 'Infinity', 1, 1, 2)$$),
    ($$SELECT mbgnbd_expected_purchases(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::mbgnbd_model, 5, 0, 1, 2)$$),
    ($$SELECT mbgnbd_expected_purchases(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::mbgnbd_model, 1e12)$$),
    ($$SELECT mbgnbd_expected_purchases(ROW(0.25, 4.4, 0.8, 2.4, NULL, NULL, NULL, NULL)::mbgnbd_model, 1e17)$$),
    ($$SELECT mbgnbd_p_purchase_within(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::mbgnbd_model, 'NaN', 1, 1, 2)$$),
    ($$SELECT mbgnbd_p_purchase_within(ROW(1, 1, 2, 2, NULL, NULL, NULL, NULL)::mbgnbd_model, 1, -1, 0, 2)$$),
    ($$SELECT mbgnbd_next_purchase_median(ROW(1, 0, 1, 1, NULL, NULL, NULL, NULL)::mbgnbd_model, 1, 1, 2)$$)
) v(q);
-- STRICT: a NULL argument gives NULL.
SELECT mbgnbd_p_alive(NULL, 1, 1, 2) IS NULL AS strict_p_alive,
       mbgnbd_expected_purchases(m, NULL, 1, 1, 2) IS NULL AS strict_expected,
       mbgnbd_expected_purchases(m, NULL) IS NULL AS strict_expected_new,
       mbgnbd_p_purchase_within(m, 1, NULL, 1, 2) IS NULL AS strict_within,
       mbgnbd_next_purchase_median(m, 1, 1, NULL) IS NULL AS strict_median
FROM mbg_fit;

DROP TABLE mbg_published, mbg_customers, mbg_fit, mbg_raw, mbg_orders, mbg_summary, mbg_people,
           mbg_simulated, mbg_simulated_fit, mbg_many, mbg_serial_fit;
