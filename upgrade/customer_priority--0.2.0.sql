-- customer_priority: prioritise, profile and type customers inside PostgreSQL.
-- This file is the head of the generated install script; one file per concept follows
-- (see SQL_SOURCES in the Makefile).

\echo Use "CREATE EXTENSION customer_priority" to load this file. \quit

COMMENT ON SCHEMA customer_priority IS
    'customer_priority extension: RFM scores and segments, ABC classes, customer typology';

-- CREATE EXTENSION creates the schema without privileges for other roles;
-- every role may use the functions and types (the maps carry their own grants).
GRANT USAGE ON SCHEMA customer_priority TO PUBLIC;
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

CREATE AGGREGATE customer_priority.rfm_breaks(last_order timestamptz, frequency bigint,
                                              monetary numeric, bins integer) (
    SFUNC = customer_priority.rfm_breaks_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.rfm_breaks_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.rfm_breaks_combinefn,
    SERIALFUNC = customer_priority.rfm_breaks_serialfn,
    DESERIALFUNC = customer_priority.rfm_breaks_deserialfn,
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
-- Named RFM segments: maps from (R, F, M) scores to segment names, kept in two tables so
-- users can add their own maps.  C code: src/segment.c.

CREATE TABLE customer_priority.rfm_segment_maps (
    map         text PRIMARY KEY,
    scale       integer NOT NULL CHECK (scale BETWEEN 2 AND 10),
    fallback    text,
    description text
);
COMMENT ON TABLE customer_priority.rfm_segment_maps IS
    'RFM segment maps by name; add rows (and rules) to define your own';
COMMENT ON COLUMN customer_priority.rfm_segment_maps.map IS 'name of the map, passed to rfm_segment()';
COMMENT ON COLUMN customer_priority.rfm_segment_maps.scale IS
    'score scale the rules are written for; scores on another scale are mapped onto it';
COMMENT ON COLUMN customer_priority.rfm_segment_maps.fallback IS
    'segment of customers that no rule matches (NULL: no segment)';
COMMENT ON COLUMN customer_priority.rfm_segment_maps.description IS 'where the map comes from';

CREATE TABLE customer_priority.rfm_segment_rules (
    map      text NOT NULL REFERENCES customer_priority.rfm_segment_maps
                 ON UPDATE CASCADE ON DELETE CASCADE,
    priority integer NOT NULL,
    segment  text NOT NULL,
    r_min    integer NOT NULL DEFAULT 1,
    r_max    integer NOT NULL DEFAULT 10,
    f_min    integer NOT NULL DEFAULT 1,
    f_max    integer NOT NULL DEFAULT 10,
    m_min    integer NOT NULL DEFAULT 1,
    m_max    integer NOT NULL DEFAULT 10,
    fm_min   integer NOT NULL DEFAULT 1,
    fm_max   integer NOT NULL DEFAULT 10,
    PRIMARY KEY (map, priority),
    CHECK (r_min BETWEEN 1 AND 10 AND r_max BETWEEN 1 AND 10 AND r_min <= r_max),
    CHECK (f_min BETWEEN 1 AND 10 AND f_max BETWEEN 1 AND 10 AND f_min <= f_max),
    CHECK (m_min BETWEEN 1 AND 10 AND m_max BETWEEN 1 AND 10 AND m_min <= m_max),
    CHECK (fm_min BETWEEN 1 AND 10 AND fm_max BETWEEN 1 AND 10 AND fm_min <= fm_max)
);
COMMENT ON TABLE customer_priority.rfm_segment_rules IS
    'rules of the RFM segment maps: inclusive score ranges; the matching rule with the lowest priority wins';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.map IS 'the map the rule belongs to';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.priority IS 'rule order: lower is tried first';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.segment IS 'segment name given when the rule matches';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.r_min IS 'lowest recency score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.r_max IS 'highest recency score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.f_min IS 'lowest frequency score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.f_max IS 'highest frequency score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.m_min IS 'lowest monetary score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.m_max IS 'highest monetary score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.fm_min IS
    'lowest FM score matched; FM = (F + M) / 2 rounded half up';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.fm_max IS 'highest FM score matched';

INSERT INTO customer_priority.rfm_segment_maps (map, scale, fallback, description) VALUES
    ('standard', 5, NULL,
     'the widely copied 11-segment map on the recency score R and FM = round half up((F + M) / 2)'),
    ('rfm_package', 5, 'Others',
     'the range rules of the R package rfm: first matching rule wins, unmatched customers are Others');

-- The standard map: every (R, FM) cell of the 5 x 5 grid is covered exactly once.
INSERT INTO customer_priority.rfm_segment_rules (map, priority, segment, r_min, r_max, fm_min, fm_max) VALUES
    ('standard',  1, 'Champions',          5, 5, 4, 5),
    ('standard',  2, 'Champions',          4, 4, 5, 5),
    ('standard',  3, 'Loyal Customers',    5, 5, 3, 3),
    ('standard',  4, 'Loyal Customers',    4, 4, 4, 4),
    ('standard',  5, 'Loyal Customers',    3, 3, 4, 5),
    ('standard',  6, 'Potential Loyalist', 5, 5, 2, 2),
    ('standard',  7, 'Potential Loyalist', 4, 4, 2, 3),
    ('standard',  8, 'Potential Loyalist', 3, 3, 3, 3),
    ('standard',  9, 'New Customers',      5, 5, 1, 1),
    ('standard', 10, 'Promising',          3, 4, 1, 1),
    ('standard', 11, 'Need Attention',     3, 3, 2, 2),
    ('standard', 12, 'Need Attention',     2, 2, 2, 3),
    ('standard', 13, 'About To Sleep',     2, 2, 1, 1),
    ('standard', 14, 'At Risk',            2, 2, 4, 5),
    ('standard', 15, 'At Risk',            1, 1, 3, 3),
    ('standard', 16, 'Can''t Lose Them',   1, 1, 4, 5),
    ('standard', 17, 'Hibernating',        1, 1, 2, 2),
    ('standard', 18, 'Lost',               1, 1, 1, 1);

-- The R package rfm (rfm_segment() defaults), in its order.
INSERT INTO customer_priority.rfm_segment_rules
    (map, priority, segment, r_min, r_max, f_min, f_max, m_min, m_max) VALUES
    ('rfm_package',  1, 'Champions',          5, 5, 5, 5, 5, 5),
    ('rfm_package',  2, 'Potential Loyalist', 3, 5, 3, 5, 2, 5),
    ('rfm_package',  3, 'Loyal Customers',    2, 4, 2, 4, 2, 4),
    ('rfm_package',  4, 'Promising',          3, 4, 1, 3, 3, 5),
    ('rfm_package',  5, 'New Customers',      4, 5, 1, 3, 1, 5),
    ('rfm_package',  6, 'Can''t Lose Them',   1, 2, 3, 4, 4, 5),
    ('rfm_package',  7, 'At Risk',            1, 2, 2, 5, 4, 5),
    ('rfm_package',  8, 'Need Attention',     1, 3, 3, 5, 3, 5),
    ('rfm_package',  9, 'About To Sleep',     2, 3, 1, 3, 1, 4),
    ('rfm_package', 10, 'Lost',               1, 1, 1, 5, 1, 5);

-- pg_dump keeps the maps users add, not the shipped ones (CREATE EXTENSION makes those).
SELECT pg_catalog.pg_extension_config_dump('customer_priority.rfm_segment_maps',
                                           $$WHERE map NOT IN ('standard', 'rfm_package')$$);
SELECT pg_catalog.pg_extension_config_dump('customer_priority.rfm_segment_rules',
                                           $$WHERE map NOT IN ('standard', 'rfm_package')$$);

-- Everyone may read the maps; the role that created the extension may add its own maps
-- and pass that right on.  Shipped maps are protected by a trigger.
GRANT SELECT ON customer_priority.rfm_segment_maps, customer_priority.rfm_segment_rules TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON customer_priority.rfm_segment_maps, customer_priority.rfm_segment_rules
    TO @extowner@ WITH GRANT OPTION;

CREATE FUNCTION customer_priority.rfm_segment_protect_builtin()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND OLD.map IN ('standard', 'rfm_package'))
       OR (TG_OP <> 'DELETE' AND NEW.map IN ('standard', 'rfm_package')) THEN
        RAISE EXCEPTION 'RFM segment map "%" is built in and cannot be changed',
                        CASE WHEN TG_OP = 'INSERT' THEN NEW.map ELSE OLD.map END
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Copy it under a new name and change the copy.';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION customer_priority.rfm_segment_protect_builtin() IS
    'trigger function: the shipped segment maps standard and rfm_package are read-only';

CREATE TRIGGER protect_builtin BEFORE INSERT OR UPDATE OR DELETE
    ON customer_priority.rfm_segment_maps
    FOR EACH ROW EXECUTE FUNCTION customer_priority.rfm_segment_protect_builtin();
CREATE TRIGGER protect_builtin BEFORE INSERT OR UPDATE OR DELETE
    ON customer_priority.rfm_segment_rules
    FOR EACH ROW EXECUTE FUNCTION customer_priority.rfm_segment_protect_builtin();

CREATE FUNCTION customer_priority.rfm_segment(recency_score integer, frequency_score integer,
                                              monetary_score integer, bins integer DEFAULT 5,
                                              map text DEFAULT 'standard')
RETURNS text
AS 'MODULE_PATHNAME', 'rfm_segment'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_segment(integer, integer, integer, integer, text) IS
    'segment name of RFM scores 1..bins under a named map (default: standard)';

CREATE FUNCTION customer_priority.rfm_segment(scores customer_priority.rfm_scores,
                                              map text DEFAULT 'standard')
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT customer_priority.rfm_segment(($1).recency_score, ($1).frequency_score,
                                         ($1).monetary_score, ($1).bins, $2)
$$;
COMMENT ON FUNCTION customer_priority.rfm_segment(customer_priority.rfm_scores, text) IS
    'segment name of an rfm_scores value under a named map (default: standard)';

CREATE FUNCTION customer_priority.rfm_rescale_score(score integer, bins integer, scale integer)
RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_rescale_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_rescale_score(integer, integer, integer) IS
    'maps a score 1..bins onto 1..scale: round half up(1 + (score - 1) * (scale - 1) / (bins - 1))';
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

