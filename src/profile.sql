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
