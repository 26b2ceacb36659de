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
      AND EXISTS (SELECT FROM customer_priority.segmentations s WHERE s.schema = %L AND s.name = %L)
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
        from_as_of, to_as_of, def.schema, def.name, history, history, eq);
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
-- Returns the number of customers.  The statements run as the owner of the views
-- (execute_as_owner()): they read the orders or the views, and write the owner's tables.
-- On Citus (docs/scale-out.md): the per-customer rows come to the coordinator as an
-- intermediate result, not stopped by citus.max_intermediate_result_size (1 GB: about
-- 5 M customers).
CREATE FUNCTION customer_priority.history_store(def customer_priority.segmentations, as_of timestamptz,
                                                source text, compute boolean)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET citus.max_intermediate_result_size = -1
AS $$
DECLARE
    history constant text := format('%I.%I', def.schema, def.name || '_history');
    snapshots constant text := format('%I.%I', def.schema, def.name || '_snapshots');
    owned constant regclass := format('%I.%I', def.schema, def.name || '_customers')::regclass;
    at constant text := customer_priority.segmentation_time_literal(as_of);
    customers text := format('%I.%I', def.schema, def.name || '_customers');
    n bigint;
BEGIN
    PERFORM customer_priority.segmentation_check_relations(def, '{_snapshots,_history}');
    IF compute THEN
        def.options := def.options || jsonb_build_object('as_of', as_of);
        PERFORM customer_priority.check_foreign_partitions(def.orders);
        customers := format('(%s)', customer_priority.segmentation_customers_query(def));
    END IF;
    PERFORM customer_priority.execute_as_owner(owned, format('DELETE FROM %s h WHERE h.as_of = %s', history, at));
    PERFORM customer_priority.execute_as_owner(owned, format('DELETE FROM %s s WHERE s.as_of = %s', snapshots, at));
    n := customer_priority.execute_as_owner(owned,
        format('INSERT INTO %s (as_of, customer_id, rfm_segment, abc_class, xyz_class, primary_type, '
               'lifecycle_stage, frequency, revenue) '
               'SELECT %s, c.customer_id, c.rfm_segment, c.abc_class, c.xyz_class, c.primary_type, '
               'c.lifecycle_stage, c.frequency, c.revenue FROM %s c', history, at, customers));
    PERFORM customer_priority.execute_as_owner(owned,
        format('INSERT INTO %s (as_of, source, customers, taken_at) VALUES (%s, %L, %s, now())',
               snapshots, at, source, n));
    RETURN n;
END
$$;
COMMENT ON FUNCTION customer_priority.history_store(customer_priority.segmentations, timestamptz, text, boolean) IS
    'internal: stores (replaces) one snapshot of a segmentation in its history';

