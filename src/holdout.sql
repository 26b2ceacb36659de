-------------------------------------------------------------------------------
-- The holdout check of a segmentation's purchase models (docs/potential.md,
-- "Checking a model on a holdout period"): fit each model on the orders up to a
-- calibration end, predict each customer's repeat purchases from then to as_of, and
-- compare with the purchases that followed, by calibration repeat purchases 0 .. 7+
-- and in total (Fader, Hardie & Lee 2005, figure 4 for CDNOW).
-------------------------------------------------------------------------------

-- The query of segmentation_holdout(): one scan of the orders gives every customer's
-- profile up to calibration_end and up to as_of, with the segmentation's own mapping
-- (time zone, order ids, returns; segmentation_order_expressions()).  Both have the
-- same first purchase, so the purchase days between the two ends are the difference of
-- their repeat purchases x, and the holdout's length in the model's unit the difference
-- of their T.  Customers are those with a purchase by calibration_end.
CREATE FUNCTION customer_priority.holdout_query(def customer_priority.segmentations,
                                                calibration_end timestamptz, as_of timestamptz)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o constant jsonb := (customer_priority.segmentation_validate(def)).options;
    -- without the option, its defaults (the unit: week), and every model is compared
    potential constant jsonb := coalesce(nullif(o -> 'potential', 'null'),
                                         customer_priority.potential_options('{"potential": {"model": "best"}}'));
    models constant text[] := customer_priority.potential_fitted_models(potential);
    calibration constant text := '(m.s).x, (m.s).t_x, (m.s).t_cal';
    fits text := '';
    expected text := '';
    ts text;
    amount text;
    profile_extra text;
    m text;
BEGIN
    SELECT e.ordered_at, e.amount, e.profile_extra INTO ts, amount, profile_extra
    FROM customer_priority.segmentation_order_expressions(def, o) e;
    FOREACH m IN ARRAY models LOOP
        fits := fits || format(E',\n           customer_priority.%I(%s) FILTER (WHERE e.repeat_customers) AS %I',
                               m || '_fit', calibration, m);
        expected := expected || format(E',\n        (%L, %s)', m,
            customer_priority.potential_expected_purchases_sql(m, format('f.%I', m), '(m.w).t_cal - (m.s).t_cal',
                                                               '(m.s).x', '(m.s).t_x', '(m.s).t_cal'));
    END LOOP;
    RETURN format($q$
WITH params AS (
    SELECT %1$s AS calibration_end, %2$s AS as_of
), grouped AS (
    SELECT customer_priority.customer_profile(%3$s, %4$s, p.calibration_end, %5$s)
               FILTER (WHERE %3$s <= p.calibration_end) AS calibration,
           customer_priority.customer_profile(%3$s, %4$s, p.as_of, %5$s) AS whole
    FROM %6$s o CROSS JOIN params p
    WHERE o.%7$I IS NOT NULL AND %3$s <= p.as_of
    GROUP BY o.%7$I
), summaries AS (
    SELECT customer_priority.purchase_summary(g.calibration, %8$L) AS s,
           customer_priority.purchase_summary(g.whole, %8$L) AS w
    FROM grouped g
    WHERE (g.calibration).orders > 0
), fitted AS (
    SELECT NULL AS none%9$s
    FROM summaries m
    CROSS JOIN (SELECT bool_or((m.s).x > 0) AS repeat_customers FROM summaries m) e
), predicted AS (
    SELECT least((m.s).x, 7) AS x, (m.w).x - (m.s).x AS actual, p.model, p.expected
    FROM summaries m CROSS JOIN fitted f
    CROSS JOIN LATERAL (VALUES %10$s) AS p(model, expected)
)
SELECT CASE WHEN grouping(p.x) = 1 THEN 'all' WHEN p.x = 7 THEN '7+' ELSE p.x::text END,
       p.model, count(*), avg(p.actual)::float8, avg(p.expected), sum(p.actual), sum(p.expected)
FROM predicted p
GROUP BY GROUPING SETS ((p.model, p.x), (p.model))
ORDER BY p.model, grouping(p.x), p.x$q$,
        customer_priority.segmentation_time_literal(calibration_end),
        customer_priority.segmentation_time_literal(as_of),
        ts, amount, profile_extra,
        def.orders, def.customer_id,
        potential ->> 'unit',
        fits, substr(expected, 3));
END
$$;
COMMENT ON FUNCTION customer_priority.holdout_query(customer_priority.segmentations, timestamptz, timestamptz) IS
    'internal: the query of segmentation_holdout()';

-- segmentation_holdout() of a definition, with the caller's search_path.  It reads the
-- orders as the owner of the segmentation's views (query_as_owner()), as a refresh
-- does, so only a role with the owner's rights may call it.
-- On Citus (docs/scale-out.md): the per-customer rows come to the coordinator as an
-- intermediate result, not stopped by citus.max_intermediate_result_size (1 GB: about
-- 5 M customers).
CREATE FUNCTION customer_priority.holdout_compare(name text, path name[], calibration_end timestamptz)
RETURNS TABLE (repeat_purchases text, model text, customers bigint, actual_mean double precision,
               expected_mean double precision, actual_total bigint, expected_total double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET citus.max_intermediate_result_size = -1
AS $$
DECLARE
    def customer_priority.segmentations := customer_priority.segmentation_find(name, path);
    owned constant regclass := to_regclass(format('%I.%I', def.schema, def.name || '_customers'));
    as_of timestamptz;
BEGIN
    IF calibration_end IS NULL OR isfinite(calibration_end) IS NOT TRUE THEN
        RAISE EXCEPTION 'calibration_end must be a finite time, not %', coalesce(calibration_end::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM customer_priority.segmentation_check_relations(def, '{_customers}');
    PERFORM customer_priority.segmentation_authorize(def, 'check its models on a holdout period');
    as_of := coalesce(((customer_priority.segmentation_validate(def)).options ->> 'as_of')::timestamptz, now());
    IF NOT calibration_end < as_of THEN
        RAISE EXCEPTION 'calibration_end must be before the as_of of segmentation "%"', def.name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('calibration_end is %s, as_of %s.', calibration_end, as_of),
                  HINT = 'The holdout period runs from calibration_end to as_of.';
    END IF;
    RETURN QUERY
    SELECT * FROM customer_priority.query_as_owner(owned,
        customer_priority.holdout_query(def, calibration_end, as_of))
        AS q(repeat_purchases text, model text, customers bigint, actual_mean double precision,
             expected_mean double precision, actual_total bigint, expected_total double precision);
END
$$;
COMMENT ON FUNCTION customer_priority.holdout_compare(text, name[], timestamptz) IS
    'internal: segmentation_holdout() with the caller''s search_path, read as the owner of the views';

CREATE FUNCTION customer_priority.segmentation_holdout(name text, calibration_end timestamptz)
RETURNS TABLE (repeat_purchases text, model text, customers bigint, actual_mean double precision,
               expected_mean double precision, actual_total bigint, expected_total double precision)
LANGUAGE sql VOLATILE
AS $$
    SELECT * FROM customer_priority.holdout_compare($1, pg_catalog.current_schemas(true), $2)
$$;
COMMENT ON FUNCTION customer_priority.segmentation_holdout(text, timestamptz) IS
    'each purchase model of a segmentation fitted on its orders up to calibration_end: mean and total repeat purchases from calibration_end to as_of, actual against expected, by calibration repeat purchases (0 .. 6, 7+) and for all customers';
