-- RFM: recency, frequency and monetary value per customer, scored 1..N against the
-- customer population.  C code: src/rfm.c (per-customer aggregate) and src/breaks.c
-- (population break points and scoring).

-------------------------------------------------------------------------------
-- Per-customer RFM inputs: aggregate over one customer's order rows
-------------------------------------------------------------------------------

CREATE TYPE customer_priority.rfm_metrics AS (
    first_order         timestamptz,
    last_order          timestamptz,
    recency_days        integer,
    frequency           bigint,
    monetary            numeric,
    average_order_value numeric,
    gross               numeric,
    returned            numeric,
    as_of               timestamptz,
    tenure_days         integer
);
COMMENT ON TYPE customer_priority.rfm_metrics IS
    'RFM inputs of one customer as of a reference time, returned by the rfm() aggregate';
COMMENT ON COLUMN customer_priority.rfm_metrics.first_order IS
    'first purchase (row with a positive amount) at or before as_of; NULL if none';
COMMENT ON COLUMN customer_priority.rfm_metrics.last_order IS
    'last purchase (row with a positive amount) at or before as_of; NULL if none';
COMMENT ON COLUMN customer_priority.rfm_metrics.recency_days IS
    'calendar days from last_order to as_of, in the session time zone; NULL if no purchase';
COMMENT ON COLUMN customer_priority.rfm_metrics.frequency IS
    'number of purchases: distinct order ids of rows with a positive amount (or such rows when no order id is given)';
COMMENT ON COLUMN customer_priority.rfm_metrics.monetary IS
    'net revenue: gross minus returned, exact numeric';
COMMENT ON COLUMN customer_priority.rfm_metrics.average_order_value IS
    'monetary / frequency; NULL when frequency is 0';
COMMENT ON COLUMN customer_priority.rfm_metrics.gross IS
    'sum of positive amounts';
COMMENT ON COLUMN customer_priority.rfm_metrics.returned IS
    'sum of refunds: minus the negative amounts, plus the returned_amount input';
COMMENT ON COLUMN customer_priority.rfm_metrics.as_of IS
    'the reference time the metrics were computed for; rows after it are not counted';
COMMENT ON COLUMN customer_priority.rfm_metrics.tenure_days IS
    'calendar days from first_order to as_of, in the session time zone; NULL if no purchase';

