-- ABC prioritisation: Pareto classes by revenue (or any value), shares of
-- customers, weighted multi-criteria scores.  C code: src/abc.c.

CREATE TYPE customer_priority.abc_cutoffs AS (
    method      text,
    a           numeric,
    b           numeric,
    customers   bigint,
    total       numeric,
    a_min       numeric,
    b_min       numeric,
    a_customers bigint,
    b_customers bigint
);
COMMENT ON TYPE customer_priority.abc_cutoffs IS
    'ABC cut-offs of a customer population, returned by the abc_cutoffs() aggregate';
COMMENT ON COLUMN customer_priority.abc_cutoffs.method IS
    'pareto (cumulative share of the value) or share (share of customers)';
COMMENT ON COLUMN customer_priority.abc_cutoffs.a IS 'threshold of class A, 0 < a < b';
COMMENT ON COLUMN customer_priority.abc_cutoffs.b IS 'threshold of class B, a < b <= 1';
COMMENT ON COLUMN customer_priority.abc_cutoffs.customers IS 'customers with a non-NULL value';
COMMENT ON COLUMN customer_priority.abc_cutoffs.total IS
    'pareto: sum of the positive values; share: the number of customers';
COMMENT ON COLUMN customer_priority.abc_cutoffs.a_min IS
    'smallest value in class A; NULL when no customer is A';
COMMENT ON COLUMN customer_priority.abc_cutoffs.b_min IS
    'smallest value in class B; NULL when no customer is B';
COMMENT ON COLUMN customer_priority.abc_cutoffs.a_customers IS 'customers in class A';
COMMENT ON COLUMN customer_priority.abc_cutoffs.b_customers IS 'customers in class B';

CREATE FUNCTION customer_priority.abc_cutoffs_transfn(internal, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'abc_cutoffs_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_transfn(internal, numeric) IS
    'transition function of abc_cutoffs(value)';

CREATE FUNCTION customer_priority.abc_cutoffs_transfn(internal, numeric, numeric, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'abc_cutoffs_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_transfn(internal, numeric, numeric, numeric) IS
    'transition function of abc_cutoffs(value, a, b)';

CREATE FUNCTION customer_priority.abc_cutoffs_transfn(internal, numeric, numeric, numeric, text)
RETURNS internal
AS 'MODULE_PATHNAME', 'abc_cutoffs_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_transfn(internal, numeric, numeric, numeric, text) IS
    'transition function of abc_cutoffs(value, a, b, method)';

CREATE FUNCTION customer_priority.abc_cutoffs_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'abc_cutoffs_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_combinefn(internal, internal) IS
    'combine function of abc_cutoffs()';

CREATE FUNCTION customer_priority.abc_cutoffs_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'abc_cutoffs_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_serialfn(internal) IS
    'serial function of abc_cutoffs()';

CREATE FUNCTION customer_priority.abc_cutoffs_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'abc_cutoffs_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_deserialfn(bytea, internal) IS
    'deserial function of abc_cutoffs(), validated';

CREATE FUNCTION customer_priority.abc_cutoffs_finalfn(internal)
RETURNS customer_priority.abc_cutoffs
AS 'MODULE_PATHNAME', 'abc_cutoffs_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_cutoffs_finalfn(internal) IS
    'final function of abc_cutoffs(): sorts the values and finds the class boundaries';

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

CREATE AGGREGATE customer_priority.abc_cutoffs(value numeric) (
    SFUNC = customer_priority.abc_cutoffs_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.abc_cutoffs_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_state_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.abc_cutoffs(numeric) IS
    'Pareto ABC cut-offs of a value (revenue) with A = 80 %, B = 95 %';

CREATE AGGREGATE customer_priority.abc_cutoffs(value numeric, a numeric, b numeric) (
    SFUNC = customer_priority.abc_cutoffs_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.abc_cutoffs_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_state_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.abc_cutoffs(numeric, numeric, numeric) IS
    'Pareto ABC cut-offs of a value (revenue) with thresholds 0 < a < b <= 1';

CREATE AGGREGATE customer_priority.abc_cutoffs(value numeric, a numeric, b numeric, method text) (
    SFUNC = customer_priority.abc_cutoffs_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.abc_cutoffs_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_state_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.abc_cutoffs(numeric, numeric, numeric, text) IS
    'ABC cut-offs by method pareto (cumulative value) or share (share of customers)';

CREATE FUNCTION customer_priority.abc_class(value numeric, cutoffs customer_priority.abc_cutoffs)
RETURNS text
AS 'MODULE_PATHNAME', 'abc_class'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_class(numeric, customer_priority.abc_cutoffs) IS
    'ABC class (A, B or C) of one customer''s value under population cut-offs';

CREATE FUNCTION customer_priority.abc_weighted_score(ranks float8[], weights float8[])
RETURNS float8
AS 'MODULE_PATHNAME', 'abc_weighted_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.abc_weighted_score(float8[], float8[]) IS
    'weighted mean of criteria ranks in 0..1 (sum of weight * rank / sum of weights)';

CREATE FUNCTION customer_priority.customer_potential(metrics customer_priority.rfm_metrics)
RETURNS numeric
AS 'MODULE_PATHNAME', 'customer_potential'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_potential(customer_priority.rfm_metrics) IS
    'expected revenue in the 365 days after as_of, from purchase rate, recency and average order value (heuristic)';
