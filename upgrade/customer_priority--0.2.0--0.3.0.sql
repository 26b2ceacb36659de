-- customer_priority 0.2.0 -> 0.3.0 (ALTER EXTENSION customer_priority UPDATE TO '0.3.0').
--
-- Rule for every upgrade script customer_priority--X--Y.sql (docs/segmentation.md,
-- "pg_dump, upgrades, DROP EXTENSION"; README, "Upgrading"):
--   1. It holds exactly what differs between the install scripts of X and Y: new objects
--      created with the same text as in src/*.sql; changed functions with CREATE OR
--      REPLACE FUNCTION (CREATE OR REPLACE AGGREGATE for aggregates, never DROP and
--      CREATE: views may depend on them); dropped objects dropped; changed comments,
--      grants and configuration rows (pg_extension_config_dump) done again.
--   2. Existing segmentations: their views and tables are not extension members, so the
--      script migrates them.  What segmentation_upgrade() cannot do generically it does
--      first; then it ends with the call below, which appends new columns to the
--      generation tables, replaces the views and comments them again.
--   3. Once released (a git tag), the script is frozen, as is the install script of the
--      released version in upgrade/.
-- test/t/002_upgrade.pl checks that an upgraded database (extension and segmentation)
-- equals a fresh install of the new version; test/t/006_upgrade_hostile.pl that a
-- hostile definition stored at 0.2.0 runs nothing during the update.
--
-- 0.3.0 (issue 20, security): segmentation names unique per schema; every definition
-- validated where it is written and before SQL is built from it; what is computed on
-- another role's behalf runs as the owner of the segmentation's views
-- (src/run_as_owner.sql); the public functions that take a segmentation name are SQL
-- wrappers resolving nothing through the caller's search_path; the blocking refresh
-- takes its locks without deadlocking readers.  The functions that change signature
-- are internal ones (the SECURITY DEFINER writers take the schema; history_lock takes
-- the definition): dropped and created.  The views of existing segmentations name
-- their definition by schema and name: segmentation_upgrade() replaces them.
--
-- 0.3.0 (issue 24, customer potential part 2): the next purchase (bgnbd_p_purchase_within,
-- bgnbd_next_purchase_median), the option potential.model, segmentation_holdout(); the
-- _customers columns p_purchase_next_unit, next_purchase_median and potential_model,
-- appended to existing segmentations by segmentation_upgrade().
--
-- 0.3.0 (issue 25, report and cohorts): a fourth generation table per segmentation,
-- <name>_cohorts_a / _b with the view <name>_cohorts; segmentation_upgrade() creates
-- them (empty until the next refresh) for segmentations made before.  The report,
-- segmentation_report() (src/report.sql).
--
-- 0.3.0 (issue 26, the public surface): the functions no role but a superuser runs (the
-- trigger functions, segmentation_upgrade(), query_columns_as_owner(), the support
-- functions on an internal state that no aggregate uses since the aggregate_state) are
-- no longer executable by PUBLIC (src/privileges.sql).

\echo Use "ALTER EXTENSION customer_priority UPDATE TO '0.3.0'" to load this file. \quit

-------------------------------------------------------------------------------
-- The next purchase (issue 24, src/next_purchase.c)
-------------------------------------------------------------------------------
-- The fits' shared combine and serial functions serve the two new models too.
COMMENT ON FUNCTION customer_priority.model_fit_combinefn(internal, internal) IS
    'combine function of bgnbd_fit(), mbgnbd_fit(), pareto_nbd_fit() and gamma_gamma_fit(): merges two partial samples';
COMMENT ON FUNCTION customer_priority.model_fit_serialfn(internal) IS
    'serial function of bgnbd_fit(), mbgnbd_fit(), pareto_nbd_fit() and gamma_gamma_fit(): sample to bytea';

-- The next purchase (src/next_purchase.c, docs/potential.md "The next purchase").
CREATE FUNCTION customer_priority.bgnbd_p_purchase_within(model customer_priority.bgnbd_model, t double precision,
                                                          x integer, t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bgnbd_p_purchase_within'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION customer_priority.bgnbd_p_purchase_within(customer_priority.bgnbd_model, double precision, integer, double precision, double precision) IS
    'probability that a customer (x, t_x, T) makes at least one purchase in the next t time units: P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x))';

-- NULL when the probability of buying again never reaches 1/2 (P(alive) <= 1/2).
CREATE FUNCTION customer_priority.bgnbd_next_purchase_median(model customer_priority.bgnbd_model,
                                                             x integer, t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bgnbd_next_purchase_median'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION customer_priority.bgnbd_next_purchase_median(customer_priority.bgnbd_model, integer, double precision, double precision) IS
    'time units after T by which a customer (x, t_x, T) has bought again with probability 1/2; NULL when that probability is never reached (P(alive) <= 1/2)';

-- The models a segmentation can score customers with (the option "potential.model",
-- besides "best"), in the order "best" prefers them at equal BIC.  Each name M has
-- M_fit(), M_p_alive(), M_expected_purchases(), M_p_purchase_within() and
-- M_next_purchase_median() (docs/potential.md).
CREATE FUNCTION customer_priority.potential_models()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '{bgnbd,mbgnbd,pareto_nbd}'::text[] $$;
COMMENT ON FUNCTION customer_priority.potential_models() IS
    'internal: the purchase models of the option "potential.model", in the order "best" prefers them at equal BIC';

-- The option "potential", checked, defaults filled in: NULL when off (absent, null
-- or false), else {unit, horizon, discount_rate, high_clv_share, model}.  true takes
-- every default.  The horizon's default is one year in the chosen unit.
CREATE OR REPLACE FUNCTION customer_priority.potential_options(options jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    known constant text[] := ARRAY['unit', 'horizon', 'discount_rate', 'high_clv_share', 'model'];
    o jsonb := jsonb_strip_nulls(coalesce(options, '{}')) -> 'potential';
    k text;
    unit text;
    model text;
    r jsonb;
BEGIN
    IF o IS NULL OR o = 'false' THEN
        RETURN NULL;
    ELSIF o = 'true' THEN
        o := '{}';
    ELSIF jsonb_typeof(o) <> 'object' THEN
        RAISE EXCEPTION 'option "potential" must be true, false or a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s.', o),
                  HINT = 'For example {"unit": "week", "horizon": 52, "discount_rate": 0.002}.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(o) LOOP
        IF NOT k = ANY (known) THEN
            RAISE EXCEPTION 'unknown key "%" in option "potential"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Keys: ' || array_to_string(known, ', ') || '.';
        END IF;
    END LOOP;
    unit := coalesce(customer_priority.segmentation_text_option(
                         jsonb_strip_nulls(jsonb_build_object('potential.unit', o -> 'unit')), 'potential.unit'),
                     'week');
    IF unit NOT IN ('day', 'week', 'month', 'year') THEN
        RAISE EXCEPTION 'option "potential.unit" must be "day", "week", "month" or "year", not "%"', unit
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    model := coalesce(customer_priority.segmentation_text_option(
                          jsonb_strip_nulls(jsonb_build_object('potential.model', o -> 'model')), 'potential.model'),
                      'bgnbd');
    IF NOT (model = 'best' OR model = ANY (customer_priority.potential_models())) THEN
        RAISE EXCEPTION 'option "potential.model" must be %, not "%"',
                        (SELECT string_agg(format('"%s"', m), ', ')
                         FROM unnest(customer_priority.potential_models() || '{best}'::text[]) m), model
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '"best" fits every model and scores with the one of lowest BIC.';
    END IF;
    r := jsonb_build_object(
        'unit', unit,
        -- customer_clv() takes at most 10,000 units
        'horizon', customer_priority.potential_number_option(o, 'horizon',
            CASE unit WHEN 'day' THEN 365 WHEN 'week' THEN 52 WHEN 'month' THEN 12 ELSE 1 END, 0, 10000),
        'discount_rate', customer_priority.potential_number_option(o, 'discount_rate', 0, 0, NULL),
        'high_clv_share', customer_priority.potential_number_option(o, 'high_clv_share', 0.2, 0, 1),
        'model', model);
    IF model <> 'bgnbd' AND (r ->> 'discount_rate')::numeric > 0 THEN
        RAISE EXCEPTION 'option "potential.discount_rate" needs "potential.model" "bgnbd", not "%"', model
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The discounted CLV (customer_clv()) is computed with BG/NBD only.',
                  HINT = 'Use "discount_rate": 0, or "model": "bgnbd".';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION customer_priority.potential_options(jsonb) IS
    'internal: the option "potential" of a segmentation, checked, defaults filled in; NULL when off';

-- Days per time unit of the option "potential" (as purchase_summary() counts them: a
-- month is a twelfth of a Julian year).
CREATE FUNCTION customer_priority.potential_unit_days(unit text)
RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE unit WHEN 'day' THEN 1 WHEN 'week' THEN 7 WHEN 'month' THEN 30.4375 WHEN 'year' THEN 365.25 END
$$;
COMMENT ON FUNCTION customer_priority.potential_unit_days(text) IS
    'internal: days per time unit of the option "potential" (a month is 365.25/12 days)';

-- The CTEs "potential" (the fitted models, one row) and "scored" (base plus every
-- potential column) of a segmentation's _customers query, for the effective option
-- "potential" (potential_options()).  Every name pasted is one of potential_models(),
-- quoted; every number a cast's result.
--
-- Without any repeat purchase the purchase models cannot be fitted (their fits raise
-- an error): the FILTER then gives them no rows, and the models are NULL.  With
-- "best", the scoring model is the converged fit of lowest BIC = 4 ln(customers) -
-- 2 log_likelihood (every model has four parameters, so this is the highest
-- likelihood), ties and non-converged fits in the order of potential_models().
CREATE FUNCTION customer_priority.segmentation_potential_query(potential jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen constant text := potential ->> 'model';
    models constant text[] := customer_priority.potential_fitted_models(potential);
    horizon constant numeric := (potential ->> 'horizon')::numeric;
    discount constant numeric := (potential ->> 'discount_rate')::numeric;
    -- the customer's summary as plain columns of base (segmentation_customers_query())
    customer constant text := 'b.summary_x, b.summary_t_x, b.summary_t_cal';
    fits text := '';
    candidates text := '';
    p_alive text := '';
    expected text := '';
    within text := '';
    median text := '';
    clv text;
    m text;
    i integer := 0;
BEGIN
    FOREACH m IN ARRAY models LOOP
        i := i + 1;
        fits := fits || format(E'\n           customer_priority.%I(%s) FILTER (WHERE e.repeat_customers) AS %I,',
                               m || '_fit', customer, m);
        candidates := candidates || format(E'%s\n            (%L, %s, (f.%I).converged, 4 * ln((f.%I).customers::float8) - 2 * (f.%I).log_likelihood)',
                                           CASE WHEN i > 1 THEN ',' ELSE '' END, m, i, m, m, m);
        p_alive := p_alive || format(' WHEN %L THEN customer_priority.%I(m.%I, %s)', m, m || '_p_alive', m, customer);
        expected := expected || format(' WHEN %L THEN %s', m,
            customer_priority.potential_expected_purchases_sql(m, format('m.%I', m), horizon::text,
                                                               'b.summary_x', 'b.summary_t_x', 'b.summary_t_cal'));
        within := within || format(' WHEN %L THEN customer_priority.%I(m.%I, 1, %s)', m, m || '_p_purchase_within', m, customer);
        median := median || format(' WHEN %L THEN customer_priority.%I(m.%I, %s)', m, m || '_next_purchase_median', m, customer);
    END LOOP;
    -- undiscounted, customer_clv() is exactly this product (one series, not two);
    -- discounted, it takes a BG/NBD model (potential_options() refuses a discount rate
    -- with another model)
    IF discount > 0 AND chosen <> 'bgnbd' THEN
        RAISE EXCEPTION 'a discounted CLV needs the purchase model "bgnbd", not "%"', chosen
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    clv := CASE WHEN discount = 0
                THEN 'v.expected_purchases * v.expected_spend'
                ELSE format($c$CASE WHEN v.expected_purchases IS NOT NULL AND v.expected_spend IS NOT NULL
                THEN customer_priority.customer_clv(m.bgnbd, m.gg, %s, b.summary_spend,
                                                    %s, %s) END$c$, customer, horizon, discount) END;
    RETURN format($s$potential AS (
    SELECT f.*,
           (SELECT c.model FROM (VALUES %2$s) AS c(model, preference, converged, bic)
            WHERE c.bic IS NOT NULL
            ORDER BY c.converged DESC, c.bic, c.preference LIMIT 1) AS model
    FROM (SELECT %1$s
                 customer_priority.gamma_gamma_fit(b.summary_x, b.summary_spend) AS gg
          FROM base b
          CROSS JOIN (SELECT bool_or(b.summary_x > 0) AS repeat_customers FROM base b) e) f
), scored AS (
    SELECT b.*, v.p_alive, v.expected_purchases, v.expected_spend,
           %3$s AS clv,
           v.p_purchase_next_unit, v.next_purchase_units, m.model AS potential_model
    FROM base b CROSS JOIN potential m
    -- OFFSET 0: computed once, not copied into each use below
    CROSS JOIN LATERAL (
        SELECT CASE m.model%4$s END AS p_alive,
               CASE m.model%5$s END AS expected_purchases,
               CASE WHEN (m.gg).q > 1
                    THEN customer_priority.gamma_gamma_expected_spend(m.gg, b.summary_x, b.summary_spend)
               END AS expected_spend,
               CASE m.model%6$s END AS p_purchase_next_unit,
               CASE m.model%7$s END AS next_purchase_units
        OFFSET 0) v
)$s$, fits, candidates, clv, p_alive, expected, within, median);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_potential_query(jsonb) IS
    'internal: the CTEs fitting and applying the purchase and spend models of a segmentation''s option "potential"';

-- SQL expressions over the orders relation (alias o) of a segmentation: the order time
-- as timestamptz (a timestamp or date column read in the time zone), the amount as
-- numeric, and the arguments of customer_profile() after (ordered_at, amount, as_of):
-- order id, returned amount, discount, time zone.  The columns are checked
-- (segmentation_column_type()); o is the definition's effective options.
CREATE FUNCTION customer_priority.segmentation_order_expressions(def customer_priority.segmentations, o jsonb,
                                                                 OUT ordered_at text, OUT amount text,
                                                                 OUT profile_extra text, OUT order_id text,
                                                                 OUT returned_amount text, OUT discount text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz constant text := o ->> 'time_zone';
BEGIN
    ordered_at := format('o.%I', def.ordered_at);
    CASE customer_priority.segmentation_column_type(def.orders, def.ordered_at, 'ordered_at', 'time')
        -- at_time_zone(): AT TIME ZONE that postgres_fdw can ship (src/shards.sql)
        WHEN 'timestamp'::regtype THEN
            ordered_at := format('customer_priority.at_time_zone(%L::customer_priority.calendar_name, %s)', tz, ordered_at);
        WHEN 'date'::regtype THEN
            ordered_at := format('customer_priority.at_time_zone(%L::customer_priority.calendar_name, %s::timestamp)', tz, ordered_at);
        ELSE NULL;
    END CASE;
    PERFORM customer_priority.segmentation_column_type(def.orders, def.amount, 'amount', 'number');
    amount := format('o.%I::numeric', def.amount);
    order_id := CASE WHEN o ->> 'order_id' IS NULL THEN 'NULL::bigint' ELSE format('o.%I', o ->> 'order_id') END;
    returned_amount := CASE WHEN o ->> 'returned_amount' IS NULL THEN 'NULL::numeric'
                            ELSE format('o.%I::numeric', o ->> 'returned_amount') END;
    discount := CASE WHEN o ->> 'discount' IS NULL THEN 'NULL::numeric' ELSE format('o.%I::numeric', o ->> 'discount') END;
    profile_extra := format('%s, %s, %s, %L::customer_priority.calendar_name', order_id, returned_amount, discount, tz);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_order_expressions(customer_priority.segmentations, jsonb) IS
    'internal: SQL expressions of a segmentation''s order time, amount, order id, returned amount and discount, and the customer_profile() arguments after as_of';

-- The query of segmentation_holdout(): one scan of the orders gives every customer's
-- profile up to calibration_end and up to as_of, with the segmentation's own mapping
-- (time zone, order ids, returns; segmentation_order_expressions()).  Both have the
-- same first purchase, so the purchase days between the two ends are the difference of
-- their repeat purchases x, and the holdout's length in the model's unit the difference
-- of their T.  Customers are those with a purchase by calibration_end.
CREATE FUNCTION customer_priority.holdout_query(def customer_priority.segmentations,
                                                calibration_end timestamptz, as_of timestamptz)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o constant jsonb := (customer_priority.segmentation_validate(def)).options;
    -- without the option, its defaults (the unit: week), and every model is compared
    potential constant jsonb := coalesce(nullif(o -> 'potential', 'null'),
                                         customer_priority.potential_options('{"potential": {"model": "best"}}'));
    models constant text[] := customer_priority.potential_fitted_models(potential);
    calibration constant text := '(m.s).x, (m.s).t_x, (m.s).t_cal';
    fits text := '';
    expected text := '';
    ts text;
    amount text;
    profile_extra text;
    m text;
BEGIN
    SELECT e.ordered_at, e.amount, e.profile_extra INTO ts, amount, profile_extra
    FROM customer_priority.segmentation_order_expressions(def, o) e;
    FOREACH m IN ARRAY models LOOP
        fits := fits || format(E',\n           customer_priority.%I(%s) FILTER (WHERE e.repeat_customers) AS %I',
                               m || '_fit', calibration, m);
        expected := expected || format(E',\n        (%L, %s)', m,
            customer_priority.potential_expected_purchases_sql(m, format('f.%I', m), '(m.w).t_cal - (m.s).t_cal',
                                                               '(m.s).x', '(m.s).t_x', '(m.s).t_cal'));
    END LOOP;
    RETURN format($q$
WITH params AS (
    SELECT %1$s AS calibration_end, %2$s AS as_of
), grouped AS (
    SELECT customer_priority.customer_profile(%3$s, %4$s, p.calibration_end, %5$s)
               FILTER (WHERE %3$s <= p.calibration_end) AS calibration,
           customer_priority.customer_profile(%3$s, %4$s, p.as_of, %5$s) AS whole
    FROM %6$s o CROSS JOIN params p
    WHERE o.%7$I IS NOT NULL AND %3$s <= p.as_of
    GROUP BY o.%7$I
), summaries AS (
    SELECT customer_priority.purchase_summary(g.calibration, %8$L) AS s,
           customer_priority.purchase_summary(g.whole, %8$L) AS w
    FROM grouped g
    WHERE (g.calibration).orders > 0
), fitted AS (
    SELECT NULL AS none%9$s
    FROM summaries m
    CROSS JOIN (SELECT bool_or((m.s).x > 0) AS repeat_customers FROM summaries m) e
), predicted AS (
    SELECT least((m.s).x, 7) AS x, (m.w).x - (m.s).x AS actual, p.model, p.expected
    FROM summaries m CROSS JOIN fitted f
    CROSS JOIN LATERAL (VALUES %10$s) AS p(model, expected)
)
SELECT CASE WHEN grouping(p.x) = 1 THEN 'all' WHEN p.x = 7 THEN '7+' ELSE p.x::text END,
       p.model, count(*), avg(p.actual)::float8, avg(p.expected), sum(p.actual), sum(p.expected)
FROM predicted p
GROUP BY GROUPING SETS ((p.model, p.x), (p.model))
ORDER BY p.model, grouping(p.x), p.x$q$,
        customer_priority.segmentation_time_literal(calibration_end),
        customer_priority.segmentation_time_literal(as_of),
        ts, amount, profile_extra,
        def.orders, def.customer_id,
        potential ->> 'unit',
        fits, substr(expected, 3));
END
$$;
COMMENT ON FUNCTION customer_priority.holdout_query(customer_priority.segmentations, timestamptz, timestamptz) IS
    'internal: the query of segmentation_holdout()';

-- segmentation_holdout() of a definition, with the caller's search_path.  It reads the
-- orders as the owner of the segmentation's views (query_as_owner()), as a refresh
-- does, so only a role with the owner's rights may call it.
-- On Citus (docs/scale-out.md): the per-customer rows come to the coordinator as an
-- intermediate result, not stopped by citus.max_intermediate_result_size (1 GB: about
-- 5 M customers).
CREATE FUNCTION customer_priority.holdout_compare(name text, path name[], calibration_end timestamptz)
RETURNS TABLE (repeat_purchases text, model text, customers bigint, actual_mean double precision,
               expected_mean double precision, actual_total bigint, expected_total double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET citus.max_intermediate_result_size = -1
AS $$
DECLARE
    def customer_priority.segmentations := customer_priority.segmentation_find(name, path);
    owned constant regclass := to_regclass(format('%I.%I', def.schema, def.name || '_customers'));
    as_of timestamptz;
BEGIN
    IF calibration_end IS NULL OR isfinite(calibration_end) IS NOT TRUE THEN
        RAISE EXCEPTION 'calibration_end must be a finite time, not %', coalesce(calibration_end::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM customer_priority.segmentation_check_relations(def, '{_customers}');
    PERFORM customer_priority.segmentation_authorize(def, 'check its models on a holdout period');
    as_of := coalesce(((customer_priority.segmentation_validate(def)).options ->> 'as_of')::timestamptz, now());
    IF NOT calibration_end < as_of THEN
        RAISE EXCEPTION 'calibration_end must be before the as_of of segmentation "%"', def.name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('calibration_end is %s, as_of %s.', calibration_end, as_of),
                  HINT = 'The holdout period runs from calibration_end to as_of.';
    END IF;
    RETURN QUERY
    SELECT * FROM customer_priority.query_as_owner(owned,
        customer_priority.holdout_query(def, calibration_end, as_of))
        AS q(repeat_purchases text, model text, customers bigint, actual_mean double precision,
             expected_mean double precision, actual_total bigint, expected_total double precision);
END
$$;
COMMENT ON FUNCTION customer_priority.holdout_compare(text, name[], timestamptz) IS
    'internal: segmentation_holdout() with the caller''s search_path, read as the owner of the views';

CREATE FUNCTION customer_priority.segmentation_holdout(name text, calibration_end timestamptz)
RETURNS TABLE (repeat_purchases text, model text, customers bigint, actual_mean double precision,
               expected_mean double precision, actual_total bigint, expected_total double precision)
LANGUAGE sql VOLATILE
AS $$
    SELECT * FROM customer_priority.holdout_compare($1, pg_catalog.current_schemas(true), $2)
$$;
COMMENT ON FUNCTION customer_priority.segmentation_holdout(text, timestamptz) IS
    'each purchase model of a segmentation fitted on its orders up to calibration_end: mean and total repeat purchases from calibration_end to as_of, actual against expected, by calibration repeat purchases (0 .. 6, 7+) and for all customers';

-------------------------------------------------------------------------------
-- MBG/NBD (issue 24, src/mbgnbd.sql: the whole file)
-------------------------------------------------------------------------------
-- Customer potential with the MBG/NBD model (Batislam, Denizel & Filiztekin 2007):
-- BG/NBD in which a customer may also drop out at time 0, just after the first
-- purchase.  C code: src/mbgnbd.c (the fit's state, combine and serial functions are
-- bgnbd_fit's: src/model_sample.c).  Documentation: docs/potential.md, "MBG/NBD".

CREATE TYPE customer_priority.mbgnbd_model AS (
    r              double precision,
    alpha          double precision,
    a              double precision,
    b              double precision,
    log_likelihood double precision,
    iterations     integer,
    customers      bigint,
    converged      boolean
);
COMMENT ON TYPE customer_priority.mbgnbd_model IS
    'MBG/NBD parameters fitted by mbgnbd_fit(): purchase rate ~ Gamma(r, alpha), dropout probability (at time 0 and after each purchase) ~ Beta(a, b)';
COMMENT ON COLUMN customer_priority.mbgnbd_model.r IS 'shape of the Gamma distribution of purchase rates';
COMMENT ON COLUMN customer_priority.mbgnbd_model.alpha IS 'scale of the Gamma distribution of purchase rates, in the time unit of the input';
COMMENT ON COLUMN customer_priority.mbgnbd_model.a IS 'first shape of the Beta distribution of dropout probabilities';
COMMENT ON COLUMN customer_priority.mbgnbd_model.b IS 'second shape of the Beta distribution of dropout probabilities';
COMMENT ON COLUMN customer_priority.mbgnbd_model.log_likelihood IS 'log-likelihood of the customers at the returned parameters';
COMMENT ON COLUMN customer_priority.mbgnbd_model.iterations IS 'BFGS iterations of the fit';
COMMENT ON COLUMN customer_priority.mbgnbd_model.customers IS 'customers fitted';
COMMENT ON COLUMN customer_priority.mbgnbd_model.converged IS 'true when the fit reached the optimum (gradient below tolerance); false after a warning';

CREATE FUNCTION customer_priority.mbgnbd_fit_transfn(internal, integer, double precision, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'mbgnbd_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.mbgnbd_fit_transfn(internal, integer, double precision, double precision) IS
    'transition function of mbgnbd_fit(x, t_x, t_cal)';

CREATE FUNCTION customer_priority.mbgnbd_fit_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'mbgnbd_fit_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.mbgnbd_fit_deserialfn(bytea, internal) IS
    'deserial function of mbgnbd_fit(): bytea to sample, validated';

CREATE FUNCTION customer_priority.mbgnbd_fit_finalfn(internal)
RETURNS customer_priority.mbgnbd_model
AS 'MODULE_PATHNAME', 'mbgnbd_fit_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.mbgnbd_fit_finalfn(internal) IS
    'final function of mbgnbd_fit(): maximum-likelihood fit of the sample';

CREATE AGGREGATE customer_priority.mbgnbd_fit(x integer, t_x double precision, t_cal double precision) (
    SFUNC = customer_priority.mbgnbd_fit_transfn,
    STYPE = internal,
    SSPACE = 32,
    FINALFUNC = customer_priority.mbgnbd_fit_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.model_fit_combinefn,
    SERIALFUNC = customer_priority.model_fit_serialfn,
    DESERIALFUNC = customer_priority.mbgnbd_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.mbgnbd_fit(integer, double precision, double precision) IS
    'maximum-likelihood MBG/NBD fit over customers (x, t_x, T): r, alpha, a, b, log-likelihood, iterations; rows with a NULL input are skipped';

-- COST as for the BG/NBD functions (src/potential.sql).
CREATE FUNCTION customer_priority.mbgnbd_p_alive(model customer_priority.mbgnbd_model, x integer,
                                                 t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mbgnbd_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION customer_priority.mbgnbd_p_alive(customer_priority.mbgnbd_model, integer, double precision, double precision) IS
    'MBG/NBD probability that a customer with x repeat purchases, the last at t_x, is still alive at T: 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), below 1 also for x = 0';

CREATE FUNCTION customer_priority.mbgnbd_expected_purchases(model customer_priority.mbgnbd_model, t double precision,
                                                            x integer, t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mbgnbd_expected_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION customer_priority.mbgnbd_expected_purchases(customer_priority.mbgnbd_model, double precision, integer, double precision, double precision) IS
    'MBG/NBD expected purchases of a customer (x, t_x, T) in the next t time units (Batislam et al. 2007 as corrected by Wagner & Hoppe 2008)';

CREATE FUNCTION customer_priority.mbgnbd_expected_purchases(model customer_priority.mbgnbd_model, t double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mbgnbd_expected_purchases_new'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION customer_priority.mbgnbd_expected_purchases(customer_priority.mbgnbd_model, double precision) IS
    'MBG/NBD expected repeat purchases of a new customer in their first t time units, E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]';

CREATE FUNCTION customer_priority.mbgnbd_p_purchase_within(model customer_priority.mbgnbd_model, t double precision,
                                                           x integer, t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mbgnbd_p_purchase_within'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION customer_priority.mbgnbd_p_purchase_within(customer_priority.mbgnbd_model, double precision, integer, double precision, double precision) IS
    'MBG/NBD probability that a customer (x, t_x, T) makes at least one purchase in the next t time units: P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x))';

-- NULL when the probability of buying again never reaches 1/2 (P(alive) <= 1/2).
CREATE FUNCTION customer_priority.mbgnbd_next_purchase_median(model customer_priority.mbgnbd_model,
                                                              x integer, t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mbgnbd_next_purchase_median'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION customer_priority.mbgnbd_next_purchase_median(customer_priority.mbgnbd_model, integer, double precision, double precision) IS
    'MBG/NBD: time units after T by which a customer (x, t_x, T) has bought again with probability 1/2; NULL when that probability is never reached (P(alive) <= 1/2)';

-- SQL of a model's expected purchases of one customer over horizon units, NULL where
-- the model leaves them undefined (BG/NBD: a + b + x <= 1) rather than failing.  model
-- is one of potential_models(); the other arguments are SQL expressions: the fitted
-- model, the horizon and the customer's x, t_x and T.
CREATE FUNCTION customer_priority.potential_expected_purchases_sql(model text, fitted text, horizon text,
                                                                   x text, t_x text, t_cal text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('CASE WHEN %s THEN customer_priority.%I(%s, %s, %s, %s, %s) END',
                  CASE model WHEN 'bgnbd' THEN format('(%1$s).a + (%1$s).b + %2$s > 1', fitted, x)
                             ELSE 'true' END,
                  model || '_expected_purchases', fitted, horizon, x, t_x, t_cal)
$$;
COMMENT ON FUNCTION customer_priority.potential_expected_purchases_sql(text, text, text, text, text, text) IS
    'internal: SQL of a purchase model''s expected purchases of a customer, NULL where the model leaves them undefined';

-- The models an effective option "potential" fits: its model, or with "best" every one
-- of potential_models(); an error for any other name.
CREATE FUNCTION customer_priority.potential_fitted_models(potential jsonb)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen constant text := potential ->> 'model';
BEGIN
    IF chosen = 'best' THEN
        RETURN customer_priority.potential_models();
    ELSIF chosen = ANY (customer_priority.potential_models()) THEN
        RETURN ARRAY[chosen];
    END IF;
    RAISE EXCEPTION 'unknown purchase model "%"', chosen USING ERRCODE = 'invalid_parameter_value';
END
$$;
COMMENT ON FUNCTION customer_priority.potential_fitted_models(jsonb) IS
    'internal: the purchase models the effective option "potential" fits (its model, or every model with "best")';

-- STABLE: it only reads, through a query run with the caller's rights in the
-- caller's snapshot (a read-only SPI call); PARALLEL UNSAFE: SPI, and a scan kept in
-- the backend for segmentation_cohorts().
CREATE FUNCTION customer_priority.segmentation_customers(lines text, as_of timestamptz,
                                                         time_zone text, xyz_period text,
                                                         discount_mapped boolean)
RETURNS TABLE (customer_id bigint, profile customer_priority.customer_profile,
               xyz customer_priority.xyz_metrics, profit numeric)
AS 'MODULE_PATHNAME', 'segmentation_customers'
LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.segmentation_customers(text, timestamptz, text, text, boolean) IS
    'internal: every customer''s customer_profile(), xyz() and sum of margins from one scan of the rows of the lines query (customer_id bigint, ordered_at, amount, order_id, returned_amount, discount, margin)';

-- Does a relation read only rows of this database: tables, materialized views,
-- partitioned tables and views over them, none of them foreign or distributed by Citus?
-- A scan of it then reads local pages; postgres_fdw shards and Citus tables are better
-- served by GROUP BY, which they run where the rows are.
CREATE FUNCTION customer_priority.segmentation_scans_locally(rel regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    relations regclass[];
    distributed boolean := false;
BEGIN
    -- the relation, the partitions of partitioned ones, the relations views read
    WITH RECURSIVE reads(relid) AS (
        SELECT rel::oid
        UNION
        SELECT x.relid
        FROM reads r
        JOIN pg_catalog.pg_class c ON c.oid = r.relid
        CROSS JOIN LATERAL (
            SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid
            UNION
            SELECT d.refobjid
            FROM pg_catalog.pg_rewrite w
            JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass
                                       AND d.objid = w.oid
                                       AND d.refclassid = 'pg_catalog.pg_class'::regclass
            WHERE w.ev_class = c.oid AND c.relkind = 'v' AND d.refobjid <> c.oid
        ) AS x(relid)
    )
    SELECT array_agg(r.relid::regclass) INTO relations FROM reads r;
    IF EXISTS (SELECT FROM pg_catalog.pg_class c
               WHERE c.oid = ANY (relations) AND c.relkind NOT IN ('r', 'm', 'p', 'v')) THEN
        RETURN false;
    END IF;
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = ANY ($1))'
            INTO distributed USING relations;
    END IF;
    RETURN NOT distributed;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_scans_locally(regclass) IS
    'internal: whether a relation reads only local rows (tables, materialized views, partitioned tables and views over them; no foreign or Citus table)';

-- The lines query of the one-scan pass (segmentation_customers()) of a definition, or
-- NULL where GROUP BY is used instead: with customer_priority.segmentation_scan off, a
-- customer id other than an integer, an attribute of the orders (their mode() is an
-- ordered-set aggregate), or orders whose rows are not local.  as_of is the literal of
-- segmentation_time_literal().  Every option reaches it as segmentation_order_expressions()
-- quotes it.
CREATE FUNCTION customer_priority.segmentation_scan_lines(def customer_priority.segmentations, o jsonb,
                                                          as_of text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e record;
BEGIN
    IF NOT coalesce(pg_catalog.current_setting('customer_priority.segmentation_scan', true), 'on')::boolean
       OR customer_priority.segmentation_column_type(def.orders, def.customer_id, 'customer_id', 'any')
          NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)
       OR o ->> 'channel' IS NOT NULL
       OR pg_catalog.jsonb_array_length(coalesce(o -> 'order_attributes', '[]')) > 0
       OR NOT customer_priority.segmentation_scans_locally(def.orders) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO e FROM customer_priority.segmentation_order_expressions(def, o);
    RETURN format('SELECT o.%I::bigint, %s, %s, %s, %s, %s, %s FROM %s o WHERE o.%I IS NOT NULL AND %s <= %s',
                  def.customer_id, e.ordered_at, e.amount, e.order_id, e.returned_amount, e.discount,
                  CASE WHEN o ->> 'margin' IS NULL THEN 'NULL::numeric' ELSE format('o.%I::numeric', o ->> 'margin') END,
                  def.orders, def.customer_id, e.ordered_at, as_of);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_scan_lines(customer_priority.segmentations, jsonb, text) IS
    'internal: the lines query of a segmentation''s one-scan pass, or NULL where GROUP BY is used';

-- STABLE: it only reads, through a query run with the caller's rights in the
-- caller's snapshot (a read-only SPI call); PARALLEL UNSAFE: SPI, and a scan kept in
-- the backend for segmentation_cohorts().
CREATE FUNCTION customer_priority.segmentation_cohorts(lines text, as_of timestamptz,
                                                       time_zone text, xyz_period text,
                                                       regulars bigint[], regular_min bigint)
RETURNS TABLE (cohort date, period_start date, active_customers bigint, revenue numeric,
               regulars_reached bigint)
AS 'MODULE_PATHNAME', 'segmentation_cohorts'
LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.segmentation_cohorts(text, timestamptz, text, text, bigint[], bigint) IS
    'internal: per first-purchase cohort and period with activity, from one scan of the rows of the lines query: active customers, net revenue, and how many of the given regulars reached regular_min purchases in that period';

-------------------------------------------------------------------------------
-- Computing for the owner of a segmentation (src/run_as_owner.sql)
-------------------------------------------------------------------------------
CREATE FUNCTION customer_priority.execute_as_owner(owned regclass, statement text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'execute_as_owner'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.execute_as_owner(regclass, text) IS
    'internal: runs one SQL statement as the owner of a relation (security-restricted, search_path pinned) and returns the rows it processed; the caller must have that owner''s privileges';

CREATE FUNCTION customer_priority.query_as_owner(owned regclass, query text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'query_as_owner'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.query_as_owner(regclass, text) IS
    'internal: the rows of a query run as the owner of a relation (security-restricted, search_path pinned); called with a column definition list; the caller must have that owner''s privileges';

CREATE FUNCTION customer_priority.query_columns_as_owner(owned regclass, query text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'query_columns_as_owner'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.query_columns_as_owner(regclass, text) IS
    'internal: the columns (quoted name and type) of a query, parsed but not run, as the owner of a relation; the caller must have that owner''s privileges';

-------------------------------------------------------------------------------
-- Progress of create, refresh and backfill with customer_priority.progress on
-- (src/progress.sql)
-------------------------------------------------------------------------------
-- One NOTICE of a segmentation's progress when customer_priority.progress is on.
-- rows: the rows the phase wrote, NULL when unknown (then not shown).  Elapsed time from
-- clock_timestamp(), not now(): now() is the start of the transaction.
CREATE FUNCTION customer_priority.segmentation_progress(name text, phase text, started timestamptz,
                                                         rows bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF coalesce(current_setting('customer_priority.progress', true)::boolean, false) THEN
        RAISE NOTICE 'segmentation "%": %', name,
                     phase || CASE WHEN rows IS NOT NULL THEN format(', %s rows', rows) ELSE '' END
            USING DETAIL = format('Elapsed: %s s.', round(extract(epoch FROM clock_timestamp() - started)::numeric, 3));
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_progress(text, text, timestamptz, bigint) IS
    'internal: with customer_priority.progress on, a NOTICE of a phase of a segmentation''s create, refresh or backfill (rows written, time elapsed since started)';

-------------------------------------------------------------------------------
-- rfm_segment(rfm_scores, map) in C (src/segment.c): an SQL wrapper with a pinned
-- search_path was planned and run for every row
-------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION customer_priority.rfm_segment(scores customer_priority.rfm_scores,
                                              map text DEFAULT 'standard')
RETURNS text
AS 'MODULE_PATHNAME', 'rfm_segment_of_scores'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_segment(customer_priority.rfm_scores, text) IS
    'segment name of an rfm_scores value under a named map (default: standard)';

-------------------------------------------------------------------------------
-- Definitions: unique per schema; every definition written is validated
-------------------------------------------------------------------------------
ALTER TABLE customer_priority.segmentations DROP CONSTRAINT segmentations_pkey;
ALTER TABLE customer_priority.segmentations ALTER COLUMN name SET NOT NULL;
ALTER TABLE customer_priority.segmentations ADD CONSTRAINT segmentations_pkey PRIMARY KEY (schema, name);
COMMENT ON COLUMN customer_priority.segmentations.name IS
    'the segmentation''s name, prefix of its views; unique within its schema';
DROP TRIGGER check_owner ON customer_priority.segmentations;
DROP FUNCTION customer_priority.segmentations_check_owner();

-- Stored definitions hold every option with its default (as a fresh create stores
-- them): the new key "model" of the option "potential" (issue 24).  Done here, between
-- the old trigger and the new one, so that no per-row check of the caller applies.
UPDATE customer_priority.segmentations
SET options = jsonb_set(options, '{potential,model}', '"bgnbd"')
WHERE jsonb_typeof(options -> 'potential') = 'object' AND NOT (options -> 'potential') ? 'model';

-- The role owning a segmentation's views (or, without them, its table _customers_a);
-- NULL when neither exists (being created, or dropped by hand): nothing to protect.
CREATE FUNCTION customer_priority.segmentation_owner(def customer_priority.segmentations)
RETURNS oid
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.relowner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = def.schema AND c.relname IN (def.name || '_customers', def.name || '_customers_a')
    ORDER BY c.relname = def.name || '_customers' DESC
    LIMIT 1
$$;
COMMENT ON FUNCTION customer_priority.segmentation_owner(customer_priority.segmentations) IS
    'internal: the owner of a segmentation''s views (NULL when its relations are gone)';

-- A segmentation name, checked: the names of its objects (<name>_customers_a_key, the
-- longest) must fit in 63 bytes.
CREATE FUNCTION customer_priority.segmentation_check_name(name text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_length constant integer := 63 - length('_customers_a_key');
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'segmentation name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name = '' THEN
        RAISE EXCEPTION 'segmentation name must not be empty' USING ERRCODE = 'invalid_name';
    END IF;
    IF octet_length(name) > max_length THEN
        RAISE EXCEPTION 'segmentation name "%" is too long', name
            USING ERRCODE = 'name_too_long',
                  DETAIL = format('It is %s bytes; the names of its objects (<name>_customers_a_key, ...) must fit in 63 bytes, so at most %s.',
                                  octet_length(name), max_length);
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_check_name(text) IS
    'internal: raises an error unless a segmentation name is usable (not empty, at most 47 bytes)';

-- The orders relation of a segmentation: something rows can be read from.
CREATE FUNCTION customer_priority.segmentation_check_orders(orders regclass)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = orders AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) THEN
        RAISE EXCEPTION '% is not a table, view, materialized view or foreign table', orders
            USING ERRCODE = 'wrong_object_type';
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_check_orders(regclass) IS
    'internal: raises 42809 unless a relation is a table, view, materialized view or foreign table';

-- A definition checked as create_segmentation() checks its arguments, with its
-- effective options (segmentation_options(): checked, defaults filled in, the
-- customers relation as a qualified, quoted name); an error for anything else.  The
-- customers relation is resolved with this function's search_path: a stored
-- definition names it qualified.
-- VOLATILE, as segmentation_options() is (it reads as_of in the segmentation's time zone
-- by setting TimeZone for a moment).
CREATE FUNCTION customer_priority.segmentation_validate(def customer_priority.segmentations)
RETURNS customer_priority.segmentations
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    customers regclass;
BEGIN
    PERFORM customer_priority.segmentation_check_name(def.name);
    IF def.orders IS NULL OR def.customer_id IS NULL OR def.ordered_at IS NULL OR def.amount IS NULL
       OR def.schema IS NULL OR def.options IS NULL THEN
        RAISE EXCEPTION 'orders, customer_id, ordered_at, amount, schema and options of segmentation "%" must not be null', def.name
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM customer_priority.segmentation_check_orders(def.orders);
    PERFORM customer_priority.segmentation_column_type(def.orders, def.customer_id, 'customer_id', 'any');
    PERFORM customer_priority.segmentation_column_type(def.orders, def.ordered_at, 'ordered_at', 'time');
    PERFORM customer_priority.segmentation_column_type(def.orders, def.amount, 'amount', 'number');
    IF jsonb_typeof(def.options -> 'customers') = 'string' THEN
        customers := to_regclass(def.options ->> 'customers');
    END IF;
    def.options := customer_priority.segmentation_options(def.options, def.orders, def.customer_id,
                                                           def.schema, customers);
    IF def.options ->> 'schema' <> def.schema THEN
        RAISE EXCEPTION 'segmentation "%" is in schema "%", its option "schema" says "%"',
                        def.name, def.schema, def.options ->> 'schema'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN def;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_validate(customer_priority.segmentations) IS
    'internal: a segmentation definition checked, with its effective options; an error if it is not valid';

-- Trigger of the definitions table: the rules above, for every row written.
CREATE FUNCTION customer_priority.segmentations_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
    owner oid;
BEGIN
    -- OLD for UPDATE and DELETE, then NEW for INSERT and UPDATE
    FOREACH def IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW]
                                    WHEN 'DELETE' THEN ARRAY[OLD]
                                    ELSE ARRAY[OLD, NEW] END LOOP
        owner := customer_priority.segmentation_owner(def);
        IF owner IS NOT NULL AND NOT pg_has_role(current_user, owner, 'MEMBER') THEN
            RAISE EXCEPTION 'must be owner of the views of segmentation "%" to change its definition', def.name
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('%I.%I belongs to %s.', def.schema, def.name || '_customers',
                                      pg_get_userbyid(owner));
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    -- a refresh changes only generation and refreshed_at: nothing to validate again
    IF TG_OP = 'INSERT'
       OR (NEW.name, NEW.schema, NEW.orders, NEW.customer_id, NEW.ordered_at, NEW.amount, NEW.options)
          IS DISTINCT FROM (OLD.name, OLD.schema, OLD.orders, OLD.customer_id, OLD.ordered_at, OLD.amount, OLD.options) THEN
        NEW := customer_priority.segmentation_validate(NEW);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentations_check() IS
    'trigger function: only members of the role owning a segmentation''s views may insert, change or delete its definition, and every definition written is validated';

CREATE TRIGGER check_definition BEFORE INSERT OR UPDATE OR DELETE
    ON customer_priority.segmentations
    FOR EACH ROW EXECUTE FUNCTION customer_priority.segmentations_check();

-------------------------------------------------------------------------------
-- The generated SQL: built from validated definitions, no option text pasted
-------------------------------------------------------------------------------
-- Effective options: the user's options checked, defaults filled in, names resolved.
CREATE OR REPLACE FUNCTION customer_priority.segmentation_options(options jsonb, orders regclass,
                                                       customer_id name, default_schema name,
                                                       customers regclass)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    known constant text[] := ARRAY[
        'schema', 'as_of', 'time_zone', 'bins', 'recency_breaks', 'frequency_breaks',
        'monetary_breaks', 'monetary', 'segment_map', 'abc_method', 'abc_a', 'abc_b',
        'abc_weights', 'xyz_period', 'xyz_x_max', 'xyz_y_max', 'typology',
        'order_id', 'margin', 'discount', 'returned_amount', 'channel', 'order_attributes',
        'customers', 'customer_key', 'referrals', 'social_reach', 'service_contacts',
        'customer_attributes', 'snapshot', 'history_retention', 'potential'];
    needs_customers constant text[] := ARRAY[
        'customer_key', 'referrals', 'social_reach', 'service_contacts', 'customer_attributes'];
    o jsonb := coalesce(options, '{}');
    r jsonb := '{}';
    k text;
    v jsonb;
    s text;
    n numeric;
    bins integer;
    attributes text[] := '{}';
    weights jsonb;
    saved_time_zone text;
BEGIN
    IF jsonb_typeof(o) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(o) LOOP
        IF NOT k = ANY (known) THEN
            RAISE EXCEPTION 'unknown segmentation option "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Known options: ' || array_to_string(known, ', ') || '.';
        END IF;
    END LOOP;
    -- From here on a JSON null is the same as a missing key.
    o := jsonb_strip_nulls(o);

    -- schema
    s := coalesce(customer_priority.segmentation_text_option(o, 'schema'), default_schema);
    IF s IS NULL THEN
        RAISE EXCEPTION 'no schema to create the views in'
            USING ERRCODE = 'invalid_schema_name',
                  HINT = 'Set the option "schema", or a search_path whose first schema exists.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
        RAISE EXCEPTION 'schema "%" does not exist', s USING ERRCODE = 'invalid_schema_name';
    END IF;
    r := r || jsonb_build_object('schema', s);

    -- time_zone (checked by using it), then as_of read in that zone
    s := coalesce(customer_priority.segmentation_text_option(o, 'time_zone'),
                  current_setting('TimeZone'));
    -- checked by the C code that will use it (customer_profile and xyz share it)
    PERFORM customer_priority.customer_profile(now(), 1, now(), NULL::bigint, NULL, NULL, s);
    r := r || jsonb_build_object('time_zone', s);
    IF o ? 'as_of' THEN
        -- an as_of without an offset is a local time of the segmentation's time zone
        saved_time_zone := current_setting('TimeZone');
        PERFORM set_config('TimeZone', s, true);
        BEGIN
            r := r || jsonb_build_object('as_of',
                 customer_priority.segmentation_text_option(o, 'as_of')::timestamptz);
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
            RAISE EXCEPTION 'option "as_of" must be a timestamp: %', o ->> 'as_of'
                USING ERRCODE = 'invalid_parameter_value';
        END;
        PERFORM set_config('TimeZone', saved_time_zone, true);
        IF NOT isfinite((r ->> 'as_of')::timestamptz) THEN
            RAISE EXCEPTION 'option "as_of" must be finite' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSE
        r := r || jsonb_build_object('as_of', NULL);
    END IF;

    -- RFM
    bins := customer_priority.segmentation_number_option(o, 'bins', 5, 2, 10, true);
    r := r || jsonb_build_object('bins', bins);
    FOREACH k IN ARRAY ARRAY['recency_breaks', 'frequency_breaks', 'monetary_breaks'] LOOP
        r := r || jsonb_build_object(k, customer_priority.segmentation_breaks_option(o, k, bins));
    END LOOP;
    s := coalesce(customer_priority.segmentation_text_option(o, 'monetary'), 'total');
    IF s NOT IN ('total', 'average') THEN
        RAISE EXCEPTION 'option "monetary" must be "total" or "average", not "%"', s
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    r := r || jsonb_build_object('monetary', s);
    s := coalesce(customer_priority.segmentation_text_option(o, 'segment_map'), 'standard');
    IF NOT EXISTS (SELECT FROM customer_priority.rfm_segment_maps m WHERE m.map = s) THEN
        RAISE EXCEPTION 'RFM segment map "%" does not exist', s
            USING ERRCODE = 'undefined_object',
                  HINT = 'Maps are rows of customer_priority.rfm_segment_maps.';
    END IF;
    r := r || jsonb_build_object('segment_map', s);

    -- ABC
    s := coalesce(customer_priority.segmentation_text_option(o, 'abc_method'), 'pareto');
    IF s NOT IN ('pareto', 'share') THEN
        RAISE EXCEPTION 'option "abc_method" must be "pareto" or "share", not "%"', s
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    r := r || jsonb_build_object('abc_method', s,
        'abc_a', customer_priority.segmentation_number_option(o, 'abc_a', 0.8, 0, 1, false),
        'abc_b', customer_priority.segmentation_number_option(o, 'abc_b', 0.95, 0, 1, false));
    IF NOT ((r ->> 'abc_a')::numeric > 0 AND (r ->> 'abc_a')::numeric < (r ->> 'abc_b')::numeric) THEN
        RAISE EXCEPTION 'options "abc_a" and "abc_b" must satisfy 0 < abc_a < abc_b <= 1'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('abc_a is %s, abc_b is %s.', r ->> 'abc_a', r ->> 'abc_b');
    END IF;
    weights := jsonb_build_object('revenue', 1, 'profit', 0, 'loyalty', 0, 'potential', 0);
    IF o ? 'abc_weights' THEN
        IF jsonb_typeof(o -> 'abc_weights') <> 'object' THEN
            RAISE EXCEPTION 'option "abc_weights" must be a JSON object'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'For example {"revenue": 0.5, "profit": 0.3, "loyalty": 0.2, "potential": 0}.';
        END IF;
        weights := jsonb_build_object('revenue', 0, 'profit', 0, 'loyalty', 0, 'potential', 0);
        FOR k, v IN SELECT * FROM jsonb_each(o -> 'abc_weights') LOOP
            IF NOT weights ? k THEN
                RAISE EXCEPTION 'unknown ABC criterion "%" in option "abc_weights"', k
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Criteria: revenue, profit, loyalty, potential.';
            END IF;
            weights := weights || jsonb_build_object(k,
                customer_priority.segmentation_number_option(
                    jsonb_build_object('abc_weights.' || k, v), 'abc_weights.' || k, NULL, 0, NULL, false));
        END LOOP;
        IF (SELECT sum(value::numeric) FROM jsonb_each_text(weights)) = 0 THEN
            RAISE EXCEPTION 'option "abc_weights" must give some criterion a positive weight'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    r := r || jsonb_build_object('abc_weights', weights);

    -- XYZ
    s := coalesce(customer_priority.segmentation_text_option(o, 'xyz_period'), 'month');
    IF s NOT IN ('week', 'month', 'quarter') THEN
        RAISE EXCEPTION 'option "xyz_period" must be "week", "month" or "quarter", not "%"', s
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    r := r || jsonb_build_object('xyz_period', s,
        'xyz_x_max', customer_priority.segmentation_number_option(o, 'xyz_x_max', 0.5, 0, NULL, false),
        'xyz_y_max', customer_priority.segmentation_number_option(o, 'xyz_y_max', 1.0, 0, NULL, false));
    -- xyz_class() takes 0 <= x_max < y_max: an equal pair would pass here and fail there
    IF (r ->> 'xyz_x_max')::numeric >= (r ->> 'xyz_y_max')::numeric THEN
        RAISE EXCEPTION 'option "xyz_x_max" must be less than "xyz_y_max"'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('xyz_x_max is %s, xyz_y_max %s.', r ->> 'xyz_x_max', r ->> 'xyz_y_max');
    END IF;

    -- typology: the model aggregate checks its own options and returns them complete
    IF o ? 'typology' AND jsonb_typeof(o -> 'typology') <> 'object' THEN
        RAISE EXCEPTION 'option "typology" must be a JSON object of typology options'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'See docs/typology.md, "Options".';
    END IF;
    r := r || jsonb_build_object('typology',
        (SELECT (customer_priority.typology_model(NULL::customer_priority.customer_profile,
                                                  NULL::numeric, o -> 'typology')).options));

    -- optional order columns
    FOREACH k IN ARRAY ARRAY['order_id', 'margin', 'discount', 'returned_amount', 'channel'] LOOP
        s := customer_priority.segmentation_text_option(o, k);
        IF s IS NOT NULL THEN
            PERFORM customer_priority.segmentation_column_type(orders, s,
                format('option "%s"', k),
                CASE WHEN k IN ('margin', 'discount', 'returned_amount') THEN 'number' ELSE 'any' END);
        END IF;
        r := r || jsonb_build_object(k, s);
    END LOOP;
    IF r ->> 'channel' IS NOT NULL THEN
        attributes := attributes || (r ->> 'channel');
    END IF;
    r := r || jsonb_build_object('order_attributes',
        customer_priority.segmentation_columns_option(o, 'order_attributes', orders));
    attributes := attributes || ARRAY(SELECT jsonb_array_elements_text(r -> 'order_attributes'));

    -- customers relation
    -- (resolved by the caller, in the caller's search_path)
    IF o ? 'customers' THEN
        PERFORM customer_priority.segmentation_text_option(o, 'customers');
        IF customers IS NULL THEN
            RAISE EXCEPTION 'relation "%" given as option "customers" does not exist', o ->> 'customers'
                USING ERRCODE = 'undefined_table';
        END IF;
        r := r || jsonb_build_object('customers',
            (SELECT format('%I.%I', n.nspname, c.relname)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = customers));
        s := coalesce(customer_priority.segmentation_text_option(o, 'customer_key'), customer_id);
        PERFORM customer_priority.segmentation_column_type(customers, s, 'option "customer_key"', 'any');
        r := r || jsonb_build_object('customer_key', s);
        FOREACH k IN ARRAY ARRAY['referrals', 'social_reach', 'service_contacts'] LOOP
            s := customer_priority.segmentation_text_option(o, k);
            IF s IS NOT NULL THEN
                PERFORM customer_priority.segmentation_column_type(customers, s,
                    format('option "%s"', k), 'number');
            END IF;
            r := r || jsonb_build_object(k, s);
        END LOOP;
        r := r || jsonb_build_object('customer_attributes',
            customer_priority.segmentation_columns_option(o, 'customer_attributes', customers));
        attributes := attributes || ARRAY(SELECT jsonb_array_elements_text(r -> 'customer_attributes'));
    ELSE
        FOREACH k IN ARRAY needs_customers LOOP
            -- (an empty customer_attributes is what the effective options hold)
            IF o ? k AND o -> k <> '[]' THEN
                RAISE EXCEPTION 'option "%" needs the option "customers"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
        r := r || jsonb_build_object('customers', NULL, 'customer_key', NULL, 'referrals', NULL,
                                     'social_reach', NULL, 'service_contacts', NULL,
                                     'customer_attributes', '[]'::jsonb);
    END IF;

    -- attributes are keyed by their column name: one name, one attribute
    IF cardinality(attributes) <> (SELECT count(DISTINCT a) FROM unnest(attributes) a) THEN
        RAISE EXCEPTION 'profile attribute names must be unique'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The attributes are %s (channel, order_attributes, customer_attributes).',
                                  array_to_string(attributes, ', ')),
                  HINT = 'Map a column once; rename one of two equally named columns in a view.';
    END IF;
    IF cardinality(attributes) > 50 THEN
        RAISE EXCEPTION 'at most 50 profile attributes, not %', cardinality(attributes)
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF (r -> 'abc_weights' ->> 'profit')::numeric > 0 AND r ->> 'margin' IS NULL THEN
        RAISE EXCEPTION 'the ABC criterion "profit" needs the option "margin"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- potential: BG/NBD and Gamma-Gamma (src/potential.sql)
    r := r || jsonb_build_object('potential', customer_priority.potential_options(o));
    -- history: snapshot, history_retention (src/history.sql)
    r := r || customer_priority.history_options(o);
    RETURN r;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_options(jsonb, regclass, name, name, regclass) IS
    'internal: the effective options of a segmentation (checked, defaults filled in)';

-- A point in time as an SQL literal ('2024-06-30T22:00:00.000000+00'::timestamptz) that
-- reads back as the same instant whatever the session's DateStyle and TimeZone; NULL for
-- NULL.  Generated SQL takes times as these constants (postgres_fdw ships no call of a
-- STABLE function such as now(), and SQL run by execute_as_owner() takes no parameters).
CREATE FUNCTION customer_priority.segmentation_time_literal(t timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%L::timestamptz', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00')
    WHERE t IS NOT NULL
$$;
COMMENT ON FUNCTION customer_priority.segmentation_time_literal(timestamptz) IS
    'internal: a timestamptz as an SQL literal independent of DateStyle and TimeZone';

-- The query of <name>_customers: everything a segmentation computes per customer, in
-- one statement (per-customer aggregates, then the population's break points, ABC
-- cut-offs and typology model, then the scores and labels).  VOLATILE: it validates
-- the definition first (segmentation_validate()).
CREATE OR REPLACE FUNCTION customer_priority.segmentation_customers_query(def customer_priority.segmentations)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Built only from a validated definition, whatever wrote it; and every option value
    -- below reaches the SQL as a quoted literal (%L) or through a cast whose result is
    -- pasted (regclass, numeric, integer), never as text of the definition's.
    o constant jsonb := (customer_priority.segmentation_validate(def)).options;
    tz constant text := o ->> 'time_zone';
    w constant jsonb := o -> 'abc_weights';
    bins constant integer := (o ->> 'bins')::integer;
    -- NULL when off (and in definitions made before the option existed)
    potential constant jsonb := nullif(o -> 'potential', 'null');
    customers constant regclass := (o ->> 'customers')::regclass;
    summary text := '';
    scored text;
    labels text := 't.labels';
    high_clv text := '';
    id_type regtype;
    ts text;
    amount text;
    profile_extra text;
    grouped_extra text := '';
    base_extra text := '';
    customers_join text := '';
    attributes text := '';
    col text;
    i integer := 0;
    monetary text;
    abc_value text;
    r_score text := 'q.recency_score';
    f_score text := 'q.frequency_score';
    m_score text := 'q.monetary_score';
    quantiles boolean;
    -- now() as a constant (the same value in this transaction): postgres_fdw ships
    -- no call of a STABLE function, so now() would keep the aggregation off the shards
    as_of constant text := customer_priority.segmentation_time_literal(coalesce((o ->> 'as_of')::timestamptz, now()));
    lines text;
    grouped text;
    sql text;
BEGIN
    id_type := customer_priority.segmentation_column_type(def.orders, def.customer_id, 'customer_id', 'any');
    SELECT e.ordered_at, e.amount, e.profile_extra INTO ts, amount, profile_extra
    FROM customer_priority.segmentation_order_expressions(def, o) e;
    lines := customer_priority.segmentation_scan_lines(def, o, as_of);

    -- per customer: order-level extras
    IF o ->> 'margin' IS NOT NULL THEN
        grouped_extra := grouped_extra || format(', sum(o.%I::numeric) AS profit', o ->> 'margin');
    ELSE
        grouped_extra := grouped_extra || ', NULL::numeric AS profit';
    END IF;
    FOR col IN SELECT x FROM unnest(ARRAY[o ->> 'channel']) x WHERE x IS NOT NULL
               UNION ALL SELECT jsonb_array_elements_text(o -> 'order_attributes') LOOP
        i := i + 1;
        grouped_extra := grouped_extra
            || format(', mode() WITHIN GROUP (ORDER BY o.%I::text) AS attribute_%s', col, i);
        attributes := attributes || format(', %L, g.attribute_%s', col, i);
    END LOOP;

    -- per customer: one scan where it applies (src/segmentation_scan.sql), else GROUP BY
    IF lines IS NOT NULL THEN
        -- in the select list: its rows stream to the next step, not into a tuplestore
        grouped := format($g$
    SELECT (s.c).customer_id::%s AS customer_id, (s.c).profile, (s.c).xyz, (s.c).profit
    FROM (SELECT customer_priority.segmentation_customers(%L, p.as_of, %L, %L, %L) AS c
          FROM params p) s$g$,
            id_type, lines, tz, o ->> 'xyz_period', o ->> 'discount' IS NOT NULL);
    ELSE
        grouped := format($g$
    SELECT o.%I AS customer_id,
           customer_priority.customer_profile(%s, %s, p.as_of, %s) AS profile,
           customer_priority.xyz(%s, %s, p.as_of, %L::customer_priority.calendar_name,
                                 %L::customer_priority.calendar_name) AS xyz%s
    FROM %s o CROSS JOIN params p
    WHERE o.%I IS NOT NULL AND %s <= p.as_of
    GROUP BY o.%I$g$,
            def.customer_id,
            ts, amount, profile_extra,
            ts, amount, o ->> 'xyz_period', tz,
            grouped_extra,
            def.orders,
            def.customer_id, ts,
            def.customer_id);
    END IF;

    -- per customer: the customers relation
    IF o ->> 'customers' IS NOT NULL THEN
        customers_join := format(' LEFT JOIN %s k ON k.%I %s g.customer_id', customers,
            o ->> 'customer_key',
            customer_priority.segmentation_equality(
                customer_priority.segmentation_column_type(customers, o ->> 'customer_key', 'customer_key', 'any'),
                id_type));
        base_extra := format(', %s::bigint AS referrals, %s::bigint AS social_reach, %s::numeric AS service_contacts',
            CASE WHEN o ->> 'referrals' IS NULL THEN 'NULL' ELSE format('k.%I', o ->> 'referrals') END,
            CASE WHEN o ->> 'social_reach' IS NULL THEN 'NULL' ELSE format('k.%I', o ->> 'social_reach') END,
            CASE WHEN o ->> 'service_contacts' IS NULL THEN 'NULL' ELSE format('k.%I', o ->> 'service_contacts') END);
        FOR col IN SELECT jsonb_array_elements_text(o -> 'customer_attributes') LOOP
            attributes := attributes || format(', %L, k.%I::text', col, col);
        END LOOP;
    ELSE
        base_extra := ', NULL::bigint AS referrals, NULL::bigint AS social_reach, NULL::numeric AS service_contacts';
    END IF;

    monetary := CASE o ->> 'monetary'
        WHEN 'total' THEN '(b.profile).net_revenue'
        ELSE '(b.profile).net_revenue / (b.profile).orders' END;

    -- ABC: revenue alone is the classic Pareto cut on net revenue; any other criterion
    -- makes it a weighted score of cume_dist() ranks (README, "Multi-criteria ABC").
    IF (w ->> 'profit')::numeric = 0 AND (w ->> 'loyalty')::numeric = 0
       AND (w ->> 'potential')::numeric = 0 THEN
        abc_value := '(b.profile).net_revenue';
    ELSE
        abc_value := format(
            'customer_priority.abc_weighted_score(ARRAY[%s, %s, %s, %s]::float8[], %L::float8[])::numeric',
            CASE WHEN (w ->> 'revenue')::numeric > 0
                 THEN 'cume_dist() OVER (ORDER BY (b.profile).net_revenue)' ELSE '0' END,
            CASE WHEN (w ->> 'profit')::numeric > 0
                 THEN 'cume_dist() OVER (ORDER BY b.profit NULLS FIRST)' ELSE '0' END,
            CASE WHEN (w ->> 'loyalty')::numeric > 0
                 THEN '(cume_dist() OVER (ORDER BY (b.profile).orders)'
                      ' + cume_dist() OVER (ORDER BY (b.profile).tenure_days)) / 2' ELSE '0' END,
            CASE WHEN (w ->> 'potential')::numeric > 0 AND potential IS NOT NULL
                 THEN 'cume_dist() OVER (ORDER BY b.clv NULLS FIRST)'
                 WHEN (w ->> 'potential')::numeric > 0
                 THEN 'cume_dist() OVER (ORDER BY customer_priority.customer_potential(ROW('
                      '(b.profile).first_order, (b.profile).last_order, (b.profile).recency_days,'
                      ' (b.profile).orders, (b.profile).net_revenue,'
                      ' (b.profile).net_revenue / (b.profile).orders, (b.profile).gross,'
                      ' (b.profile).returned, (b.profile).as_of, (b.profile).tenure_days'
                      ')::customer_priority.rfm_metrics) NULLS FIRST)' ELSE '0' END,
            ARRAY[(w ->> 'revenue')::float8, (w ->> 'profit')::float8,
                  (w ->> 'loyalty')::float8, (w ->> 'potential')::float8]);
    END IF;

    -- RFM: custom break points score with bin_score, the others against the quantiles
    IF o -> 'recency_breaks' <> 'null' THEN
        r_score := format('customer_priority.bin_score((r.profile).recency_days, %L::integer[], false)',
                          translate((o -> 'recency_breaks')::text, '[]', '{}'));
    END IF;
    IF o -> 'frequency_breaks' <> 'null' THEN
        f_score := format('customer_priority.bin_score((r.profile).orders, %L::bigint[])',
                          translate((o -> 'frequency_breaks')::text, '[]', '{}'));
    END IF;
    IF o -> 'monetary_breaks' <> 'null' THEN
        m_score := format('customer_priority.bin_score(r.monetary, %L::numeric[])',
                          translate((o -> 'monetary_breaks')::text, '[]', '{}'));
    END IF;
    quantiles := r_score LIKE 'q.%' OR f_score LIKE 'q.%' OR m_score LIKE 'q.%';

    -- Potential (docs/potential.md, "In segmentations"): the purchase model (or, with
    -- "best", every model) and Gamma-Gamma are fitted over the customers' purchase
    -- summaries, then each customer is scored with them.  Expected purchases need
    -- a + b + x > 1 in BG/NBD and expected spend q > 1 (a fit can leave either
    -- undefined): those values, and CLV, are then NULL rather than failing the
    -- refresh.  The flag at_risk_high_clv goes before the lifecycle stage, which ends
    -- the labels.
    IF potential IS NULL THEN
        scored := $s$scored AS (
    SELECT b.*, NULL::float8 AS p_alive, NULL::float8 AS expected_purchases,
           NULL::float8 AS expected_spend, NULL::float8 AS clv,
           NULL::float8 AS p_purchase_next_unit, NULL::float8 AS next_purchase_units,
           NULL::text AS potential_model
    FROM base b
)$s$;
    ELSE
        -- the summary as plain columns (from one call per customer): a field of a
        -- composite column is detoasted at each of its dozen uses per customer
        summary := E',\n           ps.x AS summary_x, ps.t_x AS summary_t_x, ps.t_cal AS summary_t_cal,'
                   || E'\n           ps.repeat_spend::float8 AS summary_spend';
        customers_join := customers_join
            || format(' CROSS JOIN LATERAL customer_priority.purchase_summary(g.profile, %L) ps',
                      potential ->> 'unit');
        scored := customer_priority.segmentation_potential_query(potential);
        high_clv := format(E'\nCROSS JOIN (SELECT percentile_disc(%s) WITHIN GROUP (ORDER BY r.clv) AS min_clv FROM ranked r) high_clv',
                           1 - (potential ->> 'high_clv_share')::numeric);
        labels := $l$CASE WHEN t.lifecycle_stage = 'at_risk' AND r.clv > high_clv.min_clv
            THEN t.labels[:cardinality(t.labels) - 1] || 'at_risk_high_clv'::text || t.labels[cardinality(t.labels)]
            ELSE t.labels END$l$;
    END IF;

    sql := format($q$
WITH params AS (
    SELECT %s AS as_of
), grouped AS (%s
), base AS (
    SELECT g.customer_id, g.profile, g.xyz, g.profit%s,
           jsonb_build_object(%s) AS attributes%s
    FROM grouped g%s
    WHERE (g.profile).orders > 0
), %s, ranked AS (
    SELECT b.*, %s AS monetary, %s AS abc_value
    FROM scored b
), %s cut AS (
    SELECT customer_priority.abc_cutoffs(r.abc_value, %L, %L, %L) AS c FROM ranked r
), model AS (
    SELECT customer_priority.typology_model(r.profile, r.service_contacts, %L::jsonb) AS m FROM ranked r
)
SELECT r.customer_id,
       (r.profile).first_order AS first_order_at,
       (r.profile).last_order AS last_order_at,
       (r.profile).recency_days,
       (r.profile).orders AS frequency,
       r.monetary,
       (r.profile).net_revenue AS revenue,
       s.r_score,
       s.f_score,
       s.m_score,
       %s AS rfm_cell,
       customer_priority.rfm_segment(s.r_score, s.f_score, s.m_score, %s, %L) AS rfm_segment,
       customer_priority.abc_class(r.abc_value, cut.c) AS abc_class,
       customer_priority.xyz_class((r.xyz).cv, %L, %L) AS xyz_class,
       t.primary_type,
       %s AS labels,
       t.lifecycle_stage,
       r.attributes,
       (r.profile).as_of,
       r.p_alive,
       r.expected_purchases,
       r.expected_spend,
       r.clv,
       r.p_purchase_next_unit,
       %s AS next_purchase_median,
       r.potential_model
FROM ranked r
CROSS JOIN cut
CROSS JOIN model%s%s
CROSS JOIN LATERAL (SELECT %s::integer AS r_score, %s::integer AS f_score, %s::integer AS m_score) s
CROSS JOIN LATERAL customer_priority.customer_typology(r.profile, model.m, r.referrals,
                                                       r.social_reach, r.service_contacts, r.p_alive) t
$q$,
        as_of,
        grouped,
        base_extra,
        substr(attributes, 3), summary,
        customers_join,
        scored,
        monetary, abc_value,
        CASE WHEN quantiles THEN format(
            'breaks AS (SELECT customer_priority.rfm_breaks((r.profile).last_order, (r.profile).orders, r.monetary, %s) AS b FROM ranked r),',
            bins) ELSE '' END,
        o ->> 'abc_a', o ->> 'abc_b', o ->> 'abc_method',
        o -> 'typology',
        CASE WHEN bins < 10 THEN 's.r_score::text || s.f_score::text || s.m_score::text'
             ELSE 'concat_ws(''-'', s.r_score, s.f_score, s.m_score)' END,
        bins, o ->> 'segment_map',
        o ->> 'xyz_x_max', o ->> 'xyz_y_max',
        labels,
        -- the median in days after as_of, as a date in the time zone; NULL beyond 9999
        CASE WHEN potential IS NULL THEN 'NULL::date'
             ELSE format($m$CASE WHEN r.next_purchase_units * %s < date '10000-01-01' - ((r.profile).as_of AT TIME ZONE %L)::date
            THEN (((r.profile).as_of + r.next_purchase_units * %s * interval '1 day') AT TIME ZONE %L)::date END$m$,
                         customer_priority.potential_unit_days(potential ->> 'unit'), tz,
                         customer_priority.potential_unit_days(potential ->> 'unit'), tz) END,
        CASE WHEN quantiles THEN E'\nCROSS JOIN breaks\nCROSS JOIN LATERAL customer_priority.rfm_score('
                                 '(r.profile).last_order, (r.profile).orders, r.monetary, breaks.b) q'
             ELSE '' END,
        high_clv,
        r_score, f_score, m_score);
    RETURN sql;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_customers_query(customer_priority.segmentations) IS
    'internal: the query of <name>_customers of a segmentation definition';

-- The query of a segmentation's view (a suffix of segmentation_views()): _membership
-- unpivots _customers; the others read their two generation tables, the live one
-- chosen by an uncorrelated subquery on the definition, which the planner turns into
-- an InitPlan and a one-time filter per branch, so only the live table is scanned.
CREATE OR REPLACE FUNCTION customer_priority.segmentation_view_query(def customer_priority.segmentations, suffix text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    live constant text := format('(SELECT s.generation FROM customer_priority.segmentations s WHERE s.schema = %L AND s.name = %L)',
                                 def.schema, def.name);
    columns text;
BEGIN
    IF suffix = '_membership' THEN
        RETURN format('SELECT c.customer_id, d.dimension, d.segment FROM %s',
                      customer_priority.segmentation_unpivot(format('%I.%I', def.schema, def.name || '_customers')));
    END IF;
    columns := customer_priority.segmentation_columns(format('%I.%I', def.schema, def.name || suffix || '_a')::regclass);
    RETURN format($q$SELECT %s FROM %I.%I WHERE %s = 'a'::"char"
UNION ALL
SELECT %s FROM %I.%I WHERE %s = 'b'::"char"$q$,
                  columns, def.schema, def.name || suffix || '_a', live,
                  columns, def.schema, def.name || suffix || '_b', live);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_view_query(customer_priority.segmentations, text) IS
    'internal: the query of a segmentation''s view (_membership: the unpivot of _customers; the others: over their two generation tables)';

-------------------------------------------------------------------------------
-- Public API: SQL wrappers around pinned functions; computing as the owner
-------------------------------------------------------------------------------
-- The definition a segmentation name given by a user refers to: an exact name (a
-- name unique in the database whatever the search_path, else the one in the first of
-- the schemas of path, the caller's search_path, that holds one), or else a
-- schema-qualified name with identifier syntax ('analytics.shop',
-- '"Analytics"."Shop"').  An error when there is none.
-- VOLATILE: each call looks at the definitions as they are now (several refreshes or
-- drops in one statement each find what the previous ones left).
CREATE FUNCTION customer_priority.segmentation_find(name text, path name[])
RETURNS customer_priority.segmentations
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
    n integer;
    parts text[];
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT count(*) INTO n FROM customer_priority.segmentations s WHERE s.name = $1;
    IF n > 0 THEN
        SELECT s.* INTO def FROM customer_priority.segmentations s
        WHERE s.name = $1 AND (n = 1 OR s.schema = ANY (path))
        ORDER BY array_position(path, s.schema)
        LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'segmentation "%" is in none of the schemas of search_path', name
                USING ERRCODE = 'undefined_object',
                      DETAIL = (SELECT format('The schemas %s each hold a segmentation of that name.',
                                              string_agg(quote_ident(s.schema), ', ' ORDER BY s.schema))
                                FROM customer_priority.segmentations s WHERE s.name = $1),
                      HINT = 'Name it with its schema (''schema.name''), or set search_path.';
        END IF;
        RETURN def;
    END IF;
    BEGIN
        parts := parse_ident(name);
    EXCEPTION WHEN invalid_parameter_value THEN
        parts := NULL;
    END;
    IF cardinality(parts) = 2 THEN
        IF parts[1] = 'pg_temp' THEN
            parts[1] := pg_my_temp_schema()::regnamespace::text;
        END IF;
        SELECT s.* INTO def FROM customer_priority.segmentations s
        WHERE s.schema = parts[1] AND s.name = parts[2];
        IF FOUND THEN
            RETURN def;
        END IF;
    END IF;
    RAISE EXCEPTION 'segmentation "%" does not exist', name USING ERRCODE = 'undefined_object';
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_find(text, name[]) IS
    'internal: the definition a segmentation name refers to, an exact name looked up in the schemas of path or a qualified name';

CREATE OR REPLACE FUNCTION customer_priority.create_segmentation(
    name        text,
    orders      regclass,
    customer_id name,
    ordered_at  name,
    amount      name,
    options     jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql
AS $$
    -- the default schema, and the customers relation named like orders: the caller's
    SELECT customer_priority.segmentation_create(
        $1, $2, $3, $4, $5, $6, pg_catalog.current_schema(),
        pg_catalog.to_regclass(
            CASE WHEN pg_catalog.jsonb_typeof($6 OPERATOR(pg_catalog.->) 'customers'::pg_catalog.text)
                      OPERATOR(pg_catalog.=) 'string'::pg_catalog.text
                 THEN $6 OPERATOR(pg_catalog.->>) 'customers'::pg_catalog.text END))
$$;
COMMENT ON FUNCTION customer_priority.create_segmentation(text, regclass, name, name, name, jsonb) IS
    'defines a segmentation of an orders relation and creates its views <name>_customers, _membership, _segments, _profiles (and the tables they read)';

-- create_segmentation(), with the caller's current schema and customers relation.
-- On Citus (docs/scale-out.md): the relations are local to the coordinator, so no DDL
-- is propagated (else one warning per view that it is created only locally), and the
-- per-customer rows, which come to the coordinator as an intermediate result, are not
-- stopped by citus.max_intermediate_result_size (1 GB: about 5 M customers).
CREATE FUNCTION customer_priority.segmentation_create(
    name text, orders regclass, customer_id name, ordered_at name, amount name, options jsonb,
    default_schema name, customers regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET citus.max_intermediate_result_size = -1
SET citus.enable_ddl_propagation = off
AS $$
DECLARE
    started constant timestamptz := clock_timestamp();   -- for the progress NOTICEs
    def customer_priority.segmentations;
    suffix text;
    customers_a text;           -- <schema>.<name>_customers_a, quoted
    rel text;
    n bigint;
BEGIN
    IF name IS NULL OR orders IS NULL OR customer_id IS NULL OR ordered_at IS NULL OR amount IS NULL THEN
        RAISE EXCEPTION 'name, orders, customer_id, ordered_at and amount must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM customer_priority.segmentation_check_name(name);
    PERFORM customer_priority.segmentation_check_orders(orders);

    def.name := name;
    def.orders := orders;
    def.customer_id := customer_id;
    def.ordered_at := ordered_at;
    def.amount := amount;
    def.options := customer_priority.segmentation_options(options, orders, customer_id, default_schema,
                                                           customers);
    def.schema := def.options ->> 'schema';
    def.created_at := now();
    def.refreshed_at := now();
    def.generation := 'a';

    FOREACH suffix IN ARRAY customer_priority.segmentation_relations() LOOP
        IF EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = def.schema AND c.relname = def.name || suffix) THEN
            RAISE EXCEPTION 'relation "%" already exists in schema "%"', def.name || suffix, def.schema
                USING ERRCODE = 'duplicate_table',
                      HINT = 'Choose another segmentation name or schema.';
        END IF;
    END LOOP;
    BEGIN
        PERFORM customer_priority.segmentation_insert(def);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'segmentation "%" already exists in schema "%"', def.name, def.schema
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Drop it with drop_segmentation() first, or choose another name.';
    END;

    -- Foreign partitions: every shard runs this version (docs/scale-out.md).
    PERFORM customer_priority.check_foreign_partitions(def.orders);

    -- Generation a is filled by CREATE TABLE AS (which, unlike INSERT, may run the
    -- query in parallel), generation b is an empty copy of its columns.  All of it
    -- with the caller's rights: the caller is the owner.
    customers_a := format('%I.%I', def.schema, def.name || '_customers_a');
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        rel := format('%I.%I', def.schema, def.name || suffix || '_a');
        EXECUTE format('CREATE TABLE %s AS %s', rel,
                       customer_priority.segmentation_table_query(def, suffix, customers_a));
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s)', def.schema, def.name || suffix || '_b', rel);
        FOREACH rel IN ARRAY ARRAY[def.name || suffix || '_a', def.name || suffix || '_b'] LOOP
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I (%s)', rel || '_key', def.schema, rel,
                           customer_priority.segmentation_table_key(suffix));
        END LOOP;
        EXECUTE format('ANALYZE %I.%I', def.schema, def.name || suffix || '_a');
        EXECUTE format('CREATE VIEW %I.%I AS %s', def.schema, def.name || suffix,
                       customer_priority.segmentation_view_query(def, suffix));
        PERFORM customer_priority.segmentation_progress(def.name, format('create: %s_a filled', suffix),
                                                        started, n);
    END LOOP;
    EXECUTE format('CREATE VIEW %I.%I AS %s', def.schema, def.name || '_membership',
                   customer_priority.segmentation_view_query(def, '_membership'));

    PERFORM customer_priority.segmentation_comment(def);
    PERFORM customer_priority.history_create(def);
    PERFORM customer_priority.segmentation_progress(def.name, 'create: done', started, NULL);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_create(text, regclass, name, name, name, jsonb, name, regclass) IS
    'internal: create_segmentation() with the caller''s current schema and customers relation';

-- ACCESS EXCLUSIVE locks on several tables, taken so that the caller never waits for a
-- lock while it holds one of them (a blocking refresh's TRUNCATE would wait for a reader
-- of one view while holding the table another reader waits for: a deadlock, 40P01, for
-- the reader).  Each round waits for one table, holding none, then takes the others
-- without waiting; when one of them is busy, the round's subtransaction gives back what
-- it took and the next round waits for that one.  Readers wait for the tables from the
-- first round on, as for the TRUNCATE, so rounds do not go on for long.
CREATE FUNCTION customer_priority.segmentation_lock_tables(tables regclass[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    waiting_for integer := 1;
    trying integer;             -- the table being taken without waiting; NULL while waiting
BEGIN
    LOOP
        BEGIN
            trying := NULL;
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tables[waiting_for]);
            FOR i IN 1 .. cardinality(tables) LOOP
                CONTINUE WHEN i = waiting_for;
                trying := i;
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', tables[i]);
            END LOOP;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            -- the wait itself timed out (lock_timeout): the caller's limit, not ours
            IF trying IS NULL THEN
                RAISE;
            END IF;
            waiting_for := trying;
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_lock_tables(regclass[]) IS
    'internal: ACCESS EXCLUSIVE locks on several tables, never waiting while holding one of them';

CREATE OR REPLACE FUNCTION customer_priority.refresh_segmentation(name text, concurrently boolean DEFAULT true)
RETURNS void
LANGUAGE sql
AS $$
    SELECT customer_priority.segmentation_refresh($1, pg_catalog.current_schemas(true), $2)
$$;
COMMENT ON FUNCTION customer_priority.refresh_segmentation(text, boolean) IS
    'recomputes a segmentation in one transaction (fills its other generation and makes it live); concurrently (the default) never blocks readers';

-- Fills the generation that is not live, then makes it live, in the caller's transaction.
-- concurrently: the tables are emptied with DELETE (readers of the live generation, and
-- older snapshots still reading the other one, are not disturbed), and the generation
-- that stops being live is emptied with DELETE too once the new one is live: snapshots
-- taken before the commit keep reading it, later ones never read it.  Not
-- concurrently: TRUNCATE, whose ACCESS EXCLUSIVE lock makes readers wait; the previous
-- generation is left as it is (a TRUNCATE of it would show an empty view to snapshots
-- taken before the commit, a DELETE would cost what this mode saves).
-- What reads the orders or writes the tables runs as the owner of the views, as REFRESH
-- MATERIALIZED VIEW does (execute_as_owner(), src/run_as_owner.sql); the checks, the
-- generated SQL and the flip of the generation are the caller's.
-- On Citus (docs/scale-out.md): the per-customer rows come to the coordinator as an
-- intermediate result, not stopped by citus.max_intermediate_result_size (1 GB: about
-- 5 M customers).
CREATE FUNCTION customer_priority.segmentation_refresh(name text, path name[], concurrently boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET citus.max_intermediate_result_size = -1
AS $$
DECLARE
    def customer_priority.segmentations;
    suffix text;
    live text;                  -- the live generation, 'a' or 'b'
    fill text;                  -- the other one: filled, and live at commit
    customers text;             -- its customers table, quoted
    rel text;
    owned regclass;             -- <name>_customers: whose owner computes
    started constant timestamptz := clock_timestamp();   -- for the progress NOTICEs
    n bigint;
BEGIN
    -- $3: "concurrently" is a reserved word, usable as a parameter name but not here
    IF name IS NULL OR $3 IS NULL THEN
        RAISE EXCEPTION 'name and concurrently must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- The row lock serialises refreshes (and drops) of one segmentation; the definition
    -- is read again under it.
    def := customer_priority.segmentation_find(name, path);
    SELECT * INTO def FROM customer_priority.segmentation_lock(def.schema, def.name, 'refresh it');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    -- An invalid definition (stored by a version that did not validate; the upgrade
    -- leaves it as it was, without the relations of the new version) says so first.
    PERFORM customer_priority.segmentation_validate(def);
    PERFORM customer_priority.check_foreign_partitions(def.orders);
    PERFORM customer_priority.segmentation_check_relations(def, customer_priority.segmentation_relations());
    owned := format('%I.%I', def.schema, def.name || '_customers')::regclass;

    live := def.generation::text;
    fill := CASE live WHEN 'a' THEN 'b' ELSE 'a' END;
    IF $3 THEN
        n := 0;
        FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
            n := n + customer_priority.execute_as_owner(owned,
                format('DELETE FROM %I.%I', def.schema, def.name || suffix || '_' || fill));
        END LOOP;
    ELSE
        PERFORM customer_priority.segmentation_lock_tables(ARRAY(
            SELECT format('%I.%I', def.schema, def.name || t || '_' || fill)::regclass
            FROM unnest(customer_priority.segmentation_tables()) AS t));
        PERFORM customer_priority.execute_as_owner(owned,
            (SELECT 'TRUNCATE ' || string_agg(format('%I.%I', def.schema, def.name || t || '_' || fill), ', ')
             FROM unnest(customer_priority.segmentation_tables()) AS t));
    END IF;
    -- rows deleted (concurrently), unknown after a TRUNCATE
    PERFORM customer_priority.segmentation_progress(def.name, format('refresh: generation %s emptied', fill),
                                                    started, CASE WHEN $3 THEN n END);
    customers := format('%I.%I', def.schema, def.name || '_customers_' || fill);
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        rel := format('%I.%I', def.schema, def.name || suffix || '_' || fill);
        n := customer_priority.execute_as_owner(owned,
            format('INSERT INTO %s (%s) %s', rel, customer_priority.segmentation_columns(rel::regclass),
                   customer_priority.segmentation_table_query(def, suffix, customers)));
        PERFORM customer_priority.segmentation_progress(def.name, format('refresh: %s_%s filled', suffix, fill),
                                                        started, n);
    END LOOP;
    -- Statistics: a table without any (the first fill of generation b) is analyzed now,
    -- so that readers' plans never use the default guesses.  Later fills are left to
    -- autovacuum, which analyzes a table soon after a fill changed it: an ANALYZE here
    -- costs about a tenth of the refresh (a 30,000-row sample), and until autovacuum
    -- runs the table's statistics of its previous fill, two refreshes old, describe
    -- nearly the same distribution.  (ANALYZE sees this transaction's rows and takes
    -- SHARE UPDATE EXCLUSIVE, which no reader waits for.)
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        IF NOT EXISTS (SELECT FROM pg_stats s
                       WHERE s.schemaname = def.schema AND s.tablename = def.name || suffix || '_' || fill) THEN
            PERFORM customer_priority.execute_as_owner(owned,
                format('ANALYZE %I.%I', def.schema, def.name || suffix || '_' || fill));
        END IF;
    END LOOP;

    PERFORM customer_priority.segmentation_set_live(def.schema, def.name, fill::"char");
    IF $3 THEN
        FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
            PERFORM customer_priority.execute_as_owner(owned,
                format('DELETE FROM %I.%I', def.schema, def.name || suffix || '_' || live));
        END LOOP;
    END IF;
    PERFORM customer_priority.segmentation_progress(def.name, format('refresh: generation %s live', fill),
                                                    started, NULL);
    PERFORM customer_priority.history_after_refresh(def);
    PERFORM customer_priority.segmentation_progress(def.name, 'refresh: done', started, NULL);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_refresh(text, name[], boolean) IS
    'internal: refresh_segmentation() with the caller''s search_path';

-- Raises an error naming the first missing relation of a segmentation among suffixes
-- (refresh: all of them; the history: its tables).
CREATE FUNCTION customer_priority.segmentation_check_relations(def customer_priority.segmentations,
                                                               suffixes text[])
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    suffix text;
BEGIN
    FOREACH suffix IN ARRAY suffixes LOOP
        IF to_regclass(format('%I.%I', def.schema, def.name || suffix)) IS NULL THEN
            RAISE EXCEPTION 'relation %.% of segmentation "%" is missing',
                            quote_ident(def.schema), quote_ident(def.name || suffix), def.name
                USING ERRCODE = 'undefined_table',
                      HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_check_relations(customer_priority.segmentations, text[]) IS
    'internal: raises 42P01 naming the first missing relation of a segmentation among the given name suffixes';

CREATE OR REPLACE FUNCTION customer_priority.drop_segmentation(name text)
RETURNS void
LANGUAGE sql
AS $$
    SELECT customer_priority.segmentation_drop($1, pg_catalog.current_schemas(true))
$$;
COMMENT ON FUNCTION customer_priority.drop_segmentation(text) IS
    'drops a segmentation''s views, their tables and its definition';

CREATE FUNCTION customer_priority.segmentation_drop(name text, path name[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations := customer_priority.segmentation_find(name, path);
BEGIN
    SELECT * INTO def FROM customer_priority.segmentation_lock(def.schema, def.name, 'drop it');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    -- No CASCADE: a view of the user's own built on these stops the drop.
    EXECUTE (SELECT format('DROP VIEW IF EXISTS %s',
                           string_agg(format('%I.%I', def.schema, def.name || v), ', '))
             FROM unnest(customer_priority.segmentation_views()) AS v);
    PERFORM customer_priority.history_drop(def);
    EXECUTE (SELECT format('DROP TABLE IF EXISTS %s',
                           string_agg(format('%I.%I', def.schema, def.name || t || '_' || g), ', '))
             FROM unnest(customer_priority.segmentation_tables()) AS t, unnest('{a,b}'::text[]) AS g);
    PERFORM customer_priority.segmentation_delete(def.schema, def.name);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_drop(text, name[]) IS
    'internal: drop_segmentation() with the caller''s search_path';

-------------------------------------------------------------------------------
-- History (src/history.sql)
-------------------------------------------------------------------------------
-- The query comparing two snapshots, one row per customer and dimension, from SQL
-- expressions giving the two as_of (subqueries for the views, $1 and $2 for
-- segmentation_transitions()).  A customer missing from one snapshot (not a customer
-- yet) has NULL segments, revenue and frequency there.  The EXISTS on the definition
-- makes the views depend on the extension, as its other views do.
CREATE OR REPLACE FUNCTION customer_priority.history_moves_query(def customer_priority.segmentations,
                                                      from_as_of text, to_as_of text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    history constant text := format('%I.%I', def.schema, def.name || '_history');
    eq constant text := customer_priority.segmentation_equality(
        customer_priority.segmentation_column_type(history::regclass, 'customer_id', 'customer_id', 'any'),
        customer_priority.segmentation_column_type(history::regclass, 'customer_id', 'customer_id', 'any'));
BEGIN
    RETURN format($q$
WITH pair AS (
    SELECT x.from_as_of, x.to_as_of
    FROM (SELECT %s::timestamptz AS from_as_of, %s::timestamptz AS to_as_of) x
    WHERE x.from_as_of IS NOT NULL AND x.to_as_of IS NOT NULL
      AND EXISTS (SELECT FROM customer_priority.segmentations s WHERE s.schema = %L AND s.name = %L)
), f AS (
    SELECT h.* FROM pair p JOIN %s h ON h.as_of = p.from_as_of
), t AS (
    SELECT h.* FROM pair p JOIN %s h ON h.as_of = p.to_as_of
), moves AS (
    SELECT p.from_as_of, p.to_as_of,
           coalesce(t.customer_id, f.customer_id) AS customer_id,
           d.dimension, d.from_segment, d.to_segment,
           f.revenue AS from_revenue, t.revenue AS to_revenue,
           f.frequency AS from_frequency, t.frequency AS to_frequency
    FROM f FULL JOIN t ON t.customer_id %s f.customer_id
    CROSS JOIN pair p
    CROSS JOIN LATERAL (VALUES ('lifecycle_stage'::text, f.lifecycle_stage, t.lifecycle_stage),
                               ('abc_class', f.abc_class, t.abc_class),
                               ('rfm_segment', f.rfm_segment, t.rfm_segment),
                               ('primary_type', f.primary_type, t.primary_type),
                               ('xyz_class', f.xyz_class, t.xyz_class)) AS d(dimension, from_segment, to_segment)
)$q$,
        from_as_of, to_as_of, def.schema, def.name, history, history, eq);
END
$$;
COMMENT ON FUNCTION customer_priority.history_moves_query(customer_priority.segmentations, text, text) IS
    'internal: WITH clause pairing each customer''s rows of two snapshots, one row per dimension';

-- Stores one snapshot: the live <name>_customers (compute false: their as_of is given),
-- or the segmentation computed from the orders at as_of (compute true: the same query
-- as a segmentation with that as_of option).  A snapshot at the same as_of is replaced.
-- Returns the number of customers.  The statements run as the owner of the views
-- (execute_as_owner()): they read the orders or the views, and write the owner's tables.
-- On Citus (docs/scale-out.md): the per-customer rows come to the coordinator as an
-- intermediate result, not stopped by citus.max_intermediate_result_size (1 GB: about
-- 5 M customers).
CREATE OR REPLACE FUNCTION customer_priority.history_store(def customer_priority.segmentations, as_of timestamptz,
                                                source text, compute boolean)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET citus.max_intermediate_result_size = -1
AS $$
DECLARE
    history constant text := format('%I.%I', def.schema, def.name || '_history');
    snapshots constant text := format('%I.%I', def.schema, def.name || '_snapshots');
    owned constant regclass := format('%I.%I', def.schema, def.name || '_customers')::regclass;
    at constant text := customer_priority.segmentation_time_literal(as_of);
    customers text := format('%I.%I', def.schema, def.name || '_customers');
    n bigint;
BEGIN
    PERFORM customer_priority.segmentation_check_relations(def, '{_snapshots,_history}');
    IF compute THEN
        def.options := def.options || jsonb_build_object('as_of', as_of);
        PERFORM customer_priority.check_foreign_partitions(def.orders);
        customers := format('(%s)', customer_priority.segmentation_customers_query(def));
    END IF;
    PERFORM customer_priority.execute_as_owner(owned, format('DELETE FROM %s h WHERE h.as_of = %s', history, at));
    PERFORM customer_priority.execute_as_owner(owned, format('DELETE FROM %s s WHERE s.as_of = %s', snapshots, at));
    n := customer_priority.execute_as_owner(owned,
        format('INSERT INTO %s (as_of, customer_id, rfm_segment, abc_class, xyz_class, primary_type, '
               'lifecycle_stage, frequency, revenue) '
               'SELECT %s, c.customer_id, c.rfm_segment, c.abc_class, c.xyz_class, c.primary_type, '
               'c.lifecycle_stage, c.frequency, c.revenue FROM %s c', history, at, customers));
    PERFORM customer_priority.execute_as_owner(owned,
        format('INSERT INTO %s (as_of, source, customers, taken_at) VALUES (%s, %L, %s, now())',
               snapshots, at, source, n));
    RETURN n;
END
$$;
COMMENT ON FUNCTION customer_priority.history_store(customer_priority.segmentations, timestamptz, text, boolean) IS
    'internal: stores (replaces) one snapshot of a segmentation in its history';

-- Deletes the snapshots older than the option history_retention before the last one
-- (months counted on the calendar of the segmentation's time zone), as the owner of the
-- views.  Returns the number of snapshots deleted.
CREATE OR REPLACE FUNCTION customer_priority.history_retain(def customer_priority.segmentations)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    retention constant interval := (customer_priority.history_options(def.options) ->> 'history_retention')::interval;
    tz constant text := def.options ->> 'time_zone';
    owned constant regclass := format('%I.%I', def.schema, def.name || '_customers')::regclass;
    last_as_of timestamptz;
    oldest text;
BEGIN
    IF retention IS NULL THEN
        RETURN 0;
    END IF;
    SELECT q.last_as_of INTO last_as_of
    FROM customer_priority.query_as_owner(owned,
             format('SELECT max(s.as_of) FROM %I.%I s', def.schema, def.name || '_snapshots')) AS q(last_as_of timestamptz);
    oldest := customer_priority.segmentation_time_literal(((last_as_of AT TIME ZONE tz) - retention) AT TIME ZONE tz);
    PERFORM customer_priority.execute_as_owner(owned,
        format('DELETE FROM %I.%I h WHERE h.as_of < %s', def.schema, def.name || '_history', oldest));
    RETURN customer_priority.execute_as_owner(owned,
        format('DELETE FROM %I.%I s WHERE s.as_of < %s', def.schema, def.name || '_snapshots', oldest));
END
$$;
COMMENT ON FUNCTION customer_priority.history_retain(customer_priority.segmentations) IS
    'internal: deletes the snapshots older than the option history_retention (counted back from the last snapshot)';

DROP FUNCTION customer_priority.history_lock(text, text);
-- The definition of a segmentation, locked like refresh_segmentation() locks it, after
-- the same owner check.
CREATE FUNCTION customer_priority.history_lock(def customer_priority.segmentations, action text)
RETURNS customer_priority.segmentations
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted constant text := def.name;
BEGIN
    -- segmentation_lock() (src/privileges.sql) checks the caller and takes the row
    -- lock as refresh_segmentation() does: only it may, the table being read-only to
    -- other roles.
    SELECT * INTO def FROM customer_priority.segmentation_lock(def.schema, def.name, action);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', wanted USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM customer_priority.segmentation_check_relations(def, '{_customers}');
    RETURN def;
END
$$;
COMMENT ON FUNCTION customer_priority.history_lock(customer_priority.segmentations, text) IS
    'internal: the definition of a segmentation, row-locked, after checking that the caller owns its views';

CREATE OR REPLACE FUNCTION customer_priority.snapshot_segmentation(name text, as_of timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT customer_priority.history_snapshot($1, pg_catalog.current_schemas(true), $2)
$$;
COMMENT ON FUNCTION customer_priority.snapshot_segmentation(text, timestamptz) IS
    'appends (or replaces) a snapshot of every customer''s segments to the segmentation''s history: of the live views (as_of NULL) or computed from the orders at as_of; returns the number of customers';

CREATE FUNCTION customer_priority.history_snapshot(name text, path name[], as_of timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations :=
        customer_priority.history_lock(customer_priority.segmentation_find(name, path), 'take a snapshot of it');
    n bigint;
BEGIN
    IF $3 IS NULL THEN
        -- the live views, as of their option as_of or of their last refresh
        n := customer_priority.history_store(def, coalesce((def.options ->> 'as_of')::timestamptz, def.refreshed_at),
                                             'snapshot', false);
    ELSIF NOT isfinite($3) THEN
        RAISE EXCEPTION 'as_of must be finite' USING ERRCODE = 'invalid_parameter_value';
    ELSE
        n := customer_priority.history_store(def, $3, 'snapshot', true);
    END IF;
    PERFORM customer_priority.history_retain(def);
    RETURN n;
END
$$;
COMMENT ON FUNCTION customer_priority.history_snapshot(text, name[], timestamptz) IS
    'internal: snapshot_segmentation() with the caller''s search_path';

CREATE OR REPLACE FUNCTION customer_priority.backfill_segmentation(name text, first_month date DEFAULT NULL,
                                                        last_month date DEFAULT NULL)
RETURNS TABLE (as_of timestamptz, customers bigint)
LANGUAGE sql
AS $$
    SELECT * FROM customer_priority.history_backfill($1, pg_catalog.current_schemas(true), $2, $3)
$$;
COMMENT ON FUNCTION customer_priority.backfill_segmentation(text, date, date) IS
    'computes a snapshot for the end of each month from first_month to last_month (default: the 12 months before the segmentation''s as_of) from the orders, as the segmentation at that as_of would; returns one row per snapshot';

CREATE FUNCTION customer_priority.history_backfill(name text, path name[], first_month date,
                                                   last_month date)
RETURNS TABLE (as_of timestamptz, customers bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    started constant timestamptz := clock_timestamp();   -- for the progress NOTICEs
    def customer_priority.segmentations :=
        customer_priority.history_lock(customer_priority.segmentation_find(name, path), 'backfill its history');
    tz text;
    reference timestamptz;
    first_m date := date_trunc('month', $3::timestamp)::date;
    last_m date := date_trunc('month', $4::timestamp)::date;
    m date;
    max_months constant integer := 600;
    months integer;             -- to backfill
    done integer := 0;          -- backfilled
BEGIN
    tz := def.options ->> 'time_zone';
    -- by default the 12 months before the month of the segmentation's as_of (or now)
    reference := coalesce((def.options ->> 'as_of')::timestamptz, now());
    last_m := coalesce(last_m, (date_trunc('month', reference AT TIME ZONE tz) - interval '1 month')::date);
    first_m := coalesce(first_m, (last_m - interval '11 months')::date);
    IF first_m > last_m THEN
        RAISE EXCEPTION 'first_month % is after last_month %', to_char(first_m, 'YYYY-MM'), to_char(last_m, 'YYYY-MM')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    months := (extract(year FROM last_m) * 12 + extract(month FROM last_m))
              - (extract(year FROM first_m) * 12 + extract(month FROM first_m)) + 1;
    IF months > max_months THEN
        RAISE EXCEPTION 'at most % months can be backfilled at once', max_months
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('%s to %s is more.', to_char(first_m, 'YYYY-MM'), to_char(last_m, 'YYYY-MM'));
    END IF;
    m := first_m;
    WHILE m <= last_m LOOP
        -- the end of month m: the first instant of the next month in the time zone
        as_of := (m + interval '1 month')::timestamp AT TIME ZONE tz;
        customers := customer_priority.history_store(def, as_of, 'backfill', true);
        done := done + 1;
        PERFORM customer_priority.segmentation_progress(def.name,
            format('backfill: end of %s stored (month %s of %s)', to_char(m, 'YYYY-MM'), done, months),
            started, customers);
        RETURN NEXT;
        m := (m + interval '1 month')::date;
    END LOOP;
    PERFORM customer_priority.history_retain(def);
    PERFORM customer_priority.segmentation_progress(def.name, 'backfill: done', started, NULL);
END
$$;
COMMENT ON FUNCTION customer_priority.history_backfill(text, name[], date, date) IS
    'internal: backfill_segmentation() with the caller''s search_path';

-- Any two snapshots; by default the last two.
CREATE OR REPLACE FUNCTION customer_priority.segmentation_transitions(name text, from_snapshot timestamptz DEFAULT NULL,
                                                           to_snapshot timestamptz DEFAULT NULL)
RETURNS TABLE (from_as_of timestamptz, to_as_of timestamptz, dimension text, from_segment text,
               to_segment text, customers bigint, from_share numeric, from_revenue numeric,
               to_revenue numeric, revenue_change numeric)
LANGUAGE sql
AS $$
    SELECT * FROM customer_priority.history_transitions($1, pg_catalog.current_schemas(true), $2, $3)
$$;
COMMENT ON FUNCTION customer_priority.segmentation_transitions(text, timestamptz, timestamptz) IS
    'the from -> to matrix of each dimension between two snapshots of a segmentation (default: to the last one, from the one before to_snapshot), with customers and revenue; the rows of <name>_transitions for any pair';

-- segmentation_transitions() of a definition.  It reads the history as the owner of the
-- views (query_as_owner()), so only a role with the owner's rights may call it: that
-- is what reading the history tables took before; a reader granted the view
-- <name>_transitions reads the last two snapshots there.
CREATE FUNCTION customer_priority.history_transitions(name text, path name[],
                                                      from_snapshot timestamptz, to_snapshot timestamptz)
RETURNS TABLE (from_as_of timestamptz, to_as_of timestamptz, dimension text, from_segment text,
               to_segment text, customers bigint, from_share numeric, from_revenue numeric,
               to_revenue numeric, revenue_change numeric)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations := customer_priority.segmentation_find(name, path);
    snapshots text;
    owned regclass;
    f timestamptz := $3;
    t timestamptz := $4;
    found_as_of timestamptz;
    present boolean;
BEGIN
    snapshots := format('%I.%I', def.schema, def.name || '_snapshots');
    owned := to_regclass(format('%I.%I', def.schema, def.name || '_customers'));
    IF owned IS NULL OR to_regclass(snapshots) IS NULL
       OR to_regclass(format('%I.%I', def.schema, def.name || '_history')) IS NULL THEN
        RAISE EXCEPTION 'the history of segmentation "%" is missing', def.name
            USING ERRCODE = 'undefined_table',
                  HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
    END IF;
    PERFORM customer_priority.segmentation_authorize(def, 'read its transitions');
    FOREACH found_as_of IN ARRAY ARRAY[f, t] LOOP
        CONTINUE WHEN found_as_of IS NULL;
        SELECT q.present INTO STRICT present
        FROM customer_priority.query_as_owner(owned,
                 format('SELECT EXISTS (SELECT FROM %s s WHERE s.as_of = %s)', snapshots,
                        customer_priority.segmentation_time_literal(found_as_of))) AS q(present boolean);
        IF NOT present THEN
            RAISE EXCEPTION 'segmentation "%" has no snapshot as of %', def.name, found_as_of
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('The snapshots are the rows of %s.', snapshots);
        END IF;
    END LOOP;
    IF t IS NULL THEN
        SELECT q.t INTO t
        FROM customer_priority.query_as_owner(owned, format('SELECT max(s.as_of) FROM %s s', snapshots))
             AS q(t timestamptz);
    END IF;
    IF f IS NULL THEN
        SELECT q.f INTO f
        FROM customer_priority.query_as_owner(owned,
                 format('SELECT max(s.as_of) FROM %s s WHERE s.as_of < %s', snapshots,
                        coalesce(customer_priority.segmentation_time_literal(t), 'NULL'))) AS q(f timestamptz);
    END IF;
    RETURN QUERY
    SELECT * FROM customer_priority.query_as_owner(owned,
        customer_priority.history_transitions_query(def,
            coalesce(customer_priority.segmentation_time_literal(f), 'NULL'),
            coalesce(customer_priority.segmentation_time_literal(t), 'NULL')))
        AS q(from_as_of timestamptz, to_as_of timestamptz, dimension text, from_segment text,
             to_segment text, customers bigint, from_share numeric, from_revenue numeric,
             to_revenue numeric, revenue_change numeric);
END
$$;
COMMENT ON FUNCTION customer_priority.history_transitions(text, name[], timestamptz, timestamptz) IS
    'internal: segmentation_transitions() with the caller''s search_path, read as the owner of the views';

-------------------------------------------------------------------------------
-- Privileges (src/privileges.sql): the writers take the schema too
-------------------------------------------------------------------------------
DROP FUNCTION customer_priority.segmentation_lock(text, text);
DROP FUNCTION customer_priority.segmentation_set_live(text, "char");
DROP FUNCTION customer_priority.segmentation_delete(text);

-- Whether the calling role may change (lock, flip, delete, insert) the definition def.
-- The rule of the trigger check_definition: only a role with the rights of the owner of the
-- segmentation's views (or, without them, of its table <name>_customers_a) may; a
-- definition without any of its relations (being created, or dropped) protects nothing.
-- The caller is the role the session acts as (SET ROLE, or else the session user),
-- because the functions below run as their owner (SECURITY DEFINER), where
-- current_user is that owner.  So a SECURITY DEFINER function of the views' owner that
-- calls refresh_segmentation() for another role is refused: give that role membership
-- in the owner instead.
CREATE OR REPLACE FUNCTION customer_priority.segmentation_authorize(def customer_priority.segmentations, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := coalesce(nullif(current_setting('role'), 'none'), session_user);
    owner constant oid := customer_priority.segmentation_owner(def);
BEGIN
    IF owner IS NOT NULL AND NOT pg_has_role(caller, owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of the views of segmentation "%" to %', def.name, action
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%I.%I belongs to %s.', def.schema, def.name || '_customers',
                                  pg_get_userbyid(owner));
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_authorize(customer_priority.segmentations, text) IS
    'internal: raises 42501 unless the calling role has the rights of the owner of the segmentation''s views';

-- A new definition (create_segmentation); unique_violation if the name is taken in its
-- schema.  The caller needs what create_segmentation needs next (SELECT on the orders
-- and the customers relation, CREATE on the schema), so that a definition without views
-- (which any role may drop) is not a way to take names for a role that could not create
-- a segmentation anyway.  The trigger check_definition validates the row: whatever the
-- caller passes, only a valid definition is stored.
CREATE OR REPLACE FUNCTION customer_priority.segmentation_insert(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := coalesce(nullif(current_setting('role'), 'none'), session_user);
    customers regclass;
BEGIN
    IF NOT has_any_column_privilege(caller, def.orders, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', (SELECT relname FROM pg_class WHERE oid = def.orders)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF jsonb_typeof(def.options -> 'customers') = 'string' THEN
        customers := to_regclass(def.options ->> 'customers');
    END IF;
    IF customers IS NOT NULL AND NOT has_any_column_privilege(caller, customers, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', def.options ->> 'customers'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT has_schema_privilege(caller, def.schema, 'CREATE') THEN
        RAISE EXCEPTION 'permission denied for schema %', def.schema
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM customer_priority.segmentation_authorize(def, 'change its definition');
    INSERT INTO customer_priority.segmentations SELECT def.*;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_insert(customer_priority.segmentations) IS
    'internal (SECURITY DEFINER): inserts a segmentation definition';

-- The definition of a segmentation, locked FOR UPDATE until the end of the caller's
-- transaction (refresh and drop_segmentation: refreshes and drops of one segmentation
-- run one after the other); no row if it does not exist.  Only a role that may change
-- it gets the lock: action says for what, in the error.
CREATE FUNCTION customer_priority.segmentation_lock(schema name, name text, action text)
RETURNS SETOF customer_priority.segmentations
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s
    WHERE s.schema = segmentation_lock.schema AND s.name = segmentation_lock.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, action);
        RETURN QUERY SELECT * FROM customer_priority.segmentations s
                     WHERE s.schema = segmentation_lock.schema AND s.name = segmentation_lock.name
                     FOR UPDATE;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_lock(name, text, text) IS
    'internal (SECURITY DEFINER): the definition of a segmentation, locked for the caller''s transaction';

-- Makes a generation live (refresh_segmentation) and records the refresh time.
CREATE FUNCTION customer_priority.segmentation_set_live(schema name, name text, generation "char")
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s
    WHERE s.schema = segmentation_set_live.schema AND s.name = segmentation_set_live.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, 'change its definition');
        UPDATE customer_priority.segmentations s
        SET generation = segmentation_set_live.generation, refreshed_at = now()
        WHERE s.schema = segmentation_set_live.schema AND s.name = segmentation_set_live.name;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_set_live(name, text, "char") IS
    'internal (SECURITY DEFINER): makes a generation of a segmentation live';

-- Deletes a definition (drop_segmentation, after its views and tables are gone).
CREATE FUNCTION customer_priority.segmentation_delete(schema name, name text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s
    WHERE s.schema = segmentation_delete.schema AND s.name = segmentation_delete.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, 'change its definition');
        DELETE FROM customer_priority.segmentations s
        WHERE s.schema = segmentation_delete.schema AND s.name = segmentation_delete.name;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_delete(name, text) IS
    'internal (SECURITY DEFINER): deletes a segmentation definition';

-- What PUBLIC may execute: the functions of README's "Reference", the support functions
-- of their aggregates and types, and the internal functions that these reach while
-- running as their caller (docs/segmentation.md, "Internal functions", lists them and
-- says why each must stay executable; the test public_surface compares the catalog
-- with both lists).  A function call checks EXECUTE for the role running it at every
-- level, and create, refresh, drop_segmentation and the others are SECURITY INVOKER (they
-- read the caller's orders and create the caller's views): each internal function they
-- reach, and each one of the queries they generate (run by the caller or, through
-- execute_as_owner(), by the owner of the views), must stay executable by every role.
-- Calling one directly grants nothing: only the four writers above are SECURITY
-- DEFINER, and they check the caller first; the run-as-owner functions refuse a caller
-- without the owner's rights; the rest compute text from their arguments or do one step
-- of a public function with the caller's own rights.
-- Not executable by PUBLIC, because no role but a superuser ever runs them:
--   the trigger functions: PostgreSQL checks EXECUTE on a trigger function when the
--     trigger is created (by this script), not when it fires, so every role's INSERT,
--     UPDATE and DELETE still fire them (and they cannot be called directly anyway);
--   segmentation_upgrade() and query_columns_as_owner(), which only it calls: only the
--     upgrade scripts call them, and ALTER EXTENSION ... UPDATE runs them as a superuser
--     (for this trusted extension too, whoever runs the command);
--   the support functions on an internal state that no aggregate uses any more (those of
--     rfm_breaks(), abc_cutoffs() and score_population() without order_id until 0.2.0:
--     their aggregates now keep the state in an aggregate_state, and its *_state_*
--     functions run the same C code).  Only a superuser may create an aggregate on an
--     internal state (test/fuzz/make_corpus.sql does).
-- (The support functions of the aggregates stay executable, though the aggregates would
-- not need it: PostgreSQL checks their EXECUTE for the aggregate's owner.)
REVOKE EXECUTE ON FUNCTION customer_priority.rfm_segment_protect_builtin(),
                           customer_priority.segmentations_check(),
                           customer_priority.segment_actions_upsert(),
                           customer_priority.segmentation_upgrade(customer_priority.segmentations),
                           customer_priority.query_columns_as_owner(regclass, text),
                           customer_priority.rfm_breaks_transfn(internal, timestamptz, bigint, numeric, integer),
                           customer_priority.rfm_breaks_combinefn(internal, internal),
                           customer_priority.rfm_breaks_serialfn(internal),
                           customer_priority.rfm_breaks_deserialfn(bytea, internal),
                           customer_priority.rfm_breaks_finalfn(internal),
                           customer_priority.abc_cutoffs_transfn(internal, numeric),
                           customer_priority.abc_cutoffs_transfn(internal, numeric, numeric, numeric),
                           customer_priority.abc_cutoffs_transfn(internal, numeric, numeric, numeric, text),
                           customer_priority.abc_cutoffs_combinefn(internal, internal),
                           customer_priority.abc_cutoffs_serialfn(internal),
                           customer_priority.abc_cutoffs_deserialfn(bytea, internal),
                           customer_priority.abc_cutoffs_finalfn(internal),
                           customer_priority.score_population_transfn(internal, bigint, timestamptz, numeric,
                                                                      timestamptz, integer, numeric, numeric)
    FROM PUBLIC;

-------------------------------------------------------------------------------
-- Cohorts (src/cohorts.sql): <name>_cohorts, a fourth generation table; create, refresh, drop and the upgrade build every table from one query chooser
-------------------------------------------------------------------------------
COMMENT ON TABLE customer_priority.segmentations IS
    'one row per segmentation made by create_segmentation(); its views are <schema>.<name>_customers, _membership, _segments, _profiles, _cohorts';
CREATE OR REPLACE FUNCTION customer_priority.segmentation_views()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '{_customers,_membership,_segments,_profiles,_cohorts}'::text[] $$;
COMMENT ON FUNCTION customer_priority.segmentation_views() IS
    'internal: suffixes of a segmentation''s views';

CREATE OR REPLACE FUNCTION customer_priority.segmentation_tables()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '{_customers,_segments,_profiles,_cohorts}'::text[] $$;
COMMENT ON FUNCTION customer_priority.segmentation_tables() IS
    'internal: suffixes of the views read from the generation tables <name><suffix>_a and _b, in fill order';

CREATE FUNCTION customer_priority.segmentation_table_query(def customer_priority.segmentations,
                                                            suffix text, customers text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE suffix
        WHEN '_customers' THEN customer_priority.segmentation_customers_query(def)
        WHEN '_segments' THEN customer_priority.segmentation_segments_query(customers)
        WHEN '_profiles' THEN customer_priority.segmentation_profiles_query(customers)
        WHEN '_cohorts' THEN customer_priority.segmentation_cohorts_query(def, customers) END;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_table_query(customer_priority.segmentations, text, text) IS
    'internal: the query filling a segmentation''s generation table of the given suffix, reading the given customers table';

CREATE FUNCTION customer_priority.segmentation_table_key(suffix text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE suffix
        WHEN '_customers' THEN 'customer_id'
        WHEN '_segments' THEN 'dimension, segment'
        WHEN '_profiles' THEN 'dimension, segment, attribute, value'
        WHEN '_cohorts' THEN 'cohort, period' END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_table_key(text) IS
    'internal: the column list of the unique index of a segmentation''s generation table';

-- COMMENT ON every view and column, for the descriptions BI tools show.
CREATE OR REPLACE FUNCTION customer_priority.segmentation_comment(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT * FROM (VALUES
        ('_customers', NULL, format('segmentation %s: one row per customer of %s with a purchase by as_of: RFM scores and segment, ABC and XYZ class, typology labels', def.name, def.orders)),
        ('_customers', 'customer_id', 'the customer (type of the orders'' customer id column)'),
        ('_customers', 'first_order_at', 'first purchase (row with a positive amount) at or before as_of'),
        ('_customers', 'last_order_at', 'last purchase at or before as_of'),
        ('_customers', 'recency_days', 'calendar days from last_order_at to as_of in the segmentation''s time zone'),
        ('_customers', 'frequency', 'number of purchases: distinct order ids (or purchase rows without an order id)'),
        ('_customers', 'monetary', format('the M of RFM: %s net revenue', CASE def.options ->> 'monetary' WHEN 'total' THEN 'total' ELSE 'average per purchase of the' END)),
        ('_customers', 'revenue', 'net revenue: purchases minus refunds and returned amounts, exact'),
        ('_customers', 'r_score', format('recency score 1..%s, %s = most recent', def.options ->> 'bins', def.options ->> 'bins')),
        ('_customers', 'f_score', format('frequency score 1..%s, %s = most purchases', def.options ->> 'bins', def.options ->> 'bins')),
        ('_customers', 'm_score', format('monetary score 1..%s, %s = highest monetary', def.options ->> 'bins', def.options ->> 'bins')),
        ('_customers', 'rfm_cell', 'the three scores R, F, M as one code, e.g. 545 (with dashes, 10-5-4, when bins is 10)'),
        ('_customers', 'rfm_segment', format('named RFM segment under the map %s; NULL when no rule matches', def.options ->> 'segment_map')),
        ('_customers', 'abc_class', 'ABC class: A (top value), B, C'),
        ('_customers', 'xyz_class', 'XYZ class: X regular, Y fluctuating, Z sporadic revenue per period'),
        ('_customers', 'primary_type', 'the typology label of highest priority (see customer_priority.customer_type_actions)'),
        ('_customers', 'labels', 'every typology label that applies, in priority order; ends with the lifecycle stage, after at_risk_high_clv for an at_risk customer of high CLV (option potential)'),
        ('_customers', 'lifecycle_stage', 'new, regular, occasional, at_risk or dormant'),
        ('_customers', 'attributes', 'profile attributes: the mapped customer columns and the most frequent value of each mapped order column'),
        ('_customers', 'as_of', 'the reference time the row was computed for'),
        ('_customers', 'p_alive', 'probability that the customer is still active at as_of, by the model potential_model; NULL without the option potential'),
        ('_customers', 'expected_purchases', format('expected purchases in the next %s, by the model potential_model', coalesce(customer_priority.potential_horizon_text(def.options -> 'potential'), 'horizon (option potential; NULL without it)'))),
        ('_customers', 'expected_spend', 'Gamma-Gamma expected spend per future purchase; NULL without the option potential or when the fit has q <= 1'),
        ('_customers', 'clv', format('customer lifetime value: expected revenue in the next %s, expected_purchases x expected_spend%s', coalesce(customer_priority.potential_horizon_text(def.options -> 'potential'), 'horizon (option potential; NULL without it)'), CASE WHEN (def.options -> 'potential' ->> 'discount_rate')::numeric > 0 THEN format(', discounted at %s per %s', def.options -> 'potential' ->> 'discount_rate', def.options -> 'potential' ->> 'unit') ELSE '' END)),
        ('_customers', 'p_purchase_next_unit', format('probability of at least one purchase in the next %s after as_of, by the model potential_model; NULL without the option potential', coalesce(def.options -> 'potential' ->> 'unit', 'time unit'))),
        ('_customers', 'next_purchase_median', 'the date (time zone of the segmentation) by which the customer buys again with probability 1/2, by the model potential_model; NULL when that probability is never reached (p_alive <= 1/2 in BG/NBD), when the date is after 9999, or without the option potential'),
        ('_customers', 'potential_model', 'the purchase model that scored p_alive, expected_purchases, p_purchase_next_unit and next_purchase_median: bgnbd, pareto_nbd or mbgnbd (the option potential.model; with "best" the one of lowest BIC at this refresh); NULL without the option potential'),
        ('_membership', NULL, format('segmentation %s: one row per customer and segment it belongs to, for filtering', def.name)),
        ('_membership', 'customer_id', 'the customer'),
        ('_membership', 'dimension', 'rfm_segment, abc_class, xyz_class, primary_type, lifecycle_stage or label'),
        ('_membership', 'segment', 'the customer''s segment (class, label) in the dimension'),
        ('_segments', NULL, format('segmentation %s: one row per dimension and segment with its size, revenue and recommended action', def.name)),
        ('_segments', 'dimension', 'rfm_segment, abc_class, xyz_class, primary_type, lifecycle_stage or label'),
        ('_segments', 'segment', 'the segment (class, label) within the dimension'),
        ('_segments', 'customers', 'customers in the segment'),
        ('_segments', 'customer_share', 'customers / all customers of the segmentation (labels overlap: their shares do not add up to 1)'),
        ('_segments', 'revenue', 'net revenue of the segment''s customers'),
        ('_segments', 'revenue_share', 'revenue / net revenue of all customers; NULL when that total is not positive'),
        ('_segments', 'avg_recency_days', 'mean recency_days of the segment''s customers'),
        ('_segments', 'avg_frequency', 'mean frequency (purchases) of the segment''s customers'),
        ('_segments', 'avg_monetary', 'mean monetary of the segment''s customers'),
        ('_segments', 'recommended_action', 'what to do with these customers (customer_priority.segment_actions)'),
        ('_profiles', NULL, format('segmentation %s: distribution of each profile attribute within each segment', def.name)),
        ('_profiles', 'dimension', 'rfm_segment, abc_class, xyz_class, primary_type, lifecycle_stage or label'),
        ('_profiles', 'segment', 'the segment (class, label) within the dimension'),
        ('_profiles', 'attribute', 'the attribute: name of the mapped customer or order column'),
        ('_profiles', 'value', 'a value of the attribute (as text); NULL: unknown'),
        ('_profiles', 'customers', 'customers of the segment with this value'),
        ('_profiles', 'share', 'customers / customers of the segment'),
        ('_cohorts', NULL, format('segmentation %s: one row per first-purchase cohort (%s of first_order_at) and %s since the first purchase: retention, revenue and the move to regular', def.name, def.options ->> 'xyz_period', def.options ->> 'xyz_period')),
        ('_cohorts', 'cohort', format('first day of the cohort''s %s (xyz_period, in the segmentation''s time zone): the customers whose first purchase was in it', def.options ->> 'xyz_period')),
        ('_cohorts', 'period', format('%ss since the first purchase: 0 = the cohort''s own %s, up to the %s holding as_of', def.options ->> 'xyz_period', def.options ->> 'xyz_period', def.options ->> 'xyz_period')),
        ('_cohorts', 'period_start', format('first day of that %s', def.options ->> 'xyz_period')),
        ('_cohorts', 'cohort_customers', 'customers of the cohort (customers of _customers whose first purchase is in the cohort''s period)'),
        ('_cohorts', 'active_customers', 'customers of the cohort with a purchase (positive amount) in the period'),
        ('_cohorts', 'retention', 'active_customers / cohort_customers'),
        ('_cohorts', 'revenue', 'net revenue of the cohort''s customers in the period: purchases minus refunds and returned amounts'),
        ('_cohorts', 'regular_customers', format('customers of the cohort whose lifecycle_stage at as_of is regular and whose purchases by the end of the period reached regular_min_orders (%s)', def.options -> 'typology' ->> 'regular_min_orders')),
        ('_cohorts', 'regular_share', 'regular_customers / cohort_customers: the share of the cohort that had become one of the regular customers of as_of by then')
        ) AS v(suffix, col, description)
    LOOP
        IF c.col IS NULL THEN
            EXECUTE format('COMMENT ON VIEW %I.%I IS %L',
                           def.schema, def.name || c.suffix, c.description);
        ELSE
            EXECUTE format('COMMENT ON COLUMN %I.%I.%I IS %L',
                           def.schema, def.name || c.suffix, c.col, c.description);
        END IF;
    END LOOP;
    FOR c IN
        SELECT t.suffix, g.generation
        FROM unnest(customer_priority.segmentation_tables()) AS t(suffix), unnest('{a,b}'::text[]) AS g(generation)
    LOOP
        EXECUTE format('COMMENT ON TABLE %I.%I IS %L', def.schema, def.name || c.suffix || '_' || c.generation,
                       format('segmentation %s: internal storage (generation %s) of the view %s; read the view, not this table',
                              def.name, c.generation, def.name || c.suffix));
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_comment(customer_priority.segmentations) IS
    'internal: comments on a segmentation''s views and their columns, and on its generation tables';

-- The query of <name>_cohorts for a definition, reading its customers table (a quoted,
-- qualified name of _customers_a or _b, filled first).  The orders are read once more:
-- where the one-scan pass applies (segmentation_scan_lines()), segmentation_cohorts()
-- counts each cohort's cells in C from the states of src/segmentation_scan.c;
-- otherwise they are grouped per customer and period in one pass (with order ids, the
-- orders of the customers regular at as_of are grouped once more, for the period each
-- order counts in).  The grid of cohorts and periods comes from generate_series over
-- local timestamps, so no session setting (TimeZone) changes a period.
CREATE FUNCTION customer_priority.segmentation_cohorts_query(def customer_priority.segmentations,
                                                              customers text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Built only from a validated definition; option values reach the SQL as %L
    -- literals or through casts, as in segmentation_customers_query().
    o constant jsonb := (customer_priority.segmentation_validate(def)).options;
    tz constant text := o ->> 'time_zone';
    period constant text := o ->> 'xyz_period';
    step constant text := CASE o ->> 'xyz_period' WHEN 'quarter' THEN '3 months' ELSE '1 ' || (o ->> 'xyz_period') END;
    regular_min constant bigint := (o -> 'typology' ->> 'regular_min_orders')::bigint;
    keyed constant boolean := o ->> 'order_id' IS NOT NULL;
    as_of constant text := customer_priority.segmentation_time_literal(coalesce((o ->> 'as_of')::timestamptz, now()));
    lines constant text := customer_priority.segmentation_scan_lines(def, o, as_of);
    ts text;
    amount text;
    counted text;
BEGIN
    SELECT e.ordered_at, e.amount INTO ts, amount
    FROM customer_priority.segmentation_order_expressions(def, o) e;
    IF lines IS NOT NULL THEN
        -- one scan (src/segmentation_scan.sql) counts the cells in C
        counted := format($c$cells AS (
    SELECT * FROM customer_priority.segmentation_cohorts(%L, %s, %L, %L,
        coalesce((SELECT array_agg(c.customer_id::bigint) FROM %s c WHERE c.lifecycle_stage = 'regular'), '{}'),
        %s)
), active AS (
    SELECT cohort, period_start, active_customers AS customers, revenue FROM cells
), regulars AS (
    SELECT cohort, period_start, regulars_reached AS customers FROM cells WHERE regulars_reached > 0
)$c$, lines, as_of, tz, period, customers, regular_min);
    ELSE
        counted := format($c$lines AS (
    SELECT o.%1$I AS customer_id,
           date_trunc(%2$L, %3$s AT TIME ZONE %4$L)::date AS period_start,
           %5$s AS amount,
           %6$s AS returned,
           %7$s AS order_id
    FROM %8$s o CROSS JOIN params p
    WHERE o.%1$I IS NOT NULL AND %3$s <= p.as_of AND %5$s IS NOT NULL
), activity AS (
    -- one pass over the lines; without order ids a purchase is a purchase row, counted
    -- here too
    SELECT l.customer_id, l.period_start,
           bool_or(l.amount > 0) AS active,
           sum(l.amount) - coalesce(sum(l.returned), 0) AS revenue,
           count(*) FILTER (WHERE l.amount > 0) AS purchase_rows
    FROM lines l
    GROUP BY l.customer_id, l.period_start
), purchases AS (
    -- purchases per period of the customers regular at as_of (the only ones counted
    -- below): %9$s
    %10$s
), reached AS (
    SELECT x.customer_id, min(x.period_start) AS period_start
    FROM (SELECT p.customer_id, p.period_start,
                 sum(p.purchases) OVER (PARTITION BY p.customer_id ORDER BY p.period_start) AS purchases
          FROM purchases p) x
    WHERE x.purchases >= %11$s
    GROUP BY x.customer_id
), active AS (
    SELECT f.cohort, a.period_start, count(*) FILTER (WHERE a.active) AS customers, sum(a.revenue) AS revenue
    FROM activity a JOIN firsts f ON f.customer_id = a.customer_id
    GROUP BY f.cohort, a.period_start
), regulars AS (
    SELECT f.cohort, r.period_start, count(*) AS customers
    FROM reached r JOIN firsts f ON f.customer_id = r.customer_id
    WHERE f.regular
    GROUP BY f.cohort, r.period_start
)$c$,
            def.customer_id,
            period, ts, tz,
            amount,
            CASE WHEN o ->> 'returned_amount' IS NULL THEN 'NULL::numeric' ELSE format('o.%I::numeric', o ->> 'returned_amount') END,
            CASE WHEN keyed THEN format('o.%I', o ->> 'order_id') ELSE 'NULL::bigint' END,
            def.orders,
            CASE WHEN keyed THEN 'an order counts once, in the period of its first purchase row; a purchase row without order id is an order of its own'
                 ELSE 'the purchase rows of each period' END,
            CASE WHEN keyed THEN $p$SELECT u.customer_id, u.period_start, sum(u.purchases) AS purchases
    FROM (SELECT l.customer_id, min(l.period_start) AS period_start, 1 AS purchases
          FROM lines l JOIN firsts f ON f.customer_id = l.customer_id AND f.regular
          WHERE l.amount > 0 AND l.order_id IS NOT NULL
          GROUP BY l.customer_id, l.order_id
          UNION ALL
          SELECT l.customer_id, l.period_start, count(*)
          FROM lines l JOIN firsts f ON f.customer_id = l.customer_id AND f.regular
          WHERE l.amount > 0 AND l.order_id IS NULL
          GROUP BY l.customer_id, l.period_start) u
    GROUP BY u.customer_id, u.period_start$p$
             ELSE $p$SELECT a.customer_id, a.period_start, a.purchase_rows AS purchases
    FROM activity a JOIN firsts f ON f.customer_id = a.customer_id AND f.regular
    WHERE a.purchase_rows > 0$p$ END,
            regular_min);
    END IF;
    RETURN format($q$
WITH params AS (
    SELECT %1$s AS as_of
), firsts AS (
    SELECT c.customer_id,
           date_trunc(%2$L, c.first_order_at AT TIME ZONE %3$L)::date AS cohort,
           c.lifecycle_stage = 'regular' AS regular
    FROM %4$s c
), %5$s, sizes AS (
    SELECT f.cohort, count(*) AS customers FROM firsts f GROUP BY f.cohort
), grid AS (
    SELECT s.cohort, (g.n - 1)::integer AS period, g.period_start::date AS period_start, s.customers
    FROM sizes s CROSS JOIN params p
    CROSS JOIN LATERAL generate_series(s.cohort::timestamp, date_trunc(%2$L, p.as_of AT TIME ZONE %3$L),
                                       %6$L::interval) WITH ORDINALITY AS g(period_start, n)
)
SELECT g.cohort,
       g.period,
       g.period_start,
       g.customers AS cohort_customers,
       coalesce(a.customers, 0) AS active_customers,
       round(coalesce(a.customers, 0)::numeric / g.customers, 6) AS retention,
       coalesce(a.revenue, 0) AS revenue,
       sum(coalesce(r.customers, 0)) OVER (PARTITION BY g.cohort ORDER BY g.period)::bigint AS regular_customers,
       round(sum(coalesce(r.customers, 0)) OVER (PARTITION BY g.cohort ORDER BY g.period) / g.customers, 6) AS regular_share
FROM grid g
LEFT JOIN active a ON a.cohort = g.cohort AND a.period_start = g.period_start
LEFT JOIN regulars r ON r.cohort = g.cohort AND r.period_start = g.period_start
$q$,
        as_of, period, tz, customers, counted, step);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_cohorts_query(customer_priority.segmentations, text) IS
    'internal: the query of <name>_cohorts of a segmentation definition, reading the given customers relation';

-------------------------------------------------------------------------------
-- The segmentation report: segmentation_report(name) returns one self-contained HTML
-- page (inline SVG and CSS; no script, font, image or URL loaded from anywhere) with
-- the charts a marketer looks at first.  Docs: docs/report.md.
--
-- Shape: the data is aggregated first (a few hundred numbers, whatever the number of
-- customers: one GROUPING SETS scan of <name>_customers, one sorted scan for the
-- Pareto curve, the small views _segments, _profiles, _cohorts, _transitions), into
-- jsonb; the chart helpers below turn jsonb into SVG and tables.  Every text from data
-- (segment names, attribute names and values) goes through report_escape(); numbers
-- and colours are formatted here from numeric values (report_number(),
-- report_colour()), never pasted from text.
-- The report reads the views as the caller, like a SELECT: a caller without SELECT on
-- them gets 42501.
-------------------------------------------------------------------------------

-- HTML text: & < > " ' escaped (safe in element content and in quoted attributes).
CREATE FUNCTION customer_priority.report_escape(t text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT replace(replace(replace(replace(replace(coalesce(t, ''), '&', '&amp;'), '<', '&lt;'),
                                   '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION customer_priority.report_escape(text) IS
    'internal: a text escaped for HTML (& < > " and single quote); NULL gives an empty text';

-- A number for display and for SVG coordinates: rounded to digits, '-' when NULL.
-- From a numeric, so the result only ever holds digits, a sign, a point (or NaN,
-- Infinity).
CREATE FUNCTION customer_priority.report_number(v numeric, digits integer DEFAULT 0)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN v IS NULL THEN '-'
                WHEN v IN ('NaN'::numeric) THEN 'NaN'
                ELSE round(v, digits)::text END
$$;
COMMENT ON FUNCTION customer_priority.report_number(numeric, integer) IS
    'internal: a number rounded for the report (''-'' for NULL)';

-- A label cut to at most n characters (an ellipsis marks the cut), before escaping: the
-- charts' label areas are fixed; the data tables give the whole text.
CREATE FUNCTION customer_priority.report_shorten(t text, n integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN length(t) > n THEN left(t, n - 3) || '...' ELSE t END
$$;
COMMENT ON FUNCTION customer_priority.report_shorten(text, integer) IS
    'internal: a chart label cut to at most n characters';

-- A share as a percentage with one decimal.
CREATE FUNCTION customer_priority.report_percent(v numeric)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN v IS NULL THEN '-' ELSE round(100 * v, 1)::text || '%' END
$$;
COMMENT ON FUNCTION customer_priority.report_percent(numeric) IS
    'internal: a share (0..1) as a percentage with one decimal for the report';

-- The colour of a heat-map cell: white (0) to dark blue (1), computed from the number.
CREATE FUNCTION customer_priority.report_colour(fraction float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('rgb(%s,%s,%s)',
                  round(247 - 239 * f)::integer, round(251 - 203 * f)::integer, round(255 - 148 * f)::integer)
    FROM (SELECT greatest(0, least(1, coalesce(fraction, 0))) AS f) x
$$;
COMMENT ON FUNCTION customer_priority.report_colour(float8) IS
    'internal: heat-map colour (rgb) of a fraction 0..1';

-- The text colour readable on a heat-map cell of that fraction.
CREATE FUNCTION customer_priority.report_ink(fraction float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN coalesce(fraction, 0) > 0.55 THEN '#fff' ELSE '#111' END $$;
COMMENT ON FUNCTION customer_priority.report_ink(float8) IS
    'internal: text colour readable on a heat-map cell';

-- A data table: caption, column headers, rows (a jsonb array of arrays of texts or
-- numbers; numbers are shown as they are, texts escaped).
CREATE FUNCTION customer_priority.report_table(caption text, columns text[], rows jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format(E'<table>\n<caption>%s</caption>\n<thead><tr>%s</tr></thead>\n<tbody>\n%s</tbody>\n</table>\n',
                  customer_priority.report_escape(caption),
                  (SELECT string_agg(format('<th scope="col">%s</th>', customer_priority.report_escape(c)), '' ORDER BY i)
                   FROM unnest(columns) WITH ORDINALITY AS h(c, i)),
                  coalesce((SELECT string_agg(format(E'<tr>%s</tr>\n',
                                   (SELECT string_agg(CASE WHEN j = 1 THEN format('<th scope="row">%s</th>', customer_priority.report_escape(v))
                                                           ELSE format('<td>%s</td>', customer_priority.report_escape(v)) END,
                                                      '' ORDER BY j)
                                    FROM jsonb_array_elements_text(r) WITH ORDINALITY AS c(v, j))), '' ORDER BY i)
                            FROM jsonb_array_elements(coalesce(rows, '[]')) WITH ORDINALITY AS t(r, i)),
                           format(E'<tr><td colspan="%s">no rows</td></tr>\n', cardinality(columns))))
$$;
COMMENT ON FUNCTION customer_priority.report_table(text, text[], jsonb) IS
    'internal: an HTML data table (caption, headers, rows as a jsonb array of arrays), every text escaped';

-- The frame of a chart: <figure> with the SVG (role img, its <title> and <desc>), the
-- axis titles, and the data table after it.  id names the chart (a fixed word of ours).
CREATE FUNCTION customer_priority.report_figure(id text, title text, description text, width integer,
                                                height integer, body text, x_title text, y_title text,
                                                data_table text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format(E'<figure id="%1$s">\n<svg role="img" aria-labelledby="%1$s-title %1$s-desc" viewBox="0 0 %4$s %5$s" width="%4$s" height="%5$s">\n'
                  '<title id="%1$s-title">%2$s</title>\n<desc id="%1$s-desc">%3$s</desc>\n%6$s'
                  '<text class="axis-title" x="%7$s" y="%8$s" text-anchor="middle">%9$s</text>\n'
                  '<text class="axis-title" x="14" y="%10$s" text-anchor="middle" transform="rotate(-90 14 %10$s)">%11$s</text>\n'
                  '</svg>\n<figcaption>%2$s</figcaption>\n%12$s</figure>\n',
                  id, customer_priority.report_escape(title), customer_priority.report_escape(description),
                  width, height, body,
                  width / 2, height - 6, customer_priority.report_escape(x_title),
                  height / 2, customer_priority.report_escape(y_title),
                  data_table)
$$;
COMMENT ON FUNCTION customer_priority.report_figure(text, text, text, integer, integer, text, text, text, text) IS
    'internal: an SVG chart in a figure with title, description, axis titles and its data table';

-- A heat map: cells is a jsonb array of {"x": column index from 1, "y": row index from
-- 1 (top), "value": number deciding the colour, "text": the cell's label lines}; the
-- column and row labels are texts.
CREATE FUNCTION customer_priority.report_heatmap(id text, title text, description text,
                                                 x_title text, y_title text,
                                                 x_labels text[], y_labels text[], cells jsonb,
                                                 data_table text, cell_width integer DEFAULT 110,
                                                 cell_height integer DEFAULT 56)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH c AS (
        SELECT (e ->> 'x')::integer AS x, (e ->> 'y')::integer AS y, (e ->> 'value')::float8 AS v,
               e -> 'text' AS lines
        FROM jsonb_array_elements(coalesce(cells, '[]')) AS e
    ), m AS (
        SELECT nullif(max(v), 0) AS top FROM c
    ), geometry AS (
        SELECT 130 AS left_, 10 AS top_
    )
    SELECT customer_priority.report_figure(id, title, description,
        130 + cell_width * greatest(cardinality(x_labels), 1) + 10,
        greatest(10 + cell_height * greatest(cardinality(y_labels), 1) + 50, 240),
        coalesce((SELECT string_agg(format(E'<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="#fff"/>\n%s',
                                           g.left_ + (c.x - 1) * cell_width, g.top_ + (c.y - 1) * cell_height,
                                           cell_width, cell_height, customer_priority.report_colour(c.v / m.top),
                                           (SELECT string_agg(format(E'<text x="%s" y="%s" text-anchor="middle" fill="%s" class="%s">%s</text>\n',
                                                                     g.left_ + (c.x - 1) * cell_width + cell_width / 2,
                                                                     g.top_ + (c.y - 1) * cell_height + 16 + (l.i - 1) * 14,
                                                                     customer_priority.report_ink(c.v / m.top),
                                                                     CASE WHEN l.i = 1 THEN 'cell-name' ELSE 'cell' END,
                                                                     customer_priority.report_escape(l.t)), '' ORDER BY l.i)
                                            FROM jsonb_array_elements_text(c.lines) WITH ORDINALITY AS l(t, i))),
                                    '' ORDER BY c.y, c.x)
                  FROM c, m, geometry g), '')
        || coalesce((SELECT string_agg(format(E'<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>\n',
                                              130 + (i - 1) * cell_width + cell_width / 2,
                                              10 + cell_height * cardinality(y_labels) + 16,
                                              customer_priority.report_escape(l)), '' ORDER BY i)
                     FROM unnest(x_labels) WITH ORDINALITY AS x(l, i)), '')
        || coalesce((SELECT string_agg(format(E'<text class="tick" x="124" y="%s" text-anchor="end">%s</text>\n',
                                              10 + (i - 1) * cell_height + cell_height / 2 + 4,
                                              customer_priority.report_escape(customer_priority.report_shorten(l, 18))), '' ORDER BY i)
                     FROM unnest(y_labels) WITH ORDINALITY AS y(l, i)), ''),
        x_title, y_title, data_table)
$$;
COMMENT ON FUNCTION customer_priority.report_heatmap(text, text, text, text, text, text[], text[], jsonb, text, integer, integer) IS
    'internal: an SVG heat map (cells coloured by value, labelled) with its data table';

-- Horizontal bars in groups: items is a jsonb array of {"label": text, "values":
-- [numbers, one per series]}; values are shares 0..1 (or any numbers when scale is
-- given: the value of a full bar).
CREATE FUNCTION customer_priority.report_bars(id text, title text, description text,
                                              x_title text, y_title text, series text[], items jsonb,
                                              data_table text, percent boolean DEFAULT true)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH i AS (
        SELECT t.i, t.e ->> 'label' AS label, v.j, (v.v)::numeric AS v
        FROM jsonb_array_elements(coalesce(items, '[]')) WITH ORDINALITY AS t(e, i)
        CROSS JOIN LATERAL jsonb_array_elements_text(t.e -> 'values') WITH ORDINALITY AS v(v, j)
    ), m AS (
        SELECT greatest(max(v), 0) AS top, count(DISTINCT i) AS n FROM i
    ), s AS (
        SELECT cardinality(series) AS k, 22 - 2 * least(cardinality(series), 3) AS bar
    )
    SELECT customer_priority.report_figure(id, title, description, 860,
        (SELECT greatest(30 + m.n::integer * (s.k * s.bar + 10) + 60, 200) FROM m, s),
        -- legend
        coalesce((SELECT string_agg(format(E'<rect x="%s" y="8" width="12" height="12" class="series-%s"/><text x="%s" y="18" class="tick">%s</text>\n',
                                           330 + (j - 1) * 170, j, 348 + (j - 1) * 170, customer_priority.report_escape(n)), '' ORDER BY j)
                  FROM unnest(series) WITH ORDINALITY AS l(n, j)), '')
        || coalesce((SELECT string_agg(format(E'%s<rect x="330" y="%s" width="%s" height="%s" class="series-%s"/><text x="%s" y="%s" class="tick">%s</text>\n',
                                              CASE WHEN i.j = 1
                                                   THEN format(E'<text class="tick" x="322" y="%s" text-anchor="end">%s</text>\n',
                                                               30 + (i.i - 1) * (s.k * s.bar + 10) + s.k * s.bar / 2 + 4,
                                                               customer_priority.report_escape(customer_priority.report_shorten(i.label, 44)))
                                                   ELSE '' END,
                                              30 + (i.i - 1) * (s.k * s.bar + 10) + (i.j - 1) * s.bar,
                                              customer_priority.report_number(CASE WHEN m.top > 0 THEN greatest(i.v, 0) / m.top * 440 ELSE 0 END, 1),
                                              s.bar - 2, i.j,
                                              customer_priority.report_number(336 + CASE WHEN m.top > 0 THEN greatest(i.v, 0) / m.top * 440 ELSE 0 END, 1),
                                              30 + (i.i - 1) * (s.k * s.bar + 10) + (i.j - 1) * s.bar + s.bar - 6,
                                              CASE WHEN percent THEN customer_priority.report_percent(i.v)
                                                   ELSE customer_priority.report_number(i.v) END),
                                       '' ORDER BY i.i, i.j)
                     FROM i, m, s), ''),
        x_title, y_title, data_table)
$$;
COMMENT ON FUNCTION customer_priority.report_bars(text, text, text, text, text, text[], jsonb, text, boolean) IS
    'internal: SVG horizontal bars, one group per item and one bar per series, with its data table';

-- The Pareto (Lorenz) curve: points is a jsonb array of {"x": customer share, "y":
-- revenue share}, cumulative from the best customer; marks of {"label", "x", "y"}.
CREATE FUNCTION customer_priority.report_lorenz(id text, title text, description text, points jsonb,
                                                marks jsonb, data_table text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- plot area: x 70..670, y 20..420 (y up to the highest share reached, at least 1)
    WITH p AS (
        SELECT (e ->> 'x')::numeric AS x, (e ->> 'y')::numeric AS y
        FROM jsonb_array_elements(coalesce(points, '[]')) AS e
    ), r AS (
        SELECT greatest(1, coalesce(max(y), 1)) AS top, least(0, coalesce(min(y), 0)) AS bottom FROM p
    )
    SELECT customer_priority.report_figure(id, title, description, 700, 470,
        (SELECT format(E'<line x1="70" y1="420" x2="670" y2="420" class="axis"/><line x1="70" y1="20" x2="70" y2="420" class="axis"/>\n'
                       '<line x1="70" y1="%s" x2="670" y2="%s" class="diagonal"/>\n'
                       '<polyline class="curve" points="70,%s %s"/>\n',
                       customer_priority.report_number(420 - (0 - r.bottom) / (r.top - r.bottom) * 400, 1),
                       customer_priority.report_number(420 - (1 - r.bottom) / (r.top - r.bottom) * 400, 1),
                       customer_priority.report_number(420 - (0 - r.bottom) / (r.top - r.bottom) * 400, 1),
                       coalesce((SELECT string_agg(format('%s,%s', customer_priority.report_number(70 + p.x * 600, 1),
                                                          customer_priority.report_number(420 - (p.y - r.bottom) / (r.top - r.bottom) * 400, 1)),
                                                   ' ' ORDER BY p.x) FROM p), ''))
         FROM r)
        || (SELECT string_agg(format(E'<text class="tick" x="%s" y="436" text-anchor="middle">%s%%</text>\n<text class="tick" x="64" y="%s" text-anchor="end">%s%%</text>\n',
                                     70 + k * 60, k * 10,
                                     customer_priority.report_number(424 - (k / 10.0 - r.bottom) / (r.top - r.bottom) * 400, 1), k * 10), '' ORDER BY k)
            FROM generate_series(0, 10) AS k, r)
        || coalesce((SELECT string_agg(format(E'<circle cx="%1$s" cy="%2$s" r="5" class="mark"/><line x1="%1$s" y1="%2$s" x2="%1$s" y2="420" class="cut"/>\n<text x="%3$s" y="%4$s" class="mark-label">%5$s</text>\n',
                                              customer_priority.report_number(70 + (e ->> 'x')::numeric * 600, 1),
                                              customer_priority.report_number(420 - ((e ->> 'y')::numeric - r.bottom) / (r.top - r.bottom) * 400, 1),
                                              customer_priority.report_number(78 + (e ->> 'x')::numeric * 600, 1),
                                              customer_priority.report_number(436 - ((e ->> 'y')::numeric - r.bottom) / (r.top - r.bottom) * 400, 1),
                                              customer_priority.report_escape(e ->> 'label')), '' ORDER BY e ->> 'label')
                     FROM jsonb_array_elements(coalesce(marks, '[]')) AS e, r
                     WHERE (e ->> 'x') IS NOT NULL AND (e ->> 'y') IS NOT NULL), ''),
        'customers, best first (cumulative share)', 'revenue (cumulative share)', data_table)
$$;
COMMENT ON FUNCTION customer_priority.report_lorenz(text, text, text, jsonb, jsonb, text) IS
    'internal: the SVG Pareto (Lorenz) curve with its cut points and data table';

-- A section of the report: its heading and content.
CREATE FUNCTION customer_priority.report_section(id text, heading text, content text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format(E'<section id="section-%s">\n<h2>%s</h2>\n%s</section>\n', id,
                  customer_priority.report_escape(heading), content)
$$;
COMMENT ON FUNCTION customer_priority.report_section(text, text, text) IS
    'internal: an HTML section of the report with its heading';

-- The page's style: one inline <style>, for the screen and for print.
CREATE FUNCTION customer_priority.report_style()
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT $css$
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1180px; padding: 24px; color: #111; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 2px solid #08306b; padding-bottom: 4px; }
.summary { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; padding: 0; list-style: none; }
.summary li { background: #eef3fb; border-radius: 6px; padding: 10px 14px; } .summary b { display: block; font-size: 20px; }
nav a { margin-right: 12px; color: #08306b; }
figure { margin: 12px 0 24px; } figcaption { font-weight: 600; margin: 4px 0; }
svg { max-width: 100%; height: auto; font-size: 12px; }
svg .axis-title { font-size: 13px; font-weight: 600; } svg .tick { font-size: 12px; }
svg .cell-name { font-size: 12px; font-weight: 600; } svg .cell { font-size: 11px; }
svg .axis { stroke: #444; } svg .diagonal { stroke: #999; stroke-dasharray: 4 4; } svg .curve { fill: none; stroke: #08519c; stroke-width: 2.5; }
svg .mark { fill: #d94801; } svg .cut { stroke: #d94801; stroke-dasharray: 3 3; } svg .mark-label { font-weight: 600; fill: #a63603; }
svg .series-1 { fill: #2171b5; } svg .series-2 { fill: #fd8d3c; } svg .series-3 { fill: #74c476; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; } caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #ccd; padding: 3px 8px; text-align: right; } th[scope="col"] { background: #eef3fb; } th[scope="row"] { text-align: left; font-weight: normal; }
details summary { cursor: pointer; color: #08306b; } .note { color: #555; }
@media print { body { max-width: none; padding: 0; } nav { display: none; } details { display: block; } h2 { break-before: auto; } figure, table { break-inside: avoid; } }
$css$ $$;
COMMENT ON FUNCTION customer_priority.report_style() IS
    'internal: the report''s inline CSS';

-- The data of the report from <name>_customers, aggregated in one scan: the R x FM
-- grid (and its cells' segments, for the most common one), the ABC x XYZ matrix, the
-- revenue in log buckets (the Pareto curve), with potential the frequency x recency
-- matrix of P(alive) and expected purchases and the CLV histogram.  customers is the
-- view, quoted and qualified.  One plain hash GROUP BY over every bucket at once (a
-- thousand or so groups: the buckets are few and correlated), then GROUPING SETS over
-- those groups: GROUPING SETS over the customers themselves would sort them for all
-- but one set.  No ordered-set aggregate, no numeric logarithm (slow, per customer).
--   - FM: the mean of the F and M scores, rounded half up;
--   - frequency buckets 1, 2, 3, 4, 5, 6-10, 11-20, 21+; recency buckets in days;
--   - CLV buckets: 0 under 1, k for 10^(k-1) to 10^k, 9 from 10^8;
--   - revenue buckets: floor(40 log10(revenue)) for positive revenue (40 per tenfold,
--     so the Pareto curve is exact at revenue steps of 6%), NULL for the rest.
CREATE FUNCTION customer_priority.report_customers_query(customers text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format($q$
WITH g AS (
    SELECT c.r_score, (c.f_score + c.m_score + 1) / 2 AS fm, c.rfm_segment, c.abc_class, c.xyz_class,
           CASE WHEN c.p_alive IS NULL THEN NULL
                WHEN c.frequency <= 5 THEN c.frequency::integer
                WHEN c.frequency <= 10 THEN 6 WHEN c.frequency <= 20 THEN 7 ELSE 8 END AS f_bucket,
           CASE WHEN c.p_alive IS NULL THEN NULL
                WHEN c.recency_days <= 30 THEN 1 WHEN c.recency_days <= 90 THEN 2
                WHEN c.recency_days <= 180 THEN 3 WHEN c.recency_days <= 365 THEN 4 ELSE 5 END AS r_bucket,
           CASE WHEN c.clv IS NULL OR c.clv = 'NaN' THEN NULL WHEN c.clv < 1 THEN 0
                ELSE least(floor(log(c.clv)) + 1, 9)::integer END AS clv_bucket,
           CASE WHEN c.revenue > 0 THEN floor(40 * log(c.revenue::float8))::integer END AS revenue_bucket,
           count(*) AS customers, sum(c.revenue) AS revenue,
           sum(c.p_alive) AS p_alive, count(c.p_alive) AS with_p_alive,
           sum(c.expected_purchases) AS expected, count(c.expected_purchases) AS with_expected
    FROM %s c
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
), sets AS (
    SELECT CASE WHEN grouping(g.r_score, g.fm, g.rfm_segment) = 0 THEN 'rfm_segment'
                WHEN grouping(g.r_score, g.fm) = 0 THEN 'rfm'
                WHEN grouping(g.abc_class, g.xyz_class) = 0 THEN 'abc_xyz'
                WHEN grouping(g.f_bucket, g.r_bucket) = 0 THEN 'alive'
                WHEN grouping(g.clv_bucket) = 0 THEN 'clv'
                WHEN grouping(g.revenue_bucket) = 0 THEN 'revenue'
                ELSE 'total' END AS kind,
           g.r_score, g.fm, g.rfm_segment, g.abc_class, g.xyz_class,
           g.f_bucket, g.r_bucket, g.clv_bucket, g.revenue_bucket,
           sum(g.customers) AS customers, sum(g.revenue) AS revenue,
           round((sum(g.p_alive) / nullif(sum(g.with_p_alive), 0))::numeric, 3) AS p_alive,
           round((sum(g.expected) / nullif(sum(g.with_expected), 0))::numeric, 2) AS expected
    FROM g
    GROUP BY GROUPING SETS ((g.r_score, g.fm), (g.r_score, g.fm, g.rfm_segment), (g.abc_class, g.xyz_class),
                            (g.f_bucket, g.r_bucket), (g.clv_bucket), (g.revenue_bucket), ())
)
SELECT s.kind,
       jsonb_agg(jsonb_build_object('r', s.r_score, 'fm', s.fm, 'segment', s.rfm_segment,
                                    'abc', s.abc_class, 'xyz', s.xyz_class,
                                    'f', s.f_bucket, 'rb', s.r_bucket, 'clv', s.clv_bucket, 'rev', s.revenue_bucket,
                                    'customers', s.customers, 'revenue', s.revenue,
                                    'p_alive', s.p_alive, 'expected', s.expected)) AS data
FROM sets s
GROUP BY s.kind$q$, customers)
$$;
COMMENT ON FUNCTION customer_priority.report_customers_query(text) IS
    'internal: the query aggregating <name>_customers for the report (one scan, grouping sets)';

-- The report of a definition, read as the caller from its views.
CREATE FUNCTION customer_priority.report_html(def customer_priority.segmentations)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    customers constant text := format('%I.%I', def.schema, def.name || '_customers');
    segments constant text := format('%I.%I', def.schema, def.name || '_segments');
    bins constant integer := (def.options ->> 'bins')::integer;
    potential constant boolean := coalesce(def.options -> 'potential', 'null') NOT IN ('null', 'false');
    agg jsonb;                  -- report_customers_query(): kind -> array of groups
    total jsonb;
    rows_ jsonb;
    cells jsonb;
    marks jsonb;
    labels text[];
    labels2 text[];
    body text := '';
    nav text := '';
    s text;
BEGIN
    EXECUTE format('SELECT jsonb_object_agg(q.kind, q.data) FROM (%s) q',
                   customer_priority.report_customers_query(customers)) INTO agg;
    total := coalesce(agg -> 'total' -> 0, '{"customers": 0}');

    -- 1. The RFM grid: R (rows, best on top) x FM (columns)
    SELECT jsonb_agg(jsonb_build_object('x', (e ->> 'fm')::integer, 'y', bins + 1 - (e ->> 'r')::integer,
                                        'value', e -> 'customers',
                                        'text', jsonb_build_array(coalesce(e ->> 'segment', '(no segment)'),
                                                                  (e ->> 'customers') || ' customers',
                                                                  'revenue ' || customer_priority.report_number((e ->> 'revenue')::numeric)))),
           jsonb_agg(jsonb_build_array(e -> 'r', e -> 'fm', coalesce(e ->> 'segment', '(no segment)'), e -> 'customers',
                                       customer_priority.report_number((e ->> 'revenue')::numeric, 2))
                     ORDER BY (e ->> 'r')::integer DESC, (e ->> 'fm')::integer)
    INTO cells, rows_
    FROM jsonb_array_elements(coalesce(agg -> 'rfm', '[]')) AS x
    -- the cell with its most common segment (ties: the first name)
    CROSS JOIN LATERAL (
        SELECT x || jsonb_build_object('segment', (SELECT t ->> 'segment'
                                                   FROM jsonb_array_elements(coalesce(agg -> 'rfm_segment', '[]')) AS t
                                                   WHERE t -> 'r' = x -> 'r' AND t -> 'fm' = x -> 'fm' AND t ->> 'segment' IS NOT NULL
                                                   ORDER BY (t ->> 'customers')::bigint DESC, t ->> 'segment' LIMIT 1)) AS e
    ) c
    WHERE e ->> 'r' IS NOT NULL;
    body := body || customer_priority.report_section('rfm', 'RFM grid',
        customer_priority.report_heatmap('chart-rfm-grid', 'Customers and revenue per R x FM cell',
            format('Customers per recency score (rows, %s = most recent) and FM score (columns, the mean of the frequency and monetary scores rounded up), with the most common segment of the map %s in each cell; darker = more customers.',
                   bins, def.options ->> 'segment_map'),
            'FM score (mean of F and M)', 'R score',
            ARRAY(SELECT i::text FROM generate_series(1, bins) AS i),
            ARRAY(SELECT i::text FROM generate_series(bins, 1, -1) AS i),
            cells,
            customer_priority.report_table('RFM grid: customers and revenue per cell',
                ARRAY['R score', 'FM score', 'most common segment', 'customers', 'revenue'], rows_),
            CASE WHEN bins > 6 THEN 86 ELSE 150 END, 56));
    nav := nav || '<a href="#section-rfm">RFM grid</a>';

    -- 2. Segment sizes against revenue shares
    EXECUTE format($q$SELECT jsonb_agg(jsonb_build_object('label', s.segment, 'values', jsonb_build_array(s.customer_share, s.revenue_share)) ORDER BY s.customers DESC, s.segment),
                             jsonb_agg(jsonb_build_array(s.segment, s.customers, customer_priority.report_percent(s.customer_share), customer_priority.report_number(s.revenue, 2),
                                                         customer_priority.report_percent(s.revenue_share), s.recommended_action) ORDER BY s.customers DESC, s.segment)
                      FROM %s s WHERE s.dimension = 'rfm_segment'$q$, segments) INTO cells, rows_;
    body := body || customer_priority.report_section('segments', 'Segments',
        customer_priority.report_bars('chart-segments', 'Segment sizes against revenue shares',
            'For each RFM segment, its share of the customers and its share of the net revenue.',
            'share of all customers / of net revenue', 'RFM segment',
            ARRAY['customers', 'revenue'], cells,
            customer_priority.report_table('Segments: customers and revenue',
                ARRAY['segment', 'customers', 'share of customers', 'revenue', 'share of revenue', 'recommended action'], rows_)));
    nav := nav || '<a href="#section-segments">Segments</a>';

    -- 3. The ABC Pareto curve, from the revenue buckets, best first: exact at each
    -- bucket's edge (customers with revenue <= 0 last)
    WITH b AS (
        SELECT (e ->> 'rev')::integer AS bucket, (e ->> 'customers')::numeric AS n, (e ->> 'revenue')::numeric AS revenue
        FROM jsonb_array_elements(coalesce(agg -> 'revenue', '[]')) AS e
    ), p AS (
        SELECT b.bucket,
               round(sum(b.n) OVER w / nullif((total ->> 'customers')::numeric, 0), 6) AS x,
               CASE WHEN (total ->> 'revenue')::numeric > 0
                    THEN round(sum(b.revenue) OVER w / (total ->> 'revenue')::numeric, 6) END AS y
        FROM b
        WINDOW w AS (ORDER BY b.bucket DESC NULLS LAST)
    )
    SELECT (SELECT jsonb_agg(jsonb_build_object('x', p.x, 'y', p.y) ORDER BY p.x) FROM p WHERE p.y IS NOT NULL),
           (SELECT jsonb_agg(jsonb_build_array(customer_priority.report_percent(t.x), customer_priority.report_percent(t.y),
                                               CASE WHEN t.bucket IS NULL THEN '0 or less'
                                                    ELSE customer_priority.report_number((10::numeric ^ (t.bucket / 40.0))::numeric, 2) END)
                             ORDER BY t.k)
            FROM (SELECT DISTINCT ON (k) k, p.*
                  FROM p, generate_series(1, 10) AS k WHERE p.x >= k / 10.0 ORDER BY k, p.x) t)
    INTO cells, rows_;
    EXECUTE format($q$SELECT jsonb_agg(jsonb_build_object('label', m.label, 'x', m.x, 'y', m.y))
                      FROM (SELECT s.segment AS label,
                                   sum(s.customer_share) OVER (ORDER BY s.segment) AS x,
                                   sum(s.revenue_share) OVER (ORDER BY s.segment) AS y
                            FROM %s s WHERE s.dimension = 'abc_class') m
                      WHERE m.label IN ('A', 'B')$q$, segments) INTO marks;
    body := body || customer_priority.report_section('abc', 'ABC: Pareto curve',
        customer_priority.report_lorenz('chart-pareto', 'ABC Pareto curve (Lorenz)',
            format('Cumulative share of the net revenue against the cumulative share of customers, best first; the marks are the ends of class A and B (abc_a %s, abc_b %s, method %s). The dashed diagonal is an even spread.',
                   def.options ->> 'abc_a', def.options ->> 'abc_b', def.options ->> 'abc_method'),
            cells, marks,
            customer_priority.report_table('Pareto curve: cumulative shares, at the first point past each tenth of the customers',
                ARRAY['customers (cumulative)', 'revenue (cumulative)', 'revenue per customer at least'], rows_)
            || customer_priority.report_table('ABC cut points',
                ARRAY['class ends at', 'customers (cumulative)', 'revenue (cumulative)'],
                (SELECT jsonb_agg(jsonb_build_array('end of ' || (m ->> 'label'), customer_priority.report_percent((m ->> 'x')::numeric),
                                                    customer_priority.report_percent((m ->> 'y')::numeric)) ORDER BY m ->> 'label')
                 FROM jsonb_array_elements(coalesce(marks, '[]')) AS m))));
    nav := nav || '<a href="#section-abc">Pareto</a>';

    -- 4. ABC x XYZ
    SELECT jsonb_agg(jsonb_build_object('x', strpos('XYZ', e ->> 'xyz'), 'y', strpos('ABC', e ->> 'abc'),
                                        'value', e -> 'customers',
                                        'text', jsonb_build_array((e ->> 'abc') || (e ->> 'xyz'),
                                                                  (e ->> 'customers') || ' customers',
                                                                  'revenue ' || customer_priority.report_number((e ->> 'revenue')::numeric)))),
           jsonb_agg(jsonb_build_array(e -> 'abc', e -> 'xyz', e -> 'customers', customer_priority.report_number((e ->> 'revenue')::numeric, 2))
                     ORDER BY e ->> 'abc', e ->> 'xyz')
    INTO cells, rows_
    FROM jsonb_array_elements(coalesce(agg -> 'abc_xyz', '[]')) AS e
    WHERE e ->> 'abc' IN ('A', 'B', 'C') AND e ->> 'xyz' IN ('X', 'Y', 'Z');
    body := body || customer_priority.report_section('abc-xyz', 'ABC x XYZ',
        customer_priority.report_heatmap('chart-abc-xyz', 'ABC x XYZ matrix',
            format('Customers per ABC class (rows: value) and XYZ class (columns: X regular, Y fluctuating, Z sporadic revenue per %s); darker = more customers.',
                   def.options ->> 'xyz_period'),
            'XYZ class', 'ABC class', '{X,Y,Z}', '{A,B,C}', cells,
            customer_priority.report_table('ABC x XYZ: customers and revenue',
                ARRAY['ABC class', 'XYZ class', 'customers', 'revenue'], rows_),
            180, 56));
    nav := nav || '<a href="#section-abc-xyz">ABC x XYZ</a>';

    -- 5. Lifecycle stages and primary types
    s := '';
    FOR labels IN SELECT ARRAY[d, t] FROM (VALUES ('lifecycle_stage', 'Lifecycle stages'), ('primary_type', 'Primary types')) AS v(d, t) LOOP
        EXECUTE format($q$SELECT jsonb_agg(jsonb_build_object('label', s.segment, 'values', jsonb_build_array(s.customer_share, s.revenue_share))
                                           ORDER BY array_position('{new,regular,occasional,at_risk,dormant}'::text[], s.segment), s.customers DESC, s.segment),
                                 jsonb_agg(jsonb_build_array(s.segment, s.customers, customer_priority.report_percent(s.customer_share), customer_priority.report_number(s.revenue, 2),
                                                             customer_priority.report_percent(s.revenue_share), s.recommended_action)
                                           ORDER BY array_position('{new,regular,occasional,at_risk,dormant}'::text[], s.segment), s.customers DESC, s.segment)
                          FROM %s s WHERE s.dimension = %L$q$, segments, labels[1]) INTO cells, rows_;
        s := s || customer_priority.report_bars('chart-' || replace(labels[1], '_', '-'), labels[2] || ': customers and revenue',
            format('For each %s, its share of the customers and of the net revenue.', replace(labels[1], '_', ' ')),
            'share of all customers / of net revenue', replace(labels[1], '_', ' '),
            ARRAY['customers', 'revenue'], cells,
            customer_priority.report_table(labels[2],
                ARRAY[replace(labels[1], '_', ' '), 'customers', 'share of customers', 'revenue', 'share of revenue', 'recommended action'], rows_));
    END LOOP;
    body := body || customer_priority.report_section('typology', 'Lifecycle and types', s);
    nav := nav || '<a href="#section-typology">Lifecycle</a>';

    -- 6. The top profile attributes of the five largest RFM segments
    EXECUTE format($q$
SELECT jsonb_agg(jsonb_build_object('label', p.segment || ': ' || p.attribute || ' = ' || coalesce(p.value, '(unknown)'),
                                    'values', jsonb_build_array(p.share)) ORDER BY p.rank_, p.n),
       jsonb_agg(jsonb_build_array(p.segment, p.attribute, coalesce(p.value, '(unknown)'), p.customers,
                                   customer_priority.report_percent(p.share)) ORDER BY p.rank_, p.n)
FROM (SELECT f.*, t.rank_, row_number() OVER (PARTITION BY f.segment ORDER BY f.customers DESC, f.attribute, f.value) AS n
      FROM %s f
      JOIN (SELECT s.segment, row_number() OVER (ORDER BY s.customers DESC, s.segment) AS rank_
            FROM %s s WHERE s.dimension = 'rfm_segment') t ON t.segment = f.segment
      WHERE f.dimension = 'rfm_segment' AND t.rank_ <= 5) p
WHERE p.n <= 3$q$, format('%I.%I', def.schema, def.name || '_profiles'), segments) INTO cells, rows_;
    body := body || customer_priority.report_section('profiles', 'Profiles of the largest segments',
        CASE WHEN cells IS NULL
             THEN '<p class="note">No profile attributes are mapped (options order_attributes, channel, customer_attributes).</p>'
             ELSE customer_priority.report_bars('chart-profiles', 'Top profile attributes of the five largest segments',
                      'For each of the five largest RFM segments, its three most common attribute values and their share of the segment.',
                      'share of the segment''s customers', 'segment: attribute = value',
                      ARRAY['share of the segment'], cells,
                      customer_priority.report_table('Top attribute values per segment',
                          ARRAY['segment', 'attribute', 'value', 'customers', 'share of the segment'], rows_)) END);
    nav := nav || '<a href="#section-profiles">Profiles</a>';

    -- 7. History: lifecycle transitions between the last two snapshots
    EXECUTE format($q$
SELECT array_agg(DISTINCT coalesce(t.from_segment, '(not a customer)')),
       array_agg(DISTINCT coalesce(t.to_segment, '(not a customer)'))
FROM %s t WHERE t.dimension = 'lifecycle_stage'$q$, format('%I.%I', def.schema, def.name || '_transitions'))
    INTO labels, labels2;
    EXECUTE format($q$
SELECT jsonb_agg(jsonb_build_object('x', array_position(%2$L::text[], coalesce(t.to_segment, '(not a customer)')),
                                    'y', array_position(%1$L::text[], coalesce(t.from_segment, '(not a customer)')),
                                    'value', t.customers,
                                    'text', jsonb_build_array(t.customers::text, customer_priority.report_percent(t.from_share)))),
       jsonb_agg(jsonb_build_array(coalesce(t.from_segment, '(not a customer)'), coalesce(t.to_segment, '(not a customer)'), t.customers,
                                   customer_priority.report_percent(t.from_share), customer_priority.report_number(t.revenue_change, 2),
                                   to_char(t.from_as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                                   to_char(t.to_as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'))
                 ORDER BY t.from_segment NULLS FIRST, t.to_segment NULLS FIRST)
FROM %3$s t WHERE t.dimension = 'lifecycle_stage'$q$, labels, labels2,
                   format('%I.%I', def.schema, def.name || '_transitions')) INTO cells, rows_;
    s := CASE WHEN cells IS NULL
              THEN '<p class="note">No transitions: they need two snapshots (option snapshot, or snapshot_segmentation() and backfill_segmentation(); docs/history.md).</p>'
              ELSE customer_priority.report_heatmap('chart-transitions', 'Lifecycle transitions between the last two snapshots',
                       'Customers per lifecycle stage at the earlier snapshot (rows) and at the later one (columns), with the share of the row.',
                       'stage at the later snapshot', 'stage at the earlier snapshot', labels2, labels, cells,
                       customer_priority.report_table('Lifecycle transitions',
                           ARRAY['from', 'to', 'customers', 'share of from', 'revenue change', 'from snapshot', 'to snapshot'], rows_),
                       110, 40) END;

    -- 8. Cohorts: retention of the last 24 cohorts over their first 24 periods
    EXECUTE format($q$
SELECT array_agg(DISTINCT k.cohort::text ORDER BY k.cohort::text)
FROM (SELECT DISTINCT c.cohort FROM %s c ORDER BY c.cohort DESC LIMIT 24) k$q$,
                   format('%I.%I', def.schema, def.name || '_cohorts')) INTO labels;
    EXECUTE format($q$
SELECT jsonb_agg(jsonb_build_object('x', c.period + 1, 'y', array_position(%1$L::text[], c.cohort::text), 'value', c.retention,
                                    'text', jsonb_build_array(customer_priority.report_number(100 * c.retention)))),
       jsonb_agg(jsonb_build_array(c.cohort, c.period, c.cohort_customers, c.active_customers,
                                   customer_priority.report_percent(c.retention), customer_priority.report_number(c.revenue, 2),
                                   customer_priority.report_percent(c.regular_share)) ORDER BY c.cohort, c.period),
       (SELECT array_agg(p::text ORDER BY p) FROM generate_series(0, least(max(c.period), 23)) AS p)
FROM %2$s c WHERE c.cohort::text = ANY (%1$L::text[]) AND c.period < 24$q$,
                   labels, format('%I.%I', def.schema, def.name || '_cohorts')) INTO cells, rows_, labels2;
    s := s || CASE WHEN cells IS NULL THEN '<p class="note">No cohorts (no customers).</p>'
                   ELSE customer_priority.report_heatmap('chart-cohorts', 'Cohort retention',
                            format('Share (%%) of each first-purchase cohort (rows, by %s) buying in each %s since its first purchase (columns, 0 = the first); darker = more retained. The table also gives the share of the cohort that had become regular by then.',
                                   def.options ->> 'xyz_period', def.options ->> 'xyz_period'),
                            format('%ss since the first purchase', def.options ->> 'xyz_period'), 'cohort',
                            labels2, labels, cells,
                            customer_priority.report_table('Cohorts: retention and the move to regular',
                                ARRAY['cohort', 'period', 'cohort customers', 'active customers', 'retention', 'revenue', 'regular by then'], rows_),
                            38, 20) END;
    body := body || customer_priority.report_section('history', 'Transitions and cohorts', s);
    nav := nav || '<a href="#section-history">Cohorts</a>';

    -- 9. Potential: P(alive) and expected purchases by frequency and recency; CLV
    IF potential THEN
        labels := '{1,2,3,4,5,6-10,11-20,21+}';
        labels2 := '{0-30,31-90,91-180,181-365,366+}';
        s := '';
        FOR i IN 1 .. 2 LOOP
            SELECT jsonb_agg(jsonb_build_object('x', (e ->> 'rb')::integer, 'y', (e ->> 'f')::integer,
                                                'value', CASE i WHEN 1 THEN e -> 'p_alive' ELSE e -> 'expected' END,
                                                'text', jsonb_build_array(CASE i WHEN 1 THEN e ->> 'p_alive' ELSE e ->> 'expected' END,
                                                                          (e ->> 'customers') || ' cust.'))),
                   jsonb_agg(jsonb_build_array(labels[(e ->> 'f')::integer], labels2[(e ->> 'rb')::integer], e -> 'customers',
                                               CASE i WHEN 1 THEN e -> 'p_alive' ELSE e -> 'expected' END)
                             ORDER BY (e ->> 'f')::integer, (e ->> 'rb')::integer)
            INTO cells, rows_
            FROM jsonb_array_elements(coalesce(agg -> 'alive', '[]')) AS e
            WHERE e ->> 'f' IS NOT NULL AND e ->> 'rb' IS NOT NULL;
            s := s || customer_priority.report_heatmap(CASE i WHEN 1 THEN 'chart-p-alive' ELSE 'chart-expected' END,
                CASE i WHEN 1 THEN 'P(alive) by frequency and recency' ELSE 'Expected purchases by frequency and recency' END,
                CASE i WHEN 1 THEN 'Mean BG/NBD probability that the customer is still active, per frequency (rows) and recency (columns, days since the last purchase).'
                     ELSE format('Mean BG/NBD expected purchases in the next %s, per frequency (rows) and recency (columns).',
                                 coalesce(customer_priority.potential_horizon_text(def.options -> 'potential'), 'horizon')) END,
                'recency (days since the last purchase)', 'frequency (purchases)', labels2, labels, cells,
                customer_priority.report_table(CASE i WHEN 1 THEN 'P(alive) per cell' ELSE 'Expected purchases per cell' END,
                    ARRAY['frequency', 'recency (days)', 'customers', CASE i WHEN 1 THEN 'mean P(alive)' ELSE 'mean expected purchases' END], rows_),
                120, 40);
        END LOOP;
        SELECT jsonb_agg(jsonb_build_object('label', b.label, 'values', jsonb_build_array(b.customers)) ORDER BY b.k),
               jsonb_agg(jsonb_build_array(b.label, b.customers, customer_priority.report_number(b.revenue, 2)) ORDER BY b.k)
        INTO cells, rows_
        FROM (SELECT (e ->> 'clv')::integer AS k, (e ->> 'customers')::bigint AS customers, (e ->> 'revenue')::numeric AS revenue,
                     CASE WHEN (e ->> 'clv')::integer = 0 THEN 'under 1'
                          WHEN (e ->> 'clv')::integer = 9 THEN format('%s and more', customer_priority.report_number(10::numeric ^ 8))
                          ELSE format('%s to %s', customer_priority.report_number(10::numeric ^ ((e ->> 'clv')::integer - 1)),
                                      customer_priority.report_number(10::numeric ^ (e ->> 'clv')::integer)) END AS label
              FROM jsonb_array_elements(coalesce(agg -> 'clv', '[]')) AS e
              WHERE e ->> 'clv' IS NOT NULL) b;
        s := s || customer_priority.report_bars('chart-clv', 'CLV distribution',
            'Customers per range of customer lifetime value (expected revenue over the horizon), ranges growing tenfold.',
            'customers', 'CLV range', ARRAY['customers'], cells,
            customer_priority.report_table('CLV distribution', ARRAY['CLV range', 'customers', 'net revenue so far'], rows_),
            false);
        body := body || customer_priority.report_section('potential', 'Potential', s);
        nav := nav || '<a href="#section-potential">Potential</a>';
    END IF;

    RETURN format(E'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                  '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">\n'
                  '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                  '<title>Segmentation %1$s</title>\n<style>%2$s</style>\n</head>\n<body>\n'
                  '<header>\n<h1>Segmentation %1$s</h1>\n<p class="note">%3$s, as of %4$s (refreshed %5$s), customer_priority %6$s</p>\n'
                  '<ul class="summary"><li><b>%7$s</b>customers</li><li><b>%8$s</b>net revenue</li><li><b>%9$s</b>RFM segments</li></ul>\n'
                  '<nav>%10$s</nav>\n</header>\n<main>\n%11$s</main>\n</body>\n</html>\n',
                  customer_priority.report_escape(format('%s.%s', def.schema, def.name)),
                  customer_priority.report_style(),
                  customer_priority.report_escape(def.orders::text),
                  customer_priority.report_escape(coalesce(def.options ->> 'as_of', 'the refresh time')),
                  customer_priority.report_escape(to_char(def.refreshed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')),
                  customer_priority.report_escape((SELECT e.extversion FROM pg_extension e WHERE e.extname = 'customer_priority')),
                  customer_priority.report_number((total ->> 'customers')::numeric),
                  customer_priority.report_number((total ->> 'revenue')::numeric, 2),
                  customer_priority.report_number((SELECT count(DISTINCT e ->> 'segment')
                                                   FROM jsonb_array_elements(coalesce(agg -> 'rfm_segment', '[]')) AS e)),
                  nav, body);
END
$$;
COMMENT ON FUNCTION customer_priority.report_html(customer_priority.segmentations) IS
    'internal: segmentation_report() of a definition, reading its views as the caller';

CREATE FUNCTION customer_priority.segmentation_report(name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$
    -- the name resolved in the caller's search_path, as refresh_segmentation() does
    SELECT customer_priority.report_html(
        customer_priority.segmentation_find($1, pg_catalog.current_schemas(true)))
$$;
COMMENT ON FUNCTION customer_priority.segmentation_report(text) IS
    'one self-contained HTML page (inline SVG and CSS, nothing loaded) with the charts of a segmentation: RFM grid, segments, ABC Pareto curve, ABC x XYZ, lifecycle, profiles, transitions, cohorts, potential';
-- The Pareto/NBD model (issue 24, src/pareto_nbd.sql): new type, aggregate and functions
-------------------------------------------------------------------------------

CREATE TYPE customer_priority.pareto_nbd_model AS (
    r              double precision,
    alpha          double precision,
    s              double precision,
    beta           double precision,
    log_likelihood double precision,
    iterations     integer,
    customers      bigint,
    converged      boolean
);
COMMENT ON TYPE customer_priority.pareto_nbd_model IS
    'Pareto/NBD parameters fitted by pareto_nbd_fit(): purchase rate ~ Gamma(r, alpha), dropout rate ~ Gamma(s, beta)';
COMMENT ON COLUMN customer_priority.pareto_nbd_model.r IS 'shape of the Gamma distribution of purchase rates';
COMMENT ON COLUMN customer_priority.pareto_nbd_model.alpha IS 'scale of the Gamma distribution of purchase rates, in the time unit of the input';
COMMENT ON COLUMN customer_priority.pareto_nbd_model.s IS 'shape of the Gamma distribution of dropout rates';
COMMENT ON COLUMN customer_priority.pareto_nbd_model.beta IS 'scale of the Gamma distribution of dropout rates, in the time unit of the input';
COMMENT ON COLUMN customer_priority.pareto_nbd_model.log_likelihood IS 'log-likelihood of the customers at the returned parameters';
COMMENT ON COLUMN customer_priority.pareto_nbd_model.iterations IS 'BFGS iterations of the fit';
COMMENT ON COLUMN customer_priority.pareto_nbd_model.customers IS 'customers fitted (all of them, not the distinct cases)';
COMMENT ON COLUMN customer_priority.pareto_nbd_model.converged IS 'true when the fit reached the optimum (gradient below tolerance); false after a warning';

CREATE FUNCTION customer_priority.pareto_nbd_fit_transfn(internal, integer, double precision, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'pareto_nbd_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.pareto_nbd_fit_transfn(internal, integer, double precision, double precision) IS
    'transition function of pareto_nbd_fit(x, t_x, t_cal)';

CREATE FUNCTION customer_priority.pareto_nbd_fit_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pareto_nbd_fit_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.pareto_nbd_fit_deserialfn(bytea, internal) IS
    'deserial function of pareto_nbd_fit(): bytea to sample, validated';

CREATE FUNCTION customer_priority.pareto_nbd_fit_finalfn(internal)
RETURNS customer_priority.pareto_nbd_model
AS 'MODULE_PATHNAME', 'pareto_nbd_fit_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.pareto_nbd_fit_finalfn(internal) IS
    'final function of pareto_nbd_fit(): maximum-likelihood fit of the sample';

CREATE AGGREGATE customer_priority.pareto_nbd_fit(x integer, t_x double precision, t_cal double precision) (
    SFUNC = customer_priority.pareto_nbd_fit_transfn,
    STYPE = internal,
    SSPACE = 32,
    FINALFUNC = customer_priority.pareto_nbd_fit_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.model_fit_combinefn,
    SERIALFUNC = customer_priority.model_fit_serialfn,
    DESERIALFUNC = customer_priority.pareto_nbd_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.pareto_nbd_fit(integer, double precision, double precision) IS
    'maximum-likelihood Pareto/NBD fit over customers (x, t_x, T): r, alpha, s, beta, log-likelihood, iterations; rows with a NULL input are skipped';

-- COST as for BG/NBD's functions (src/potential.sql): p_alive and expected purchases
-- are two short series, the purchase probability three, the median ~60 of them.
CREATE FUNCTION customer_priority.pareto_nbd_p_alive(model customer_priority.pareto_nbd_model, x integer,
                                                     t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pareto_nbd_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION customer_priority.pareto_nbd_p_alive(customer_priority.pareto_nbd_model, integer, double precision, double precision) IS
    'Pareto/NBD probability that a customer with x repeat purchases, the last at t_x, is still alive at T';

CREATE FUNCTION customer_priority.pareto_nbd_expected_purchases(model customer_priority.pareto_nbd_model, t double precision,
                                                                x integer, t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pareto_nbd_expected_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION customer_priority.pareto_nbd_expected_purchases(customer_priority.pareto_nbd_model, double precision, integer, double precision, double precision) IS
    'Pareto/NBD expected purchases of a customer (x, t_x, T) in the next t time units';

CREATE FUNCTION customer_priority.pareto_nbd_p_purchase_within(model customer_priority.pareto_nbd_model, t double precision,
                                                               x integer, t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pareto_nbd_p_purchase_within'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 200;
COMMENT ON FUNCTION customer_priority.pareto_nbd_p_purchase_within(customer_priority.pareto_nbd_model, double precision, integer, double precision, double precision) IS
    'Pareto/NBD probability that a customer (x, t_x, T) makes at least one purchase in the next t time units';

CREATE FUNCTION customer_priority.pareto_nbd_next_purchase_median(model customer_priority.pareto_nbd_model, x integer,
                                                                  t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pareto_nbd_next_purchase_median'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 5000;
COMMENT ON FUNCTION customer_priority.pareto_nbd_next_purchase_median(customer_priority.pareto_nbd_model, integer, double precision, double precision) IS
    'Pareto/NBD horizon t at which the probability of a purchase in (T, T+t] reaches 1/2, in the model''s time unit; NULL when it never does';

CREATE FUNCTION customer_priority.pareto_nbd_bic(model customer_priority.pareto_nbd_model)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pareto_nbd_bic'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.pareto_nbd_bic(customer_priority.pareto_nbd_model) IS
    'Bayesian information criterion of a fitted Pareto/NBD model: 4 ln(customers) - 2 log_likelihood (customers: all fitted, not distinct cases); NULL for a model without them';


-------------------------------------------------------------------------------
-- Existing segmentations (src/upgrade.sql)
-------------------------------------------------------------------------------
-- Brings one segmentation's generated objects to this version's shape: appends to the
-- generation tables the columns the current queries have and the tables lack (NULL
-- until the next refresh), replaces the views with the current queries, and comments
-- them again.  The views are replaced, not dropped: their owner, grants, comments and
-- the user's views on them stay; so a view can only gain columns at its end.  Inside
-- an extension script PostgreSQL refuses CREATE OR REPLACE of an object the extension
-- does not own (CVE-2022-2625), so each view is made a member for the replacement and
-- released again (ALTER EXTENSION ADD/DROP, which the script's role may do: it owns the
-- extension and is a superuser).  A segmentation whose relations are missing, or whose
-- stored definition is not valid (segmentation_validate(): written by hand, or by a
-- version that did not validate what it stored), is left as it is, with a warning (its
-- refresh then names what is wrong): no role's definition can make an upgrade fail.
-- The script runs as a superuser, the segmentations belong to other roles: whatever
-- reads their relations or changes their tables runs as their owner
-- (query_columns_as_owner(), execute_as_owner()); only the views' replacement, which
-- parses but runs nothing, is the script's.
CREATE OR REPLACE FUNCTION customer_priority.segmentation_upgrade(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    suffix text;
    customers_a constant text := format('%I.%I', def.schema, def.name || '_customers_a');
    missing text;
    query text;
    old_columns text[];
    new_columns text[];
    col text;                   -- a column: quoted name and type
    c record;
    view_query text;
    l text[];
    owned regclass;
    -- generation tables of this version that a segmentation made by an earlier one lacks
    -- (0.3.0: _cohorts); created here, empty until the next refresh
    added constant text[] := '{_cohorts}';
BEGIN
    BEGIN
        def := customer_priority.segmentation_validate(def);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS missing = MESSAGE_TEXT;
        RAISE WARNING 'segmentation "%" in schema "%" is not upgraded: its definition is not valid', def.name, def.schema
            USING DETAIL = missing,
                  HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        RETURN;
    END;
    SELECT string_agg(format('%I.%I', def.schema, def.name || r), ', ') INTO missing
    FROM unnest(customer_priority.segmentation_relations() || customer_priority.history_relations()) AS r
    WHERE to_regclass(format('%I.%I', def.schema, def.name || r)) IS NULL
      AND NOT EXISTS (SELECT FROM unnest(added) AS a WHERE starts_with(r, a));
    IF missing IS NOT NULL THEN
        RAISE WARNING 'segmentation "%" is not upgraded: % missing', def.name, missing
            USING HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        RETURN;
    END IF;
    owned := format('%I.%I', def.schema, def.name || '_customers')::regclass;

    -- Generation tables, in fill order (the others read _customers_a).
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        query := customer_priority.segmentation_table_query(def, suffix, customers_a);
        -- The columns of the current query: parsed, not run.
        new_columns := customer_priority.query_columns_as_owner(owned, query);
        -- A new generation table: both generations created empty, from the columns of
        -- the query (parsed, never planned or run), by the owner, with their unique
        -- index and the view; then released from the extension, of which a script's
        -- CREATE makes them members.  Made unless the view exists (an update run before).
        -- When the owner cannot (it lost CREATE on the schema, a relation of one of the
        -- names is in the way), the segmentation is left, with a warning, as for missing
        -- relations: no segmentation makes the update fail.
        IF suffix = ANY (added) AND to_regclass(format('%I.%I', def.schema, def.name || suffix)) IS NULL THEN
            BEGIN
                FOREACH col IN ARRAY ARRAY[def.name || suffix || '_a', def.name || suffix || '_b'] LOOP
                    PERFORM customer_priority.execute_as_owner(owned,
                        format('CREATE TABLE %I.%I (%s)', def.schema, col, array_to_string(new_columns, ', ')));
                    PERFORM customer_priority.execute_as_owner(owned,
                        format('CREATE UNIQUE INDEX %I ON %I.%I (%s)', col || '_key', def.schema, col,
                               customer_priority.segmentation_table_key(suffix)));
                    EXECUTE format('ALTER EXTENSION customer_priority DROP TABLE %I.%I', def.schema, col);
                END LOOP;
                PERFORM customer_priority.execute_as_owner(owned,
                    format('CREATE VIEW %I.%I AS %s', def.schema, def.name || suffix,
                           customer_priority.segmentation_view_query(def, suffix)));
                EXECUTE format('ALTER EXTENSION customer_priority DROP VIEW %I.%I', def.schema, def.name || suffix);
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS missing = MESSAGE_TEXT;
                RAISE WARNING 'segmentation "%" in schema "%" is not upgraded: its relations of this version (%) could not be created',
                              def.name, def.schema, def.name || suffix
                    USING DETAIL = missing,
                          HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
                RETURN;
            END;
        END IF;
        SELECT array_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
        INTO old_columns
        FROM pg_attribute a
        WHERE a.attrelid = format('%I.%I', def.schema, def.name || suffix || '_a')::regclass
          AND a.attnum > 0 AND NOT a.attisdropped;
        IF old_columns IS DISTINCT FROM new_columns[1:cardinality(old_columns)] THEN
            RAISE EXCEPTION 'segmentation "%": the columns of %.% changed other than by new columns at the end',
                            def.name, quote_ident(def.schema), quote_ident(def.name || suffix || '_a')
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = format('The tables have (%s), the query has (%s).',
                                      array_to_string(old_columns, ', '), array_to_string(new_columns, ', ')),
                      HINT = 'The upgrade script must migrate these tables before it calls segmentation_upgrade().';
        END IF;
        FOREACH col IN ARRAY new_columns[cardinality(old_columns) + 1:] LOOP
            PERFORM customer_priority.execute_as_owner(owned,
                format('ALTER TABLE %I.%I ADD COLUMN %s', def.schema, def.name || suffix || '_a', col));
            PERFORM customer_priority.execute_as_owner(owned,
                format('ALTER TABLE %I.%I ADD COLUMN %s', def.schema, def.name || suffix || '_b', col));
        END LOOP;
    END LOOP;

    -- Views, in dependency order; then the history's.
    l := customer_priority.history_last_two(def);
    FOR c IN
        SELECT v AS suffix FROM unnest(customer_priority.segmentation_views() || '{_transitions,_movers}'::text[]) AS v
    LOOP
        view_query := CASE c.suffix
            WHEN '_transitions' THEN customer_priority.history_transitions_query(def, l[1], l[2])
            WHEN '_movers' THEN customer_priority.history_movers_query(def)
            ELSE customer_priority.segmentation_view_query(def, c.suffix) END;
        EXECUTE format('ALTER EXTENSION customer_priority ADD VIEW %I.%I', def.schema, def.name || c.suffix);
        EXECUTE format('CREATE OR REPLACE VIEW %I.%I AS %s', def.schema, def.name || c.suffix, view_query);
        EXECUTE format('ALTER EXTENSION customer_priority DROP VIEW %I.%I', def.schema, def.name || c.suffix);
    END LOOP;

    PERFORM customer_priority.segmentation_comment(def);
    PERFORM customer_priority.history_comment(def);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_upgrade(customer_priority.segmentations) IS
    'internal: brings an existing segmentation''s tables, views and comments to this version (called by upgrade scripts)';

SELECT customer_priority.segmentation_upgrade(s)
FROM customer_priority.segmentations s ORDER BY s.schema, s.name;

-- Population aggregates with a SQL-visible state (issue 23: Citus worker partials):
-- the type, each aggregate's wrapper support functions, the aggregates replaced.
CREATE TYPE customer_priority.aggregate_state;

CREATE FUNCTION customer_priority.aggregate_state_in(cstring)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'aggregate_state_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.aggregate_state_in(cstring) IS
    'input function of aggregate_state: hex digits, the header checked';

CREATE FUNCTION customer_priority.aggregate_state_out(customer_priority.aggregate_state)
RETURNS cstring
AS 'MODULE_PATHNAME', 'aggregate_state_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.aggregate_state_out(customer_priority.aggregate_state) IS
    'output function of aggregate_state: the flat state in hex';

CREATE TYPE customer_priority.aggregate_state (
    INPUT = customer_priority.aggregate_state_in,
    OUTPUT = customer_priority.aggregate_state_out,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE customer_priority.aggregate_state IS
    'partial state of rfm_breaks(), abc_cutoffs() or score_population(), as Citus moves it between nodes';

-- The same, on the state kept in an aggregate_state (src/aggregate_state.sql).
CREATE FUNCTION customer_priority.rfm_breaks_state_transfn(customer_priority.aggregate_state, timestamptz, bigint, numeric, integer)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'rfm_breaks_state_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_breaks_state_transfn(customer_priority.aggregate_state, timestamptz, bigint, numeric, integer) IS
    'transition function of rfm_breaks(): rfm_breaks_transfn on the state kept in an aggregate_state';

CREATE FUNCTION customer_priority.rfm_breaks_state_combinefn(customer_priority.aggregate_state, customer_priority.aggregate_state)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'rfm_breaks_state_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_breaks_state_combinefn(customer_priority.aggregate_state, customer_priority.aggregate_state) IS
    'combine function of rfm_breaks(): rfm_breaks_combinefn on the states';

CREATE FUNCTION customer_priority.rfm_breaks_state_finalfn(customer_priority.aggregate_state)
RETURNS customer_priority.rfm_breaks
AS 'MODULE_PATHNAME', 'rfm_breaks_state_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_breaks_state_finalfn(customer_priority.aggregate_state) IS
    'final function of rfm_breaks(): rfm_breaks_finalfn on the state';

CREATE OR REPLACE AGGREGATE customer_priority.rfm_breaks(last_order timestamptz, frequency bigint,
                                              monetary numeric, bins integer) (
    SFUNC = customer_priority.rfm_breaks_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.rfm_breaks_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.rfm_breaks_state_combinefn,
    PARALLEL = SAFE
);


-- The same, on the state kept in an aggregate_state (src/aggregate_state.sql).
CREATE FUNCTION customer_priority.abc_cutoffs_state_transfn(customer_priority.aggregate_state, numeric)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'abc_cutoffs_state_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_state_transfn(customer_priority.aggregate_state, numeric) IS
    'transition function of abc_cutoffs(value): abc_cutoffs_transfn on the state kept in an aggregate_state';

CREATE FUNCTION customer_priority.abc_cutoffs_state_transfn(customer_priority.aggregate_state, numeric, numeric, numeric)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'abc_cutoffs_state_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_state_transfn(customer_priority.aggregate_state, numeric, numeric, numeric) IS
    'transition function of abc_cutoffs(value, a, b): abc_cutoffs_transfn on the state kept in an aggregate_state';

CREATE FUNCTION customer_priority.abc_cutoffs_state_transfn(customer_priority.aggregate_state, numeric, numeric, numeric, text)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'abc_cutoffs_state_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_state_transfn(customer_priority.aggregate_state, numeric, numeric, numeric, text) IS
    'transition function of abc_cutoffs(value, a, b, method): abc_cutoffs_transfn on the state kept in an aggregate_state';

CREATE FUNCTION customer_priority.abc_cutoffs_state_combinefn(customer_priority.aggregate_state, customer_priority.aggregate_state)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'abc_cutoffs_state_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_state_combinefn(customer_priority.aggregate_state, customer_priority.aggregate_state) IS
    'combine function of abc_cutoffs(): abc_cutoffs_combinefn on the states';

CREATE FUNCTION customer_priority.abc_cutoffs_state_finalfn(customer_priority.aggregate_state)
RETURNS customer_priority.abc_cutoffs
AS 'MODULE_PATHNAME', 'abc_cutoffs_state_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_state_finalfn(customer_priority.aggregate_state) IS
    'final function of abc_cutoffs(): abc_cutoffs_finalfn on the state';

CREATE OR REPLACE AGGREGATE customer_priority.abc_cutoffs(value numeric) (
    SFUNC = customer_priority.abc_cutoffs_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.abc_cutoffs_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_state_combinefn,
    PARALLEL = SAFE
);

CREATE OR REPLACE AGGREGATE customer_priority.abc_cutoffs(value numeric, a numeric, b numeric) (
    SFUNC = customer_priority.abc_cutoffs_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.abc_cutoffs_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_state_combinefn,
    PARALLEL = SAFE
);

CREATE OR REPLACE AGGREGATE customer_priority.abc_cutoffs(value numeric, a numeric, b numeric, method text) (
    SFUNC = customer_priority.abc_cutoffs_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.abc_cutoffs_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_state_combinefn,
    PARALLEL = SAFE
);


-- The same, on the state kept in an aggregate_state (src/aggregate_state.sql).
CREATE FUNCTION customer_priority.score_population_state_transfn(customer_priority.aggregate_state, bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'score_population_state_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_state_transfn(customer_priority.aggregate_state, bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric) IS
    'transition function of score_population(customer_id, ordered_at, amount, as_of, bins, abc_a, abc_b): score_population_transfn on the state kept in an aggregate_state';

CREATE FUNCTION customer_priority.score_population_state_combinefn(customer_priority.aggregate_state, customer_priority.aggregate_state)
RETURNS customer_priority.aggregate_state
AS 'MODULE_PATHNAME', 'score_population_state_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_state_combinefn(customer_priority.aggregate_state, customer_priority.aggregate_state) IS
    'combine function of score_population(): score_population_combinefn on the states';

CREATE FUNCTION customer_priority.score_population_state_finalfn(customer_priority.aggregate_state)
RETURNS bytea
AS 'MODULE_PATHNAME', 'score_population_state_finalfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_state_finalfn(customer_priority.aggregate_state) IS
    'final function of score_population(): score_population_finalfn on the state';

CREATE OR REPLACE AGGREGATE customer_priority.score_population(
    customer_id bigint, ordered_at timestamptz, amount numeric, as_of timestamptz,
    bins integer, abc_a numeric, abc_b numeric) (
    SFUNC = customer_priority.score_population_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.score_population_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.score_population_state_combinefn,
    PARALLEL = SAFE
);