-- Deletes the snapshots older than the option history_retention before the last one
-- (months counted on the calendar of the segmentation's time zone), as the owner of the
-- views.  Returns the number of snapshots deleted.
CREATE FUNCTION customer_priority.history_retain(def customer_priority.segmentations)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    retention constant interval := (customer_priority.history_options(def.options) ->> 'history_retention')::interval;
    tz constant text := def.options ->> 'time_zone';
    owned constant regclass := format('%I.%I', def.schema, def.name || '_customers')::regclass;
    last_as_of timestamptz;
    oldest text;
BEGIN
    IF retention IS NULL THEN
        RETURN 0;
    END IF;
    SELECT q.last_as_of INTO last_as_of
    FROM customer_priority.query_as_owner(owned,
             format('SELECT max(s.as_of) FROM %I.%I s', def.schema, def.name || '_snapshots')) AS q(last_as_of timestamptz);
    oldest := customer_priority.segmentation_time_literal(((last_as_of AT TIME ZONE tz) - retention) AT TIME ZONE tz);
    PERFORM customer_priority.execute_as_owner(owned,
        format('DELETE FROM %I.%I h WHERE h.as_of < %s', def.schema, def.name || '_history', oldest));
    RETURN customer_priority.execute_as_owner(owned,
        format('DELETE FROM %I.%I s WHERE s.as_of < %s', def.schema, def.name || '_snapshots', oldest));
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
CREATE FUNCTION customer_priority.history_lock(def customer_priority.segmentations, action text)
RETURNS customer_priority.segmentations
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted constant text := def.name;
BEGIN
    -- segmentation_lock() (src/privileges.sql) checks the caller and takes the row
    -- lock as refresh_segmentation() does: only it may, the table being read-only to
    -- other roles.
    SELECT * INTO def FROM customer_priority.segmentation_lock(def.schema, def.name, action);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', wanted USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM customer_priority.segmentation_check_relations(def, '{_customers}');
    RETURN def;
END
$$;
COMMENT ON FUNCTION customer_priority.history_lock(customer_priority.segmentations, text) IS
    'internal: the definition of a segmentation, row-locked, after checking that the caller owns its views';

-------------------------------------------------------------------------------
-- Public API: SQL wrappers that resolve the name in the caller's search_path, as
-- refresh_segmentation() does (src/segmentation.sql), around internal functions.
-------------------------------------------------------------------------------

CREATE FUNCTION customer_priority.snapshot_segmentation(name text, as_of timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT customer_priority.history_snapshot($1, pg_catalog.current_schemas(true), $2)
$$;
COMMENT ON FUNCTION customer_priority.snapshot_segmentation(text, timestamptz) IS
    'appends (or replaces) a snapshot of every customer''s segments to the segmentation''s history: of the live views (as_of NULL) or computed from the orders at as_of; returns the number of customers';

CREATE FUNCTION customer_priority.history_snapshot(name text, path name[], as_of timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations :=
        customer_priority.history_lock(customer_priority.segmentation_find(name, path), 'take a snapshot of it');
    n bigint;
BEGIN
    IF $3 IS NULL THEN
        -- the live views, as of their option as_of or of their last refresh
        n := customer_priority.history_store(def, coalesce((def.options ->> 'as_of')::timestamptz, def.refreshed_at),
                                             'snapshot', false);
    ELSIF NOT isfinite($3) THEN
        RAISE EXCEPTION 'as_of must be finite' USING ERRCODE = 'invalid_parameter_value';
    ELSE
        n := customer_priority.history_store(def, $3, 'snapshot', true);
    END IF;
    PERFORM customer_priority.history_retain(def);
    RETURN n;
END
$$;
COMMENT ON FUNCTION customer_priority.history_snapshot(text, name[], timestamptz) IS
    'internal: snapshot_segmentation() with the caller''s search_path';

CREATE FUNCTION customer_priority.backfill_segmentation(name text, first_month date DEFAULT NULL,
                                                        last_month date DEFAULT NULL)
RETURNS TABLE (as_of timestamptz, customers bigint)
LANGUAGE sql
AS $$
    SELECT * FROM customer_priority.history_backfill($1, pg_catalog.current_schemas(true), $2, $3)
$$;
COMMENT ON FUNCTION customer_priority.backfill_segmentation(text, date, date) IS
    'computes a snapshot for the end of each month from first_month to last_month (default: the 12 months before the segmentation''s as_of) from the orders, as the segmentation at that as_of would; returns one row per snapshot';

CREATE FUNCTION customer_priority.history_backfill(name text, path name[], first_month date,
                                                   last_month date)
RETURNS TABLE (as_of timestamptz, customers bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    started constant timestamptz := clock_timestamp();   -- for the progress NOTICEs
    def customer_priority.segmentations :=
        customer_priority.history_lock(customer_priority.segmentation_find(name, path), 'backfill its history');
    tz text;
    reference timestamptz;
    first_m date := date_trunc('month', $3::timestamp)::date;
    last_m date := date_trunc('month', $4::timestamp)::date;
    m date;
    max_months constant integer := 600;
    months integer;             -- to backfill
    done integer := 0;          -- backfilled
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
    months := (extract(year FROM last_m) * 12 + extract(month FROM last_m))
              - (extract(year FROM first_m) * 12 + extract(month FROM first_m)) + 1;
    IF months > max_months THEN
        RAISE EXCEPTION 'at most % months can be backfilled at once', max_months
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('%s to %s is more.', to_char(first_m, 'YYYY-MM'), to_char(last_m, 'YYYY-MM'));
    END IF;
    m := first_m;
    WHILE m <= last_m LOOP
        -- the end of month m: the first instant of the next month in the time zone
        as_of := (m + interval '1 month')::timestamp AT TIME ZONE tz;
        customers := customer_priority.history_store(def, as_of, 'backfill', true);
        done := done + 1;
        PERFORM customer_priority.segmentation_progress(def.name,
            format('backfill: end of %s stored (month %s of %s)', to_char(m, 'YYYY-MM'), done, months),
            started, customers);
        RETURN NEXT;
        m := (m + interval '1 month')::date;
    END LOOP;
    PERFORM customer_priority.history_retain(def);
    PERFORM customer_priority.segmentation_progress(def.name, 'backfill: done', started, NULL);
END
$$;
COMMENT ON FUNCTION customer_priority.history_backfill(text, name[], date, date) IS
    'internal: backfill_segmentation() with the caller''s search_path';

-- Any two snapshots; by default the last two.
CREATE FUNCTION customer_priority.segmentation_transitions(name text, from_snapshot timestamptz DEFAULT NULL,
                                                           to_snapshot timestamptz DEFAULT NULL)
RETURNS TABLE (from_as_of timestamptz, to_as_of timestamptz, dimension text, from_segment text,
               to_segment text, customers bigint, from_share numeric, from_revenue numeric,
               to_revenue numeric, revenue_change numeric)
LANGUAGE sql
AS $$
    SELECT * FROM customer_priority.history_transitions($1, pg_catalog.current_schemas(true), $2, $3)
$$;
COMMENT ON FUNCTION customer_priority.segmentation_transitions(text, timestamptz, timestamptz) IS
    'the from -> to matrix of each dimension between two snapshots of a segmentation (default: to the last one, from the one before to_snapshot), with customers and revenue; the rows of <name>_transitions for any pair';

-- segmentation_transitions() of a definition.  It reads the history as the owner of the
-- views (query_as_owner()), so only a role with the owner's rights may call it: that
-- is what reading the history tables took before; a reader granted the view
-- <name>_transitions reads the last two snapshots there.
CREATE FUNCTION customer_priority.history_transitions(name text, path name[],
                                                      from_snapshot timestamptz, to_snapshot timestamptz)
RETURNS TABLE (from_as_of timestamptz, to_as_of timestamptz, dimension text, from_segment text,
               to_segment text, customers bigint, from_share numeric, from_revenue numeric,
               to_revenue numeric, revenue_change numeric)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations := customer_priority.segmentation_find(name, path);
    snapshots text;
    owned regclass;
    f timestamptz := $3;
    t timestamptz := $4;
    found_as_of timestamptz;
    present boolean;
BEGIN
    snapshots := format('%I.%I', def.schema, def.name || '_snapshots');
    owned := to_regclass(format('%I.%I', def.schema, def.name || '_customers'));
    IF owned IS NULL OR to_regclass(snapshots) IS NULL
       OR to_regclass(format('%I.%I', def.schema, def.name || '_history')) IS NULL THEN
        RAISE EXCEPTION 'the history of segmentation "%" is missing', def.name
            USING ERRCODE = 'undefined_table',
                  HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
    END IF;
    PERFORM customer_priority.segmentation_authorize(def, 'read its transitions');
    FOREACH found_as_of IN ARRAY ARRAY[f, t] LOOP
        CONTINUE WHEN found_as_of IS NULL;
        SELECT q.present INTO STRICT present
        FROM customer_priority.query_as_owner(owned,
                 format('SELECT EXISTS (SELECT FROM %s s WHERE s.as_of = %s)', snapshots,
                        customer_priority.segmentation_time_literal(found_as_of))) AS q(present boolean);
        IF NOT present THEN
            RAISE EXCEPTION 'segmentation "%" has no snapshot as of %', def.name, found_as_of
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('The snapshots are the rows of %s.', snapshots);
        END IF;
    END LOOP;
    IF t IS NULL THEN
        SELECT q.t INTO t
        FROM customer_priority.query_as_owner(owned, format('SELECT max(s.as_of) FROM %s s', snapshots))
             AS q(t timestamptz);
    END IF;
    IF f IS NULL THEN
        SELECT q.f INTO f
        FROM customer_priority.query_as_owner(owned,
                 format('SELECT max(s.as_of) FROM %s s WHERE s.as_of < %s', snapshots,
                        coalesce(customer_priority.segmentation_time_literal(t), 'NULL'))) AS q(f timestamptz);
    END IF;
    RETURN QUERY
    SELECT * FROM customer_priority.query_as_owner(owned,
        customer_priority.history_transitions_query(def,
            coalesce(customer_priority.segmentation_time_literal(f), 'NULL'),
            coalesce(customer_priority.segmentation_time_literal(t), 'NULL')))
        AS q(from_as_of timestamptz, to_as_of timestamptz, dimension text, from_segment text,
             to_segment text, customers bigint, from_share numeric, from_revenue numeric,
             to_revenue numeric, revenue_change numeric);
END
$$;
COMMENT ON FUNCTION customer_priority.history_transitions(text, name[], timestamptz, timestamptz) IS
    'internal: segmentation_transitions() with the caller''s search_path, read as the owner of the views';
