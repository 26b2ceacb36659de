-- test/fuzz/make_corpus.sql: valid serialized states from a real server, the
-- seed corpus of the fuzz harness.  Run by test/fuzz/make_corpus.sh, as a
-- superuser (an aggregate with an internal state needs one), in one
-- transaction that is rolled back.
--
-- A serial function takes internal, so SQL cannot call it; an aggregate can:
-- each fuzz_corpus.<target> aggregate below is the extension's own, with its
-- serial function as final function, so it returns the very bytes a parallel
-- worker would send.  Output: one line per seed, "<target> <name> <hex>".
\set ON_ERROR_STOP on
SET TimeZone = 'UTC';
BEGIN;
CREATE SCHEMA fuzz_corpus;
SET LOCAL search_path = fuzz_corpus, customer_priority;

CREATE AGGREGATE abc_cutoffs(numeric, numeric, numeric, text) (
    SFUNC = abc_cutoffs_transfn, STYPE = internal, FINALFUNC = abc_cutoffs_serialfn);
CREATE AGGREGATE rfm_breaks(timestamptz, bigint, numeric, integer) (
    SFUNC = rfm_breaks_transfn, STYPE = internal, FINALFUNC = rfm_breaks_serialfn);
CREATE AGGREGATE rfm(timestamptz, numeric, timestamptz) (
    SFUNC = rfm_transfn, STYPE = internal, FINALFUNC = rfm_serialfn);
CREATE AGGREGATE rfm(timestamptz, numeric, timestamptz, anyelement, numeric) (
    SFUNC = rfm_transfn, STYPE = internal, FINALFUNC = rfm_serialfn);
CREATE AGGREGATE score_population(bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric) (
    SFUNC = score_population_transfn, STYPE = internal, FINALFUNC = score_population_serialfn);
CREATE AGGREGATE score_population(bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric, anyelement) (
    SFUNC = score_population_transfn, STYPE = internal, FINALFUNC = score_population_serialfn);
CREATE AGGREGATE bgnbd_fit(integer, double precision, double precision) (
    SFUNC = bgnbd_fit_transfn, STYPE = internal, FINALFUNC = model_fit_serialfn);
CREATE AGGREGATE pareto_nbd_fit(integer, double precision, double precision) (
    SFUNC = pareto_nbd_fit_transfn, STYPE = internal, FINALFUNC = model_fit_serialfn);
CREATE AGGREGATE gamma_gamma_fit(integer, double precision) (
    SFUNC = gamma_gamma_fit_transfn, STYPE = internal, FINALFUNC = model_fit_serialfn);
CREATE AGGREGATE mbgnbd_fit(integer, double precision, double precision) (
    SFUNC = mbgnbd_fit_transfn, STYPE = internal, FINALFUNC = model_fit_serialfn);
CREATE AGGREGATE customer_profile(timestamptz, numeric, timestamptz) (
    SFUNC = customer_profile_transfn, STYPE = internal, FINALFUNC = customer_profile_serialfn);
CREATE AGGREGATE customer_profile(timestamptz, numeric, timestamptz, anyelement, numeric, numeric, text) (
    SFUNC = customer_profile_transfn, STYPE = internal, FINALFUNC = customer_profile_serialfn);
CREATE AGGREGATE typology_model(customer_priority.customer_profile, numeric) (
    SFUNC = typology_model_transfn, STYPE = internal, FINALFUNC = typology_model_serialfn);
CREATE AGGREGATE xyz(timestamptz, numeric, timestamptz, text, text) (
    SFUNC = xyz_transfn, STYPE = internal, FINALFUNC = xyz_serialfn);

-- Orders of 6 customers: repeat buyers, a one-off, a refund, fractional and
-- large amounts, so that states hold both exact units and numeric rests.
CREATE TABLE orders AS
SELECT c AS customer_id, o AS order_id,
       timestamptz '2024-01-01 10:00+00' + (c * 17 + o * 29) * interval '1 day' AS ordered_at,
       CASE WHEN c = 3 AND o = 2 THEN -12.50
            WHEN c = 5 THEN 1234567890123.4567 * o
            ELSE round((c * 7.31 + o * 3.07)::numeric, 2) END AS amount
FROM generate_series(1, 6) c, generate_series(1, CASE WHEN c = 4 THEN 1 ELSE c END) o;

CREATE TABLE seeds (target text, name text, bytes bytea);

