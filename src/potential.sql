-- Customer potential: the BG/NBD model of repeat purchasing and the Gamma-Gamma
-- model of spend (Fader, Hardie & Lee 2005), fitted in the database.
-- C code: src/bgnbd.c, src/gamma_gamma.c, src/clv.c, src/model_sample.c,
-- src/minimize.c, src/special_functions.c.  Documentation: docs/potential.md.

CREATE TYPE customer_priority.purchase_summary AS (
    x            integer,
    t_x          double precision,
    t_cal        double precision,
    repeat_spend numeric
);
COMMENT ON TYPE customer_priority.purchase_summary IS
    'calibration summary of one customer for the BG/NBD and Gamma-Gamma models, returned by purchase_summary()';
COMMENT ON COLUMN customer_priority.purchase_summary.x IS
    'repeat purchases: distinct purchase days after the first';
COMMENT ON COLUMN customer_priority.purchase_summary.t_x IS
    'time from the first to the last purchase day, in the summary''s time unit (0 when x = 0)';
COMMENT ON COLUMN customer_priority.purchase_summary.t_cal IS
    'T: time from the first purchase day to as_of, in the summary''s time unit';
COMMENT ON COLUMN customer_priority.purchase_summary.repeat_spend IS
    'mean spend of the repeat purchase days (the profile''s repeat_spend); NULL when x = 0';

CREATE FUNCTION customer_priority.purchase_summary(profile customer_priority.customer_profile,
                                                   unit text DEFAULT 'week')
RETURNS customer_priority.purchase_summary
AS 'MODULE_PATHNAME', 'purchase_summary'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.purchase_summary(customer_priority.customer_profile, text) IS
    'BG/NBD calibration summary (x, t_x, T, repeat spend) of a customer_profile, in days, weeks, months or years; NULL without a purchase';

CREATE TYPE customer_priority.bgnbd_model AS (
    r              double precision,
    alpha          double precision,
    a              double precision,
    b              double precision,
    log_likelihood double precision,
    iterations     integer,
    customers      bigint,
    converged      boolean
);
COMMENT ON TYPE customer_priority.bgnbd_model IS
    'BG/NBD parameters fitted by bgnbd_fit(): purchase rate ~ Gamma(r, alpha), dropout probability ~ Beta(a, b)';
COMMENT ON COLUMN customer_priority.bgnbd_model.r IS 'shape of the Gamma distribution of purchase rates';
COMMENT ON COLUMN customer_priority.bgnbd_model.alpha IS 'scale of the Gamma distribution of purchase rates, in the time unit of the input';
COMMENT ON COLUMN customer_priority.bgnbd_model.a IS 'first shape of the Beta distribution of dropout probabilities';
COMMENT ON COLUMN customer_priority.bgnbd_model.b IS 'second shape of the Beta distribution of dropout probabilities';
COMMENT ON COLUMN customer_priority.bgnbd_model.log_likelihood IS 'log-likelihood of the customers at the returned parameters';
COMMENT ON COLUMN customer_priority.bgnbd_model.iterations IS 'BFGS iterations of the fit';
COMMENT ON COLUMN customer_priority.bgnbd_model.customers IS 'customers fitted';
COMMENT ON COLUMN customer_priority.bgnbd_model.converged IS 'true when the fit reached the optimum (gradient below tolerance); false after a warning';

CREATE TYPE customer_priority.gamma_gamma_model AS (
    p              double precision,
    q              double precision,
    v              double precision,
    log_likelihood double precision,
    iterations     integer,
    customers      bigint,
    converged      boolean
);
COMMENT ON TYPE customer_priority.gamma_gamma_model IS
    'Gamma-Gamma spend parameters fitted by gamma_gamma_fit(): purchase values ~ Gamma(p, nu), nu ~ Gamma(q, v)';
COMMENT ON COLUMN customer_priority.gamma_gamma_model.p IS 'shape of the Gamma distribution of a customer''s purchase values';
COMMENT ON COLUMN customer_priority.gamma_gamma_model.q IS 'shape of the Gamma distribution of customers'' rate parameters';
COMMENT ON COLUMN customer_priority.gamma_gamma_model.v IS 'scale of the Gamma distribution of customers'' rate parameters, in money';
COMMENT ON COLUMN customer_priority.gamma_gamma_model.log_likelihood IS 'log-likelihood of the repeat customers at the returned parameters';
COMMENT ON COLUMN customer_priority.gamma_gamma_model.iterations IS 'BFGS iterations of the fit';
COMMENT ON COLUMN customer_priority.gamma_gamma_model.customers IS 'repeat customers fitted (x > 0)';
COMMENT ON COLUMN customer_priority.gamma_gamma_model.converged IS 'true when the fit reached the optimum (gradient below tolerance); false after a warning';

