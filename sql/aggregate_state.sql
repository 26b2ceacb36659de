-- customer_priority.aggregate_state: the SQL-visible transition type of rfm_breaks(),
-- abc_cutoffs() and score_population() (src/aggregate_state.c), so that Citus can
-- split them into partials on the workers (the state, as text) and a combine on the
-- coordinator (docs/scale-out.md).  Here the same split by hand: a user aggregate
-- without a final function returns the state, its text goes through the type's
-- input function, and the combine function plus the final function over the states
-- of two halves of the customers give the aggregate's answer over all rows.  Bad
-- text and bad states are errors with their SQLSTATE, never a wrong answer.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
SET extra_float_digits = 3;
\set ECHO none
\i sql/helpers/error_of.sql
\set customers 300
\set seed 2
\i test/generate_orders.sql
\set ECHO all

-- Which aggregates have the SQL-visible state (the polymorphic form with order_id
-- keeps internal: Citus refuses a polymorphic argument in a worker partial).
SELECT a.aggfnoid::regprocedure AS aggregate, a.aggtranstype::regtype AS state, a.aggserialfn <> 0 AS serialfn
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE p.pronamespace = 'customer_priority'::regnamespace
  AND p.proname IN ('rfm_breaks', 'abc_cutoffs', 'score_population')
ORDER BY 1::text;

-- The partial states, as Citus's worker_partial_agg() makes them: the transition
-- function without the final one.
CREATE AGGREGATE pg_temp.breaks_partial(timestamptz, bigint, numeric, integer) (
    SFUNC = customer_priority.rfm_breaks_state_transfn, STYPE = customer_priority.aggregate_state);
CREATE AGGREGATE pg_temp.breaks_combined(customer_priority.aggregate_state) (
    SFUNC = customer_priority.rfm_breaks_state_combinefn, STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.rfm_breaks_state_finalfn);
CREATE AGGREGATE pg_temp.abc_partial(numeric, numeric, numeric, text) (
    SFUNC = customer_priority.abc_cutoffs_state_transfn, STYPE = customer_priority.aggregate_state);
CREATE AGGREGATE pg_temp.abc_combined(customer_priority.aggregate_state) (
    SFUNC = customer_priority.abc_cutoffs_state_combinefn, STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.abc_cutoffs_state_finalfn);
CREATE AGGREGATE pg_temp.population_partial(bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric) (
    SFUNC = customer_priority.score_population_state_transfn, STYPE = customer_priority.aggregate_state);
CREATE AGGREGATE pg_temp.population_combined(customer_priority.aggregate_state) (
    SFUNC = customer_priority.score_population_state_combinefn, STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.score_population_state_finalfn);

CREATE TEMP TABLE partials AS
SELECT customer_id % 2 AS half,
       pg_temp.breaks_partial(ordered_at, 1, amount, 5)::text AS breaks,
       pg_temp.abc_partial(amount, 0.7, 0.9, 'share')::text AS abc,
       pg_temp.population_partial(customer_id, ordered_at, amount, '2025-01-01', 5, 0.8, 0.95)::text AS population
FROM orders GROUP BY 1;
-- The text form: hex of version 1, the kind (1, 2, 3), the aggregate's serialized state.
SELECT half, left(breaks, 4) AS breaks, left(abc, 4) AS abc, left(population, 4) AS population,
       breaks::aggregate_state::text = breaks AND abc::aggregate_state::text = abc
       AND population::aggregate_state::text = population AS round_trip
FROM partials ORDER BY half;

-- Combined from the text of the two halves = the aggregate over all rows.
SELECT (SELECT pg_temp.breaks_combined(breaks::aggregate_state) FROM partials)::text
       = (SELECT rfm_breaks(ordered_at, 1, amount, 5) FROM orders)::text AS rfm_breaks_same,
       (SELECT pg_temp.abc_combined(abc::aggregate_state) FROM partials)::text
       = (SELECT abc_cutoffs(amount, 0.7, 0.9, 'share') FROM orders)::text AS abc_cutoffs_same,
       (SELECT string_agg(s::text, ',' ORDER BY s.customer_id) FROM population_scores(
            (SELECT pg_temp.population_combined(population::aggregate_state) FROM partials)) s)
       = (SELECT string_agg(s::text, ',' ORDER BY s.customer_id) FROM population_scores(
            (SELECT score_population(customer_id, ordered_at, amount, '2025-01-01', 5, 0.8, 0.95) FROM orders)) s)
         AS score_population_same;
-- A state with NULLs only (no row), and a NULL state among the partials.
SELECT (SELECT pg_temp.breaks_combined(s) FROM (VALUES (NULL::aggregate_state)) v(s)) IS NULL AS all_null,
       (SELECT pg_temp.breaks_combined(s) FROM (SELECT breaks::aggregate_state FROM partials UNION ALL SELECT NULL) v(s))::text
       = (SELECT rfm_breaks(ordered_at, 1, amount, 5) FROM orders)::text AS null_partial_ignored;

-- Bad text and bad states.
SELECT c AS aggregate_state_case, pg_temp.error_of(q) AS result FROM (VALUES
    ('odd number of digits', $$SELECT '010'::customer_priority.aggregate_state$$),
    ('not hex', $$SELECT '01zz'::customer_priority.aggregate_state$$),
    ('empty', $$SELECT ''::customer_priority.aggregate_state$$),
    ('header only, kind 1', $$SELECT '0101'::customer_priority.aggregate_state$$),
    ('unknown version', $$SELECT '0201'::customer_priority.aggregate_state$$),
    ('unknown kind', $$SELECT '0109'::customer_priority.aggregate_state$$),
    ('kind 0', $$SELECT '0100'::customer_priority.aggregate_state$$),
    ('truncated payload', $$SELECT pg_temp.breaks_combined(left(breaks, 40)::customer_priority.aggregate_state) FROM partials$$),
    ('header only, combined', $$SELECT pg_temp.breaks_combined('0101'::customer_priority.aggregate_state)$$),
    ('another aggregate''s state', $$SELECT pg_temp.abc_combined(breaks::customer_priority.aggregate_state) FROM partials$$),
    ('payload of another kind', $$SELECT pg_temp.abc_combined(('0102' || substr(breaks, 5))::customer_priority.aggregate_state) FROM partials$$),
    ('transition called directly', $$SELECT customer_priority.rfm_breaks_state_transfn(NULL, '2024-01-01', 1, 1, 5)$$),
    ('combine called directly', $$SELECT customer_priority.abc_cutoffs_state_combinefn(NULL, NULL)$$),
    ('final called directly', $$SELECT customer_priority.score_population_state_finalfn(NULL)$$)
) v(c, q);