INSERT INTO seeds
SELECT 'abc_cutoffs', 'pareto', abc_cutoffs(amount, 0.8, 0.95, 'pareto') FROM orders
UNION ALL
SELECT 'abc_cutoffs', 'share_one', abc_cutoffs(amount, 0.5, 0.9, 'share') FROM orders WHERE customer_id = 1
UNION ALL
SELECT 'rfm_breaks', 'bins5', rfm_breaks(last_order, frequency, monetary, 5)
FROM (SELECT customer_id, max(ordered_at) AS last_order, count(*) AS frequency, sum(amount) AS monetary
      FROM orders GROUP BY customer_id) c
UNION ALL
SELECT 'rfm_breaks', 'bins2_one', rfm_breaks(timestamptz '2024-05-01', 3, 10.5, 2)
UNION ALL
SELECT 'rfm', 'customer' || customer_id, rfm(ordered_at, amount, '2025-01-01')
FROM orders WHERE customer_id IN (2, 5) GROUP BY customer_id
UNION ALL
SELECT 'rfm', 'order_ids_returns', rfm(ordered_at, amount, '2025-01-01', order_id, CASE WHEN order_id = 1 THEN 1.25 END)
FROM orders WHERE customer_id = 6
UNION ALL
SELECT 'score_population', 'plain', score_population(customer_id, ordered_at, amount, '2025-01-01', 3, 0.8, 0.95)
FROM orders
UNION ALL
SELECT 'score_population', 'order_ids', score_population(customer_id, ordered_at, amount, '2025-01-01', 5, 0.5, 0.9, order_id)
FROM orders WHERE customer_id <= 3
UNION ALL
SELECT 'population_scores', 'plain', customer_priority.score_population(customer_id, ordered_at, amount, '2025-01-01', 3, 0.8, 0.95)
FROM orders
UNION ALL
SELECT 'population_scores', 'order_ids', customer_priority.score_population(customer_id, ordered_at, amount, '2024-06-01', 4, 0.5, 0.9, order_id)
FROM orders
UNION ALL
SELECT 'bgnbd_fit', 'sample', bgnbd_fit(x, t_x, t_cal)
FROM (VALUES (0, 0.0, 38.0), (2, 30.4, 38.0), (5, 35.1, 38.0), (2, 30.4, 38.0), (1, 2.5, 10.0)) v(x, t_x, t_cal)
UNION ALL
SELECT 'pareto_nbd_fit', 'sample', pareto_nbd_fit(x, t_x, t_cal)
FROM (VALUES (0, 0.0, 38.0), (2, 30.4, 38.0), (5, 35.1, 38.0), (2, 30.4, 38.0), (1, 2.5, 10.0)) v(x, t_x, t_cal)
UNION ALL
SELECT 'gamma_gamma_fit', 'sample', gamma_gamma_fit(x, m)
FROM (VALUES (1, 25.0), (3, 41.5), (7, 12.25), (3, 41.5)) v(x, m)
UNION ALL
SELECT 'mbgnbd_fit', 'sample', mbgnbd_fit(x, t_x, t_cal)
FROM (VALUES (0, 0.0, 38.0), (2, 30.4, 38.0), (5, 35.1, 38.0), (2, 30.4, 38.0), (0, 0.0, 4.0)) v(x, t_x, t_cal)
UNION ALL
SELECT 'customer_profile', 'plain', customer_profile(ordered_at, amount, '2025-01-01')
FROM orders WHERE customer_id = 6
UNION ALL
SELECT 'customer_profile', 'order_ids_zone', customer_profile(ordered_at, amount, '2025-01-01', order_id, 0.5, 0.1, 'Europe/Paris')
FROM orders WHERE customer_id = 5
UNION ALL
SELECT 'typology_model', 'population', typology_model(p, CASE WHEN customer_id % 2 = 0 THEN 3 END)
FROM (SELECT customer_id, customer_priority.customer_profile(ordered_at, amount, '2025-01-01') AS p
      FROM orders GROUP BY customer_id) c
UNION ALL
SELECT 'xyz', 'month_utc', xyz(ordered_at, amount, '2025-01-01', 'month', 'UTC')
FROM orders WHERE customer_id = 6
UNION ALL
SELECT 'xyz', 'week_paris', xyz(ordered_at, amount, '2025-01-01', 'week', 'Europe/Paris')
FROM orders WHERE customer_id = 5;

\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '
SELECT target, name, encode(bytes, 'hex') FROM seeds WHERE bytes IS NOT NULL ORDER BY 1, 2;
ROLLBACK;
