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
    name         text NOT NULL CHECK (name <> ''),
    schema       name NOT NULL,
    orders       regclass NOT NULL,
    customer_id  name NOT NULL,
    ordered_at   name NOT NULL,
    amount       name NOT NULL,
    options      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    refreshed_at timestamptz,
    generation   "char" NOT NULL DEFAULT 'a' CHECK (generation IN ('a', 'b')),
    -- unique per schema, as the relations named after it are
    CONSTRAINT segmentations_pkey PRIMARY KEY (schema, name)
);
COMMENT ON TABLE customer_priority.segmentations IS
    'one row per segmentation made by create_segmentation(); its views are <schema>.<name>_customers, _membership, _segments, _profiles, _cohorts';
COMMENT ON COLUMN customer_priority.segmentations.name IS
    'the segmentation''s name, prefix of its views; unique within its schema';
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

-- Who may write which definition, and what a definition may hold:
--   - a definition belongs to the owner of its views (<name>_customers; without them,
--     of its table <name>_customers_a): only a role with that owner's rights may change
--     or delete it (the generation above all: it decides what the views show).
--     Ownership is the views' owner, not a column: a restore with --no-owner (views
--     owned by whoever restores) or into a cluster without the original roles keeps
--     every definition usable;
--   - every definition written, by whichever path (create_segmentation(), a restore, a
--     DBA's INSERT or UPDATE), is validated as create_segmentation() validates its
--     arguments, and stored with its effective options: the generated SQL is only ever
--     built from definitions that passed these checks.
-- Every role reads the table: the views read their generation from it with their
-- owner's rights.  Rows are written only through the SECURITY DEFINER functions of
-- src/privileges.sql, which grants the table's privileges.

-- The role owning a segmentation's views (or, without them, its table _customers_a);
-- NULL when neither exists (being created, or dropped by hand): nothing to protect.
CREATE FUNCTION customer_priority.segmentation_owner(def customer_priority.segmentations)
RETURNS oid
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.relowner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = def.schema AND c.relname IN (def.name || '_customers', def.name || '_customers_a')
    ORDER BY c.relname = def.name || '_customers' DESC
    LIMIT 1
$$;
COMMENT ON FUNCTION customer_priority.segmentation_owner(customer_priority.segmentations) IS
    'internal: the owner of a segmentation''s views (NULL when its relations are gone)';

-- A segmentation name, checked: the names of its objects (<name>_customers_a_key, the
-- longest) must fit in 63 bytes.
CREATE FUNCTION customer_priority.segmentation_check_name(name text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_length constant integer := 63 - length('_customers_a_key');
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'segmentation name must not be null' USING ERRCODE = 'null_value_not_allowed';
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
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_check_name(text) IS
    'internal: raises an error unless a segmentation name is usable (not empty, at most 47 bytes)';

-- The orders relation of a segmentation: something rows can be read from.
CREATE FUNCTION customer_priority.segmentation_check_orders(orders regclass)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = orders AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) THEN
        RAISE EXCEPTION '% is not a table, view, materialized view or foreign table', orders
            USING ERRCODE = 'wrong_object_type';
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_check_orders(regclass) IS
    'internal: raises 42809 unless a relation is a table, view, materialized view or foreign table';

-- A definition checked as create_segmentation() checks its arguments, with its
-- effective options (segmentation_options(): checked, defaults filled in, the
-- customers relation as a qualified, quoted name); an error for anything else.  The
-- customers relation is resolved with this function's search_path: a stored
-- definition names it qualified.
-- VOLATILE, as segmentation_options() is (it reads as_of in the segmentation's time zone
-- by setting TimeZone for a moment).
CREATE FUNCTION customer_priority.segmentation_validate(def customer_priority.segmentations)
RETURNS customer_priority.segmentations
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    customers regclass;
BEGIN
    PERFORM customer_priority.segmentation_check_name(def.name);
    IF def.orders IS NULL OR def.customer_id IS NULL OR def.ordered_at IS NULL OR def.amount IS NULL
       OR def.schema IS NULL OR def.options IS NULL THEN
        RAISE EXCEPTION 'orders, customer_id, ordered_at, amount, schema and options of segmentation "%" must not be null', def.name
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM customer_priority.segmentation_check_orders(def.orders);
    PERFORM customer_priority.segmentation_column_type(def.orders, def.customer_id, 'customer_id', 'any');
    PERFORM customer_priority.segmentation_column_type(def.orders, def.ordered_at, 'ordered_at', 'time');
    PERFORM customer_priority.segmentation_column_type(def.orders, def.amount, 'amount', 'number');
    IF jsonb_typeof(def.options -> 'customers') = 'string' THEN
        customers := to_regclass(def.options ->> 'customers');
    END IF;
    def.options := customer_priority.segmentation_options(def.options, def.orders, def.customer_id,
                                                           def.schema, customers);
    IF def.options ->> 'schema' <> def.schema THEN
        RAISE EXCEPTION 'segmentation "%" is in schema "%", its option "schema" says "%"',
                        def.name, def.schema, def.options ->> 'schema'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN def;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_validate(customer_priority.segmentations) IS
    'internal: a segmentation definition checked, with its effective options; an error if it is not valid';

-- Trigger of the definitions table: the rules above, for every row written.
CREATE FUNCTION customer_priority.segmentations_check()
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
        owner := customer_priority.segmentation_owner(def);
        IF owner IS NOT NULL AND NOT pg_has_role(current_user, owner, 'MEMBER') THEN
            RAISE EXCEPTION 'must be owner of the views of segmentation "%" to change its definition', def.name
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('%I.%I belongs to %s.', def.schema, def.name || '_customers',
                                      pg_get_userbyid(owner));
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    -- a refresh changes only generation and refreshed_at: nothing to validate again
    IF TG_OP = 'INSERT'
       OR (NEW.name, NEW.schema, NEW.orders, NEW.customer_id, NEW.ordered_at, NEW.amount, NEW.options)
          IS DISTINCT FROM (OLD.name, OLD.schema, OLD.orders, OLD.customer_id, OLD.ordered_at, OLD.amount, OLD.options) THEN
        NEW := customer_priority.segmentation_validate(NEW);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentations_check() IS
    'trigger function: only members of the role owning a segmentation''s views may insert, change or delete its definition, and every definition written is validated';
CREATE TRIGGER check_definition BEFORE INSERT OR UPDATE OR DELETE
    ON customer_priority.segmentations
    FOR EACH ROW EXECUTE FUNCTION customer_priority.segmentations_check();

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
    -- xyz_class() takes 0 <= x_max < y_max: an equal pair would pass here and fail there
    IF (r ->> 'xyz_x_max')::numeric >= (r ->> 'xyz_y_max')::numeric THEN
        RAISE EXCEPTION 'option "xyz_x_max" must be less than "xyz_y_max"'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('xyz_x_max is %s, xyz_y_max %s.', r ->> 'xyz_x_max', r ->> 'xyz_y_max');
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
            -- (an empty customer_attributes is what the effective options hold)
            IF o ? k AND o -> k <> '[]' THEN
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

-- A point in time as an SQL literal ('2024-06-30T22:00:00.000000+00'::timestamptz) that
-- reads back as the same instant whatever the session's DateStyle and TimeZone; NULL for
-- NULL.  Generated SQL takes times as these constants (postgres_fdw ships no call of a
-- STABLE function such as now(), and SQL run by execute_as_owner() takes no parameters).
CREATE FUNCTION customer_priority.segmentation_time_literal(t timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%L::timestamptz', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00')
    WHERE t IS NOT NULL
$$;
COMMENT ON FUNCTION customer_priority.segmentation_time_literal(timestamptz) IS
    'internal: a timestamptz as an SQL literal independent of DateStyle and TimeZone';

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

-- SQL expressions over the orders relation (alias o) of a segmentation: the order time
-- as timestamptz (a timestamp or date column read in the time zone), the amount as
-- numeric, and the arguments of customer_profile() after (ordered_at, amount, as_of):
-- order id, returned amount, discount, time zone.  The columns are checked
-- (segmentation_column_type()); o is the definition's effective options.
CREATE FUNCTION customer_priority.segmentation_order_expressions(def customer_priority.segmentations, o jsonb,
                                                                 OUT ordered_at text, OUT amount text,
                                                                 OUT profile_extra text, OUT order_id text,
                                                                 OUT returned_amount text, OUT discount text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz constant text := o ->> 'time_zone';
BEGIN
    ordered_at := format('o.%I', def.ordered_at);
    CASE customer_priority.segmentation_column_type(def.orders, def.ordered_at, 'ordered_at', 'time')
        -- at_time_zone(): AT TIME ZONE that postgres_fdw can ship (src/shards.sql)
        WHEN 'timestamp'::regtype THEN
            ordered_at := format('customer_priority.at_time_zone(%L::customer_priority.calendar_name, %s)', tz, ordered_at);
        WHEN 'date'::regtype THEN
            ordered_at := format('customer_priority.at_time_zone(%L::customer_priority.calendar_name, %s::timestamp)', tz, ordered_at);
        ELSE NULL;
    END CASE;
    PERFORM customer_priority.segmentation_column_type(def.orders, def.amount, 'amount', 'number');
    amount := format('o.%I::numeric', def.amount);
    order_id := CASE WHEN o ->> 'order_id' IS NULL THEN 'NULL::bigint' ELSE format('o.%I', o ->> 'order_id') END;
    returned_amount := CASE WHEN o ->> 'returned_amount' IS NULL THEN 'NULL::numeric'
                            ELSE format('o.%I::numeric', o ->> 'returned_amount') END;
    discount := CASE WHEN o ->> 'discount' IS NULL THEN 'NULL::numeric' ELSE format('o.%I::numeric', o ->> 'discount') END;
    profile_extra := format('%s, %s, %s, %L::customer_priority.calendar_name', order_id, returned_amount, discount, tz);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_order_expressions(customer_priority.segmentations, jsonb) IS
    'internal: SQL expressions of a segmentation''s order time, amount, order id, returned amount and discount, and the customer_profile() arguments after as_of';

-- Does a relation read only rows of this database: tables, materialized views,
-- partitioned tables and views over them, none of them foreign or distributed by Citus?
-- A scan of it then reads local pages; postgres_fdw shards and Citus tables are better
-- served by GROUP BY, which they run where the rows are.
CREATE FUNCTION customer_priority.segmentation_scans_locally(rel regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    relations regclass[];
    distributed boolean := false;
BEGIN
    -- the relation, the partitions of partitioned ones, the relations views read
    WITH RECURSIVE reads(relid) AS (
        SELECT rel::oid
        UNION
        SELECT x.relid
        FROM reads r
        JOIN pg_catalog.pg_class c ON c.oid = r.relid
        CROSS JOIN LATERAL (
            SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid
            UNION
            SELECT d.refobjid
            FROM pg_catalog.pg_rewrite w
            JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass
                                       AND d.objid = w.oid
                                       AND d.refclassid = 'pg_catalog.pg_class'::regclass
            WHERE w.ev_class = c.oid AND c.relkind = 'v' AND d.refobjid <> c.oid
        ) AS x(relid)
    )
    SELECT array_agg(r.relid::regclass) INTO relations FROM reads r;
    IF EXISTS (SELECT FROM pg_catalog.pg_class c
               WHERE c.oid = ANY (relations) AND c.relkind NOT IN ('r', 'm', 'p', 'v')) THEN
        RETURN false;
    END IF;
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = ANY ($1))'
            INTO distributed USING relations;
    END IF;
    RETURN NOT distributed;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_scans_locally(regclass) IS
    'internal: whether a relation reads only local rows (tables, materialized views, partitioned tables and views over them; no foreign or Citus table)';

-- The lines query of the one-scan pass (segmentation_customers()) of a definition, or
-- NULL where GROUP BY is used instead: with customer_priority.segmentation_scan off, a
-- customer id other than an integer, an attribute of the orders (their mode() is an
-- ordered-set aggregate), or orders whose rows are not local.  as_of is the literal of
-- segmentation_time_literal().  Every option reaches it as segmentation_order_expressions()
-- quotes it.
CREATE FUNCTION customer_priority.segmentation_scan_lines(def customer_priority.segmentations, o jsonb,
                                                          as_of text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e record;
BEGIN
    IF NOT coalesce(pg_catalog.current_setting('customer_priority.segmentation_scan', true), 'on')::boolean
       OR customer_priority.segmentation_column_type(def.orders, def.customer_id, 'customer_id', 'any')
          NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)
       OR o ->> 'channel' IS NOT NULL
       OR pg_catalog.jsonb_array_length(coalesce(o -> 'order_attributes', '[]')) > 0
       OR NOT customer_priority.segmentation_scans_locally(def.orders) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO e FROM customer_priority.segmentation_order_expressions(def, o);
    RETURN format('SELECT o.%I::bigint, %s, %s, %s, %s, %s, %s FROM %s o WHERE o.%I IS NOT NULL AND %s <= %s',
                  def.customer_id, e.ordered_at, e.amount, e.order_id, e.returned_amount, e.discount,
                  CASE WHEN o ->> 'margin' IS NULL THEN 'NULL::numeric' ELSE format('o.%I::numeric', o ->> 'margin') END,
                  def.orders, def.customer_id, e.ordered_at, as_of);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_scan_lines(customer_priority.segmentations, jsonb, text) IS
    'internal: the lines query of a segmentation''s one-scan pass, or NULL where GROUP BY is used';

-- The query of <name>_customers: everything a segmentation computes per customer, in
-- one statement (per-customer aggregates, then the population's break points, ABC
-- cut-offs and typology model, then the scores and labels).  VOLATILE: it validates
-- the definition first (segmentation_validate()).
CREATE FUNCTION customer_priority.segmentation_customers_query(def customer_priority.segmentations)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Built only from a validated definition, whatever wrote it; and every option value
    -- below reaches the SQL as a quoted literal (%L) or through a cast whose result is
    -- pasted (regclass, numeric, integer), never as text of the definition's.
    o constant jsonb := (customer_priority.segmentation_validate(def)).options;
    tz constant text := o ->> 'time_zone';
    w constant jsonb := o -> 'abc_weights';
    bins constant integer := (o ->> 'bins')::integer;
    -- NULL when off (and in definitions made before the option existed)
    potential constant jsonb := nullif(o -> 'potential', 'null');
    customers constant regclass := (o ->> 'customers')::regclass;
    summary text := '';
    scored text;
    labels text := 't.labels';
    high_clv text := '';
    id_type regtype;
    ts text;
    amount text;
    profile_extra text;
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
    -- now() as a constant (the same value in this transaction): postgres_fdw ships
    -- no call of a STABLE function, so now() would keep the aggregation off the shards
    as_of constant text := customer_priority.segmentation_time_literal(coalesce((o ->> 'as_of')::timestamptz, now()));
    lines text;
    grouped text;
    sql text;
BEGIN
    id_type := customer_priority.segmentation_column_type(def.orders, def.customer_id, 'customer_id', 'any');
    SELECT e.ordered_at, e.amount, e.profile_extra INTO ts, amount, profile_extra
    FROM customer_priority.segmentation_order_expressions(def, o) e;
    lines := customer_priority.segmentation_scan_lines(def, o, as_of);

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

    -- per customer: one scan where it applies (src/segmentation_scan.sql), else GROUP BY
    IF lines IS NOT NULL THEN
        -- in the select list: its rows stream to the next step, not into a tuplestore
        grouped := format($g$
    SELECT (s.c).customer_id::%s AS customer_id, (s.c).profile, (s.c).xyz, (s.c).profit
    FROM (SELECT customer_priority.segmentation_customers(%L, p.as_of, %L, %L, %L) AS c
          FROM params p) s$g$,
            id_type, lines, tz, o ->> 'xyz_period', o ->> 'discount' IS NOT NULL);
    ELSE
        grouped := format($g$
    SELECT o.%I AS customer_id,
           customer_priority.customer_profile(%s, %s, p.as_of, %s) AS profile,
           customer_priority.xyz(%s, %s, p.as_of, %L::customer_priority.calendar_name,
                                 %L::customer_priority.calendar_name) AS xyz%s
    FROM %s o CROSS JOIN params p
    WHERE o.%I IS NOT NULL AND %s <= p.as_of
    GROUP BY o.%I$g$,
            def.customer_id,
            ts, amount, profile_extra,
            ts, amount, o ->> 'xyz_period', tz,
            grouped_extra,
            def.orders,
            def.customer_id, ts,
            def.customer_id);
    END IF;

    -- per customer: the customers relation
    IF o ->> 'customers' IS NOT NULL THEN
        customers_join := format(' LEFT JOIN %s k ON k.%I %s g.customer_id', customers,
            o ->> 'customer_key',
            customer_priority.segmentation_equality(
                customer_priority.segmentation_column_type(customers, o ->> 'customer_key', 'customer_key', 'any'),
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

    -- Potential (docs/potential.md, "In segmentations"): the purchase model (or, with
    -- "best", every model) and Gamma-Gamma are fitted over the customers' purchase
    -- summaries, then each customer is scored with them.  Expected purchases need
    -- a + b + x > 1 in BG/NBD and expected spend q > 1 (a fit can leave either
    -- undefined): those values, and CLV, are then NULL rather than failing the
    -- refresh.  The flag at_risk_high_clv goes before the lifecycle stage, which ends
    -- the labels.
    IF potential IS NULL THEN
        scored := $s$scored AS (
    SELECT b.*, NULL::float8 AS p_alive, NULL::float8 AS expected_purchases,
           NULL::float8 AS expected_spend, NULL::float8 AS clv,
           NULL::float8 AS p_purchase_next_unit, NULL::float8 AS next_purchase_units,
           NULL::text AS potential_model
    FROM base b
)$s$;
    ELSE
        -- the summary as plain columns (from one call per customer): a field of a
        -- composite column is detoasted at each of its dozen uses per customer
        summary := E',\n           ps.x AS summary_x, ps.t_x AS summary_t_x, ps.t_cal AS summary_t_cal,'
                   || E'\n           ps.repeat_spend::float8 AS summary_spend';
        customers_join := customers_join
            || format(' CROSS JOIN LATERAL customer_priority.purchase_summary(g.profile, %L) ps',
                      potential ->> 'unit');
        scored := customer_priority.segmentation_potential_query(potential);
        high_clv := format(E'\nCROSS JOIN (SELECT percentile_disc(%s) WITHIN GROUP (ORDER BY r.clv) AS min_clv FROM ranked r) high_clv',
                           1 - (potential ->> 'high_clv_share')::numeric);
        labels := $l$CASE WHEN t.lifecycle_stage = 'at_risk' AND r.clv > high_clv.min_clv
            THEN t.labels[:cardinality(t.labels) - 1] || 'at_risk_high_clv'::text || t.labels[cardinality(t.labels)]
            ELSE t.labels END$l$;
    END IF;

    sql := format($q$
WITH params AS (
    SELECT %s AS as_of
), grouped AS (%s
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
       r.clv,
       r.p_purchase_next_unit,
       %s AS next_purchase_median,
       r.potential_model
FROM ranked r
CROSS JOIN cut
CROSS JOIN model%s%s
CROSS JOIN LATERAL (SELECT %s::integer AS r_score, %s::integer AS f_score, %s::integer AS m_score) s
CROSS JOIN LATERAL customer_priority.customer_typology(r.profile, model.m, r.referrals,
                                                       r.social_reach, r.service_contacts, r.p_alive) t
$q$,
        as_of,
        grouped,
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
        -- the median in days after as_of, as a date in the time zone; NULL beyond 9999
        CASE WHEN potential IS NULL THEN 'NULL::date'
             ELSE format($m$CASE WHEN r.next_purchase_units * %s < date '10000-01-01' - ((r.profile).as_of AT TIME ZONE %L)::date
            THEN (((r.profile).as_of + r.next_purchase_units * %s * interval '1 day') AT TIME ZONE %L)::date END$m$,
                         customer_priority.potential_unit_days(potential ->> 'unit'), tz,
                         customer_priority.potential_unit_days(potential ->> 'unit'), tz) END,
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
AS $$ SELECT '{_customers,_membership,_segments,_profiles,_cohorts}'::text[] $$;
COMMENT ON FUNCTION customer_priority.segmentation_views() IS
    'internal: suffixes of a segmentation''s views';

-- The views stored in two generations of tables, <name><suffix>_a and _b, in fill order.
CREATE FUNCTION customer_priority.segmentation_tables()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '{_customers,_segments,_profiles,_cohorts}'::text[] $$;
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

-- The query filling a generation table (a suffix of segmentation_tables()) of a
-- definition; customers is its generation's customers table (quoted, qualified), filled
-- first.  Create, refresh and upgrade build every table's query here.
CREATE FUNCTION customer_priority.segmentation_table_query(def customer_priority.segmentations,
                                                            suffix text, customers text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE suffix
        WHEN '_customers' THEN customer_priority.segmentation_customers_query(def)
        WHEN '_segments' THEN customer_priority.segmentation_segments_query(customers)
        WHEN '_profiles' THEN customer_priority.segmentation_profiles_query(customers)
        WHEN '_cohorts' THEN customer_priority.segmentation_cohorts_query(def, customers) END;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_table_query(customer_priority.segmentations, text, text) IS
    'internal: the query filling a segmentation''s generation table of the given suffix, reading the given customers table';

-- The unique key of a generation table (a suffix of segmentation_tables()).
CREATE FUNCTION customer_priority.segmentation_table_key(suffix text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE suffix
        WHEN '_customers' THEN 'customer_id'
        WHEN '_segments' THEN 'dimension, segment'
        WHEN '_profiles' THEN 'dimension, segment, attribute, value'
        WHEN '_cohorts' THEN 'cohort, period' END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_table_key(text) IS
    'internal: the column list of the unique index of a segmentation''s generation table';

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
    live constant text := format('(SELECT s.generation FROM customer_priority.segmentations s WHERE s.schema = %L AND s.name = %L)',
                                 def.schema, def.name);
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
        ('_customers', 'p_alive', 'probability that the customer is still active at as_of, by the model potential_model; NULL without the option potential'),
        ('_customers', 'expected_purchases', format('expected purchases in the next %s, by the model potential_model', coalesce(customer_priority.potential_horizon_text(def.options -> 'potential'), 'horizon (option potential; NULL without it)'))),
        ('_customers', 'expected_spend', 'Gamma-Gamma expected spend per future purchase; NULL without the option potential or when the fit has q <= 1'),
        ('_customers', 'clv', format('customer lifetime value: expected revenue in the next %s, expected_purchases x expected_spend%s', coalesce(customer_priority.potential_horizon_text(def.options -> 'potential'), 'horizon (option potential; NULL without it)'), CASE WHEN (def.options -> 'potential' ->> 'discount_rate')::numeric > 0 THEN format(', discounted at %s per %s', def.options -> 'potential' ->> 'discount_rate', def.options -> 'potential' ->> 'unit') ELSE '' END)),
        ('_customers', 'p_purchase_next_unit', format('probability of at least one purchase in the next %s after as_of, by the model potential_model; NULL without the option potential', coalesce(def.options -> 'potential' ->> 'unit', 'time unit'))),
        ('_customers', 'next_purchase_median', 'the date (time zone of the segmentation) by which the customer buys again with probability 1/2, by the model potential_model; NULL when that probability is never reached (p_alive <= 1/2 in BG/NBD), when the date is after 9999, or without the option potential'),
        ('_customers', 'potential_model', 'the purchase model that scored p_alive, expected_purchases, p_purchase_next_unit and next_purchase_median: bgnbd, pareto_nbd or mbgnbd (the option potential.model; with "best" the one of lowest BIC at this refresh); NULL without the option potential'),
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
        ('_profiles', 'share', 'customers / customers of the segment'),
        ('_cohorts', NULL, format('segmentation %s: one row per first-purchase cohort (%s of first_order_at) and %s since the first purchase: retention, revenue and the move to regular', def.name, def.options ->> 'xyz_period', def.options ->> 'xyz_period')),
        ('_cohorts', 'cohort', format('first day of the cohort''s %s (xyz_period, in the segmentation''s time zone): the customers whose first purchase was in it', def.options ->> 'xyz_period')),
        ('_cohorts', 'period', format('%ss since the first purchase: 0 = the cohort''s own %s, up to the %s holding as_of', def.options ->> 'xyz_period', def.options ->> 'xyz_period', def.options ->> 'xyz_period')),
        ('_cohorts', 'period_start', format('first day of that %s', def.options ->> 'xyz_period')),
        ('_cohorts', 'cohort_customers', 'customers of the cohort (customers of _customers whose first purchase is in the cohort''s period)'),
        ('_cohorts', 'active_customers', 'customers of the cohort with a purchase (positive amount) in the period'),
        ('_cohorts', 'retention', 'active_customers / cohort_customers'),
        ('_cohorts', 'revenue', 'net revenue of the cohort''s customers in the period: purchases minus refunds and returned amounts'),
        ('_cohorts', 'regular_customers', format('customers of the cohort whose lifecycle_stage at as_of is regular and whose purchases by the end of the period reached regular_min_orders (%s)', def.options -> 'typology' ->> 'regular_min_orders')),
        ('_cohorts', 'regular_share', 'regular_customers / cohort_customers: the share of the cohort that had become one of the regular customers of as_of by then')
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

-- The public functions that create a segmentation or take its name are SQL wrappers
-- around internal functions whose search_path is pinned: a segmentation name means,
-- like a relation name, the one in the first schema of the caller's search_path that
-- has one (and a new segmentation goes to the caller's current schema), so they read
-- the caller's search_path, and pass it on.  Nothing in their bodies resolves through
-- it: every function, operator and type there is schema-qualified.

-- The definition a segmentation name given by a user refers to: an exact name (a
-- name unique in the database whatever the search_path, else the one in the first of
-- the schemas of path, the caller's search_path, that holds one), or else a
-- schema-qualified name with identifier syntax ('analytics.shop',
-- '"Analytics"."Shop"').  An error when there is none.
-- VOLATILE: each call looks at the definitions as they are now (several refreshes or
-- drops in one statement each find what the previous ones left).
CREATE FUNCTION customer_priority.segmentation_find(name text, path name[])
RETURNS customer_priority.segmentations
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
    n integer;
    parts text[];
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT count(*) INTO n FROM customer_priority.segmentations s WHERE s.name = $1;
    IF n > 0 THEN
        SELECT s.* INTO def FROM customer_priority.segmentations s
        WHERE s.name = $1 AND (n = 1 OR s.schema = ANY (path))
        ORDER BY array_position(path, s.schema)
        LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'segmentation "%" is in none of the schemas of search_path', name
                USING ERRCODE = 'undefined_object',
                      DETAIL = (SELECT format('The schemas %s each hold a segmentation of that name.',
                                              string_agg(quote_ident(s.schema), ', ' ORDER BY s.schema))
                                FROM customer_priority.segmentations s WHERE s.name = $1),
                      HINT = 'Name it with its schema (''schema.name''), or set search_path.';
        END IF;
        RETURN def;
    END IF;
    BEGIN
        parts := parse_ident(name);
    EXCEPTION WHEN invalid_parameter_value THEN
        parts := NULL;
    END;
    IF cardinality(parts) = 2 THEN
        IF parts[1] = 'pg_temp' THEN
            parts[1] := pg_my_temp_schema()::regnamespace::text;
        END IF;
        SELECT s.* INTO def FROM customer_priority.segmentations s
        WHERE s.schema = parts[1] AND s.name = parts[2];
        IF FOUND THEN
            RETURN def;
        END IF;
    END IF;
    RAISE EXCEPTION 'segmentation "%" does not exist', name USING ERRCODE = 'undefined_object';
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_find(text, name[]) IS
    'internal: the definition a segmentation name refers to, an exact name looked up in the schemas of path or a qualified name';

CREATE FUNCTION customer_priority.create_segmentation(
    name        text,
    orders      regclass,
    customer_id name,
    ordered_at  name,
    amount      name,
    options     jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql
AS $$
    -- the default schema, and the customers relation named like orders: the caller's
    SELECT customer_priority.segmentation_create(
        $1, $2, $3, $4, $5, $6, pg_catalog.current_schema(),
        pg_catalog.to_regclass(
            CASE WHEN pg_catalog.jsonb_typeof($6 OPERATOR(pg_catalog.->) 'customers'::pg_catalog.text)
                      OPERATOR(pg_catalog.=) 'string'::pg_catalog.text
                 THEN $6 OPERATOR(pg_catalog.->>) 'customers'::pg_catalog.text END))
$$;
COMMENT ON FUNCTION customer_priority.create_segmentation(text, regclass, name, name, name, jsonb) IS
    'defines a segmentation of an orders relation and creates its views <name>_customers, _membership, _segments, _profiles (and the tables they read)';

-- create_segmentation(), with the caller's current schema and customers relation.
-- On Citus (docs/scale-out.md): the relations are local to the coordinator, so no DDL
-- is propagated (else one warning per view that it is created only locally), and the
-- per-customer rows, which come to the coordinator as an intermediate result, are not
-- stopped by citus.max_intermediate_result_size (1 GB: about 5 M customers).
CREATE FUNCTION customer_priority.segmentation_create(
    name text, orders regclass, customer_id name, ordered_at name, amount name, options jsonb,
    default_schema name, customers regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET citus.max_intermediate_result_size = -1
SET citus.enable_ddl_propagation = off
AS $$
DECLARE
    started constant timestamptz := clock_timestamp();   -- for the progress NOTICEs
    def customer_priority.segmentations;
    suffix text;
    customers_a text;           -- <schema>.<name>_customers_a, quoted
    rel text;
    n bigint;
BEGIN
    IF name IS NULL OR orders IS NULL OR customer_id IS NULL OR ordered_at IS NULL OR amount IS NULL THEN
        RAISE EXCEPTION 'name, orders, customer_id, ordered_at and amount must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM customer_priority.segmentation_check_name(name);
    PERFORM customer_priority.segmentation_check_orders(orders);

    def.name := name;
    def.orders := orders;
    def.customer_id := customer_id;
    def.ordered_at := ordered_at;
    def.amount := amount;
    def.options := customer_priority.segmentation_options(options, orders, customer_id, default_schema,
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
        RAISE EXCEPTION 'segmentation "%" already exists in schema "%"', def.name, def.schema
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Drop it with drop_segmentation() first, or choose another name.';
    END;

    -- Foreign partitions: every shard runs this version (docs/scale-out.md).
    PERFORM customer_priority.check_foreign_partitions(def.orders);

    -- Generation a is filled by CREATE TABLE AS (which, unlike INSERT, may run the
    -- query in parallel), generation b is an empty copy of its columns.  All of it
    -- with the caller's rights: the caller is the owner.
    customers_a := format('%I.%I', def.schema, def.name || '_customers_a');
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        rel := format('%I.%I', def.schema, def.name || suffix || '_a');
        EXECUTE format('CREATE TABLE %s AS %s', rel,
                       customer_priority.segmentation_table_query(def, suffix, customers_a));
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s)', def.schema, def.name || suffix || '_b', rel);
        FOREACH rel IN ARRAY ARRAY[def.name || suffix || '_a', def.name || suffix || '_b'] LOOP
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I (%s)', rel || '_key', def.schema, rel,
                           customer_priority.segmentation_table_key(suffix));
        END LOOP;
        EXECUTE format('ANALYZE %I.%I', def.schema, def.name || suffix || '_a');
        EXECUTE format('CREATE VIEW %I.%I AS %s', def.schema, def.name || suffix,
                       customer_priority.segmentation_view_query(def, suffix));
        PERFORM customer_priority.segmentation_progress(def.name, format('create: %s_a filled', suffix),
                                                        started, n);
    END LOOP;
    EXECUTE format('CREATE VIEW %I.%I AS %s', def.schema, def.name || '_membership',
                   customer_priority.segmentation_view_query(def, '_membership'));

    PERFORM customer_priority.segmentation_comment(def);
    PERFORM customer_priority.history_create(def);
    PERFORM customer_priority.segmentation_progress(def.name, 'create: done', started, NULL);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_create(text, regclass, name, name, name, jsonb, name, regclass) IS
    'internal: create_segmentation() with the caller''s current schema and customers relation';

-- ACCESS EXCLUSIVE locks on several tables, taken so that the caller never waits for a
-- lock while it holds one of them (a blocking refresh's TRUNCATE would wait for a reader
-- of one view while holding the table another reader waits for: a deadlock, 40P01, for
-- the reader).  Each round waits for one table, holding none, then takes the others
-- without waiting; when one of them is busy, the round's subtransaction gives back what
-- it took and the next round waits for that one.  Readers wait for the tables from the
-- first round on, as for the TRUNCATE, so rounds do not go on for long.
CREATE FUNCTION customer_priority.segmentation_lock_tables(tables regclass[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    waiting_for integer := 1;
    trying integer;             -- the table being taken without waiting; NULL while waiting
BEGIN
    LOOP
        BEGIN
            trying := NULL;
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tables[waiting_for]);
            FOR i IN 1 .. cardinality(tables) LOOP
                CONTINUE WHEN i = waiting_for;
                trying := i;
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', tables[i]);
            END LOOP;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            -- the wait itself timed out (lock_timeout): the caller's limit, not ours
            IF trying IS NULL THEN
                RAISE;
            END IF;
            waiting_for := trying;
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_lock_tables(regclass[]) IS
    'internal: ACCESS EXCLUSIVE locks on several tables, never waiting while holding one of them';

CREATE FUNCTION customer_priority.refresh_segmentation(name text, concurrently boolean DEFAULT true)
RETURNS void
LANGUAGE sql
AS $$
    SELECT customer_priority.segmentation_refresh($1, pg_catalog.current_schemas(true), $2)
$$;
COMMENT ON FUNCTION customer_priority.refresh_segmentation(text, boolean) IS
    'recomputes a segmentation in one transaction (fills its other generation and makes it live); concurrently (the default) never blocks readers';

-- Fills the generation that is not live, then makes it live, in the caller's transaction.
-- concurrently: the tables are emptied with DELETE (readers of the live generation, and
-- older snapshots still reading the other one, are not disturbed), and the generation
-- that stops being live is emptied with DELETE too once the new one is live: snapshots
-- taken before the commit keep reading it, later ones never read it.  Not
-- concurrently: TRUNCATE, whose ACCESS EXCLUSIVE lock makes readers wait; the previous
-- generation is left as it is (a TRUNCATE of it would show an empty view to snapshots
-- taken before the commit, a DELETE would cost what this mode saves).
-- What reads the orders or writes the tables runs as the owner of the views, as REFRESH
-- MATERIALIZED VIEW does (execute_as_owner(), src/run_as_owner.sql); the checks, the
-- generated SQL and the flip of the generation are the caller's.
-- On Citus (docs/scale-out.md): the per-customer rows come to the coordinator as an
-- intermediate result, not stopped by citus.max_intermediate_result_size (1 GB: about
-- 5 M customers).
CREATE FUNCTION customer_priority.segmentation_refresh(name text, path name[], concurrently boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET citus.max_intermediate_result_size = -1
AS $$
DECLARE
    def customer_priority.segmentations;
    suffix text;
    live text;                  -- the live generation, 'a' or 'b'
    fill text;                  -- the other one: filled, and live at commit
    customers text;             -- its customers table, quoted
    rel text;
    owned regclass;             -- <name>_customers: whose owner computes
    started constant timestamptz := clock_timestamp();   -- for the progress NOTICEs
    n bigint;
BEGIN
    -- $3: "concurrently" is a reserved word, usable as a parameter name but not here
    IF name IS NULL OR $3 IS NULL THEN
        RAISE EXCEPTION 'name and concurrently must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- The row lock serialises refreshes (and drops) of one segmentation; the definition
    -- is read again under it.
    def := customer_priority.segmentation_find(name, path);
    SELECT * INTO def FROM customer_priority.segmentation_lock(def.schema, def.name, 'refresh it');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segmentation "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    -- An invalid definition (stored by a version that did not validate; the upgrade
    -- leaves it as it was, without the relations of the new version) says so first.
    PERFORM customer_priority.segmentation_validate(def);
    PERFORM customer_priority.check_foreign_partitions(def.orders);
    PERFORM customer_priority.segmentation_check_relations(def, customer_priority.segmentation_relations());
    owned := format('%I.%I', def.schema, def.name || '_customers')::regclass;

    live := def.generation::text;
    fill := CASE live WHEN 'a' THEN 'b' ELSE 'a' END;
    IF $3 THEN
        n := 0;
        FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
            n := n + customer_priority.execute_as_owner(owned,
                format('DELETE FROM %I.%I', def.schema, def.name || suffix || '_' || fill));
        END LOOP;
    ELSE
        PERFORM customer_priority.segmentation_lock_tables(ARRAY(
            SELECT format('%I.%I', def.schema, def.name || t || '_' || fill)::regclass
            FROM unnest(customer_priority.segmentation_tables()) AS t));
        PERFORM customer_priority.execute_as_owner(owned,
            (SELECT 'TRUNCATE ' || string_agg(format('%I.%I', def.schema, def.name || t || '_' || fill), ', ')
             FROM unnest(customer_priority.segmentation_tables()) AS t));
    END IF;
    -- rows deleted (concurrently), unknown after a TRUNCATE
    PERFORM customer_priority.segmentation_progress(def.name, format('refresh: generation %s emptied', fill),
                                                    started, CASE WHEN $3 THEN n END);
    customers := format('%I.%I', def.schema, def.name || '_customers_' || fill);
    FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
        rel := format('%I.%I', def.schema, def.name || suffix || '_' || fill);
        n := customer_priority.execute_as_owner(owned,
            format('INSERT INTO %s (%s) %s', rel, customer_priority.segmentation_columns(rel::regclass),
                   customer_priority.segmentation_table_query(def, suffix, customers)));
        PERFORM customer_priority.segmentation_progress(def.name, format('refresh: %s_%s filled', suffix, fill),
                                                        started, n);
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
            PERFORM customer_priority.execute_as_owner(owned,
                format('ANALYZE %I.%I', def.schema, def.name || suffix || '_' || fill));
        END IF;
    END LOOP;

    PERFORM customer_priority.segmentation_set_live(def.schema, def.name, fill::"char");
    IF $3 THEN
        FOREACH suffix IN ARRAY customer_priority.segmentation_tables() LOOP
            PERFORM customer_priority.execute_as_owner(owned,
                format('DELETE FROM %I.%I', def.schema, def.name || suffix || '_' || live));
        END LOOP;
    END IF;
    PERFORM customer_priority.segmentation_progress(def.name, format('refresh: generation %s live', fill),
                                                    started, NULL);
    PERFORM customer_priority.history_after_refresh(def);
    PERFORM customer_priority.segmentation_progress(def.name, 'refresh: done', started, NULL);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_refresh(text, name[], boolean) IS
    'internal: refresh_segmentation() with the caller''s search_path';

-- Raises an error naming the first missing relation of a segmentation among suffixes
-- (refresh: all of them; the history: its tables).
CREATE FUNCTION customer_priority.segmentation_check_relations(def customer_priority.segmentations,
                                                               suffixes text[])
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    suffix text;
BEGIN
    FOREACH suffix IN ARRAY suffixes LOOP
        IF to_regclass(format('%I.%I', def.schema, def.name || suffix)) IS NULL THEN
            RAISE EXCEPTION 'relation %.% of segmentation "%" is missing',
                            quote_ident(def.schema), quote_ident(def.name || suffix), def.name
                USING ERRCODE = 'undefined_table',
                      HINT = 'Drop the segmentation with drop_segmentation() and create it again.';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_check_relations(customer_priority.segmentations, text[]) IS
    'internal: raises 42P01 naming the first missing relation of a segmentation among the given name suffixes';

CREATE FUNCTION customer_priority.drop_segmentation(name text)
RETURNS void
LANGUAGE sql
AS $$
    SELECT customer_priority.segmentation_drop($1, pg_catalog.current_schemas(true))
$$;
COMMENT ON FUNCTION customer_priority.drop_segmentation(text) IS
    'drops a segmentation''s views, their tables and its definition';

CREATE FUNCTION customer_priority.segmentation_drop(name text, path name[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations := customer_priority.segmentation_find(name, path);
BEGIN
    SELECT * INTO def FROM customer_priority.segmentation_lock(def.schema, def.name, 'drop it');
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
    PERFORM customer_priority.segmentation_delete(def.schema, def.name);
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_drop(text, name[]) IS
    'internal: drop_segmentation() with the caller''s search_path';
