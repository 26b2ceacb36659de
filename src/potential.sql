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
    'combine function of bgnbd_fit() and gamma_gamma_fit(): merges two partial samples';

CREATE FUNCTION customer_priority.model_fit_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'model_fit_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.model_fit_serialfn(internal) IS
    'serial function of bgnbd_fit() and gamma_gamma_fit(): sample to bytea';

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

-- The option "potential", checked, defaults filled in: NULL when off (absent, null
-- or false), else {unit, horizon, discount_rate, high_clv_share}.  true takes every
-- default.  The horizon's default is one year in the chosen unit.
CREATE FUNCTION customer_priority.potential_options(options jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    known constant text[] := ARRAY['unit', 'horizon', 'discount_rate', 'high_clv_share'];
    o jsonb := jsonb_strip_nulls(coalesce(options, '{}')) -> 'potential';
    k text;
    unit text;
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
    RETURN jsonb_build_object(
        'unit', unit,
        -- customer_clv() takes at most 10,000 units
        'horizon', customer_priority.potential_number_option(o, 'horizon',
            CASE unit WHEN 'day' THEN 365 WHEN 'week' THEN 52 WHEN 'month' THEN 12 ELSE 1 END, 0, 10000),
        'discount_rate', customer_priority.potential_number_option(o, 'discount_rate', 0, 0, NULL),
        'high_clv_share', customer_priority.potential_number_option(o, 'high_clv_share', 0.2, 0, 1));
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
