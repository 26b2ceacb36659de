-- The next purchase: bgnbd_p_purchase_within() and bgnbd_next_purchase_median(),
-- held to a direct numerical integration over the model's posterior that assumes
-- nothing of the closed form (src/next_purchase.c, docs/potential.md).
SET search_path = public, customer_priority;
SET extra_float_digits = 0;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- The published CDNOW BG/NBD parameters (Fader, Hardie & Lee 2005), in weeks.
CREATE TABLE np_model AS
SELECT ROW(0.243, 4.414, 0.793, 2.426, NULL, NULL, NULL, NULL)::bgnbd_model AS m;
CREATE TABLE np_customer (id int, x int, t_x float8, t_cal float8);
INSERT INTO np_customer VALUES
    (1, 0, 0, 38.86),        -- a one-time buyer
    (2, 2, 30.43, 38.86),    -- FHL's example customer
    (3, 5, 10, 38.86),       -- bought often, then went quiet: likely gone
    (4, 10, 38, 38.86),      -- a heavy, recent buyer
    (5, 1, 1, 3);            -- a new customer

-- P(at least one purchase in (T, T+t]) by the joint posterior of (lambda, p), on a
-- midpoint grid: prior Gamma(r, alpha) x Beta(a, b) times the likelihood of
-- (x, t_x, T) -- alive at T: (1-p)^x lambda^x e^(-lambda T); dropped out after the
-- last purchase: p (1-p)^(x-1) lambda^x e^(-lambda t_x), x > 0 -- and, for the
-- numerator, only the alive branch times 1 - e^(-lambda t).  Substitutions
-- lambda = u^(1/r), p = v^(1/a) take the prior's singularities at 0 into the
-- measure (lambda^(r-1) d lambda = du / r, p^(a-1) dp = dv / a), so the integrands
-- are smooth.
CREATE FUNCTION pg_temp.p_purchase_by_integration(r float8, alpha float8, a float8, b float8,
                                                  x int, t_x float8, t_cal float8, t float8)
RETURNS float8 LANGUAGE sql AS $$
    WITH grid AS (
        SELECT (((i - 0.5) / 200) * u_max) ^ (1 / r) AS lambda,
               ((j - 0.5) / 200) ^ (1 / a) AS p
        FROM (SELECT ((r + x + 60) / (alpha + t_x)) ^ r AS u_max) m,
             generate_series(1, 200) i, generate_series(1, 200) j
    ), terms AS (
        SELECT (1 - p) ^ (b - 1) * lambda ^ x * (1 - p) ^ x * exp(-lambda * (alpha + t_cal)) AS alive,
               CASE WHEN x > 0
                    THEN (1 - p) ^ (b - 1) * lambda ^ x * p * (1 - p) ^ (x - 1) * exp(-lambda * (alpha + t_x))
                    ELSE 0 END AS gone,
               lambda
        FROM grid
    )
    SELECT sum(alive * (1 - exp(-lambda * t))) / sum(alive + gone) FROM terms
$$;

-- The closed form against the integral: agree to 1e-5 for every customer and horizon
-- (the grid's error is below 3e-6 and falls as 1/n^2; a slip in the closed form shows
-- in the second decimal).
SELECT c.id, t,
       round(bgnbd_p_purchase_within(m, t, x, t_x, t_cal)::numeric, 4) AS p_purchase,
       abs(bgnbd_p_purchase_within(m, t, x, t_x, t_cal) -
           pg_temp.p_purchase_by_integration(0.243, 4.414, 0.793, 2.426, x, t_x, t_cal, t)) < 1e-5
           AS matches_integral
FROM np_model, np_customer c, unnest(ARRAY[1, 4, 52]::float8[]) t
ORDER BY c.id, t;

-- Limits: nothing within no time; P(alive) within forever; increasing in t.
SELECT c.id,
       bgnbd_p_purchase_within(m, 0, x, t_x, t_cal) AS within_nothing,
       abs(bgnbd_p_purchase_within(m, 1e300, x, t_x, t_cal) - bgnbd_p_alive(m, x, t_x, t_cal)) < 1e-12
           AS within_forever_is_p_alive,
       bool_and(bgnbd_p_purchase_within(m, t, x, t_x, t_cal) <
                bgnbd_p_purchase_within(m, t * 1.5, x, t_x, t_cal)) FILTER (WHERE k <= 20)
           AS increasing,
       bool_and(bgnbd_p_purchase_within(m, t, x, t_x, t_cal) <=
                bgnbd_p_purchase_within(m, t * 1.5, x, t_x, t_cal)) AS never_decreasing
FROM np_model, np_customer c, generate_series(1, 60) k, LATERAL (SELECT 0.01 * 1.5 ^ k AS t) h
GROUP BY c.id, m, x, t_x, t_cal ORDER BY c.id;

-- The median: where the probability is 1/2; NULL when P(alive) <= 1/2.
SELECT c.id,
       round(bgnbd_p_alive(m, x, t_x, t_cal)::numeric, 4) AS p_alive,
       round(bgnbd_next_purchase_median(m, x, t_x, t_cal)::numeric, 3) AS median_weeks,
       abs(bgnbd_p_purchase_within(m, bgnbd_next_purchase_median(m, x, t_x, t_cal), x, t_x, t_cal) - 0.5)
           < 1e-12 AS half_at_median
