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
