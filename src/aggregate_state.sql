-- customer_priority.aggregate_state: the transition type of the population aggregates
-- rfm_breaks(), abc_cutoffs() and score_population(), a real type (not internal) so
-- that Citus splits them into partials on the workers and a combine on the coordinator
-- (docs/scale-out.md).  C code: src/aggregate_state.c.  Text form: hex of version,
-- kind and the aggregate's serialized state; each aggregate's wrapper support
-- functions are declared next to it.

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
