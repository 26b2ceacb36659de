-------------------------------------------------------------------------------
-- Cohorts of a segmentation: <name>_cohorts, one row per first-purchase cohort and
-- period since the first purchase (retention, revenue, the move to regular).  Stored in
-- two generations of tables like _customers, _segments and _profiles
-- (src/segmentation.sql fills them at create and refresh, after _customers, whose
-- rows it reads).  Docs: docs/segmentation.md, "<name>_cohorts".
--
-- Definitions (the column comments and the docs say the same):
--   - the period is the segmentation's xyz_period (week: ISO weeks from Monday, month,
--     quarter) on the calendar of its time_zone;
--   - a customer's cohort is the period of its first_order_at (first purchase at or
--     before as_of); period 0 is that period, period k the k-th after it, up to the
--     period holding as_of;
--   - active in a period: at least one purchase row (positive amount) in it;
--   - revenue: net amount of all the cohort's rows in the period (purchases minus
--     refunds and returned amounts); a row with a NULL amount counts nowhere, as in
--     customer_profile();
--   - regular by period k: the customer's lifecycle_stage at as_of is regular, and its
--     purchases (distinct order ids of purchase rows, else purchase rows, as frequency
--     counts them: an order counts in the period of its first purchase row, a purchase
--     row without order id is an order of its own) up to the
--     end of period k reached the typology option regular_min_orders.  Lifecycle
--     stages are computed for as_of only (the tenure and activity rules need the whole
--     history): this is "became one of today's regulars by then".
-------------------------------------------------------------------------------