CREATE AGGREGATE customer_priority.abc_cutoffs(value numeric) (
    SFUNC = customer_priority.abc_cutoffs_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.abc_cutoffs_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_combinefn,
    SERIALFUNC = customer_priority.abc_cutoffs_serialfn,
    DESERIALFUNC = customer_priority.abc_cutoffs_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.abc_cutoffs(numeric) IS
    'Pareto ABC cut-offs of a value (revenue) with A = 80 %, B = 95 %';

CREATE AGGREGATE customer_priority.abc_cutoffs(value numeric, a numeric, b numeric) (
    SFUNC = customer_priority.abc_cutoffs_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.abc_cutoffs_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_combinefn,
    SERIALFUNC = customer_priority.abc_cutoffs_serialfn,
    DESERIALFUNC = customer_priority.abc_cutoffs_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.abc_cutoffs(numeric, numeric, numeric) IS
    'Pareto ABC cut-offs of a value (revenue) with thresholds 0 < a < b <= 1';

CREATE AGGREGATE customer_priority.abc_cutoffs(value numeric, a numeric, b numeric, method text) (
    SFUNC = customer_priority.abc_cutoffs_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.abc_cutoffs_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.abc_cutoffs_combinefn,
    SERIALFUNC = customer_priority.abc_cutoffs_serialfn,
    DESERIALFUNC = customer_priority.abc_cutoffs_deserialfn,
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

CREATE AGGREGATE customer_priority.score_population(
    customer_id bigint, ordered_at timestamptz, amount numeric, as_of timestamptz,
    bins integer, abc_a numeric, abc_b numeric) (
    SFUNC = customer_priority.score_population_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.score_population_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.score_population_combinefn,
    SERIALFUNC = customer_priority.score_population_serialfn,
    DESERIALFUNC = customer_priority.score_population_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.score_population(bigint, timestamptz, numeric, timestamptz, integer, numeric, numeric) IS
    'every customer''s RFM scores and ABC class from all order rows in one pass (one row per order); decode with population_scores()';

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
-- XYZ: regularity of buying from the variability of revenue per period.
-- C code: src/xyz.c.

CREATE TYPE customer_priority.xyz_metrics AS (
    periods        integer,
    active_periods integer,
    mean_revenue   float8,
    cv             float8
);
COMMENT ON TYPE customer_priority.xyz_metrics IS
    'variability of a customer''s revenue per period, returned by the xyz() aggregate';
COMMENT ON COLUMN customer_priority.xyz_metrics.periods IS
    'periods from the one of the first purchase to the one of as_of, inclusive';
COMMENT ON COLUMN customer_priority.xyz_metrics.active_periods IS 'periods with a purchase';
COMMENT ON COLUMN customer_priority.xyz_metrics.mean_revenue IS
    'net revenue per period over all periods of the span, empty ones included';
COMMENT ON COLUMN customer_priority.xyz_metrics.cv IS
    'coefficient of variation of revenue per period (population standard deviation / mean); NULL with fewer than 2 active periods or a mean <= 0';

CREATE FUNCTION customer_priority.xyz_transfn(internal, timestamptz, numeric, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'xyz_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_transfn(internal, timestamptz, numeric, timestamptz) IS
    'transition function of xyz(ordered_at, amount, as_of)';

-- STABLE: periods are calendar periods in the session's TimeZone.
CREATE FUNCTION customer_priority.xyz_transfn(internal, timestamptz, numeric, timestamptz, text)
RETURNS internal
AS 'MODULE_PATHNAME', 'xyz_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_transfn(internal, timestamptz, numeric, timestamptz, text) IS
    'transition function of xyz(ordered_at, amount, as_of, period)';

-- STABLE like the others, as it is one C function for all forms; with an
-- explicit time_zone the periods no longer depend on the session's TimeZone,
-- so only the forms without time_zone are STABLE in spirit.
CREATE FUNCTION customer_priority.xyz_transfn(internal, timestamptz, numeric, timestamptz, text, text)
RETURNS internal
AS 'MODULE_PATHNAME', 'xyz_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_transfn(internal, timestamptz, numeric, timestamptz, text, text) IS
    'transition function of xyz(ordered_at, amount, as_of, period, time_zone)';

CREATE FUNCTION customer_priority.xyz_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'xyz_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_combinefn(internal, internal) IS
    'combine function of xyz()';

CREATE FUNCTION customer_priority.xyz_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'xyz_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_serialfn(internal) IS
    'serial function of xyz()';

CREATE FUNCTION customer_priority.xyz_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'xyz_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_deserialfn(bytea, internal) IS
    'deserial function of xyz(), validated';

CREATE FUNCTION customer_priority.xyz_finalfn(internal)
RETURNS customer_priority.xyz_metrics
AS 'MODULE_PATHNAME', 'xyz_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_finalfn(internal) IS
    'final function of xyz(): mean and coefficient of variation over the span';

CREATE AGGREGATE customer_priority.xyz(ordered_at timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = customer_priority.xyz_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.xyz_finalfn,
    COMBINEFUNC = customer_priority.xyz_combinefn,
    SERIALFUNC = customer_priority.xyz_serialfn,
    DESERIALFUNC = customer_priority.xyz_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.xyz(timestamptz, numeric, timestamptz) IS
    'variability of one customer''s revenue per calendar month up to as_of';

CREATE AGGREGATE customer_priority.xyz(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                       period text) (
    SFUNC = customer_priority.xyz_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.xyz_finalfn,
    COMBINEFUNC = customer_priority.xyz_combinefn,
    SERIALFUNC = customer_priority.xyz_serialfn,
    DESERIALFUNC = customer_priority.xyz_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.xyz(timestamptz, numeric, timestamptz, text) IS
    'variability of one customer''s revenue per week, month or quarter up to as_of';

-- Periods on the calendar of time_zone, whatever the session's TimeZone: a
-- materialized view refreshed by sessions with different settings gives the
-- same result.
CREATE AGGREGATE customer_priority.xyz(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                       period text, time_zone text) (
    SFUNC = customer_priority.xyz_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.xyz_finalfn,
    COMBINEFUNC = customer_priority.xyz_combinefn,
    SERIALFUNC = customer_priority.xyz_serialfn,
    DESERIALFUNC = customer_priority.xyz_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.xyz(timestamptz, numeric, timestamptz, text, text) IS
    'variability of one customer''s revenue per week, month or quarter up to as_of, on the calendar of time_zone';

CREATE FUNCTION customer_priority.xyz_class(cv float8, x_max float8 DEFAULT 0.5, y_max float8 DEFAULT 1.0)
RETURNS text
AS 'MODULE_PATHNAME', 'xyz_class'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_class(float8, float8, float8) IS
    'X (cv <= x_max, regular), Y (cv <= y_max, fluctuating) or Z (sporadic; also a NULL cv)';
-- Behavioural profile: one pass over a customer's order rows describes how they buy
-- (revenue per year, rhythm and irregularity, weekend, discount and return shares,
-- basket size and variability).  C code: src/profile.c and src/profile_state.c.
-- Definitions: docs/typology.md.

CREATE TYPE customer_priority.customer_profile AS (
    as_of             timestamptz,
    time_zone         text,
    first_order       timestamptz,
    last_order        timestamptz,
    orders            bigint,
    purchase_days     integer,
    recency_days      integer,
    tenure_days       integer,
    gross             numeric,
    returned          numeric,
    net_revenue       numeric,
    revenue_per_year  numeric,
    average_basket    numeric,
    basket_cv         double precision,
    mean_gap_days     double precision,
    gap_cv            double precision,
    weekend_orders    bigint,
    weekend_share     double precision,
    discounted_orders bigint,
    discount_share    double precision,
    return_rate       double precision,
    repeat_spend      numeric
);
COMMENT ON TYPE customer_priority.customer_profile IS
    'behavioural profile of one customer as of a reference time, returned by the customer_profile() aggregate';
COMMENT ON COLUMN customer_priority.customer_profile.as_of IS
    'the reference time of the profile; rows after it are not counted';
COMMENT ON COLUMN customer_priority.customer_profile.time_zone IS
    'time zone whose calendar defines days and weekdays (the time_zone input, else the session TimeZone)';
COMMENT ON COLUMN customer_priority.customer_profile.first_order IS
    'first purchase (row with a positive amount) at or before as_of; NULL if none';
COMMENT ON COLUMN customer_priority.customer_profile.last_order IS
    'last purchase at or before as_of; NULL if none';
COMMENT ON COLUMN customer_priority.customer_profile.orders IS
    'number of orders: distinct order ids of purchase rows, plus purchase rows without order id';
COMMENT ON COLUMN customer_priority.customer_profile.purchase_days IS
    'distinct local days on which an order was placed (an order counts on the day of its earliest line)';
COMMENT ON COLUMN customer_priority.customer_profile.recency_days IS
    'calendar days from last_order to as_of in time_zone; NULL if no purchase';
COMMENT ON COLUMN customer_priority.customer_profile.tenure_days IS
    'calendar days from first_order to as_of in time_zone; NULL if no purchase';
COMMENT ON COLUMN customer_priority.customer_profile.gross IS
    'sum of positive amounts';
COMMENT ON COLUMN customer_priority.customer_profile.returned IS
    'refunds: minus the negative amounts, plus the returned_amount input';
COMMENT ON COLUMN customer_priority.customer_profile.net_revenue IS
    'gross minus returned, exact';
COMMENT ON COLUMN customer_priority.customer_profile.revenue_per_year IS
    'net revenue per customer-year: net_revenue * 365 / greatest(tenure_days, 365); NULL if no purchase';
COMMENT ON COLUMN customer_priority.customer_profile.average_basket IS
    'gross / orders: the mean order total at checkout, before returns; NULL if no purchase';
COMMENT ON COLUMN customer_priority.customer_profile.basket_cv IS
    'basket variability: population standard deviation of the order totals over their mean; NULL below 2 orders';
COMMENT ON COLUMN customer_priority.customer_profile.mean_gap_days IS
    'mean days between consecutive purchase days; NULL below 2 purchase days';
COMMENT ON COLUMN customer_priority.customer_profile.gap_cv IS
    'irregularity: coefficient of variation of the gaps between consecutive purchase days (0 = a steady rhythm, about 1 = random, above 1 = bursts); NULL below 3 purchase days';
COMMENT ON COLUMN customer_priority.customer_profile.weekend_orders IS
    'orders placed on a local Saturday or Sunday; NULL if no purchase';
COMMENT ON COLUMN customer_priority.customer_profile.weekend_share IS
    'weekend_orders / orders; NULL if no purchase';
COMMENT ON COLUMN customer_priority.customer_profile.discounted_orders IS
    'orders with a line whose discount is > 0; NULL without discount data or purchase';
COMMENT ON COLUMN customer_priority.customer_profile.discount_share IS
    'discounted_orders / orders; NULL without discount data or purchase';
COMMENT ON COLUMN customer_priority.customer_profile.return_rate IS
    'returned / gross; NULL if no purchase';
COMMENT ON COLUMN customer_priority.customer_profile.repeat_spend IS
    'mean spend of the repeat purchase days: (gross - gross of the first purchase day) / (purchase_days - 1), refunds not subtracted; NULL below 2 purchase days. The spend input of the Gamma-Gamma model';

-- STABLE: without a time_zone argument, days and weekdays follow the session's TimeZone.
CREATE FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'profile_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz) IS
    'transition function of customer_profile(ordered_at, amount, as_of)';

CREATE FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement)
RETURNS internal
AS 'MODULE_PATHNAME', 'profile_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement) IS
    'transition function of customer_profile(ordered_at, amount, as_of, order_id)';

CREATE FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'profile_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric) IS
    'transition function of customer_profile(ordered_at, amount, as_of, order_id, returned_amount)';

CREATE FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'profile_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric, numeric) IS
    'transition function of customer_profile(ordered_at, amount, as_of, order_id, returned_amount, discount)';

CREATE FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric, numeric, text)
RETURNS internal
AS 'MODULE_PATHNAME', 'profile_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric, numeric, text) IS
    'transition function of customer_profile(ordered_at, amount, as_of, order_id, returned_amount, discount, time_zone)';

CREATE FUNCTION customer_priority.customer_profile_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'profile_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_combinefn(internal, internal) IS
    'combine function of customer_profile(): merges two partial per-customer states';

CREATE FUNCTION customer_priority.customer_profile_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'profile_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_serialfn(internal) IS
    'serial function of customer_profile(): per-customer state to bytea';

CREATE FUNCTION customer_priority.customer_profile_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'profile_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_deserialfn(bytea, internal) IS
    'deserial function of customer_profile(): bytea to per-customer state, validated';

CREATE FUNCTION customer_priority.customer_profile_finalfn(internal)
RETURNS customer_priority.customer_profile
AS 'MODULE_PATHNAME', 'profile_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_finalfn(internal) IS
    'final function of customer_profile(): per-customer state to customer_profile';

CREATE AGGREGATE customer_priority.customer_profile(ordered_at timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = customer_priority.customer_profile_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.customer_profile_finalfn,
    COMBINEFUNC = customer_priority.customer_profile_combinefn,
    SERIALFUNC = customer_priority.customer_profile_serialfn,
    DESERIALFUNC = customer_priority.customer_profile_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.customer_profile(timestamptz, numeric, timestamptz) IS
    'behavioural profile of one customer from one row per order';

CREATE AGGREGATE customer_priority.customer_profile(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                                    order_id anyelement) (
    SFUNC = customer_priority.customer_profile_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.customer_profile_finalfn,
    COMBINEFUNC = customer_priority.customer_profile_combinefn,
    SERIALFUNC = customer_priority.customer_profile_serialfn,
    DESERIALFUNC = customer_priority.customer_profile_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.customer_profile(timestamptz, numeric, timestamptz, anyelement) IS
    'behavioural profile of one customer from order lines grouped into orders by order id';

CREATE AGGREGATE customer_priority.customer_profile(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                                    order_id anyelement, returned_amount numeric) (
    SFUNC = customer_priority.customer_profile_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.customer_profile_finalfn,
    COMBINEFUNC = customer_priority.customer_profile_combinefn,
    SERIALFUNC = customer_priority.customer_profile_serialfn,
    DESERIALFUNC = customer_priority.customer_profile_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.customer_profile(timestamptz, numeric, timestamptz, anyelement, numeric) IS
    'behavioural profile of one customer from order lines with a refunded amount per line';

CREATE AGGREGATE customer_priority.customer_profile(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                                    order_id anyelement, returned_amount numeric,
                                                    discount numeric) (
    SFUNC = customer_priority.customer_profile_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.customer_profile_finalfn,
    COMBINEFUNC = customer_priority.customer_profile_combinefn,
    SERIALFUNC = customer_priority.customer_profile_serialfn,
    DESERIALFUNC = customer_priority.customer_profile_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.customer_profile(timestamptz, numeric, timestamptz, anyelement, numeric, numeric) IS
    'behavioural profile of one customer from order lines with refunds and discounts';

CREATE AGGREGATE customer_priority.customer_profile(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                                    order_id anyelement, returned_amount numeric,
                                                    discount numeric, time_zone text) (
    SFUNC = customer_priority.customer_profile_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.customer_profile_finalfn,
    COMBINEFUNC = customer_priority.customer_profile_combinefn,
    SERIALFUNC = customer_priority.customer_profile_serialfn,
    DESERIALFUNC = customer_priority.customer_profile_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.customer_profile(timestamptz, numeric, timestamptz, anyelement, numeric, numeric, text) IS
    'behavioural profile of one customer from order lines with refunds, discounts and the time zone of the shop''s calendar';
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
-- Typology: the five premium-customer types, the difficult segments and the lifecycle
-- stage of each customer, from their behavioural profile and a model of the population.
-- C code: src/typology_model.c (population), src/typology.c (labels),
-- src/typology_options.c (options).  Rules and defaults: docs/typology.md.

CREATE TYPE customer_priority.typology_model AS (
    customers                      bigint,
    royal_min_revenue_per_year     double precision,
    mean_revenue_per_year          numeric,
    median_gap_cv                  double precision,
    service_customers              bigint,
    service_demander_min_intensity double precision,
    options                        jsonb
);
COMMENT ON TYPE customer_priority.typology_model IS
    'population statistics the typology rules compare customers with, returned by the typology_model() aggregate';
COMMENT ON COLUMN customer_priority.typology_model.customers IS
    'customers with a (non-NULL) profile';
COMMENT ON COLUMN customer_priority.typology_model.royal_min_revenue_per_year IS
    'smallest revenue_per_year of the top royal_top_share of customers, ties at the boundary left out; NULL when no customer qualifies';
COMMENT ON COLUMN customer_priority.typology_model.mean_revenue_per_year IS
    'mean revenue_per_year of the customers with a purchase';
COMMENT ON COLUMN customer_priority.typology_model.median_gap_cv IS
    'lower median of the defined irregularities (gap_cv); customers above it buy irregularly';
COMMENT ON COLUMN customer_priority.typology_model.service_customers IS
    'customers with service data (non-NULL service_contacts)';
COMMENT ON COLUMN customer_priority.typology_model.service_demander_min_intensity IS
    'smallest service intensity (contacts per unit of net revenue) of the top service_demander_top_share; NULL when none qualifies';
COMMENT ON COLUMN customer_priority.typology_model.options IS
    'every typology option the model was built with, defaults included';

CREATE FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile) IS
    'transition function of typology_model(profile)';

CREATE FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile, numeric) IS
    'transition function of typology_model(profile, service_contacts)';

CREATE FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile, numeric, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile, numeric, jsonb) IS
    'transition function of typology_model(profile, service_contacts, options)';

CREATE FUNCTION customer_priority.typology_model_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_combinefn(internal, internal) IS
    'combine function of typology_model()';

CREATE FUNCTION customer_priority.typology_model_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'typology_model_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_serialfn(internal) IS
    'serial function of typology_model()';

CREATE FUNCTION customer_priority.typology_model_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_deserialfn(bytea, internal) IS
    'deserial function of typology_model(), validated';

CREATE FUNCTION customer_priority.typology_model_finalfn(internal)
RETURNS customer_priority.typology_model
AS 'MODULE_PATHNAME', 'typology_model_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_finalfn(internal) IS
    'final function of typology_model(): sorts the ranked values and reads off the thresholds';

CREATE AGGREGATE customer_priority.typology_model(profile customer_priority.customer_profile) (
    SFUNC = customer_priority.typology_model_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.typology_model_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.typology_model_combinefn,
    SERIALFUNC = customer_priority.typology_model_serialfn,
    DESERIALFUNC = customer_priority.typology_model_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.typology_model(customer_priority.customer_profile) IS
    'typology model of a customer population with the default options and no service data';

CREATE AGGREGATE customer_priority.typology_model(profile customer_priority.customer_profile,
                                                  service_contacts numeric) (
    SFUNC = customer_priority.typology_model_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.typology_model_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.typology_model_combinefn,
    SERIALFUNC = customer_priority.typology_model_serialfn,
    DESERIALFUNC = customer_priority.typology_model_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.typology_model(customer_priority.customer_profile, numeric) IS
    'typology model of a customer population with service contacts (or service cost) per customer';

CREATE AGGREGATE customer_priority.typology_model(profile customer_priority.customer_profile,
                                                  service_contacts numeric, options jsonb) (
    SFUNC = customer_priority.typology_model_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.typology_model_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.typology_model_combinefn,
    SERIALFUNC = customer_priority.typology_model_serialfn,
    DESERIALFUNC = customer_priority.typology_model_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.typology_model(customer_priority.customer_profile, numeric, jsonb) IS
    'typology model of a customer population with service data and options (thresholds of the rules)';

CREATE TYPE customer_priority.customer_typology AS (
    labels          text[],
    primary_type    text,
    lifecycle_stage text
);
COMMENT ON TYPE customer_priority.customer_typology IS
    'typology of one customer, returned by customer_typology()';
COMMENT ON COLUMN customer_priority.customer_typology.labels IS
    'every label that applies, in priority order (see customer_type_actions.priority); always ends with the lifecycle stage';
COMMENT ON COLUMN customer_priority.customer_typology.primary_type IS
    'the first label: the premium type or difficult segment of highest priority, else the lifecycle stage';
COMMENT ON COLUMN customer_priority.customer_typology.lifecycle_stage IS
    'exactly one of new, regular, occasional, at_risk, dormant';

CREATE FUNCTION customer_priority.customer_typology(
    profile customer_priority.customer_profile,
    model customer_priority.typology_model,
    referrals bigint DEFAULT NULL,
    social_reach bigint DEFAULT NULL,
    service_contacts numeric DEFAULT NULL)
RETURNS customer_priority.customer_typology
AS 'MODULE_PATHNAME', 'customer_typology'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_typology(customer_priority.customer_profile, customer_priority.typology_model, bigint, bigint, numeric) IS
    'labels, primary type and lifecycle stage of one customer; NULL referrals, social_reach or service_contacts mean "no data": those labels are not assigned';

-- With the customer's BG/NBD probability of being alive (segmentations with the option
-- potential): a contender must reach contender_min_p_alive.  An overload, not a sixth
-- defaulted parameter, so that views on the five-argument function survive an upgrade;
-- every argument is given (NULL p_alive: the rule without a model).
CREATE FUNCTION customer_priority.customer_typology(
    profile customer_priority.customer_profile,
    model customer_priority.typology_model,
    referrals bigint,
    social_reach bigint,
    service_contacts numeric,
    p_alive double precision)
RETURNS customer_priority.customer_typology
AS 'MODULE_PATHNAME', 'customer_typology'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_typology(customer_priority.customer_profile, customer_priority.typology_model, bigint, bigint, numeric, double precision) IS
    'customer_typology() with the customer''s BG/NBD probability of being alive: a contender needs p_alive >= contender_min_p_alive; NULL p_alive: no such condition';

CREATE VIEW customer_priority.customer_type_actions AS
SELECT *
FROM (VALUES
    (1, 'royal', 'premium', 'Royals',
     'The elite: the highest revenue per customer-year, still active. Kept deliberately small.',
     'Individual offers, excellent service, exclusive invitations, free or express delivery.'),
    (2, 'influencer', 'premium', 'Influencers',
     'Advocates with a strong social-media reach.',
     'Involve them: previews, partnerships, content they can share; reward their reach.'),
    (3, 'advocate', 'premium', 'Advocates',
     'Recommend the brand unprompted (referrals).',
     'Cheap to keep with small perks: thank-you gifts, referral rewards; court the customers they bring.'),
    (4, 'contender', 'premium', 'Contenders',
     'Above-average revenue per customer-year, but buying irregularly.',
     'Court them with the perks the Royals get, to make their buying regular.'),
    (5, 'addict', 'premium', 'Addicts',
     'Love the products; buy irregularly and impulsively, concentrated on weekends.',
     'Turn them into regulars with price and brand image; time campaigns for the weekend.'),
    (6, 'service_demander', 'difficult', 'Service demanders',
     'Service effort out of proportion to their revenue.',
     'Offer self-service and chatbots; route them to service desks.'),
    (7, 'revenue_reverser', 'difficult', 'Revenue reversers',
     'A high return rate undoes the revenue they book.',
     'Predict returns; present offers that fit better (sizes, descriptions).'),
    (8, 'promotion_maximizer', 'difficult', 'Promotion maximizers',
     'Bargain hunters who buy almost only with discounts or coupons.',
     'Never discount below profit; newsletters with individual offers, memberships.'),
    (9, 'spending_limiter', 'difficult', 'Spending limiters',
     'A steady, planned budget: steady baskets at a steady rhythm.',
     'Do not cross-sell; use event-triggered marketing (e.g. an abandoned basket) instead of add-on offers.'),
    (10, 'new', 'lifecycle', 'New customers',
     'First order within the last new_max_days days.',
     'Welcome series; make the second purchase easy.'),
    (11, 'regular', 'lifecycle', 'Regular customers',
     'At least regular_min_orders orders and still buying at their usual rhythm.',
     'Keep them: loyalty programme, personalised recommendations.'),
    (12, 'occasional', 'lifecycle', 'Occasional buyers',
     'Still active, but not (yet) regular.',
     'Worth converting into regulars, e.g. with a discount code for the next order.'),
    (13, 'at_risk', 'lifecycle', 'At risk',
     'No order for longer than their usual rhythm allows, but within dormant_days.',
     'Win them back before they drift to a competitor: reactivation offer, ask for feedback.'),
    (14, 'dormant', 'lifecycle', 'Dormant',
     'No order for more than dormant_days days (or never a purchase).',
     'Low-cost reactivation campaign; otherwise stop spending on them.')
) AS actions(priority, label, kind, name, description, recommended_action);
COMMENT ON VIEW customer_priority.customer_type_actions IS
    'every typology label with its priority, kind, description and recommended action';
COMMENT ON COLUMN customer_priority.customer_type_actions.priority IS
    'order of the labels in customer_typology.labels; primary_type is the label of lowest priority number';
COMMENT ON COLUMN customer_priority.customer_type_actions.label IS
    'the label as customer_typology returns it';
COMMENT ON COLUMN customer_priority.customer_type_actions.kind IS
    'premium (the five premium types), difficult (difficult segments) or lifecycle (stage)';
COMMENT ON COLUMN customer_priority.customer_type_actions.name IS 'display name';
COMMENT ON COLUMN customer_priority.customer_type_actions.description IS 'who the label describes';
COMMENT ON COLUMN customer_priority.customer_type_actions.recommended_action IS
    'what a retailer does with these customers';
GRANT SELECT ON customer_priority.customer_type_actions TO PUBLIC;
-- Scaling out over foreign partitions (docs/scale-out.md).
--
-- postgres_fdw ships an aggregate call to the server holding a partition only if
-- every collatable input of the call comes from a column of that partition: a text
-- constant such as the time zone 'Europe/Berlin' or the period 'month' has no such
-- origin, so customer_profile(..., time_zone text) and xyz(..., period text,
-- time_zone text) are always computed on the coordinator, from every order row
-- fetched over the network.  calendar_name is text without a collation (same bytes,
-- same input and output), and the forms of customer_profile() and xyz() below take
-- it instead of text: the same C functions, the same results, and postgres_fdw
-- ships them.  create_segmentation() uses these forms.

CREATE TYPE customer_priority.calendar_name;

CREATE FUNCTION customer_priority.calendar_name_in(cstring)
RETURNS customer_priority.calendar_name
AS 'textin'
LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.calendar_name_in(cstring) IS
    'input function of calendar_name (that of text)';

CREATE FUNCTION customer_priority.calendar_name_out(customer_priority.calendar_name)
RETURNS cstring
AS 'textout'
LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.calendar_name_out(customer_priority.calendar_name) IS
    'output function of calendar_name (that of text)';

CREATE FUNCTION customer_priority.calendar_name_recv(internal)
RETURNS customer_priority.calendar_name
AS 'textrecv'
LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.calendar_name_recv(internal) IS
    'binary input function of calendar_name (that of text)';

CREATE FUNCTION customer_priority.calendar_name_send(customer_priority.calendar_name)
RETURNS bytea
AS 'textsend'
LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.calendar_name_send(customer_priority.calendar_name) IS
    'binary output function of calendar_name (that of text)';

CREATE TYPE customer_priority.calendar_name (
    INPUT = customer_priority.calendar_name_in,
    OUTPUT = customer_priority.calendar_name_out,
    RECEIVE = customer_priority.calendar_name_recv,
    SEND = customer_priority.calendar_name_send,
    LIKE = text,
    COLLATABLE = false
);
COMMENT ON TYPE customer_priority.calendar_name IS
    'a time zone or period name: text without a collation, so that postgres_fdw ships the aggregates taking it to the shards';

CREATE FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement,
                                                           numeric, numeric, customer_priority.calendar_name)
RETURNS internal
AS 'MODULE_PATHNAME', 'profile_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_profile_transfn(internal, timestamptz, numeric, timestamptz, anyelement, numeric, numeric, customer_priority.calendar_name) IS
    'transition function of customer_profile(ordered_at, amount, as_of, order_id, returned_amount, discount, time_zone calendar_name)';

CREATE AGGREGATE customer_priority.customer_profile(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                                    order_id anyelement, returned_amount numeric, discount numeric,
                                                    time_zone customer_priority.calendar_name) (
    SFUNC = customer_priority.customer_profile_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.customer_profile_finalfn,
    COMBINEFUNC = customer_priority.customer_profile_combinefn,
    SERIALFUNC = customer_priority.customer_profile_serialfn,
    DESERIALFUNC = customer_priority.customer_profile_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.customer_profile(timestamptz, numeric, timestamptz, anyelement, numeric, numeric, customer_priority.calendar_name) IS
    'customer_profile() with the time zone as a calendar_name: the same result, and postgres_fdw can ship it to a shard';

CREATE FUNCTION customer_priority.xyz_transfn(internal, timestamptz, numeric, timestamptz,
                                              customer_priority.calendar_name, customer_priority.calendar_name)
RETURNS internal
AS 'MODULE_PATHNAME', 'xyz_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.xyz_transfn(internal, timestamptz, numeric, timestamptz, customer_priority.calendar_name, customer_priority.calendar_name) IS
    'transition function of xyz(ordered_at, amount, as_of, period calendar_name, time_zone calendar_name)';

CREATE AGGREGATE customer_priority.xyz(ordered_at timestamptz, amount numeric, as_of timestamptz,
                                       period customer_priority.calendar_name,
                                       time_zone customer_priority.calendar_name) (
    SFUNC = customer_priority.xyz_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.xyz_finalfn,
    COMBINEFUNC = customer_priority.xyz_combinefn,
    SERIALFUNC = customer_priority.xyz_serialfn,
    DESERIALFUNC = customer_priority.xyz_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.xyz(timestamptz, numeric, timestamptz, customer_priority.calendar_name, customer_priority.calendar_name) IS
    'xyz() with period and time zone as calendar_name: the same result, and postgres_fdw can ship it to a shard';

-- "local_time AT TIME ZONE time_zone" (the C function of timezone(text, timestamp)) with
-- the zone as a calendar_name: create_segmentation() reads a timestamp or date column
-- with it, and postgres_fdw can ship it.
CREATE FUNCTION customer_priority.at_time_zone(time_zone customer_priority.calendar_name, local_time timestamp)
RETURNS timestamptz
AS 'timestamp_zone'
LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.at_time_zone(customer_priority.calendar_name, timestamp) IS
    'local_time AT TIME ZONE time_zone, with the zone as a calendar_name: the same result, and postgres_fdw can ship it';

-- Before a segmentation reads foreign partitions: every postgres_fdw server among
-- them must have this extension, in this version, and list it in its "extensions"
-- option (else nothing of it is shipped and every order row crosses the network).
-- The remote pg_extension is read through a temporary foreign table; a server that
-- is down fails here, with postgres_fdw's error naming it.
CREATE FUNCTION customer_priority.check_foreign_partitions(orders regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    local_version text;
    remote_version text;
    srv record;
    probe text;
BEGIN
    SELECT e.extversion INTO local_version FROM pg_extension e WHERE e.extname = 'customer_priority';
    FOR srv IN
        SELECT DISTINCT s.oid, s.srvname, s.srvoptions
        FROM pg_partition_tree(orders) t
        JOIN pg_foreign_table ft ON ft.ftrelid = t.relid
        JOIN pg_foreign_server s ON s.oid = ft.ftserver
        JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
        WHERE w.fdwname = 'postgres_fdw'
        ORDER BY s.srvname
    LOOP
        IF NOT has_server_privilege(srv.oid, 'USAGE') THEN
            RAISE WARNING 'the version of customer_priority on foreign server "%" is not checked', srv.srvname
                USING DETAIL = 'The current role has no USAGE privilege on the server.';
            CONTINUE;
        END IF;
        IF NOT EXISTS (SELECT FROM unnest(srv.srvoptions) o
                       WHERE o LIKE 'extensions=%'
                         AND 'customer_priority' = ANY (string_to_array(replace(substr(o, 12), ' ', ''), ','))) THEN
            RAISE WARNING 'foreign server "%" does not list customer_priority in its "extensions" option', srv.srvname
                USING DETAIL = 'Nothing of the extension is computed on that server: every order row of its partitions is fetched.',
                      HINT = format('ALTER SERVER %I OPTIONS (ADD extensions ''customer_priority'').', srv.srvname);
        END IF;
        probe := 'customer_priority_probe_' || srv.oid;
        EXECUTE format('CREATE FOREIGN TABLE pg_temp.%I (extname name, extversion text) SERVER %I '
                       'OPTIONS (schema_name ''pg_catalog'', table_name ''pg_extension'')', probe, srv.srvname);
        -- an error (server down) aborts the transaction, which drops the probe too
        EXECUTE format('SELECT max(extversion) FROM pg_temp.%I WHERE extname = %L', probe, 'customer_priority')
            INTO remote_version;
        EXECUTE format('DROP FOREIGN TABLE pg_temp.%I', probe);
        IF remote_version IS NULL THEN
            RAISE EXCEPTION 'customer_priority is not installed on foreign server "%"', srv.srvname
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('%s has partitions on that server.', orders),
                      HINT = 'Run CREATE EXTENSION customer_priority on the server''s database.';
        ELSIF remote_version IS DISTINCT FROM local_version THEN
            RAISE EXCEPTION 'customer_priority on foreign server "%" is version %, not %',
                            srv.srvname, remote_version, local_version
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('%s has partitions on that server; every node must run the same version.', orders),
                      HINT = 'Run ALTER EXTENSION customer_priority UPDATE on every node.';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_priority.check_foreign_partitions(regclass) IS
    'errors unless every postgres_fdw server holding a partition of orders runs this version of customer_priority';
-- Segmentations: one call turns an orders relation into four views that BI tools query
-- (<name>_customers, _membership, _segments, _profiles); refresh_segmentation recomputes
-- them in one transaction without blocking readers.  Definitions live in the
-- configuration table customer_priority.segmentations.  Docs: docs/segmentation.md.
--
-- Storage: _customers, _segments and _profiles each read one of two ordinary tables,
-- <name>_customers_a / _b etc. (the "generations"); the column generation of the
-- definition says which is live.  A refresh fills the other generation and flips the
-- column in one transaction: readers (plain SELECTs on the views) never take a lock a
-- concurrent refresh waits for, and MVCC gives every snapshot one generation, whole.
-- _membership is a plain view, the unpivot of <name>_customers.
--
-- Why the views and tables are ordinary (not extension member) objects owned by the
-- caller: pg_dump dumps them like any table and view (definition, data, indexes, grants,
-- comments), so a dump brings a segmentation back with no extra step; the views depend
-- on the definitions table, so DROP EXTENSION ... CASCADE removes them (the tables of
-- the caller's, which depend on nothing of the extension, stay: docs/segmentation.md).

-------------------------------------------------------------------------------
-- Definitions
-------------------------------------------------------------------------------

CREATE TABLE customer_priority.segmentations (
    name         text PRIMARY KEY CHECK (name <> ''),
    schema       name NOT NULL,
    orders       regclass NOT NULL,
    customer_id  name NOT NULL,
    ordered_at   name NOT NULL,
    amount       name NOT NULL,
    options      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    refreshed_at timestamptz,
    generation   "char" NOT NULL DEFAULT 'a' CHECK (generation IN ('a', 'b'))
);
COMMENT ON TABLE customer_priority.segmentations IS
    'one row per segmentation made by create_segmentation(); its views are <schema>.<name>_customers, _membership, _segments, _profiles';
COMMENT ON COLUMN customer_priority.segmentations.name IS
    'the segmentation''s name, prefix of its views';
COMMENT ON COLUMN customer_priority.segmentations.schema IS 'schema of the views and their tables';
COMMENT ON COLUMN customer_priority.segmentations.orders IS 'the orders relation the views read';
COMMENT ON COLUMN customer_priority.segmentations.customer_id IS 'customer id column of orders';
COMMENT ON COLUMN customer_priority.segmentations.ordered_at IS 'order time column of orders';
COMMENT ON COLUMN customer_priority.segmentations.amount IS 'amount column of orders';
COMMENT ON COLUMN customer_priority.segmentations.options IS
    'every option with its effective value (defaults filled in; null: not used)';
COMMENT ON COLUMN customer_priority.segmentations.created_at IS 'when create_segmentation() ran';
COMMENT ON COLUMN customer_priority.segmentations.refreshed_at IS
    'start time of the transaction of the last refresh (create counts as one)';
COMMENT ON COLUMN customer_priority.segmentations.generation IS
    'the live generation: the views read the tables <name>_customers_<generation>, _segments_<generation>, _profiles_<generation>';

-- pg_dump keeps every definition; the views and tables are dumped as user objects.
SELECT pg_catalog.pg_extension_config_dump('customer_priority.segmentations', '');

-- Every role may create segmentations (the views are its own, and it needs SELECT on
-- the orders to build them); the trigger lets a role change only the definitions whose
-- views it owns (the generation above all: it decides what the views show).  Ownership
-- is the views' owner, not a column: a restore with --no-owner (views owned by whoever
-- restores) or into a cluster without the original roles keeps every definition usable.
-- Every role reads the table: the views read their generation from it with their
-- owner's rights.  (src/privileges.sql revokes the rest: rows are written only by its
-- SECURITY DEFINER functions, which apply the same rule.)
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_priority.segmentations TO PUBLIC;

CREATE FUNCTION customer_priority.segmentations_check_owner()
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
        -- the view <name>_customers; without it (dropped by hand) its table _customers_a
        SELECT c.relowner INTO owner
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = def.schema AND c.relname IN (def.name || '_customers', def.name || '_customers_a')
        ORDER BY c.relname = def.name || '_customers' DESC
        LIMIT 1;
        -- Without views or tables (being created, or dropped by hand) there is nothing
        -- to protect.
        IF FOUND AND NOT pg_has_role(current_user, owner, 'MEMBER') THEN
            RAISE EXCEPTION 'must be owner of the views of segmentation "%" to change its definition', def.name
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('%I.%I belongs to %s.', def.schema, def.name || '_customers',
                                      pg_get_userbyid(owner));
        END IF;
    END LOOP;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentations_check_owner() IS
    'trigger function: only members of the role owning a segmentation''s views may insert, change or delete its definition';
CREATE TRIGGER check_owner BEFORE INSERT OR UPDATE OR DELETE
    ON customer_priority.segmentations
    FOR EACH ROW EXECUTE FUNCTION customer_priority.segmentations_check_owner();

-- Recommended actions: the table customer_priority.segment_actions, joined into
-- <name>_segments, is made in src/history.sql.

-------------------------------------------------------------------------------
-- Internal helpers
-------------------------------------------------------------------------------

-- The type of a column of a relation (domains resolved to their base type), or an
-- error naming the option that mapped it.
CREATE FUNCTION customer_priority.segmentation_column_type(rel regclass, col name, what text,
                                                            allowed text)
RETURNS regtype
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t oid;
    base oid;
    kind "char";
    category "char";
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.atttypid INTO t
    FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel
            USING ERRCODE = 'undefined_column',
                  DETAIL = format('It was given as %s.', what);
    END IF;
    -- domains: their base type decides
    LOOP
        SELECT typtype, typbasetype, typcategory INTO STRICT kind, base, category
        FROM pg_type WHERE oid = t;
        EXIT WHEN kind <> 'd';
        t := base;
    END LOOP;
    IF allowed = 'number' AND category <> 'N' THEN
        RAISE EXCEPTION 'column "%" of relation % (%) must be a number', col, rel, what
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = format('Its type is %s.', t::regtype);
    ELSIF allowed = 'time' AND t NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
        RAISE EXCEPTION 'column "%" of relation % (%) must be timestamptz, timestamp or date', col, rel, what
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = format('Its type is %s.', t::regtype);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_column_type(regclass, name, text, text) IS
    'internal: type of a mapped column, checked (allowed: number, time or any)';

-- Effective options: the user's options checked, defaults filled in, names resolved.
CREATE FUNCTION customer_priority.segmentation_options(options jsonb, orders regclass,
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
    IF (r ->> 'xyz_x_max')::numeric > (r ->> 'xyz_y_max')::numeric THEN
        RAISE EXCEPTION 'option "xyz_x_max" must not be greater than "xyz_y_max"'
            USING ERRCODE = 'invalid_parameter_value';
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
            IF o ? k THEN
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

CREATE FUNCTION customer_priority.segmentation_text_option(options jsonb, key text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF options ? key AND jsonb_typeof(options -> key) <> 'string' THEN
        RAISE EXCEPTION 'option "%" must be a string', key
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s.', options -> key);
    END IF;
    RETURN options ->> key;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_text_option(jsonb, text) IS
    'internal: a string option, NULL when absent';

CREATE FUNCTION customer_priority.segmentation_number_option(options jsonb, key text,
                                                             default_value numeric,
                                                             min_value numeric, max_value numeric,
                                                             integral boolean)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v numeric;
BEGIN
    IF NOT options ? key THEN
        RETURN default_value;
    END IF;
    IF jsonb_typeof(options -> key) <> 'number' THEN
        RAISE EXCEPTION 'option "%" must be a number', key
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s.', options -> key);
    END IF;
    v := (options ->> key)::numeric;
    IF (integral AND v <> trunc(v)) OR v < min_value OR v > max_value THEN
        RAISE EXCEPTION 'option "%" must be % %', key,
                        CASE WHEN integral THEN 'an integer' ELSE 'a number' END,
                        CASE WHEN max_value IS NULL THEN format('>= %s', min_value)
                             ELSE format('between %s and %s', min_value, max_value) END
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s.', v);
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_number_option(jsonb, text, numeric, numeric, numeric, boolean) IS
    'internal: a number option checked against its range, the default when absent';

-- Custom break points of one RFM metric: bins - 1 ascending numbers (recency in whole
-- days, frequency in whole orders), or NULL for the population's quantiles.
CREATE FUNCTION customer_priority.segmentation_breaks_option(options jsonb, key text, bins integer)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := options -> key;
    previous numeric;
    x jsonb;
    n numeric;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'array' OR jsonb_array_length(v) <> bins - 1 THEN
        RAISE EXCEPTION 'option "%" must be an array of bins - 1 = % numbers', key, bins - 1
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s.', v);
    END IF;
    FOR x IN SELECT jsonb_array_elements(v) LOOP
        n := CASE WHEN jsonb_typeof(x) = 'number' THEN (x #>> '{}')::numeric END;
        IF n IS NULL OR n <= previous
           OR (key <> 'monetary_breaks' AND (n < 0 OR n <> trunc(n))) THEN
            RAISE EXCEPTION 'option "%" must hold strictly ascending %', key,
                            CASE WHEN key = 'monetary_breaks' THEN 'numbers' ELSE 'whole numbers >= 0' END
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('It is %s.', v);
        END IF;
        previous := n;
    END LOOP;
    RETURN v;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_breaks_option(jsonb, text, integer) IS
    'internal: custom break points of one RFM metric, checked';

-- A list of column names of a relation.
CREATE FUNCTION customer_priority.segmentation_columns_option(options jsonb, key text, rel regclass)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := coalesce(options -> key, '[]');
    x jsonb;
BEGIN
    IF jsonb_typeof(v) <> 'array' THEN
        RAISE EXCEPTION 'option "%" must be an array of column names', key
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s.', v);
    END IF;
    FOR x IN SELECT jsonb_array_elements(v) LOOP
        IF jsonb_typeof(x) <> 'string' THEN
            RAISE EXCEPTION 'option "%" must be an array of column names', key
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('It holds %s.', x);
        END IF;
        PERFORM customer_priority.segmentation_column_type(rel, x #>> '{}',
                                                           format('option "%s"', key), 'any');
    END LOOP;
    RETURN v;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_columns_option(jsonb, text, regclass) IS
    'internal: a list of column names of a relation, checked';

-- The equality operator between two types, schema-qualified, so that the generated SQL
-- works for customer ids of types whose operators live outside pg_catalog (citext).
CREATE FUNCTION customer_priority.segmentation_equality(left_type regtype, right_type regtype)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    op text;
BEGIN
    SELECT format('OPERATOR(%I.=)', n.nspname) INTO op
    FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
    WHERE o.oprname = '=' AND o.oprleft = left_type AND o.oprright = right_type
    ORDER BY n.nspname = 'pg_catalog' DESC
    LIMIT 1;
    IF op IS NULL THEN
        RAISE EXCEPTION 'no operator % = % to join customers to orders', left_type, right_type
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Map a customer_key column of the same type as the orders'' customer id.';
    END IF;
    RETURN op;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_equality(regtype, regtype) IS
    'internal: the qualified equality operator between two types';

-- The query of <name>_customers: everything a segmentation computes per customer, in
-- one statement (per-customer aggregates, then the population's break points, ABC
-- cut-offs and typology model, then the scores and labels).
CREATE FUNCTION customer_priority.segmentation_customers_query(def customer_priority.segmentations)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o constant jsonb := def.options;
    tz constant text := def.options ->> 'time_zone';
    w constant jsonb := def.options -> 'abc_weights';
    bins constant integer := (def.options ->> 'bins')::integer;
    -- NULL when off (and in definitions made before the option existed)
    potential constant jsonb := nullif(def.options -> 'potential', 'null');
    summary text := '';
    scored text;
    labels text := 't.labels';
    high_clv text := '';
    id_type regtype;
    ts text;
    amount text;
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
    sql text;
BEGIN
    id_type := customer_priority.segmentation_column_type(def.orders, def.customer_id, 'customer_id', 'any');
    ts := format('o.%I', def.ordered_at);
    CASE customer_priority.segmentation_column_type(def.orders, def.ordered_at, 'ordered_at', 'time')
        -- at_time_zone(): AT TIME ZONE that postgres_fdw can ship (src/shards.sql)
        WHEN 'timestamp'::regtype THEN
            ts := format('customer_priority.at_time_zone(%L::customer_priority.calendar_name, %s)', tz, ts);
        WHEN 'date'::regtype THEN
            ts := format('customer_priority.at_time_zone(%L::customer_priority.calendar_name, %s::timestamp)', tz, ts);
        ELSE NULL;
    END CASE;
    PERFORM customer_priority.segmentation_column_type(def.orders, def.amount, 'amount', 'number');
    amount := format('o.%I::numeric', def.amount);

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

    -- per customer: the customers relation
    IF o ->> 'customers' IS NOT NULL THEN
        customers_join := format(' LEFT JOIN %s k ON k.%I %s g.customer_id', o ->> 'customers',
            o ->> 'customer_key',
            customer_priority.segmentation_equality(
                customer_priority.segmentation_column_type((o ->> 'customers')::regclass,
                                                           o ->> 'customer_key', 'customer_key', 'any'),
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

    -- Potential (docs/potential.md, "In segmentations"): both models are fitted over
    -- the customers' purchase summaries, then each customer is scored with them.
    -- Expected purchases need a + b + x > 1 and expected spend q > 1 (a fit can
    -- leave either undefined): those values, and CLV, are then NULL rather than
    -- failing the refresh.  The flag at_risk_high_clv goes before the
    -- lifecycle stage, which ends the labels.
    IF potential IS NULL THEN
        scored := $s$scored AS (
    SELECT b.*, NULL::float8 AS p_alive, NULL::float8 AS expected_purchases,
           NULL::float8 AS expected_spend, NULL::float8 AS clv
    FROM base b
)$s$;
    ELSE
        summary := format(E',\n           customer_priority.purchase_summary(g.profile, %L) AS summary',
                          potential ->> 'unit');
        -- Without any repeat purchase BG/NBD cannot be fitted (bgnbd_fit() raises an
        -- error): the FILTER then gives it no rows, and the model is NULL.
        scored := format($s$potential AS (
    SELECT customer_priority.bgnbd_fit((b.summary).x, (b.summary).t_x, (b.summary).t_cal)
               FILTER (WHERE e.repeat_customers) AS bg,
           customer_priority.gamma_gamma_fit((b.summary).x, (b.summary).repeat_spend::float8) AS gg
    FROM base b
    CROSS JOIN (SELECT bool_or((b.summary).x > 0) AS repeat_customers FROM base b) e
), scored AS (
    SELECT b.*, v.p_alive, v.expected_purchases, v.expected_spend,
           %2$s AS clv
    FROM base b CROSS JOIN potential m
    -- OFFSET 0: computed once, not copied into each use below
    CROSS JOIN LATERAL (
        SELECT customer_priority.bgnbd_p_alive(m.bg, (b.summary).x, (b.summary).t_x, (b.summary).t_cal) AS p_alive,
               CASE WHEN (m.bg).a + (m.bg).b + (b.summary).x > 1
                    THEN customer_priority.bgnbd_expected_purchases(m.bg, %1$s, (b.summary).x, (b.summary).t_x,
                                                                    (b.summary).t_cal) END AS expected_purchases,
               CASE WHEN (m.gg).q > 1
                    THEN customer_priority.gamma_gamma_expected_spend(m.gg, (b.summary).x,
                                                                      (b.summary).repeat_spend::float8) END AS expected_spend
        OFFSET 0) v
)$s$,
            potential ->> 'horizon',
            -- undiscounted, customer_clv() is exactly this product (one series, not two)
            CASE WHEN (potential ->> 'discount_rate')::numeric = 0
                 THEN 'v.expected_purchases * v.expected_spend'
                 ELSE format($c$CASE WHEN v.expected_purchases IS NOT NULL AND v.expected_spend IS NOT NULL
                THEN customer_priority.customer_clv(m.bg, m.gg, (b.summary).x, (b.summary).t_x,
                                                    (b.summary).t_cal, (b.summary).repeat_spend::float8,
                                                    %s, %s) END$c$,
                             potential ->> 'horizon', potential ->> 'discount_rate') END);
        high_clv := format(E'\nCROSS JOIN (SELECT percentile_disc(%s) WITHIN GROUP (ORDER BY r.clv) AS min_clv FROM ranked r) high_clv',
                           1 - (potential ->> 'high_clv_share')::numeric);
        labels := $l$CASE WHEN t.lifecycle_stage = 'at_risk' AND r.clv > high_clv.min_clv
            THEN t.labels[:cardinality(t.labels) - 1] || 'at_risk_high_clv'::text || t.labels[cardinality(t.labels)]
            ELSE t.labels END$l$;
    END IF;

    sql := format($q$
WITH params AS (
    SELECT %s AS as_of
), grouped AS (
    SELECT o.%I AS customer_id,
           customer_priority.customer_profile(%s, %s, p.as_of, %s, %s, %s, %L::customer_priority.calendar_name) AS profile,
           customer_priority.xyz(%s, %s, p.as_of, %L::customer_priority.calendar_name,
                                 %L::customer_priority.calendar_name) AS xyz%s
    FROM %s o CROSS JOIN params p
    WHERE o.%I IS NOT NULL AND %s <= p.as_of
    GROUP BY o.%I
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
       r.clv
FROM ranked r
CROSS JOIN cut
CROSS JOIN model%s%s
CROSS JOIN LATERAL (SELECT %s::integer AS r_score, %s::integer AS f_score, %s::integer AS m_score) s
CROSS JOIN LATERAL customer_priority.customer_typology(r.profile, model.m, r.referrals,
                                                       r.social_reach, r.service_contacts, r.p_alive) t
$q$,
        -- now() as a constant (the same value in this transaction): postgres_fdw ships
        -- no call of a STABLE function, so now() would keep the aggregation off the shards
        CASE WHEN o ->> 'as_of' IS NULL
             THEN format('%L::timestamptz', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00')
             ELSE format('%L::timestamptz', o ->> 'as_of') END,
        def.customer_id,
        ts, amount,
        CASE WHEN o ->> 'order_id' IS NULL THEN 'NULL::bigint' ELSE format('o.%I', o ->> 'order_id') END,
        CASE WHEN o ->> 'returned_amount' IS NULL THEN 'NULL::numeric' ELSE format('o.%I::numeric', o ->> 'returned_amount') END,
        CASE WHEN o ->> 'discount' IS NULL THEN 'NULL::numeric' ELSE format('o.%I::numeric', o ->> 'discount') END,
        tz,
        ts, amount, o ->> 'xyz_period', tz,
        grouped_extra,
        def.orders,
        def.customer_id, ts,
        def.customer_id,
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

-- One row per (customer, dimension, segment) of <name>_customers: the unpivot shared by
-- <name>_membership, <name>_segments and <name>_profiles.
CREATE FUNCTION customer_priority.segmentation_unpivot(customers text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format($q$%s c
CROSS JOIN LATERAL (
    SELECT u.dimension, u.segment
    FROM (SELECT 'rfm_segment'::text, c.rfm_segment
          UNION ALL SELECT 'abc_class', c.abc_class
          UNION ALL SELECT 'xyz_class', c.xyz_class
          UNION ALL SELECT 'primary_type', c.primary_type
          UNION ALL SELECT 'lifecycle_stage', c.lifecycle_stage
          UNION ALL SELECT 'label', l.label FROM unnest(c.labels) AS l(label)) AS u(dimension, segment)
    WHERE u.segment IS NOT NULL
) AS d$q$, customers)
$$;
COMMENT ON FUNCTION customer_priority.segmentation_unpivot(text) IS
    'internal: FROM clause listing each customer''s segment in each dimension';

-- The views of a segmentation, in dependency order (_membership reads _customers).
CREATE FUNCTION customer_priority.segmentation_views()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '{_customers,_membership,_segments,_profiles}'::text[] $$;
COMMENT ON FUNCTION customer_priority.segmentation_views() IS
    'internal: suffixes of a segmentation''s views';

-- The views stored in two generations of tables, <name><suffix>_a and _b, in fill order.
CREATE FUNCTION customer_priority.segmentation_tables()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '{_customers,_segments,_profiles}'::text[] $$;
COMMENT ON FUNCTION customer_priority.segmentation_tables() IS
    'internal: suffixes of the views read from the generation tables <name><suffix>_a and _b, in fill order';

-- Every relation a segmentation creates (views, tables, their unique indexes), as name
-- suffixes; the longest, _customers_a_key, sets the limit of a segmentation's name.
CREATE FUNCTION customer_priority.segmentation_relations()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT customer_priority.segmentation_views()
           || ARRAY(SELECT t || '_' || g || k
                    FROM unnest(customer_priority.segmentation_tables()) WITH ORDINALITY AS t(t, i),
                         unnest('{a,b}'::text[]) AS g,
                         unnest('{"",_key}'::text[]) WITH ORDINALITY AS k(k, j)
                    ORDER BY i, j, g)
$$;
COMMENT ON FUNCTION customer_priority.segmentation_relations() IS
    'internal: name suffixes of every relation of a segmentation (views, generation tables, their unique indexes)';

-- The columns of a relation, quoted, in order: the explicit column lists of the views
-- and of the INSERTs of a refresh.
CREATE FUNCTION customer_priority.segmentation_columns(rel regclass)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
    FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION customer_priority.segmentation_columns(regclass) IS
    'internal: the quoted column list of a relation';

-- The query of <name>_segments from a customers relation (a quoted, qualified name).
-- One scan groups the customers by GROUPING SETS, one set per single-valued dimension
-- plus the empty set for the totals; grouping() names the set, so a NULL segment of one
-- dimension (left out, as the unpivot leaves it out) is never taken for another.  A
-- second scan unnests the labels.  Each aggregate runs over the same customers as in
-- the unpivot (<name>_membership), so counts, sums and rounded averages are the same
-- values with the same display scale; the ~40 groups are then joined to their totals
-- and actions ((dimension, segment) is unique in segment_actions).
CREATE FUNCTION customer_priority.segmentation_segments_query(customers text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format($q$
WITH sets AS (
    SELECT CASE WHEN grouping(c.rfm_segment) = 0 THEN 'rfm_segment'
                WHEN grouping(c.abc_class) = 0 THEN 'abc_class'
                WHEN grouping(c.xyz_class) = 0 THEN 'xyz_class'
                WHEN grouping(c.primary_type) = 0 THEN 'primary_type'
                WHEN grouping(c.lifecycle_stage) = 0 THEN 'lifecycle_stage' END::text AS dimension,
           CASE WHEN grouping(c.rfm_segment) = 0 THEN c.rfm_segment
                WHEN grouping(c.abc_class) = 0 THEN c.abc_class
                WHEN grouping(c.xyz_class) = 0 THEN c.xyz_class
                WHEN grouping(c.primary_type) = 0 THEN c.primary_type
                WHEN grouping(c.lifecycle_stage) = 0 THEN c.lifecycle_stage END AS segment,
           count(*) AS customers,
           sum(c.revenue) AS revenue,
           round(avg(c.recency_days), 2) AS avg_recency_days,
           round(avg(c.frequency), 2) AS avg_frequency,
           round(avg(c.monetary), 2) AS avg_monetary
    FROM %s c
    GROUP BY GROUPING SETS ((c.rfm_segment), (c.abc_class), (c.xyz_class), (c.primary_type),
                            (c.lifecycle_stage), ())
), segments AS (
    SELECT * FROM sets WHERE dimension IS NOT NULL AND segment IS NOT NULL
    UNION ALL
    SELECT 'label', l.label,
           count(*),
           sum(c.revenue),
           round(avg(c.recency_days), 2),
           round(avg(c.frequency), 2),
           round(avg(c.monetary), 2)
    FROM %s c
    CROSS JOIN LATERAL unnest(c.labels) AS l(label)
    WHERE l.label IS NOT NULL
    GROUP BY l.label
)
SELECT s.dimension, s.segment,
       s.customers,
       round(s.customers::numeric / t.customers, 6) AS customer_share,
       s.revenue,
       CASE WHEN t.revenue > 0 THEN round(s.revenue / t.revenue, 6) END AS revenue_share,
       s.avg_recency_days,
       s.avg_frequency,
       s.avg_monetary,
       a.recommended_action
FROM segments s
CROSS JOIN (SELECT customers, revenue FROM sets WHERE dimension IS NULL) t
LEFT JOIN customer_priority.segment_actions a ON a.dimension = s.dimension AND a.segment = s.segment$q$,
                  customers, customers)
$$;
COMMENT ON FUNCTION customer_priority.segmentation_segments_query(text) IS
    'internal: the query of <name>_segments, reading the given customers relation';

-- The query of <name>_profiles from a customers relation.  Customers without attributes
-- add no row, so they are left out before the unpivot: a segmentation without mapped
-- attributes costs one scan of the customers.
CREATE FUNCTION customer_priority.segmentation_profiles_query(customers text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format($q$
SELECT d.dimension, d.segment, a.key AS attribute, a.value,
       count(*) AS customers,
       round(count(*)::numeric / sum(count(*)) OVER (PARTITION BY d.dimension, d.segment, a.key), 6) AS share
FROM %s
CROSS JOIN LATERAL jsonb_each_text(c.attributes) AS a
GROUP BY d.dimension, d.segment, a.key, a.value$q$,
                  customer_priority.segmentation_unpivot(
                      format('(SELECT * FROM %s WHERE attributes <> %L::jsonb)', customers, '{}')))
$$;
COMMENT ON FUNCTION customer_priority.segmentation_profiles_query(text) IS
    'internal: the query of <name>_profiles, reading the given customers relation';

-- The query of a segmentation's view (a suffix of segmentation_views()): _membership
-- unpivots _customers; the others read their two generation tables, the live one
-- chosen by an uncorrelated subquery on the definition, which the planner turns into
-- an InitPlan and a one-time filter per branch, so only the live table is scanned.
CREATE FUNCTION customer_priority.segmentation_view_query(def customer_priority.segmentations, suffix text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    live constant text := format('(SELECT s.generation FROM customer_priority.segmentations s WHERE s.name = %L)',
                                 def.name);
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

-- COMMENT ON every view and column, for the descriptions BI tools show.
CREATE FUNCTION customer_priority.segmentation_comment(def customer_priority.segmentations)
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
        ('_customers', 'p_alive', 'BG/NBD probability that the customer is still active at as_of; NULL without the option potential'),
        ('_customers', 'expected_purchases', format('BG/NBD expected purchases in the next %s', coalesce(customer_priority.potential_horizon_text(def.options -> 'potential'), 'horizon (option potential; NULL without it)'))),
        ('_customers', 'expected_spend', 'Gamma-Gamma expected spend per future purchase; NULL without the option potential or when the fit has q <= 1'),
        ('_customers', 'clv', format('customer lifetime value: expected revenue in the next %s, expected_purchases x expected_spend%s', coalesce(customer_priority.potential_horizon_text(def.options -> 'potential'), 'horizon (option potential; NULL without it)'), CASE WHEN (def.options -> 'potential' ->> 'discount_rate')::numeric > 0 THEN format(', discounted at %s per %s', def.options -> 'potential' ->> 'discount_rate', def.options -> 'potential' ->> 'unit') ELSE '' END)),
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
        ('_profiles', 'share', 'customers / customers of the segment')
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

-------------------------------------------------------------------------------
-- Public API
-------------------------------------------------------------------------------

-- Not pinned with a SET clause: the views go to the caller's current schema by
-- default, which a function-level search_path would hide.  It reads that schema
-- first, then pins search_path for its own statements and gives the caller's back.
CREATE FUNCTION customer_priority.create_segmentation(
    name        text,
    orders      regclass,
    customer_id name,
    ordered_at  name,
    amount      name,
    options     jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    caller_schema constant name := pg_catalog.current_schema();
    caller_path constant text := pg_catalog.current_setting('search_path');
    customers regclass;
    def customer_priority.segmentations;
    kind "char";
    suffix text;
    customers_a text;           -- <schema>.<name>_customers_a, quoted
    rel text;
    -- the longest object name is <name>_customers_a_key, an index of a generation table
    max_length constant integer := 63 - length('_customers_a_key');
BEGIN
    -- the customers relation is named like orders: in the caller's search_path
    IF pg_catalog.jsonb_typeof(options OPERATOR(pg_catalog.->) 'customers') OPERATOR(pg_catalog.=) 'string' THEN
        customers := pg_catalog.to_regclass(options OPERATOR(pg_catalog.->>) 'customers');
    END IF;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF name IS NULL OR orders IS NULL OR customer_id IS NULL OR ordered_at IS NULL OR amount IS NULL THEN
        RAISE EXCEPTION 'name, orders, customer_id, ordered_at and amount must not be null'
            USING ERRCODE = 'null_value_not_allowed';
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
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = orders;
    IF kind NOT IN ('r', 'p', 'v', 'm', 'f') THEN
        RAISE EXCEPTION '% is not a table, view, materialized view or foreign table', orders
            USING ERRCODE = 'wrong_object_type';
    END IF;

    def.name := name;
    def.orders := orders;
    def.customer_id := customer_id;
    def.ordered_at := ordered_at;
    def.amount := amount;
    def.options := customer_priority.segmentation_options(options, orders, customer_id, caller_schema,
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
        RAISE EXCEPTION 'segmentation "%" already exists', def.name
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Drop it with drop_segmentation() first, or choose another name.';
    END;

    -- Foreign partitions: every shard runs this version (docs/scale-out.md).
    PERFORM customer_priority.check_foreign_partitions(def.orders);

    -- Generation a is filled by CREATE TABLE AS (which, unlike INSERT, may run the
    -- query in parallel), generation b is an empty copy of its columns.
    customers_a := format('%I.%I', def.schema, def.name || '_customers_a');
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        rel := format('%I.%I', def.schema, def.name || suffix || '_a');
        EXECUTE format('CREATE TABLE %s AS %s', rel,
                       CASE suffix
                           WHEN '_customers' THEN customer_priority.segmentation_customers_query(def)
                           WHEN '_segments' THEN customer_priority.segmentation_segments_query(customers_a)
                           ELSE customer_priority.segmentation_profiles_query(customers_a) END);
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s)', def.schema, def.name || suffix || '_b', rel);
        FOREACH rel IN ARRAY ARRAY[def.name || suffix || '_a', def.name || suffix || '_b'] LOOP
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I (%s)', rel || '_key', def.schema, rel,
                           CASE suffix
                               WHEN '_customers' THEN 'customer_id'
                               WHEN '_segments' THEN 'dimension, segment'
                               ELSE 'dimension, segment, attribute, value' END);
        END LOOP;
        EXECUTE format('ANALYZE %I.%I', def.schema, def.name || suffix || '_a');
        EXECUTE format('CREATE VIEW %I.%I AS %s', def.schema, def.name || suffix,
                       customer_priority.segmentation_view_query(def, suffix));
    END LOOP;
    EXECUTE format('CREATE VIEW %I.%I AS %s', def.schema, def.name || '_membership',
                   customer_priority.segmentation_view_query(def, '_membership'));

    PERFORM customer_priority.segmentation_comment(def);
    PERFORM customer_priority.history_create(def);
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END
$$;
COMMENT ON FUNCTION customer_priority.create_segmentation(text, regclass, name, name, name, jsonb) IS
    'defines a segmentation of an orders relation and creates its views <name>_customers, _membership, _segments, _profiles (and the tables they read)';

-- Fills the generation that is not live, then makes it live, in the caller's transaction.
-- concurrently: the tables are emptied with DELETE (readers of the live generation, and
-- older snapshots still reading the other one, are not disturbed), and the generation
-- that stops being live is emptied with DELETE too once the new one is live: snapshots
-- taken before the commit keep reading it, later ones never read it.  Not
-- concurrently: TRUNCATE, whose ACCESS EXCLUSIVE lock makes readers wait; the previous
-- generation is left as it is (a TRUNCATE of it would show an empty view to snapshots
-- taken before the commit, a DELETE would cost what this mode saves).
CREATE FUNCTION customer_priority.refresh_segmentation(name text, concurrently boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
    suffix text;
    owner oid;
    live text;                  -- the live generation, 'a' or 'b'
    fill text;                  -- the other one: filled, and live at commit
    customers text;             -- its customers table, quoted
    rel text;
BEGIN
    -- $2: "concurrently" is a reserved word, usable as a parameter name but not here
    IF name IS NULL OR $2 IS NULL THEN
        RAISE EXCEPTION 'name and concurrently must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- The row lock serialises refreshes (and drops) of one segmentation.
    SELECT * INTO def FROM customer_priority.segmentation_lock(name, 'refresh it');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM customer_priority.check_foreign_partitions(def.orders);
    FOREACH suffix IN ARRAY customer_priority.segmentation_relations() LOOP
        IF to_regclass(format('%I.%I', def.schema, def.name || suffix)) IS NULL THEN
            RAISE EXCEPTION 'relation %.% of segmentation "%" is missing',
                            quote_ident(def.schema), quote_ident(def.name || suffix), def.name
                USING ERRCODE = 'undefined_table',
                      HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        END IF;
    END LOOP;
    -- As REFRESH MATERIALIZED VIEW did: the owner (or a role with its rights) refreshes.
    SELECT c.relowner INTO owner FROM pg_class c
    WHERE c.oid = to_regclass(format('%I.%I', def.schema, def.name || '_customers'));
    IF NOT pg_has_role(current_user, owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of the views of segmentation "%" to refresh it', def.name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%I.%I belongs to %s.', def.schema, def.name || '_customers',
                                  pg_get_userbyid(owner));
    END IF;

    live := def.generation::text;
    fill := CASE live WHEN 'a' THEN 'b' ELSE 'a' END;
    IF $2 THEN
        FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
            EXECUTE format('DELETE FROM %I.%I', def.schema, def.name || suffix || '_' || fill);
        END LOOP;
    ELSE
        EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I.%I', def.schema, def.name || t || '_' || fill), ', ')
                 FROM unnest(customer_priority.segmentation_tables()) AS t);
    END IF;
    customers := format('%I.%I', def.schema, def.name || '_customers_' || fill);
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        rel := format('%I.%I', def.schema, def.name || suffix || '_' || fill);
        EXECUTE format('INSERT INTO %s (%s) %s', rel, customer_priority.segmentation_columns(rel::regclass),
                       CASE suffix
                           WHEN '_customers' THEN customer_priority.segmentation_customers_query(def)
                           WHEN '_segments' THEN customer_priority.segmentation_segments_query(customers)
                           ELSE customer_priority.segmentation_profiles_query(customers) END);
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
            EXECUTE format('ANALYZE %I.%I', def.schema, def.name || suffix || '_' || fill);
        END IF;
    END LOOP;

    PERFORM customer_priority.segmentation_set_live(def.name, fill::"char");
    IF $2 THEN
        FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
            EXECUTE format('DELETE FROM %I.%I', def.schema, def.name || suffix || '_' || live);
        END LOOP;
    END IF;
    PERFORM customer_priority.history_after_refresh(def);
END
$$;
COMMENT ON FUNCTION customer_priority.refresh_segmentation(text, boolean) IS
    'recomputes a segmentation in one transaction (fills its other generation and makes it live); concurrently (the default) never blocks readers';

CREATE FUNCTION customer_priority.drop_segmentation(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO def FROM customer_priority.segmentation_lock(name, 'drop it');
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
    PERFORM customer_priority.segmentation_delete(def.name);
END
$$;
COMMENT ON FUNCTION customer_priority.drop_segmentation(text) IS
    'drops a segmentation''s views, their tables and its definition';
-- History of a segmentation: snapshots of every customer's segments, the transitions
-- between two snapshots (<name>_transitions), the customers who moved (<name>_movers)
-- and the recommended action of each segment (customer_priority.segment_actions).
-- Docs: docs/history.md.
--
-- Storage: two ordinary tables per segmentation, created with its views and owned
-- like them by the caller, so that pg_dump keeps them like the generation tables:
--   <name>_snapshots  one row per snapshot (as_of, source, customers, taken_at);
--   <name>_history    one row per customer and snapshot: the customer's segment in each
--                     single-valued dimension, frequency and net revenue at as_of.
-- One row per customer per snapshot (not only the changes): any two snapshots are
-- compared by one merge join of two ranges of the primary key (as_of, customer_id),
-- and recency-driven dimensions (lifecycle stage, RFM segment) change for a large share
-- of the customers every month anyway.  The cost per million customers is measured in
-- docs/history.md; the option history_retention bounds it.

-------------------------------------------------------------------------------
-- Recommended actions per (dimension, segment), joined into <name>_segments (at each
-- refresh) and <name>_movers (when read)
-------------------------------------------------------------------------------

CREATE TABLE customer_priority.segment_actions (
    dimension          text NOT NULL CHECK (dimension IN ('rfm_segment', 'abc_class', 'xyz_class',
                                                          'primary_type', 'lifecycle_stage', 'label')),
    segment            text NOT NULL CHECK (segment <> ''),
    recommended_action text,
    CONSTRAINT segment_actions_key PRIMARY KEY (dimension, segment)
);
COMMENT ON TABLE customer_priority.segment_actions IS
    'recommended action of each segment of each dimension of a segmentation (shipped defaults for the RFM segments of the shipped maps, ABC and XYZ classes, typology labels; edit, add, or set NULL)';
COMMENT ON COLUMN customer_priority.segment_actions.dimension IS
    'rfm_segment, abc_class, xyz_class, label, primary_type or lifecycle_stage';
COMMENT ON COLUMN customer_priority.segment_actions.segment IS 'the segment (class, label) within the dimension';
COMMENT ON COLUMN customer_priority.segment_actions.recommended_action IS
    'what a retailer does with the customers of the segment; NULL: no action';

INSERT INTO customer_priority.segment_actions (dimension, segment, recommended_action)
SELECT 'rfm_segment', segment, recommended_action
FROM (VALUES
    ('Champions', 'Reward them: early access, exclusive offers; ask for reviews and referrals.'),
    ('Loyal Customers', 'Upsell higher-value products; loyalty programme; ask for reviews.'),
    ('Potential Loyalist', 'Offer membership or the loyalty programme; personalised recommendations.'),
    ('New Customers', 'Onboarding: welcome series, early support; make the second purchase easy.'),
    ('Promising', 'Build awareness of the range: recommendations, free shipping on the next order.'),
    ('Need Attention', 'Limited-time offers based on their past purchases.'),
    ('About To Sleep', 'Recommend popular products; a renewal discount before they lapse.'),
    ('At Risk', 'Personalised win-back offers; ask what went wrong.'),
    ('Can''t Lose Them', 'Win them back personally: new products, renewals, talk to them.'),
    ('Hibernating', 'Low-cost reactivation: relevant products and a special discount.'),
    ('Lost', 'One reach-out campaign; otherwise stop spending on them.'),
    ('Others', 'No specific action: general campaigns.')
) AS rfm(segment, recommended_action)
UNION ALL
SELECT 'abc_class', segment, recommended_action
FROM (VALUES
    ('A', 'Individual offers, excellent service, exclusive invitations, free or express delivery.'),
    ('B', 'Targeted campaigns, seasonal discounts, loyalty programme, personalised recommendations: turn them into A.'),
    ('C', 'General campaigns and standard offers: not neglected, but not where resources go.')
) AS abc(segment, recommended_action)
UNION ALL
SELECT 'xyz_class', segment, recommended_action
FROM (VALUES
    ('X', 'Predictable buyers: replenishment reminders, subscriptions, plan stock for them.'),
    ('Y', 'Fluctuating buyers: seasonal and event-driven campaigns.'),
    ('Z', 'Sporadic buyers: trigger-based contact (browsing, abandoned basket) rather than a schedule.')
) AS xyz(segment, recommended_action)
UNION ALL
SELECT d.dimension, a.label, a.recommended_action
FROM customer_priority.customer_type_actions a,
     (VALUES ('label'), ('primary_type')) AS d(dimension)
UNION ALL
SELECT 'lifecycle_stage', a.label, a.recommended_action
FROM customer_priority.customer_type_actions a
WHERE a.kind = 'lifecycle'
UNION ALL
-- the flag of a segmentation with the option potential (docs/potential.md)
SELECT 'label', 'at_risk_high_clv',
       'Win them back first, personally: the most expected future revenue at stake of all customers at risk.';

-- pg_dump keeps every row, shipped or not (an edited shipped row must survive), and the
-- trigger below turns the restore's insert of a row CREATE EXTENSION already made into
-- an update of it.
SELECT pg_catalog.pg_extension_config_dump('customer_priority.segment_actions', '');

-- Everyone reads the actions; the role that created the extension edits them and may
-- pass that right on (as for the RFM segment maps).
GRANT SELECT ON customer_priority.segment_actions TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON customer_priority.segment_actions TO @extowner@ WITH GRANT OPTION;

-- An INSERT of an existing (dimension, segment) sets its action instead of failing.
-- That makes a restore work: CREATE EXTENSION inserts the shipped rows, then the dump's
-- COPY brings every row again, edited or not.
CREATE FUNCTION customer_priority.segment_actions_upsert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE customer_priority.segment_actions a
    SET recommended_action = NEW.recommended_action
    WHERE a.dimension = NEW.dimension AND a.segment = NEW.segment;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION customer_priority.segment_actions_upsert() IS
    'trigger function: an INSERT into segment_actions of an existing (dimension, segment) updates its action (so a restore can load the dumped rows over the shipped ones)';
CREATE TRIGGER upsert BEFORE INSERT ON customer_priority.segment_actions
    FOR EACH ROW EXECUTE FUNCTION customer_priority.segment_actions_upsert();

-------------------------------------------------------------------------------
-- Internal helpers
-------------------------------------------------------------------------------

-- The history options of a segmentation, checked, defaults filled in (called by
-- segmentation_options() and again before each use: the definition may be edited).
CREATE FUNCTION customer_priority.history_options(options jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o constant jsonb := jsonb_strip_nulls(coalesce(options, '{}'));
    s text;
    retention interval;
BEGIN
    IF o ? 'snapshot' AND jsonb_typeof(o -> 'snapshot') <> 'boolean' THEN
        RAISE EXCEPTION 'option "snapshot" must be true or false'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s.', o -> 'snapshot');
    END IF;
    s := customer_priority.segmentation_text_option(o, 'history_retention');
    IF s IS NOT NULL THEN
        BEGIN
            retention := s::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
            RAISE EXCEPTION 'option "history_retention" must be an interval: %', s
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'For example "24 months".';
        END;
        IF retention <= interval '0' THEN
            RAISE EXCEPTION 'option "history_retention" must be positive: %', s
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    RETURN jsonb_build_object('snapshot', coalesce((o ->> 'snapshot')::boolean, false),
                              'history_retention', s);
END
$$;
COMMENT ON FUNCTION customer_priority.history_options(jsonb) IS
    'internal: the history options (snapshot, history_retention) of a segmentation, checked, defaults filled in';

-- Every relation of a segmentation's history, as name suffixes: tables, their primary
-- keys, views.
CREATE FUNCTION customer_priority.history_relations()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '{_snapshots,_snapshots_key,_history,_history_key,_transitions,_movers}'::text[] $$;
COMMENT ON FUNCTION customer_priority.history_relations() IS
    'internal: name suffixes of the relations of a segmentation''s history (tables, their keys, views)';

-- The query comparing two snapshots, one row per customer and dimension, from SQL
-- expressions giving the two as_of (subqueries for the views, $1 and $2 for
-- segmentation_transitions()).  A customer missing from one snapshot (not a customer
-- yet) has NULL segments, revenue and frequency there.  The EXISTS on the definition
-- makes the views depend on the extension, as its other views do.
CREATE FUNCTION customer_priority.history_moves_query(def customer_priority.segmentations,
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
      AND EXISTS (SELECT FROM customer_priority.segmentations s WHERE s.name = %L)
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
        from_as_of, to_as_of, def.name, history, history, eq);
END
$$;
COMMENT ON FUNCTION customer_priority.history_moves_query(customer_priority.segmentations, text, text) IS
    'internal: WITH clause pairing each customer''s rows of two snapshots, one row per dimension';

-- The query of <name>_transitions (and segmentation_transitions()): the from -> to
-- matrix of each dimension with customers and revenue.
CREATE FUNCTION customer_priority.history_transitions_query(def customer_priority.segmentations,
                                                            from_as_of text, to_as_of text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT customer_priority.history_moves_query(def, from_as_of, to_as_of) || $q$
SELECT m.from_as_of, m.to_as_of, m.dimension, m.from_segment, m.to_segment,
       count(*) AS customers,
       round(count(*)::numeric / sum(count(*)) OVER (PARTITION BY m.dimension, m.from_segment), 6) AS from_share,
       sum(m.from_revenue) AS from_revenue,
       sum(m.to_revenue) AS to_revenue,
       sum(coalesce(m.to_revenue, 0) - coalesce(m.from_revenue, 0)) AS revenue_change
FROM moves m
GROUP BY m.from_as_of, m.to_as_of, m.dimension, m.from_segment, m.to_segment$q$
$$;
COMMENT ON FUNCTION customer_priority.history_transitions_query(customer_priority.segmentations, text, text) IS
    'internal: the query of <name>_transitions between two snapshots given as SQL expressions';

-- The snapshots the views compare: the last two.
CREATE FUNCTION customer_priority.history_last_two(def customer_priority.segmentations)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY[format('(SELECT s.as_of FROM %I.%I s ORDER BY s.as_of DESC OFFSET 1 LIMIT 1)',
                        def.schema, def.name || '_snapshots'),
                 format('(SELECT max(s.as_of) FROM %I.%I s)', def.schema, def.name || '_snapshots')]
$$;
COMMENT ON FUNCTION customer_priority.history_last_two(customer_priority.segmentations) IS
    'internal: SQL expressions of the as_of of the second-last and the last snapshot';

-- The query of <name>_movers: the customers whose segment changed between the last two
-- snapshots, one row per customer and changed dimension, with the action of the
-- segment they moved to.
CREATE FUNCTION customer_priority.history_movers_query(def customer_priority.segmentations)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT customer_priority.history_moves_query(def, l[1], l[2]) || $q$
SELECT m.customer_id, m.dimension, m.from_segment, m.to_segment,
       m.from_revenue, m.to_revenue,
       coalesce(m.to_revenue, 0) - coalesce(m.from_revenue, 0) AS revenue_change,
       coalesce(m.to_frequency, 0) - coalesce(m.from_frequency, 0) AS frequency_change,
       a.recommended_action,
       m.from_as_of, m.to_as_of
FROM moves m
LEFT JOIN customer_priority.segment_actions a ON a.dimension = m.dimension AND a.segment = m.to_segment
WHERE m.from_segment IS DISTINCT FROM m.to_segment$q$
    FROM customer_priority.history_last_two(def) AS l
$$;
COMMENT ON FUNCTION customer_priority.history_movers_query(customer_priority.segmentations) IS
    'internal: the query of <name>_movers';

-- COMMENT ON the history's tables, views and their columns.
CREATE FUNCTION customer_priority.history_comment(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT * FROM (VALUES
        ('_snapshots', 'TABLE', NULL, format('segmentation %s: history: one row per snapshot of the customers'' segments (refresh, snapshot_segmentation(), backfill_segmentation())', def.name)),
        ('_snapshots', 'COLUMN', 'as_of', 'the reference time of the snapshot'),
        ('_snapshots', 'COLUMN', 'source', 'what took it: create, refresh, snapshot or backfill'),
        ('_snapshots', 'COLUMN', 'customers', 'customers in the snapshot (rows of _history with this as_of)'),
        ('_snapshots', 'COLUMN', 'taken_at', 'when the snapshot was taken (transaction start)'),
        ('_history', 'TABLE', NULL, format('segmentation %s: history: one row per customer and snapshot with the customer''s segment in each dimension', def.name)),
        ('_history', 'COLUMN', 'as_of', 'the snapshot (a row of _snapshots)'),
        ('_history', 'COLUMN', 'customer_id', 'the customer'),
        ('_history', 'COLUMN', 'rfm_segment', 'named RFM segment at as_of'),
        ('_history', 'COLUMN', 'abc_class', 'ABC class at as_of'),
        ('_history', 'COLUMN', 'xyz_class', 'XYZ class at as_of'),
        ('_history', 'COLUMN', 'primary_type', 'primary typology label at as_of'),
        ('_history', 'COLUMN', 'lifecycle_stage', 'lifecycle stage at as_of: new, regular, occasional, at_risk or dormant'),
        ('_history', 'COLUMN', 'frequency', 'purchases up to as_of'),
        ('_history', 'COLUMN', 'revenue', 'net revenue up to as_of'),
        ('_transitions', 'VIEW', NULL, format('segmentation %s: from -> to matrix of each dimension between the last two snapshots (any two: customer_priority.segmentation_transitions())', def.name)),
        ('_transitions', 'COLUMN', 'from_as_of', 'the earlier snapshot (the second-last)'),
        ('_transitions', 'COLUMN', 'to_as_of', 'the later snapshot (the last)'),
        ('_transitions', 'COLUMN', 'dimension', 'lifecycle_stage, abc_class, rfm_segment, primary_type or xyz_class'),
        ('_transitions', 'COLUMN', 'from_segment', 'segment at from_as_of; NULL: not a customer then (or no segment in the dimension)'),
        ('_transitions', 'COLUMN', 'to_segment', 'segment at to_as_of; NULL: not a customer then (or no segment in the dimension)'),
        ('_transitions', 'COLUMN', 'customers', 'customers who moved from from_segment to to_segment (or stayed, when equal)'),
        ('_transitions', 'COLUMN', 'from_share', 'customers / customers of from_segment at from_as_of: the conversion rate from -> to'),
        ('_transitions', 'COLUMN', 'from_revenue', 'their net revenue up to from_as_of'),
        ('_transitions', 'COLUMN', 'to_revenue', 'their net revenue up to to_as_of'),
        ('_transitions', 'COLUMN', 'revenue_change', 'to_revenue - from_revenue: their net revenue between the snapshots'),
        ('_movers', 'VIEW', NULL, format('segmentation %s: customers whose segment changed between the last two snapshots, one row per changed dimension, with the recommended action', def.name)),
        ('_movers', 'COLUMN', 'customer_id', 'the customer'),
        ('_movers', 'COLUMN', 'dimension', 'lifecycle_stage, abc_class, rfm_segment, primary_type or xyz_class'),
        ('_movers', 'COLUMN', 'from_segment', 'segment at from_as_of; NULL: not a customer then'),
        ('_movers', 'COLUMN', 'to_segment', 'segment at to_as_of'),
        ('_movers', 'COLUMN', 'from_revenue', 'net revenue up to from_as_of'),
        ('_movers', 'COLUMN', 'to_revenue', 'net revenue up to to_as_of'),
        ('_movers', 'COLUMN', 'revenue_change', 'to_revenue - from_revenue: net revenue between the snapshots'),
        ('_movers', 'COLUMN', 'frequency_change', 'purchases between the snapshots'),
        ('_movers', 'COLUMN', 'recommended_action', 'what to do with the customers of to_segment (customer_priority.segment_actions)'),
        ('_movers', 'COLUMN', 'from_as_of', 'the earlier snapshot (the second-last)'),
        ('_movers', 'COLUMN', 'to_as_of', 'the later snapshot (the last)')
        ) AS v(suffix, kind, col, description)
    LOOP
        IF c.col IS NULL THEN
            EXECUTE format('COMMENT ON %s %I.%I IS %L', c.kind, def.schema, def.name || c.suffix, c.description);
        ELSE
            EXECUTE format('COMMENT ON COLUMN %I.%I.%I IS %L', def.schema, def.name || c.suffix, c.col, c.description);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_priority.history_comment(customer_priority.segmentations) IS
    'internal: comments on a segmentation''s history tables, views and columns';

-- Creates the history tables and views of a new segmentation (called by
-- create_segmentation() once the generation tables exist), and its first snapshot when
-- the option snapshot is on.
CREATE FUNCTION customer_priority.history_create(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    suffix text;
    l text[];
BEGIN
    FOREACH suffix IN ARRAY customer_priority.history_relations() LOOP
        IF EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = def.schema AND c.relname = def.name || suffix) THEN
            RAISE EXCEPTION 'relation "%" already exists in schema "%"', def.name || suffix, def.schema
                USING ERRCODE = 'duplicate_table',
                      HINT = 'Choose another segmentation name or schema (a history left by DROP EXTENSION ... CASCADE is dropped by hand).';
        END IF;
    END LOOP;
    EXECUTE format('CREATE TABLE %I.%I (as_of timestamptz NOT NULL, source text NOT NULL, customers bigint NOT NULL, '
                   'taken_at timestamptz NOT NULL, CONSTRAINT %I PRIMARY KEY (as_of))',
                   def.schema, def.name || '_snapshots', def.name || '_snapshots_key');
    -- the column types of <name>_customers, the customer id's above all
    EXECUTE format('CREATE TABLE %I.%I AS SELECT c.as_of, c.customer_id, c.rfm_segment, c.abc_class, c.xyz_class, '
                   'c.primary_type, c.lifecycle_stage, c.frequency, c.revenue FROM %I.%I c WITH NO DATA',
                   def.schema, def.name || '_history', def.schema, def.name || '_customers_a');
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I PRIMARY KEY (as_of, customer_id)',
                   def.schema, def.name || '_history', def.name || '_history_key');
    l := customer_priority.history_last_two(def);
    EXECUTE format('CREATE VIEW %I.%I AS %s', def.schema, def.name || '_transitions',
                   customer_priority.history_transitions_query(def, l[1], l[2]));
    EXECUTE format('CREATE VIEW %I.%I AS %s', def.schema, def.name || '_movers',
                   customer_priority.history_movers_query(def));
    PERFORM customer_priority.history_comment(def);
    IF (customer_priority.history_options(def.options) ->> 'snapshot')::boolean THEN
        PERFORM customer_priority.history_store(def, coalesce((def.options ->> 'as_of')::timestamptz, now()),
                                                'create', false);
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.history_create(customer_priority.segmentations) IS
    'internal: creates a segmentation''s history tables and views (and its first snapshot with the option snapshot)';

-- Stores one snapshot: the live <name>_customers (compute false: their as_of is given),
-- or the segmentation computed from the orders at as_of (compute true: the same query
-- as a segmentation with that as_of option).  A snapshot at the same as_of is replaced.
-- Returns the number of customers.
CREATE FUNCTION customer_priority.history_store(def customer_priority.segmentations, as_of timestamptz,
                                                source text, compute boolean)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    history constant text := format('%I.%I', def.schema, def.name || '_history');
    snapshots constant text := format('%I.%I', def.schema, def.name || '_snapshots');
    customers text := format('%I.%I', def.schema, def.name || '_customers');
    suffix text;
    n bigint;
BEGIN
    FOREACH suffix IN ARRAY '{_snapshots,_history}'::text[] LOOP
        IF to_regclass(format('%I.%I', def.schema, def.name || suffix)) IS NULL THEN
            RAISE EXCEPTION 'relation %.% of segmentation "%" is missing',
                            quote_ident(def.schema), quote_ident(def.name || suffix), def.name
                USING ERRCODE = 'undefined_table',
                      HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        END IF;
    END LOOP;
    IF compute THEN
        def.options := def.options || jsonb_build_object('as_of', as_of);
        PERFORM customer_priority.check_foreign_partitions(def.orders);
        customers := format('(%s)', customer_priority.segmentation_customers_query(def));
    END IF;
    EXECUTE format('DELETE FROM %s h WHERE h.as_of = $1', history) USING as_of;
    EXECUTE format('DELETE FROM %s s WHERE s.as_of = $1', snapshots) USING as_of;
    EXECUTE format('INSERT INTO %s (as_of, customer_id, rfm_segment, abc_class, xyz_class, primary_type, '
                   'lifecycle_stage, frequency, revenue) '
                   'SELECT $1, c.customer_id, c.rfm_segment, c.abc_class, c.xyz_class, c.primary_type, '
                   'c.lifecycle_stage, c.frequency, c.revenue FROM %s c', history, customers)
        USING as_of;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('INSERT INTO %s (as_of, source, customers, taken_at) VALUES ($1, $2, $3, now())', snapshots)
        USING as_of, source, n;
    RETURN n;
END
$$;
COMMENT ON FUNCTION customer_priority.history_store(customer_priority.segmentations, timestamptz, text, boolean) IS
    'internal: stores (replaces) one snapshot of a segmentation in its history';

-- Deletes the snapshots older than the option history_retention before the last one
-- (months counted on the calendar of the segmentation's time zone).  Returns the
-- number of snapshots deleted.
CREATE FUNCTION customer_priority.history_retain(def customer_priority.segmentations)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    retention constant interval := (customer_priority.history_options(def.options) ->> 'history_retention')::interval;
    tz constant text := def.options ->> 'time_zone';
    last_as_of timestamptz;
    n bigint;
BEGIN
    IF retention IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE format('SELECT max(s.as_of) FROM %I.%I s', def.schema, def.name || '_snapshots') INTO last_as_of;
    EXECUTE format('DELETE FROM %I.%I h WHERE h.as_of < $1', def.schema, def.name || '_history')
        USING ((last_as_of AT TIME ZONE tz) - retention) AT TIME ZONE tz;
    EXECUTE format('DELETE FROM %I.%I s WHERE s.as_of < $1', def.schema, def.name || '_snapshots')
        USING ((last_as_of AT TIME ZONE tz) - retention) AT TIME ZONE tz;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION customer_priority.history_retain(customer_priority.segmentations) IS
    'internal: deletes the snapshots older than the option history_retention (counted back from the last snapshot)';

-- Called by refresh_segmentation() once the refreshed generation is live: a snapshot
-- of it when the option snapshot is on.
CREATE FUNCTION customer_priority.history_after_refresh(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (customer_priority.history_options(def.options) ->> 'snapshot')::boolean THEN
        -- the refresh computed as of its option as_of, or as of its transaction start
        PERFORM customer_priority.history_store(def, coalesce((def.options ->> 'as_of')::timestamptz, now()),
                                                'refresh', false);
        PERFORM customer_priority.history_retain(def);
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.history_after_refresh(customer_priority.segmentations) IS
    'internal: the snapshot a refresh takes when the segmentation''s option snapshot is on';

-- Called by drop_segmentation() before it drops the views.
CREATE FUNCTION customer_priority.history_drop(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('DROP VIEW IF EXISTS %I.%I, %I.%I', def.schema, def.name || '_movers',
                   def.schema, def.name || '_transitions');
    EXECUTE format('DROP TABLE IF EXISTS %I.%I, %I.%I', def.schema, def.name || '_history',
                   def.schema, def.name || '_snapshots');
END
$$;
COMMENT ON FUNCTION customer_priority.history_drop(customer_priority.segmentations) IS
    'internal: drops a segmentation''s history views and tables';

-- The definition of a segmentation, locked like refresh_segmentation() locks it, after
-- the same owner check.
CREATE FUNCTION customer_priority.history_lock(name text, action text)
RETURNS customer_priority.segmentations
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
    owner oid;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- segmentation_lock() (src/privileges.sql) checks the caller and takes the row
    -- lock as refresh_segmentation() does: only it may, the table being read-only to
    -- other roles.
    SELECT * INTO def FROM customer_priority.segmentation_lock(name, action);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    SELECT c.relowner INTO owner FROM pg_class c
    WHERE c.oid = to_regclass(format('%I.%I', def.schema, def.name || '_customers'));
    IF owner IS NULL THEN
        RAISE EXCEPTION 'relation %.% of segmentation "%" is missing',
                        quote_ident(def.schema), quote_ident(def.name || '_customers'), def.name
            USING ERRCODE = 'undefined_table',
                  HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
    END IF;
    RETURN def;
END
$$;
COMMENT ON FUNCTION customer_priority.history_lock(text, text) IS
    'internal: the definition of a segmentation, row-locked, after checking that the caller owns its views';

-------------------------------------------------------------------------------
-- Public API
-------------------------------------------------------------------------------

CREATE FUNCTION customer_priority.snapshot_segmentation(name text, as_of timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations := customer_priority.history_lock(name, 'take a snapshot of it');
    n bigint;
BEGIN
    IF $2 IS NULL THEN
        -- the live views, as of their option as_of or of their last refresh
        n := customer_priority.history_store(def, coalesce((def.options ->> 'as_of')::timestamptz, def.refreshed_at),
                                             'snapshot', false);
    ELSIF NOT isfinite($2) THEN
        RAISE EXCEPTION 'as_of must be finite' USING ERRCODE = 'invalid_parameter_value';
    ELSE
        n := customer_priority.history_store(def, $2, 'snapshot', true);
    END IF;
    PERFORM customer_priority.history_retain(def);
    RETURN n;
END
$$;
COMMENT ON FUNCTION customer_priority.snapshot_segmentation(text, timestamptz) IS
    'appends (or replaces) a snapshot of every customer''s segments to the segmentation''s history: of the live views (as_of NULL) or computed from the orders at as_of; returns the number of customers';

CREATE FUNCTION customer_priority.backfill_segmentation(name text, first_month date DEFAULT NULL,
                                                        last_month date DEFAULT NULL)
RETURNS TABLE (as_of timestamptz, customers bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    def customer_priority.segmentations := customer_priority.history_lock(name, 'backfill its history');
    tz text;
    reference timestamptz;
    first_m date := date_trunc('month', $2::timestamp)::date;
    last_m date := date_trunc('month', $3::timestamp)::date;
    m date;
    max_months constant integer := 600;
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
    IF (extract(year FROM last_m) * 12 + extract(month FROM last_m))
       - (extract(year FROM first_m) * 12 + extract(month FROM first_m)) >= max_months THEN
        RAISE EXCEPTION 'at most % months can be backfilled at once', max_months
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('%s to %s is more.', to_char(first_m, 'YYYY-MM'), to_char(last_m, 'YYYY-MM'));
    END IF;
    m := first_m;
    WHILE m <= last_m LOOP
        -- the end of month m: the first instant of the next month in the time zone
        as_of := (m + interval '1 month')::timestamp AT TIME ZONE tz;
        customers := customer_priority.history_store(def, as_of, 'backfill', true);
        RETURN NEXT;
        m := (m + interval '1 month')::date;
    END LOOP;
    PERFORM customer_priority.history_retain(def);
END
$$;
COMMENT ON FUNCTION customer_priority.backfill_segmentation(text, date, date) IS
    'computes a snapshot for the end of each month from first_month to last_month (default: the 12 months before the segmentation''s as_of) from the orders, as the segmentation at that as_of would; returns one row per snapshot';

-- Any two snapshots; by default the last two.  PARALLEL RESTRICTED: a segmentation may
-- live in a temporary schema, which parallel workers cannot read.
CREATE FUNCTION customer_priority.segmentation_transitions(name text, from_snapshot timestamptz DEFAULT NULL,
                                                           to_snapshot timestamptz DEFAULT NULL)
RETURNS TABLE (from_as_of timestamptz, to_as_of timestamptz, dimension text, from_segment text,
               to_segment text, customers bigint, from_share numeric, from_revenue numeric,
               to_revenue numeric, revenue_change numeric)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
    snapshots text;
    f timestamptz := $2;
    t timestamptz := $3;
    found_as_of timestamptz;
    present boolean;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO def FROM customer_priority.segmentations s WHERE s.name = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', $1 USING ERRCODE = 'undefined_object';
    END IF;
    snapshots := format('%I.%I', def.schema, def.name || '_snapshots');
    IF to_regclass(snapshots) IS NULL OR to_regclass(format('%I.%I', def.schema, def.name || '_history')) IS NULL THEN
        RAISE EXCEPTION 'the history of segmentation "%" is missing', def.name
            USING ERRCODE = 'undefined_table',
                  HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
    END IF;
    FOREACH found_as_of IN ARRAY ARRAY[f, t] LOOP
        CONTINUE WHEN found_as_of IS NULL;
        EXECUTE format('SELECT EXISTS (SELECT FROM %s s WHERE s.as_of = $1)', snapshots)
            INTO STRICT present USING found_as_of;
        IF NOT present THEN
            RAISE EXCEPTION 'segmentation "%" has no snapshot as of %', def.name, found_as_of
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('The snapshots are the rows of %s.', snapshots);
        END IF;
    END LOOP;
    IF t IS NULL THEN
        EXECUTE format('SELECT max(s.as_of) FROM %s s', snapshots) INTO t;
    END IF;
    IF f IS NULL THEN
        EXECUTE format('SELECT max(s.as_of) FROM %s s WHERE s.as_of < $1', snapshots) INTO f USING t;
    END IF;
    RETURN QUERY EXECUTE customer_priority.history_transitions_query(def, '$1', '$2') USING f, t;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_transitions(text, timestamptz, timestamptz) IS
    'the from -> to matrix of each dimension between two snapshots of a segmentation (default: to the last one, from the one before to_snapshot), with customers and revenue; the rows of <name>_transitions for any pair';
-------------------------------------------------------------------------------
-- Upgrades of existing segmentations (ALTER EXTENSION customer_priority UPDATE).
-- Docs: docs/segmentation.md#pg_dump-upgrades-drop-extension.
--
-- The views and tables of a segmentation are ordinary objects of its owner, made by
-- dynamic SQL in create_segmentation(), not extension members: an upgrade script that
-- changes what create_segmentation() generates must bring every existing segmentation
-- to the same shape.  segmentation_upgrade() does what can be done generically, from
-- the current version's functions; each upgrade script ends with
--
--   SELECT customer_priority.segmentation_upgrade(s)
--   FROM customer_priority.segmentations s ORDER BY s.name;
--
-- after it has replaced the functions that generate the queries.  What it cannot do
-- (a column renamed, dropped, retyped or inserted in the middle; a new option's default
-- in the stored options; a changed history table) the upgrade script does itself,
-- before that call.  test/t/002_upgrade.pl compares an upgraded segmentation with a
-- fresh one.
-------------------------------------------------------------------------------

-- Brings one segmentation's generated objects to this version's shape: appends to the
-- generation tables the columns the current queries have and the tables lack (NULL
-- until the next refresh), replaces the views with the current queries, and comments
-- them again.  The views are replaced, not dropped: their owner, grants, comments and
-- the user's views on them stay; so a view can only gain columns at its end.  Inside
-- an extension script PostgreSQL refuses CREATE OR REPLACE of an object the extension
-- does not own (CVE-2022-2625), so each view is made a member for the replacement and
-- released again (ALTER EXTENSION ADD/DROP, which the script's role may do: it owns the
-- extension and is a superuser).  A segmentation whose relations are missing is left
-- as it is, with a warning (its refresh names what is missing).
CREATE FUNCTION customer_priority.segmentation_upgrade(def customer_priority.segmentations)
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
BEGIN
    SELECT string_agg(format('%I.%I', def.schema, def.name || r), ', ') INTO missing
    FROM unnest(customer_priority.segmentation_relations() || customer_priority.history_relations()) AS r
    WHERE to_regclass(format('%I.%I', def.schema, def.name || r)) IS NULL;
    IF missing IS NOT NULL THEN
        RAISE WARNING 'segmentation "%" is not upgraded: % missing', def.name, missing
            USING HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        RETURN;
    END IF;

    -- Generation tables, in fill order (_segments and _profiles read _customers_a).
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        query := CASE suffix
                     WHEN '_customers' THEN customer_priority.segmentation_customers_query(def)
                     WHEN '_segments' THEN customer_priority.segmentation_segments_query(customers_a)
                     ELSE customer_priority.segmentation_profiles_query(customers_a) END;
        -- The columns of the current query: planned, not run (WITH NO DATA).
        EXECUTE format('CREATE TEMPORARY TABLE segmentation_upgrade_shape AS %s WITH NO DATA', query);
        SELECT array_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
        INTO new_columns
        FROM pg_attribute a
        WHERE a.attrelid = 'pg_temp.segmentation_upgrade_shape'::regclass AND a.attnum > 0;
        DROP TABLE pg_temp.segmentation_upgrade_shape;
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
            EXECUTE format('ALTER TABLE %I.%I ADD COLUMN %s', def.schema, def.name || suffix || '_a', col);
            EXECUTE format('ALTER TABLE %I.%I ADD COLUMN %s', def.schema, def.name || suffix || '_b', col);
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
-------------------------------------------------------------------------------
-- Privileges (last in the install script: the objects above all exist now).
-- Docs: docs/segmentation.md#privileges.
--
-- Who may do what:
--   every role        calls the functions, reads the segment maps, segment_actions and
--                     the segmentation definitions (names, relations, options: no
--                     customer data); creates segmentations of the orders it may read
--                     in schemas where it may create.
--   a view owner      (and the roles that have its rights) refreshes and drops its
--                     segmentations; grants SELECT on its views to readers.
--   a reader          granted SELECT on some views (and USAGE on their schema) reads
--                     them, nothing else: not the generation tables, not the orders.
--   extension owner   (the role that ran CREATE EXTENSION) adds its own segment maps.
--
-- The definitions table is written only through the four functions below.  No role but
-- its owner (the superuser that installed the extension) has INSERT, UPDATE or DELETE on
-- it, so no other role can lock it (LOCK TABLE needs one of those privileges) and
-- make every reader of every segmentation's views wait, lock a definition row (SELECT
-- ... FOR UPDATE needs UPDATE) and make its owner's refreshes wait, or change a row.
-------------------------------------------------------------------------------

REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON customer_priority.segmentations FROM PUBLIC;
GRANT SELECT ON customer_priority.segmentations TO PUBLIC;
-- The role that ran CREATE EXTENSION (a database owner, for example) may insert
-- definitions as a restore does: pg_restore --no-owner by that role brings the rows of
-- this configuration table back.  The trigger check_owner still applies (a definition
-- whose views exist only by a role with their owner's rights), and INSERT allows only
-- LOCK TABLE ... ROW EXCLUSIVE, which no reader and no refresh waits for.
GRANT INSERT ON customer_priority.segmentations TO @extowner@ WITH GRANT OPTION;

-- Whether the calling role may change (lock, flip, delete, insert) the definition def.
-- The rule of the trigger check_owner: only a role with the rights of the owner of the
-- segmentation's views (or, without them, of its table <name>_customers_a) may; a
-- definition without any of its relations (being created, or dropped) protects nothing.
-- The caller is the role the session acts as (SET ROLE, or else the session user),
-- because the functions below run as their owner (SECURITY DEFINER), where
-- current_user is that owner.  So a SECURITY DEFINER function of the views' owner that
-- calls refresh_segmentation() for another role is refused: give that role membership
-- in the owner instead.
CREATE FUNCTION customer_priority.segmentation_authorize(def customer_priority.segmentations, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := coalesce(nullif(current_setting('role'), 'none'), session_user);
    owner oid;
BEGIN
    SELECT c.relowner INTO owner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = def.schema AND c.relname IN (def.name || '_customers', def.name || '_customers_a')
    ORDER BY c.relname = def.name || '_customers' DESC
    LIMIT 1;
    IF FOUND AND NOT pg_has_role(caller, owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of the views of segmentation "%" to %', def.name, action
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%I.%I belongs to %s.', def.schema, def.name || '_customers',
                                  pg_get_userbyid(owner));
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_authorize(customer_priority.segmentations, text) IS
    'internal: raises 42501 unless the calling role has the rights of the owner of the segmentation''s views';

-- The four writers of the definitions table.  SECURITY DEFINER, justified: the
-- functions that call them (create, refresh and drop_segmentation) run with the
-- caller's rights, as they must (they read the caller's orders and create the caller's
-- views), and the caller has no privilege on the table.  Each one checks the caller
-- with segmentation_authorize() before it touches a row, runs fixed statements on
-- the definitions table only, and pins search_path.  Tested in sql/privileges.sql.

-- A new definition (create_segmentation); unique_violation if the name is taken.  The
-- caller needs what create_segmentation needs next (SELECT on the orders, CREATE on the
-- schema), so that a definition without views (which any role may drop) is not a way
-- to take names for a role that could not create a segmentation anyway.
CREATE FUNCTION customer_priority.segmentation_insert(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := coalesce(nullif(current_setting('role'), 'none'), session_user);
BEGIN
    IF NOT has_any_column_privilege(caller, def.orders, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', (SELECT relname FROM pg_class WHERE oid = def.orders)
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
CREATE FUNCTION customer_priority.segmentation_lock(name text, action text)
RETURNS SETOF customer_priority.segmentations
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s WHERE s.name = segmentation_lock.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, action);
        RETURN QUERY SELECT * FROM customer_priority.segmentations s
                     WHERE s.name = segmentation_lock.name FOR UPDATE;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_lock(text, text) IS
    'internal (SECURITY DEFINER): the definition of a segmentation, locked for the caller''s transaction';

-- Makes a generation live (refresh_segmentation) and records the refresh time.
CREATE FUNCTION customer_priority.segmentation_set_live(name text, generation "char")
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s WHERE s.name = segmentation_set_live.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, 'change its definition');
        UPDATE customer_priority.segmentations s
        SET generation = segmentation_set_live.generation, refreshed_at = now()
        WHERE s.name = segmentation_set_live.name;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_set_live(text, "char") IS
    'internal (SECURITY DEFINER): makes a generation of a segmentation live';

-- Deletes a definition (drop_segmentation, after its views and tables are gone).
CREATE FUNCTION customer_priority.segmentation_delete(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s WHERE s.name = segmentation_delete.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, 'change its definition');
        DELETE FROM customer_priority.segmentations s WHERE s.name = segmentation_delete.name;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_delete(text) IS
    'internal (SECURITY DEFINER): deletes a segmentation definition';
