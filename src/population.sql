-- The whole-table path: every customer's RFM scores and ABC class in one pass over
-- an orders table, without GROUP BY.  C code: src/score_population.c (aggregate and
-- decoder) and src/population.c (the hash table of customers).

CREATE FUNCTION customer_priority.score_population_transfn(internal, bigint, timestamptz, numeric,
                                                           timestamptz, integer, numeric, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'score_population_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_transfn(internal, bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric) IS
    'transition function of score_population(customer_id, ordered_at, amount, as_of, bins, abc_a, abc_b)';

CREATE FUNCTION customer_priority.score_population_transfn(internal, bigint, timestamptz, numeric,
                                                           timestamptz, integer, numeric, numeric,
                                                           anyelement)
RETURNS internal
AS 'MODULE_PATHNAME', 'score_population_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_transfn(internal, bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric, anyelement) IS
    'transition function of score_population(customer_id, ordered_at, amount, as_of, bins, abc_a, abc_b, order_id)';

CREATE FUNCTION customer_priority.score_population_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'score_population_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_combinefn(internal, internal) IS
    'combine function of score_population: merges two partial populations';

CREATE FUNCTION customer_priority.score_population_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'score_population_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_serialfn(internal) IS
    'serial function of score_population';

CREATE FUNCTION customer_priority.score_population_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'score_population_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_deserialfn(bytea, internal) IS
    'deserial function of score_population';

-- STABLE: recency_days is counted in calendar days of the session's TimeZone.
CREATE FUNCTION customer_priority.score_population_finalfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'score_population_finalfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.score_population_finalfn(internal) IS
    'final function of score_population: break points, cut-offs and every customer''s scores';

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

CREATE AGGREGATE customer_priority.score_population(
    customer_id bigint, ordered_at timestamptz, amount numeric, as_of timestamptz,
    bins integer, abc_a numeric, abc_b numeric) (
    SFUNC = customer_priority.score_population_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.score_population_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.score_population_state_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.score_population(bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric) IS
    'every customer''s RFM scores and ABC class from all order rows in one pass (one row per order); decode with population_scores()';

-- Polymorphic (order_id anyelement): its state stays internal.  Citus would split an
-- aggregate with a SQL-visible state, then refuse the polymorphic argument on the
-- workers ("could not confirm type correctness"); with internal it aggregates the
-- rows on the coordinator (docs/scale-out.md).
CREATE AGGREGATE customer_priority.score_population(
    customer_id bigint, ordered_at timestamptz, amount numeric, as_of timestamptz,
    bins integer, abc_a numeric, abc_b numeric, order_id anyelement) (
    SFUNC = customer_priority.score_population_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.score_population_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.score_population_combinefn,
    SERIALFUNC = customer_priority.score_population_serialfn,
    DESERIALFUNC = customer_priority.score_population_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.score_population(bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric, anyelement) IS
    'every customer''s RFM scores and ABC class from order lines in one pass: frequency counts distinct order ids';

CREATE FUNCTION customer_priority.population_scores(
    population bytea,
    OUT customer_id bigint, OUT first_order_at timestamptz, OUT last_order_at timestamptz,
    OUT recency_days integer, OUT frequency bigint, OUT monetary numeric,
    OUT r_score integer, OUT f_score integer, OUT m_score integer, OUT abc_class text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'population_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
ROWS 100000;
COMMENT ON FUNCTION customer_priority.population_scores(bytea) IS
    'one row per customer of a score_population() result';

-- The convenient form: names, not expressions.  Dynamic SQL with every name quoted
-- (%I, %s of a regclass); the aggregate query may run in parallel.
CREATE FUNCTION customer_priority.score_customers(
    orders      regclass,
    customer_id_column name,
    ordered_at_column  name,
    amount_column      name,
    as_of       timestamptz DEFAULT now(),
    bins        integer DEFAULT 5,
    abc_a       numeric DEFAULT 0.8,
    abc_b       numeric DEFAULT 0.95,
    order_id_column    name DEFAULT NULL)
RETURNS TABLE(customer_id bigint, first_order_at timestamptz, last_order_at timestamptz,
              recency_days integer, frequency bigint, monetary numeric,
              r_score integer, f_score integer, m_score integer, abc_class text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
-- Serial on purpose: in a time-ordered table every worker meets nearly every
-- customer, so merging the workers' tables costs more than the scan they share
-- (measured: docs/performance.md).
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    id_type regtype;
BEGIN
    IF orders IS NULL OR customer_id_column IS NULL OR ordered_at_column IS NULL
       OR amount_column IS NULL OR as_of IS NULL OR bins IS NULL OR abc_a IS NULL OR abc_b IS NULL THEN
        RAISE EXCEPTION 'only order_id_column may be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.atttypid::regtype INTO id_type FROM pg_attribute a
    WHERE a.attrelid = orders AND a.attname = customer_id_column
      AND a.attnum > 0 AND NOT a.attisdropped;
    IF id_type IS NOT NULL AND id_type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'customer id column "%" of % is of type %, not an integer type',
                        customer_id_column, orders, id_type
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Group by customer with the rfm() aggregate, rfm_breaks() and abc_cutoffs() instead.';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT s.* FROM customer_priority.population_scores('
        '(SELECT customer_priority.score_population(o.%I, o.%I, o.%I::numeric, $1, $2, $3, $4%s) FROM %s o)) s',
        customer_id_column, ordered_at_column, amount_column,
        CASE WHEN order_id_column IS NULL THEN ''
             ELSE format(', o.%I', order_id_column) END,
        orders)
        USING as_of, bins, abc_a, abc_b;
END
$$;
COMMENT ON FUNCTION customer_priority.score_customers(regclass, name, name, name, timestamptz, integer, numeric, numeric, name) IS
    'every customer''s RFM metrics, scores and ABC class of an orders table, computed in one (parallel) pass';
