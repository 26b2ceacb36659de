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
