-- Customer potential: the Pareto/NBD model of repeat purchasing (Schmittlein, Morrison &
-- Colombo 1987; Fader & Hardie 2005), fitted in the database like BG/NBD.
-- C code: src/pareto_nbd.c (the state and its combine/serial functions are BG/NBD's:
-- src/model_sample.c, src/potential.sql).  Documentation: docs/potential.md, "Pareto/NBD".

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
