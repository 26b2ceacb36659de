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
--   FROM customer_priority.segmentations s ORDER BY s.schema, s.name;
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
-- extension and is a superuser).  A segmentation whose relations are missing, or whose
-- stored definition is not valid (segmentation_validate(): written by hand, or by a
-- version that did not validate what it stored), is left as it is, with a warning (its
-- refresh then names what is wrong): no role's definition can make an upgrade fail.
-- The script runs as a superuser, the segmentations belong to other roles: whatever
-- reads their relations or changes their tables runs as their owner
-- (query_columns_as_owner(), execute_as_owner()); only the views' replacement, which
-- parses but runs nothing, is the script's.
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
    owned regclass;
    -- generation tables of this version that a segmentation made by an earlier one lacks
    -- (0.3.0: _cohorts); created here, empty until the next refresh
    added constant text[] := '{_cohorts}';
BEGIN
    BEGIN
        def := customer_priority.segmentation_validate(def);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS missing = MESSAGE_TEXT;
        RAISE WARNING 'segmentation "%" in schema "%" is not upgraded: its definition is not valid', def.name, def.schema
            USING DETAIL = missing,
                  HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        RETURN;
    END;
    SELECT string_agg(format('%I.%I', def.schema, def.name || r), ', ') INTO missing
    FROM unnest(customer_priority.segmentation_relations() || customer_priority.history_relations()) AS r
    WHERE to_regclass(format('%I.%I', def.schema, def.name || r)) IS NULL
      AND NOT EXISTS (SELECT FROM unnest(added) AS a WHERE starts_with(r, a));
    IF missing IS NOT NULL THEN
        RAISE WARNING 'segmentation "%" is not upgraded: % missing', def.name, missing
            USING HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        RETURN;
    END IF;
    owned := format('%I.%I', def.schema, def.name || '_customers')::regclass;

    -- Generation tables, in fill order (the others read _customers_a).
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        query := customer_priority.segmentation_table_query(def, suffix, customers_a);
        -- The columns of the current query: parsed, not run.
        new_columns := customer_priority.query_columns_as_owner(owned, query);
        -- A new generation table: both generations created empty, from the columns of
        -- the query (parsed, never planned or run), by the owner, with their unique
        -- index and the view; then released from the extension, of which a script's
        -- CREATE makes them members.  Made unless the view exists (an update run before).
        -- When the owner cannot (it lost CREATE on the schema, a relation of one of the
        -- names is in the way), the segmentation is left, with a warning, as for missing
        -- relations: no segmentation makes the update fail.
        IF suffix = ANY (added) AND to_regclass(format('%I.%I', def.schema, def.name || suffix)) IS NULL THEN
            BEGIN
                FOREACH col IN ARRAY ARRAY[def.name || suffix || '_a', def.name || suffix || '_b'] LOOP
                    PERFORM customer_priority.execute_as_owner(owned,
                        format('CREATE TABLE %I.%I (%s)', def.schema, col, array_to_string(new_columns, ', ')));
                    PERFORM customer_priority.execute_as_owner(owned,
                        format('CREATE UNIQUE INDEX %I ON %I.%I (%s)', col || '_key', def.schema, col,
                               customer_priority.segmentation_table_key(suffix)));
                    EXECUTE format('ALTER EXTENSION customer_priority DROP TABLE %I.%I', def.schema, col);
                END LOOP;
                PERFORM customer_priority.execute_as_owner(owned,
                    format('CREATE VIEW %I.%I AS %s', def.schema, def.name || suffix,
                           customer_priority.segmentation_view_query(def, suffix)));
                EXECUTE format('ALTER EXTENSION customer_priority DROP VIEW %I.%I', def.schema, def.name || suffix);
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS missing = MESSAGE_TEXT;
                RAISE WARNING 'segmentation "%" in schema "%" is not upgraded: its relations of this version (%) could not be created',
                              def.name, def.schema, def.name || suffix
                    USING DETAIL = missing,
                          HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
                RETURN;
            END;
        END IF;
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
            PERFORM customer_priority.execute_as_owner(owned,
                format('ALTER TABLE %I.%I ADD COLUMN %s', def.schema, def.name || suffix || '_a', col));
            PERFORM customer_priority.execute_as_owner(owned,
                format('ALTER TABLE %I.%I ADD COLUMN %s', def.schema, def.name || suffix || '_b', col));
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