-- Shared by both fits: the state is a sample of distinct customer cases.
CREATE FUNCTION customer_priority.model_fit_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'model_fit_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.model_fit_combinefn(internal, internal) IS
    'combine function of bgnbd_fit(), mbgnbd_fit(), pareto_nbd_fit() and gamma_gamma_fit(): merges two partial samples';

CREATE FUNCTION customer_priority.model_fit_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'model_fit_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.model_fit_serialfn(internal) IS
    'serial function of bgnbd_fit(), mbgnbd_fit(), pareto_nbd_fit() and gamma_gamma_fit(): sample to bytea';

CREATE FUNCTION customer_priority.bgnbd_fit_transfn(internal, integer, double precision, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'bgnbd_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.bgnbd_fit_transfn(internal, integer, double precision, double precision) IS
    'transition function of bgnbd_fit(x, t_x, t_cal)';

CREATE FUNCTION customer_priority.bgnbd_fit_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'bgnbd_fit_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.bgnbd_fit_deserialfn(bytea, internal) IS
    'deserial function of bgnbd_fit(): bytea to sample, validated';

CREATE FUNCTION customer_priority.bgnbd_fit_finalfn(internal)
RETURNS customer_priority.bgnbd_model
AS 'MODULE_PATHNAME', 'bgnbd_fit_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.bgnbd_fit_finalfn(internal) IS
    'final function of bgnbd_fit(): maximum-likelihood fit of the sample';

CREATE AGGREGATE customer_priority.bgnbd_fit(x integer, t_x double precision, t_cal double precision) (
    SFUNC = customer_priority.bgnbd_fit_transfn,
    STYPE = internal,
    SSPACE = 32,
    FINALFUNC = customer_priority.bgnbd_fit_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.model_fit_combinefn,
    SERIALFUNC = customer_priority.model_fit_serialfn,
    DESERIALFUNC = customer_priority.bgnbd_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.bgnbd_fit(integer, double precision, double precision) IS
    'maximum-likelihood BG/NBD fit over customers (x, t_x, T): r, alpha, a, b, log-likelihood, iterations; rows with a NULL input are skipped';

CREATE FUNCTION customer_priority.gamma_gamma_fit_transfn(internal, integer, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'gamma_gamma_fit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.gamma_gamma_fit_transfn(internal, integer, double precision) IS
    'transition function of gamma_gamma_fit(x, mean_spend)';

CREATE FUNCTION customer_priority.gamma_gamma_fit_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'gamma_gamma_fit_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.gamma_gamma_fit_deserialfn(bytea, internal) IS
    'deserial function of gamma_gamma_fit(): bytea to sample, validated';

CREATE FUNCTION customer_priority.gamma_gamma_fit_finalfn(internal)
RETURNS customer_priority.gamma_gamma_model
AS 'MODULE_PATHNAME', 'gamma_gamma_fit_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.gamma_gamma_fit_finalfn(internal) IS
    'final function of gamma_gamma_fit(): maximum-likelihood fit of the sample';

CREATE AGGREGATE customer_priority.gamma_gamma_fit(x integer, mean_spend double precision) (
    SFUNC = customer_priority.gamma_gamma_fit_transfn,
    STYPE = internal,
    SSPACE = 32,
    FINALFUNC = customer_priority.gamma_gamma_fit_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.model_fit_combinefn,
    SERIALFUNC = customer_priority.model_fit_serialfn,
    DESERIALFUNC = customer_priority.gamma_gamma_fit_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.gamma_gamma_fit(integer, double precision) IS
    'maximum-likelihood Gamma-Gamma spend fit over the repeat customers (x > 0, mean spend of repeat purchases); x = 0 and NULL rows are skipped';

-- COST of the per-customer functions, relative to a plain C function (1, a few ns), from
-- their time per call measured here: p_alive and expected spend ~0.25 us, expected
-- purchases (a hypergeometric series) ~0.45 us, CLV one series per unit of horizon.
-- With the default 1 the planner never scores many customers in parallel workers.
CREATE FUNCTION customer_priority.bgnbd_p_alive(model customer_priority.bgnbd_model, x integer,
                                                t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bgnbd_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION customer_priority.bgnbd_p_alive(customer_priority.bgnbd_model, integer, double precision, double precision) IS
    'probability that a customer with x repeat purchases, the last at t_x, is still alive at T';

CREATE FUNCTION customer_priority.bgnbd_expected_purchases(model customer_priority.bgnbd_model, t double precision,
                                                           x integer, t_x double precision, t_cal double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION customer_priority.bgnbd_expected_purchases(customer_priority.bgnbd_model, double precision, integer, double precision, double precision) IS
    'expected purchases of a customer (x, t_x, T) in the next t time units (Fader, Hardie & Lee 2005, eq. 10)';

CREATE FUNCTION customer_priority.bgnbd_expected_purchases(model customer_priority.bgnbd_model, t double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases_new'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION customer_priority.bgnbd_expected_purchases(customer_priority.bgnbd_model, double precision) IS
    'expected purchases of a new customer in their first t time units, E[X(t)] (Fader, Hardie & Lee 2005, eq. 9)';

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

-- Not STRICT: a NULL mean_spend (no repeat purchase) gives the population's mean.
CREATE FUNCTION customer_priority.gamma_gamma_expected_spend(model customer_priority.gamma_gamma_model,
                                                             x integer, mean_spend double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'gamma_gamma_expected_spend'
LANGUAGE C IMMUTABLE PARALLEL SAFE COST 50;
COMMENT ON FUNCTION customer_priority.gamma_gamma_expected_spend(customer_priority.gamma_gamma_model, integer, double precision) IS
    'expected spend per purchase of a customer with x repeat purchases of mean value mean_spend; the population mean p v / (q - 1) when x = 0 or mean_spend is NULL';

-- Not STRICT: a NULL mean_spend values the purchases at the population's mean spend.
CREATE FUNCTION customer_priority.customer_clv(bgnbd customer_priority.bgnbd_model,
                                               gamma_gamma customer_priority.gamma_gamma_model,
                                               x integer, t_x double precision, t_cal double precision,
                                               mean_spend double precision,
                                               horizon double precision,
                                               discount_rate double precision DEFAULT 0)
RETURNS double precision
AS 'MODULE_PATHNAME', 'customer_clv'
LANGUAGE C IMMUTABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION customer_priority.customer_clv(customer_priority.bgnbd_model, customer_priority.gamma_gamma_model, integer, double precision, double precision, double precision, double precision, double precision) IS
    'customer lifetime value over horizon time units: expected purchases per unit (BG/NBD) times expected spend (Gamma-Gamma), discounted at discount_rate per unit';

-------------------------------------------------------------------------------
-- In segmentations: the option "potential" (segmentation_customers_query() fits
-- both models over the segmentation's customers at each refresh)
-------------------------------------------------------------------------------

-- A number key of the option "potential", named "potential.<key>" in errors.
CREATE FUNCTION customer_priority.potential_number_option(potential jsonb, key text, default_value numeric,
                                                          min_value numeric, max_value numeric)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- plpgsql: segmentation_number_option() is created after this file
    RETURN customer_priority.segmentation_number_option(
        jsonb_strip_nulls(jsonb_build_object('potential.' || key, potential -> key)),
        'potential.' || key, default_value, min_value, max_value, false);
END
$$;
COMMENT ON FUNCTION customer_priority.potential_number_option(jsonb, text, numeric, numeric, numeric) IS
    'internal: a number in the option "potential", checked against its range, the default when absent';

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
CREATE FUNCTION customer_priority.potential_options(options jsonb)
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

-- "52 weeks" from the effective option "potential"; NULL when off.
CREATE FUNCTION customer_priority.potential_horizon_text(potential jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%s %s', potential ->> 'horizon',
                  potential ->> 'unit' || CASE WHEN (potential ->> 'horizon')::numeric = 1 THEN '' ELSE 's' END)
    WHERE jsonb_typeof(potential) = 'object'
$$;
COMMENT ON FUNCTION customer_priority.potential_horizon_text(jsonb) IS
    'internal: the horizon of the option "potential" as text, e.g. "52 weeks"; NULL when off';

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