FROM np_model, np_customer c ORDER BY c.id;

-- A customer just above even odds with a tiny purchase rate: the median lies beyond
-- any date (Infinity), not an error; exactly even odds: never.
SELECT bgnbd_next_purchase_median(ROW(1e-4, 1, 1, 1, NULL, NULL, NULL, NULL)::bgnbd_model, 0, 0, 1)
           AS beyond_any_date,
       bgnbd_next_purchase_median(ROW(1, 1, 1, 1, NULL, NULL, NULL, NULL)::bgnbd_model, 1, 0, 1) AS even_odds;

-- Bad input: a clear error.
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT bgnbd_p_purchase_within(m, -1, 1, 1, 2) FROM np_model$$),
    ($$SELECT bgnbd_p_purchase_within(m, 'NaN', 1, 1, 2) FROM np_model$$),
    ($$SELECT bgnbd_p_purchase_within(m, 'Infinity', 1, 1, 2) FROM np_model$$),
    ($$SELECT bgnbd_p_purchase_within(m, 1, 1, 3, 2) FROM np_model$$),
    ($$SELECT bgnbd_next_purchase_median(m, -1, 0, 2) FROM np_model$$),
    ($$SELECT bgnbd_next_purchase_median(ROW(1, 0, 1, 1, NULL, NULL, NULL, NULL)::bgnbd_model, 1, 1, 2)$$)
) v(q);
SELECT bgnbd_p_purchase_within(m, NULL, 1, 1, 2) IS NULL AS strict_within,
       bgnbd_next_purchase_median(NULL, 1, 1, 2) IS NULL AS strict_median
FROM np_model;

-------------------------------------------------------------------------------
-- MBG/NBD (src/mbgnbd.c): the same closed forms with MBG/NBD's P(alive).  A customer
-- alive at T has not dropped out at 0 nor after any purchase, so they cannot drop out
-- before buying again, and their rate is Gamma(r+x, alpha+T) as in BG/NBD; only the
-- likelihood differs -- alive: (1-p)^(x+1) lambda^x e^(-lambda T); gone at 0 or after
-- the last purchase: p (1-p)^x lambda^x e^(-lambda t_x), for x = 0 too.  The integral
-- below assumes none of that algebra; the same closed form with BG/NBD's P(alive)
-- (1 for a one-time buyer) misses it for every customer (the last column).
-------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.mbgnbd_p_purchase_by_integration(r float8, alpha float8, a float8, b float8,
                                                         x int, t_x float8, t_cal float8, t float8)
RETURNS float8 LANGUAGE sql AS $$
    WITH grid AS (
        SELECT (((i - 0.5) / 200) * u_max) ^ (1 / r) AS lambda,
               ((j - 0.5) / 200) ^ (1 / a) AS p
        FROM (SELECT ((r + x + 60) / (alpha + t_x)) ^ r AS u_max) m,
             generate_series(1, 200) i, generate_series(1, 200) j
    ), terms AS (
        SELECT (1 - p) ^ (b - 1) * lambda ^ x * (1 - p) ^ (x + 1) * exp(-lambda * (alpha + t_cal)) AS alive,
               (1 - p) ^ (b - 1) * lambda ^ x * p * (1 - p) ^ x * exp(-lambda * (alpha + t_x)) AS gone,
               lambda
        FROM grid
    )
    SELECT sum(alive * (1 - exp(-lambda * t))) / sum(alive + gone) FROM terms
$$;
-- The MBG/NBD estimate on CDNOW (sql/mbgnbd.sql), in weeks.
CREATE TABLE np_mbgnbd AS
SELECT ROW(0.525, 6.183, 0.891, 1.614, NULL, NULL, NULL, NULL)::mbgnbd_model AS m;
SELECT c.id, t,
       round(mbgnbd_p_purchase_within(m, t, x, t_x, t_cal)::numeric, 4) AS p_purchase,
       abs(mbgnbd_p_purchase_within(m, t, x, t_x, t_cal) -
           pg_temp.mbgnbd_p_purchase_by_integration(0.525, 6.183, 0.891, 1.614, x, t_x, t_cal, t)) < 1e-5
           AS matches_integral,
       abs(bgnbd_p_purchase_within(ROW(0.525, 6.183, 0.891, 1.614, NULL, NULL, NULL, NULL)::bgnbd_model,
                                   t, x, t_x, t_cal) -
           pg_temp.mbgnbd_p_purchase_by_integration(0.525, 6.183, 0.891, 1.614, x, t_x, t_cal, t)) < 1e-5
           AS bgnbd_p_alive_would_match
FROM np_mbgnbd, np_customer c, unnest(ARRAY[1, 4, 52]::float8[]) t
ORDER BY c.id, t;
-- The median gives 1/2; NULL when P(alive) <= 1/2 (a CDNOW one-time buyer now).
SELECT c.id,
       round(mbgnbd_p_alive(m, x, t_x, t_cal)::numeric, 4) AS p_alive,
       round(mbgnbd_next_purchase_median(m, x, t_x, t_cal)::numeric, 3) AS median_weeks,
       abs(mbgnbd_p_purchase_within(m, mbgnbd_next_purchase_median(m, x, t_x, t_cal), x, t_x, t_cal) - 0.5)
           < 1e-12 AS half_at_median
FROM np_mbgnbd, np_customer c ORDER BY c.id;