CREATE FUNCTION customer_priority.rfm_transfn(internal, timestamptz, numeric, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_transfn(internal, timestamptz, numeric, timestamptz) IS
    'transition function of rfm(ordered_at, amount, as_of)';

CREATE FUNCTION customer_priority.rfm_transfn(internal, timestamptz, numeric, timestamptz, anyelement)
RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_transfn_order'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_transfn(internal, timestamptz, numeric, timestamptz, anyelement) IS
    'transition function of rfm(ordered_at, amount, as_of, order_id)';

CREATE FUNCTION customer_priority.rfm_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_transfn_order_returned'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric) IS
    'transition function of rfm(ordered_at, amount, as_of, order_id, returned_amount)';

CREATE FUNCTION customer_priority.rfm_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_combinefn(internal, internal) IS
    'combine function of rfm(): merges two partial per-customer states';

CREATE FUNCTION customer_priority.rfm_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'rfm_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_serialfn(internal) IS
    'serial function of rfm(): per-customer state to bytea';

CREATE FUNCTION customer_priority.rfm_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_deserialfn(bytea, internal) IS
    'deserial function of rfm(): bytea to per-customer state, validated';

-- STABLE: recency_days counts calendar days in the session's TimeZone.
CREATE FUNCTION customer_priority.rfm_finalfn(internal)
RETURNS customer_priority.rfm_metrics
AS 'MODULE_PATHNAME', 'rfm_finalfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_finalfn(internal) IS
    'final function of rfm(): per-customer state to rfm_metrics';

CREATE AGGREGATE customer_priority.rfm(ordered_at timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = customer_priority.rfm_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.rfm_finalfn,
    COMBINEFUNC = customer_priority.rfm_combinefn,
    SERIALFUNC = customer_priority.rfm_serialfn,
    DESERIALFUNC = customer_priority.rfm_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.rfm(timestamptz, numeric, timestamptz) IS
    'RFM inputs of one customer from order rows (one row per order) as of a reference time';

CREATE AGGREGATE customer_priority.rfm(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                       order_id anyelement) (
    SFUNC = customer_priority.rfm_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.rfm_finalfn,
    COMBINEFUNC = customer_priority.rfm_combinefn,
    SERIALFUNC = customer_priority.rfm_serialfn,
    DESERIALFUNC = customer_priority.rfm_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.rfm(timestamptz, numeric, timestamptz, anyelement) IS
    'RFM inputs of one customer from order lines: frequency counts distinct order ids';

CREATE AGGREGATE customer_priority.rfm(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                       order_id anyelement, returned_amount numeric) (
    SFUNC = customer_priority.rfm_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.rfm_finalfn,
    COMBINEFUNC = customer_priority.rfm_combinefn,
    SERIALFUNC = customer_priority.rfm_serialfn,
    DESERIALFUNC = customer_priority.rfm_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.rfm(timestamptz, numeric, timestamptz, anyelement, numeric) IS
    'RFM inputs of one customer from order rows with a separate returned amount per row';

-------------------------------------------------------------------------------
-- Population break points
-------------------------------------------------------------------------------

CREATE TYPE customer_priority.rfm_breaks AS (
    bins      integer,
    customers bigint,
    recency   timestamptz[],
    frequency bigint[],
    monetary  numeric[]
);
COMMENT ON TYPE customer_priority.rfm_breaks IS
    'RFM break points: bins - 1 inclusive upper bounds per metric, ascending';
COMMENT ON COLUMN customer_priority.rfm_breaks.bins IS
    'number of scores N (2..10); N is best';
COMMENT ON COLUMN customer_priority.rfm_breaks.customers IS
    'customers the quantile breaks were computed from; NULL for custom breaks';
COMMENT ON COLUMN customer_priority.rfm_breaks.recency IS
    'last-order timestamps: recency score = 1 + number of breaks strictly before last_order';
COMMENT ON COLUMN customer_priority.rfm_breaks.frequency IS
    'purchase counts: frequency score = 1 + number of breaks below frequency';
COMMENT ON COLUMN customer_priority.rfm_breaks.monetary IS
    'money amounts: monetary score = 1 + number of breaks below monetary';

CREATE FUNCTION customer_priority.rfm_breaks_transfn(internal, timestamptz, bigint, numeric, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_breaks_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_breaks_transfn(internal, timestamptz, bigint, numeric, integer) IS
    'transition function of rfm_breaks()';

CREATE FUNCTION customer_priority.rfm_breaks_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_breaks_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_breaks_combinefn(internal, internal) IS
    'combine function of rfm_breaks()';

CREATE FUNCTION customer_priority.rfm_breaks_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'rfm_breaks_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_breaks_serialfn(internal) IS
    'serial function of rfm_breaks()';

CREATE FUNCTION customer_priority.rfm_breaks_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_breaks_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_breaks_deserialfn(bytea, internal) IS
    'deserial function of rfm_breaks(), validated';

CREATE FUNCTION customer_priority.rfm_breaks_finalfn(internal)
RETURNS customer_priority.rfm_breaks
AS 'MODULE_PATHNAME', 'rfm_breaks_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_breaks_finalfn(internal) IS
    'final function of rfm_breaks(): exact percentile_disc(k/N) break points';

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

CREATE AGGREGATE customer_priority.rfm_breaks(last_order timestamptz, frequency bigint,
                                              monetary numeric, bins integer) (
    SFUNC = customer_priority.rfm_breaks_state_transfn,
    STYPE = customer_priority.aggregate_state,
    FINALFUNC = customer_priority.rfm_breaks_state_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.rfm_breaks_state_combinefn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.rfm_breaks(timestamptz, bigint, numeric, integer) IS
    'quantile break points b_k = percentile_disc(k/bins) of each metric over the customer population';

CREATE FUNCTION customer_priority.rfm_custom_breaks(as_of timestamptz, recency_days integer[],
                                                    frequency bigint[], monetary numeric[])
RETURNS customer_priority.rfm_breaks
AS 'MODULE_PATHNAME', 'rfm_custom_breaks'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_custom_breaks(timestamptz, integer[], bigint[], numeric[]) IS
    'user break points, each the inclusive upper bound of its bin; recency in days (lower is better) as of as_of';

-------------------------------------------------------------------------------
-- Scores
-------------------------------------------------------------------------------

CREATE TYPE customer_priority.rfm_scores AS (
    recency_score   integer,
    frequency_score integer,
    monetary_score  integer,
    bins            integer
);
COMMENT ON TYPE customer_priority.rfm_scores IS
    'RFM scores of one customer, each 1..bins, bins is best';
COMMENT ON COLUMN customer_priority.rfm_scores.recency_score IS 'recency score, 1..bins, bins = most recent';
COMMENT ON COLUMN customer_priority.rfm_scores.frequency_score IS 'frequency score, 1..bins, bins = most frequent';
COMMENT ON COLUMN customer_priority.rfm_scores.monetary_score IS 'monetary score, 1..bins, bins = highest net revenue';
COMMENT ON COLUMN customer_priority.rfm_scores.bins IS 'the number of scores N the breaks define';

CREATE FUNCTION customer_priority.rfm_score(last_order timestamptz, frequency bigint, monetary numeric,
                                            breaks customer_priority.rfm_breaks)
RETURNS customer_priority.rfm_scores
AS 'MODULE_PATHNAME', 'rfm_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_score(timestamptz, bigint, numeric, customer_priority.rfm_breaks) IS
    'RFM scores of one customer: score = 1 + number of breaks strictly below the value';

CREATE FUNCTION customer_priority.bin_score(value anycompatible, breaks anycompatiblearray,
                                            higher_is_better boolean DEFAULT true)
RETURNS integer
AS 'MODULE_PATHNAME', 'bin_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.bin_score(anycompatible, anycompatiblearray, boolean) IS
    'score of one value against ascending inclusive upper bounds: 1 + breaks below it, or reversed when lower is better';
