-- customer_priority 0.1.0 -> 0.2.0 (ALTER EXTENSION customer_priority UPDATE TO '0.2.0').
--
-- Rule for every upgrade script customer_priority--X--Y.sql (docs/segmentation.md,
-- "pg_dump, upgrades, DROP EXTENSION"; README, "Upgrading"):
--   1. It holds exactly what differs between the install scripts of X and Y: new objects
--      created with the same text as in src/*.sql; changed functions with CREATE OR
--      REPLACE FUNCTION (CREATE OR REPLACE AGGREGATE for aggregates, never DROP and
--      CREATE: views may depend on them); dropped objects dropped; changed comments,
--      grants and configuration rows (pg_extension_config_dump) done again.
--   2. Existing segmentations: their views and tables are not extension members, so the
--      script migrates them.  What segmentation_upgrade() cannot do generically it does
--      first (rows of customer_priority.segmentations: a new option's default into
--      options; a column renamed, dropped, retyped or not at the end of a generated
--      table or view; a changed history table <name>_snapshots / <name>_history); then
--      it ends with the call below, which appends new columns to the generation tables,
--      replaces the views and comments them again.
--   3. Once released (a git tag), the script is frozen, as is the install script of the
--      released version in upgrade/.
-- test/t/002_upgrade.pl checks that an upgraded database (extension and segmentation)
-- equals a fresh install of the new version.
--
-- 0.2.0: segmentation_upgrade() itself (src/upgrade.sql); postgres_fdw shards (issue 10);
-- the option "potential" of segmentations (issue 9).

\echo Use "ALTER EXTENSION customer_priority UPDATE TO '0.2.0'" to load this file. \quit

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

-- 0.2.0, issue 10: segmentations over postgres_fdw shards (docs/scale-out.md): the type
-- calendar_name, the forms of customer_profile() and xyz() taking it, at_time_zone(),
-- check_foreign_partitions() (src/shards.sql, all new).
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

-- 0.2.0, issue 9: the option "potential" of segmentations (docs/potential.md).
-- customer_typology() with p_alive: an overload (the five-argument function is unchanged).
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

-- New: the option's parsing.
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

-- Changed (issues 9 and 10): the option, the query of <name>_customers (four columns at
-- the end, the fits, the flag; aggregates postgres_fdw can ship), the comments of its
-- columns, and the shard check before create, refresh and backfill.
CREATE OR REPLACE FUNCTION customer_priority.segmentation_options(options jsonb, orders regclass,
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

CREATE OR REPLACE FUNCTION customer_priority.segmentation_customers_query(def customer_priority.segmentations)
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

CREATE OR REPLACE FUNCTION customer_priority.segmentation_comment(def customer_priority.segmentations)
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

CREATE OR REPLACE FUNCTION customer_priority.segmentation_view_query(def customer_priority.segmentations, suffix text)
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

CREATE OR REPLACE FUNCTION customer_priority.create_segmentation(
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

CREATE OR REPLACE FUNCTION customer_priority.refresh_segmentation(name text, concurrently boolean DEFAULT true)
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

CREATE OR REPLACE FUNCTION customer_priority.history_store(def customer_priority.segmentations, as_of timestamptz,
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

-- The per-customer model functions declare their cost (the planner then scores many
-- customers in parallel workers).
ALTER FUNCTION customer_priority.bgnbd_p_alive(customer_priority.bgnbd_model, integer, double precision, double precision) COST 50;
ALTER FUNCTION customer_priority.bgnbd_expected_purchases(customer_priority.bgnbd_model, double precision, integer, double precision, double precision) COST 100;
ALTER FUNCTION customer_priority.bgnbd_expected_purchases(customer_priority.bgnbd_model, double precision) COST 100;
ALTER FUNCTION customer_priority.gamma_gamma_expected_spend(customer_priority.gamma_gamma_model, integer, double precision) COST 50;
ALTER FUNCTION customer_priority.customer_clv(customer_priority.bgnbd_model, customer_priority.gamma_gamma_model, integer, double precision, double precision, double precision, double precision, double precision) COST 1000;

-- The recommended action of the flag at_risk_high_clv (a configuration row; the upsert
-- trigger keeps a row the user already added).
INSERT INTO customer_priority.segment_actions (dimension, segment, recommended_action)
VALUES ('label', 'at_risk_high_clv',
        'Win them back first, personally: the most expected future revenue at stake of all customers at risk.');

-- Stored definitions hold every option with its default: "potential" (off) and the new
-- typology option contender_min_p_alive.
UPDATE customer_priority.segmentations
SET options = options || jsonb_build_object('potential', NULL)
              || jsonb_build_object('typology', (options -> 'typology') || '{"contender_min_p_alive": 0.5}')
WHERE NOT options ? 'potential';

-- Existing segmentations (last: the functions that generate their objects are current).
SELECT customer_priority.segmentation_upgrade(s)
FROM customer_priority.segmentations s ORDER BY s.name;