-- The query of <name>_cohorts for a definition, reading its customers table (a quoted,
-- qualified name of _customers_a or _b, filled first).  The orders are read once more:
-- where the one-scan pass applies (segmentation_scan_lines()), segmentation_cohorts()
-- counts each cohort's cells in C from the states of src/segmentation_scan.c;
-- otherwise they are grouped per customer and period in one pass (with order ids, the
-- orders of the customers regular at as_of are grouped once more, for the period each
-- order counts in).  The grid of cohorts and periods comes from generate_series over
-- local timestamps, so no session setting (TimeZone) changes a period.
CREATE FUNCTION customer_priority.segmentation_cohorts_query(def customer_priority.segmentations,
                                                              customers text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Built only from a validated definition; option values reach the SQL as %L
    -- literals or through casts, as in segmentation_customers_query().
    o constant jsonb := (customer_priority.segmentation_validate(def)).options;
    tz constant text := o ->> 'time_zone';
    period constant text := o ->> 'xyz_period';
    step constant text := CASE o ->> 'xyz_period' WHEN 'quarter' THEN '3 months' ELSE '1 ' || (o ->> 'xyz_period') END;
    regular_min constant bigint := (o -> 'typology' ->> 'regular_min_orders')::bigint;
    keyed constant boolean := o ->> 'order_id' IS NOT NULL;
    as_of constant text := customer_priority.segmentation_time_literal(coalesce((o ->> 'as_of')::timestamptz, now()));
    lines constant text := customer_priority.segmentation_scan_lines(def, o, as_of);
    ts text;
    amount text;
    counted text;
BEGIN
    SELECT e.ordered_at, e.amount INTO ts, amount
    FROM customer_priority.segmentation_order_expressions(def, o) e;
    IF lines IS NOT NULL THEN
        -- one scan (src/segmentation_scan.sql) counts the cells in C
        counted := format($c$cells AS (
    SELECT * FROM customer_priority.segmentation_cohorts(%L, %s, %L, %L,
        coalesce((SELECT array_agg(c.customer_id::bigint) FROM %s c WHERE c.lifecycle_stage = 'regular'), '{}'),
        %s)
), active AS (
    SELECT cohort, period_start, active_customers AS customers, revenue FROM cells
), regulars AS (
    SELECT cohort, period_start, regulars_reached AS customers FROM cells WHERE regulars_reached > 0
)$c$, lines, as_of, tz, period, customers, regular_min);
    ELSE
        counted := format($c$lines AS (
    SELECT o.%1$I AS customer_id,
           date_trunc(%2$L, %3$s AT TIME ZONE %4$L)::date AS period_start,
           %5$s AS amount,
           %6$s AS returned,
           %7$s AS order_id
    FROM %8$s o CROSS JOIN params p
    WHERE o.%1$I IS NOT NULL AND %3$s <= p.as_of AND %5$s IS NOT NULL
), activity AS (
    -- one pass over the lines; without order ids a purchase is a purchase row, counted
    -- here too
    SELECT l.customer_id, l.period_start,
           bool_or(l.amount > 0) AS active,
           sum(l.amount) - coalesce(sum(l.returned), 0) AS revenue,
           count(*) FILTER (WHERE l.amount > 0) AS purchase_rows
    FROM lines l
    GROUP BY l.customer_id, l.period_start
), purchases AS (
    -- purchases per period of the customers regular at as_of (the only ones counted
    -- below): %9$s
    %10$s
), reached AS (
    SELECT x.customer_id, min(x.period_start) AS period_start
    FROM (SELECT p.customer_id, p.period_start,
                 sum(p.purchases) OVER (PARTITION BY p.customer_id ORDER BY p.period_start) AS purchases
          FROM purchases p) x
    WHERE x.purchases >= %11$s
    GROUP BY x.customer_id
), active AS (
    SELECT f.cohort, a.period_start, count(*) FILTER (WHERE a.active) AS customers, sum(a.revenue) AS revenue
    FROM activity a JOIN firsts f ON f.customer_id = a.customer_id
    GROUP BY f.cohort, a.period_start
), regulars AS (
    SELECT f.cohort, r.period_start, count(*) AS customers
    FROM reached r JOIN firsts f ON f.customer_id = r.customer_id
    WHERE f.regular
    GROUP BY f.cohort, r.period_start
)$c$,
            def.customer_id,
            period, ts, tz,
            amount,
            CASE WHEN o ->> 'returned_amount' IS NULL THEN 'NULL::numeric' ELSE format('o.%I::numeric', o ->> 'returned_amount') END,
            CASE WHEN keyed THEN format('o.%I', o ->> 'order_id') ELSE 'NULL::bigint' END,
            def.orders,
            CASE WHEN keyed THEN 'an order counts once, in the period of its first purchase row; a purchase row without order id is an order of its own'
                 ELSE 'the purchase rows of each period' END,
            CASE WHEN keyed THEN $p$SELECT u.customer_id, u.period_start, sum(u.purchases) AS purchases
    FROM (SELECT l.customer_id, min(l.period_start) AS period_start, 1 AS purchases
          FROM lines l JOIN firsts f ON f.customer_id = l.customer_id AND f.regular
          WHERE l.amount > 0 AND l.order_id IS NOT NULL
          GROUP BY l.customer_id, l.order_id
          UNION ALL
          SELECT l.customer_id, l.period_start, count(*)
          FROM lines l JOIN firsts f ON f.customer_id = l.customer_id AND f.regular
          WHERE l.amount > 0 AND l.order_id IS NULL
          GROUP BY l.customer_id, l.period_start) u
    GROUP BY u.customer_id, u.period_start$p$
             ELSE $p$SELECT a.customer_id, a.period_start, a.purchase_rows AS purchases
    FROM activity a JOIN firsts f ON f.customer_id = a.customer_id AND f.regular
    WHERE a.purchase_rows > 0$p$ END,
            regular_min);
    END IF;
    RETURN format($q$
WITH params AS (
    SELECT %1$s AS as_of
), firsts AS (
    SELECT c.customer_id,
           date_trunc(%2$L, c.first_order_at AT TIME ZONE %3$L)::date AS cohort,
           c.lifecycle_stage = 'regular' AS regular
    FROM %4$s c
), %5$s, sizes AS (
    SELECT f.cohort, count(*) AS customers FROM firsts f GROUP BY f.cohort
), grid AS (
    SELECT s.cohort, (g.n - 1)::integer AS period, g.period_start::date AS period_start, s.customers
    FROM sizes s CROSS JOIN params p
    CROSS JOIN LATERAL generate_series(s.cohort::timestamp, date_trunc(%2$L, p.as_of AT TIME ZONE %3$L),
                                       %6$L::interval) WITH ORDINALITY AS g(period_start, n)
)
SELECT g.cohort,
       g.period,
       g.period_start,
       g.customers AS cohort_customers,
       coalesce(a.customers, 0) AS active_customers,
       round(coalesce(a.customers, 0)::numeric / g.customers, 6) AS retention,
       coalesce(a.revenue, 0) AS revenue,
       sum(coalesce(r.customers, 0)) OVER (PARTITION BY g.cohort ORDER BY g.period)::bigint AS regular_customers,
       round(sum(coalesce(r.customers, 0)) OVER (PARTITION BY g.cohort ORDER BY g.period) / g.customers, 6) AS regular_share
FROM grid g
LEFT JOIN active a ON a.cohort = g.cohort AND a.period_start = g.period_start
LEFT JOIN regulars r ON r.cohort = g.cohort AND r.period_start = g.period_start
$q$,
        as_of, period, tz, customers, counted, step);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_cohorts_query(customer_priority.segmentations, text) IS
    'internal: the query of <name>_cohorts of a segmentation definition, reading the given customers relation';
