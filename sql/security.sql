-- Security: attacks on a trusted extension, written as the attacker would write them
-- (docs/segmentation.md, "Privileges").  Every role is a potential attacker:
--   1. hostile options in every option that reaches generated SQL, written through
--      create_segmentation(), through the SECURITY DEFINER writer segmentation_insert(),
--      directly into the definitions table, and stored behind the validating trigger;
--   2. a tenant's segmentation whose orders are a view calling the tenant's function,
--      with the tenant's trigger and row security on its tables, refreshed, snapshot,
--      backfilled and read by a superuser: the tenant's code runs as the tenant, never
--      as the superuser, and a tenant's function that tries to escalate fails;
--   3. functions, operators and types planted in a schema on the caller's search_path
--      ahead of pg_catalog, for every public function: none of them is ever called;
--   4. the run-as-owner functions called directly to gain a right: refused;
--   5. one role's segmentation name does not block another role's in another schema.
-- A canary (sec_log) records every call of attacker code with the role it ran as;
-- advisory lock 4242 is what injected SQL would take.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

CREATE TABLE sec_log (who name, what text);
GRANT INSERT, SELECT ON sec_log TO PUBLIC;
CREATE ROLE regress_cp_sec_tenant;
CREATE ROLE regress_cp_sec_operator IN ROLE regress_cp_sec_tenant;   -- has the tenant's rights
CREATE ROLE regress_cp_sec_victim;
CREATE ROLE regress_cp_sec_planter;
CREATE ROLE regress_cp_sec_nobody;
CREATE SCHEMA sec_tenant AUTHORIZATION regress_cp_sec_tenant;
CREATE SCHEMA sec_victim AUTHORIZATION regress_cp_sec_victim;
CREATE SCHEMA sec_shared AUTHORIZATION regress_cp_sec_planter;
GRANT USAGE ON SCHEMA sec_shared TO PUBLIC;

-- The tenant: orders behind a view that calls its function spy() on every row (which
-- logs the role it runs as), and customers.
SET ROLE regress_cp_sec_tenant;
CREATE TABLE sec_tenant.orders (order_id int, customer_id int, ordered_at timestamptz, amount numeric, channel text);
INSERT INTO sec_tenant.orders
SELECT i, 1 + i % 7, timestamptz '2024-01-01' + i * interval '5 days', 10 + i % 13,
       (ARRAY['web', 'shop'])[1 + i % 2]
FROM generate_series(1, 60) AS i;
CREATE TABLE sec_tenant.people (id int, region text);
INSERT INTO sec_tenant.people SELECT c, 'r' || c % 2 FROM generate_series(1, 7) AS c;
CREATE FUNCTION sec_tenant.spy() RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO public.sec_log VALUES (current_user, 'spy');
    RETURN 0;
END
$$;
CREATE VIEW sec_tenant.orders_v AS
SELECT order_id, customer_id, ordered_at, amount + sec_tenant.spy() AS amount, channel FROM sec_tenant.orders;
RESET ROLE;

-------------------------------------------------------------------------------
-- 1. Hostile options.  Each is refused with a clear SQLSTATE by create_segmentation()
-- and by segmentation_insert() (the trigger check_definition validates what that
-- SECURITY DEFINER function stores), nothing is stored, and nothing injected runs.
-------------------------------------------------------------------------------
SET ROLE regress_cp_sec_tenant;
CREATE TEMPORARY TABLE hostile (option text, value jsonb);
INSERT INTO hostile VALUES
    ('as_of', '"2024-06-30''::timestamptz); SELECT pg_advisory_lock(4242); --"'),
    ('time_zone', '"UTC''::customer_priority.calendar_name); SELECT pg_advisory_lock(4242); --"'),
    ('bins', '"5); SELECT pg_advisory_lock(4242); --"'),
    ('recency_breaks', '["1); SELECT pg_advisory_lock(4242); --", 2, 3, 4]'),
    ('monetary', '"total; SELECT pg_advisory_lock(4242)"'),
    ('segment_map', '"standard''); SELECT pg_advisory_lock(4242); --"'),
    ('abc_method', '"pareto''); SELECT pg_advisory_lock(4242); --"'),
    ('abc_a', '"0.8); SELECT pg_advisory_lock(4242); --"'),
    ('abc_weights', '{"revenue": "1]::float8[]); SELECT pg_advisory_lock(4242); --"}'),
    ('xyz_period', '"month''); SELECT pg_advisory_lock(4242); --"'),
    ('xyz_x_max', '"0.5); SELECT pg_advisory_lock(4242); --"'),
    ('typology', '{"dormant_days": "1); SELECT pg_advisory_lock(4242); --"}'),
    ('order_id', '"order_id\"; SELECT pg_advisory_lock(4242); --"'),
    ('margin', '"amount\"::numeric); SELECT pg_advisory_lock(4242); --"'),
    ('channel', '"channel\"::text); SELECT pg_advisory_lock(4242); --"'),
    ('order_attributes', '["channel\"::text); SELECT pg_advisory_lock(4242); --"]'),
    ('customers', '"sec_tenant.\"people k ON true; SELECT pg_advisory_lock(4242); --\""'),
    ('schema', '"sec_tenant\"; SELECT pg_advisory_lock(4242); --"'),
    ('history_retention', '"1 month''::interval; SELECT pg_advisory_lock(4242); --"'),
    ('snapshot', '"true; SELECT pg_advisory_lock(4242)"'),
    ('potential', '{"horizon": "52, 0) AS expected_purchases; SELECT pg_advisory_lock(4242); --"}'),
    ('potential', '{"discount_rate": "0.01); SELECT pg_advisory_lock(4242); --"}'),
    ('potential', '{"unit": "week''); SELECT pg_advisory_lock(4242); --"}'),
    ('potential', '{"high_clv_share": "0.2) x; SELECT pg_advisory_lock(4242); --"}');
SELECT h.option, h.value ->> 0 IS NULL AS object_value,
       pg_temp.error_of(format('SELECT customer_priority.create_segmentation(%L, %L, %L, %L, %L, %L)',
                               'hostile', 'sec_tenant.orders', 'customer_id', 'ordered_at', 'amount',
                               jsonb_build_object('schema', 'sec_tenant', 'as_of', '2024-06-30')
                               || jsonb_build_object(h.option, h.value))) AS create_segmentation,
       pg_temp.error_of(format('SELECT customer_priority.segmentation_insert(ROW(%L, %L, %L::regclass, %L, %L, %L, %L::jsonb, now(), now(), %L)::customer_priority.segmentations)',
                               'hostile', 'sec_tenant', 'sec_tenant.orders', 'customer_id', 'ordered_at', 'amount',
                               jsonb_build_object('schema', 'sec_tenant', 'as_of', '2024-06-30')
                               || jsonb_build_object(h.option, h.value), 'a')) AS segmentation_insert
FROM hostile h ORDER BY h.option, h.value::text;
RESET ROLE;
SELECT count(*) AS stored FROM segmentations WHERE name = 'hostile';
SELECT count(*) AS injected FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242;

-- The customers relation given as text that a regclass cast reads as a real relation
-- (an unquoted name is cut at 63 bytes) while carrying SQL after it, and written straight
-- into a definition: the stored definition names the relation, quoted, not the text.
SET ROLE regress_cp_sec_tenant;
SELECT format('CREATE TABLE sec_tenant.%I (id int)', repeat('c', 63)) \gexec
SELECT customer_priority.segmentation_insert(ROW(
    'trunc', 'sec_tenant', 'sec_tenant.orders'::regclass, 'customer_id', 'ordered_at', 'amount',
    jsonb_build_object('schema', 'sec_tenant', 'as_of', '2024-06-30',
                       'customers', 'sec_tenant.' || repeat('c', 63)
                                    || '/**/k0/**/ON/**/true/**/CROSS/**/JOIN/**/pg_advisory_lock(4242)/**/pw/**/LEFT/**/JOIN/**/(SELECT/**/1/**/AS/**/id)',
                       'customer_key', 'id'),
    now(), now(), 'a')::customer_priority.segmentations);
SELECT options ->> 'customers' = 'sec_tenant.' || repeat('c', 63) AS customers_is_the_relation,
       options ->> 'bins' AS bins_filled_in
FROM customer_priority.segmentations WHERE name = 'trunc';
-- A definition without views protects nothing: any role that may create it may drop it.
SELECT customer_priority.segmentation_delete('sec_tenant', 'trunc');
RESET ROLE;

-- The role that installed the extension may INSERT definitions (restores): validated
-- too.  A superuser's UPDATE as well.
SELECT pg_temp.error_of($$INSERT INTO segmentations (name, schema, orders, customer_id, ordered_at, amount, options)
    VALUES ('direct', 'sec_tenant', 'sec_tenant.orders', 'customer_id', 'ordered_at', 'amount',
            '{"schema": "sec_tenant", "potential": {"horizon": "1); SELECT pg_advisory_lock(4242); --"}}')$$) AS direct_insert;

-- Behind the trigger (a restore with --disable-triggers, or a superuser who disables it):
-- hostile text stored as it is.  The query builder validates the definition again, and
-- pastes no option text: the refresh fails with the validation's error, nothing runs.
SET ROLE regress_cp_sec_tenant;
SET client_min_messages = error;       -- (the fits' convergence warnings on 7 customers)
SELECT customer_priority.create_segmentation('shop', 'sec_tenant.orders', 'customer_id', 'ordered_at', 'amount',
    '{"schema": "sec_tenant", "as_of": "2024-06-30", "customers": "sec_tenant.people", "customer_key": "id",
      "potential": true, "snapshot": true}');
RESET ROLE;
ALTER TABLE segmentations DISABLE TRIGGER check_definition;
UPDATE segmentations
SET options = jsonb_set(options, '{potential,horizon}', '"52) AS x, pg_advisory_lock(4242) AS y --"')
WHERE name = 'shop';
SELECT pg_temp.error_of($$SELECT customer_priority.refresh_segmentation('sec_tenant.shop')$$) AS refresh_hostile_horizon;
UPDATE segmentations
SET options = jsonb_set(options, '{potential}', '{"unit": "week", "horizon": 52, "discount_rate": 0, "high_clv_share": 0.2}')
            || jsonb_build_object('customers', 'sec_tenant.' || repeat('c', 63)
                                  || '/**/k0/**/ON/**/true/**/CROSS/**/JOIN/**/pg_advisory_lock(4242)/**/pw/**/LEFT/**/JOIN/**/(SELECT/**/1/**/AS/**/id)')
WHERE name = 'shop';
SELECT pg_temp.error_of($$SELECT customer_priority.refresh_segmentation('sec_tenant.shop')$$) AS refresh_hostile_customers;
UPDATE segmentations SET options = options || '{"customers": "sec_tenant.people"}' WHERE name = 'shop';
ALTER TABLE segmentations ENABLE TRIGGER check_definition;
RESET client_min_messages;
SELECT count(*) AS injected FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242;
SELECT pg_temp.error_of($$UPDATE segmentations SET options = options || '{"bins": "5); --"}' WHERE name = 'shop'$$) AS update_hostile;

-------------------------------------------------------------------------------
-- 2. Computing on another role's behalf.  The tenant's segmentation "spied" reads the
-- view orders_v (spy() on every row), its generation table b has a trigger of the
-- tenant's, its snapshots table forces row security with a policy calling spy().
-- Whoever refreshes, snapshots, backfills or reads its transitions, spy() runs as the
-- tenant.
-------------------------------------------------------------------------------
SET ROLE regress_cp_sec_tenant;
SELECT customer_priority.create_segmentation('spied', 'sec_tenant.orders_v', 'customer_id', 'ordered_at', 'amount',
    '{"schema": "sec_tenant", "as_of": "2024-06-30", "snapshot": true}');
CREATE FUNCTION sec_tenant.spy_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_log VALUES (current_user, 'trigger');
    RETURN NULL;
END
$$;
CREATE TRIGGER spy AFTER INSERT ON sec_tenant.spied_customers_b
    FOR EACH STATEMENT EXECUTE FUNCTION sec_tenant.spy_trigger();
CREATE POLICY spy ON sec_tenant.spied_snapshots USING (sec_tenant.spy() = 0);
ALTER TABLE sec_tenant.spied_snapshots ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
RESET ROLE;
TRUNCATE sec_log;
SELECT customer_priority.refresh_segmentation('sec_tenant.spied');          -- fills b: the trigger fires
SELECT customer_priority.refresh_segmentation('sec_tenant.spied', false);
SELECT customer_priority.snapshot_segmentation('sec_tenant.spied');
SELECT customer_priority.snapshot_segmentation('sec_tenant.spied', '2024-05-31');
SELECT count(*) AS snapshots FROM customer_priority.backfill_segmentation('sec_tenant.spied', '2024-03-01', '2024-04-01');
SELECT count(*) > 0 AS transitions FROM customer_priority.segmentation_transitions('sec_tenant.spied');
SELECT what, who, count(*) > 0 AS called FROM sec_log GROUP BY what, who ORDER BY what, who;
-- A member of the tenant's role computes as the tenant too.
TRUNCATE sec_log;
SET ROLE regress_cp_sec_operator;
SELECT customer_priority.refresh_segmentation('sec_tenant.spied');
RESET ROLE;
SELECT DISTINCT who FROM sec_log;
-- segmentation_holdout() reads the orders as the tenant too.
TRUNCATE sec_log;
SET client_min_messages = error;       -- (the fits' convergence warnings on 7 customers)
SELECT count(*) > 0 AS holdout FROM customer_priority.segmentation_holdout('sec_tenant.spied', '2024-03-31');
RESET client_min_messages;
SELECT DISTINCT who FROM sec_log;
-- A role without the tenant's rights computes nothing for it.
SET ROLE regress_cp_sec_nobody;
SELECT pg_temp.error_of(q) AS nobody
FROM (VALUES ($$SELECT customer_priority.refresh_segmentation('sec_tenant.spied')$$),
             ($$SELECT customer_priority.snapshot_segmentation('sec_tenant.spied')$$),
             ($$SELECT * FROM customer_priority.backfill_segmentation('sec_tenant.spied')$$),
             ($$SELECT * FROM customer_priority.segmentation_transitions('sec_tenant.spied')$$),
             ($$SELECT * FROM customer_priority.segmentation_holdout('sec_tenant.spied', '2024-03-31')$$)) AS t(q);
RESET ROLE;

-- The tenant's function now tries to make the tenant a superuser, and to leave the
-- restricted context.  Run as the tenant, in a security-restricted operation, each
-- attempt fails, and the superuser's refresh fails with it: nothing is granted.
SET ROLE regress_cp_sec_tenant;
CREATE OR REPLACE FUNCTION sec_tenant.spy() RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    ALTER ROLE regress_cp_sec_tenant SUPERUSER;
    RETURN 0;
END
$$;
RESET ROLE;
-- (the SQLSTATE only: the message differs between PostgreSQL versions)
SELECT split_part(pg_temp.error_of($$SELECT customer_priority.refresh_segmentation('sec_tenant.spied')$$), ':', 1)
       AS escalate_on_refresh;
SET ROLE regress_cp_sec_tenant;
CREATE OR REPLACE FUNCTION sec_tenant.spy() RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    SET ROLE postgres;
    RETURN 0;
END
$$;
RESET ROLE;
SELECT pg_temp.error_of($$SELECT customer_priority.refresh_segmentation('sec_tenant.spied', false)$$) AS set_role_on_refresh;
SET ROLE regress_cp_sec_tenant;
CREATE OR REPLACE FUNCTION sec_tenant.spy() RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    CREATE TEMPORARY TABLE IF NOT EXISTS escape (x int);
    RETURN 0;
END
$$;
RESET ROLE;
SELECT pg_temp.error_of($$SELECT customer_priority.snapshot_segmentation('sec_tenant.spied', '2024-04-30')$$) AS temp_table_on_snapshot;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_cp_sec_tenant';

-------------------------------------------------------------------------------
-- 3. Planted functions, operators and types.  The planter owns a schema that a victim
-- puts ahead of pg_catalog on its search_path, with functions of every name and
-- signature of pg_catalog that the extension's SQL calls, the operators it uses and
-- domains named like the types it declares; each logs its call.  The victim then uses
-- every public function: no planted object is called.
-------------------------------------------------------------------------------
SET ROLE regress_cp_sec_planter;
CREATE FUNCTION sec_shared.planted(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_log VALUES (current_user, what);
    RETURN true;
END
$$;
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN
        SELECT f.proname, pg_get_function_identity_arguments(f.oid) AS args, pg_get_function_result(f.oid) AS result
        FROM pg_proc f
        WHERE f.pronamespace = 'pg_catalog'::regnamespace AND f.prokind = 'f' AND NOT f.proretset
          AND f.proname IN ('length', 'octet_length', 'format', 'current_schema', 'current_schemas', 'current_setting',
                            'set_config', 'to_regclass', 'jsonb_typeof', 'jsonb_build_object', 'jsonb_strip_nulls',
                            'jsonb_object_keys', 'jsonb_array_length', 'now', 'lower', 'upper', 'quote_ident',
                            'quote_literal', 'array_to_string', 'array_position', 'cardinality', 'parse_ident',
                            'pg_has_role', 'has_schema_privilege', 'has_any_column_privilege', 'pg_get_userbyid',
                            'to_char', 'timezone', 'date_trunc', 'isfinite', 'translate', 'substr', 'concat_ws',
                            'nullif', 'trunc', 'pg_my_temp_schema', 'format_type', 'obj_description', 'textcat')
          AND NOT EXISTS (SELECT FROM unnest(f.proargtypes::oid[]) t
                          JOIN pg_type y ON y.oid = t WHERE y.typtype = 'p')
          AND (SELECT y.typtype FROM pg_type y WHERE y.oid = f.prorettype) <> 'p'
    LOOP
        EXECUTE format('CREATE FUNCTION sec_shared.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                       p.proname, p.args, p.result,
                       format('BEGIN PERFORM sec_shared.planted(%L); RETURN NULL; END', 'function ' || p.proname));
    END LOOP;
    FOR p IN
        SELECT o.oprname, o.oprleft::regtype AS l, o.oprright::regtype AS r, o.oprresult::regtype AS result,
               row_number() OVER () AS i
        FROM pg_operator o
        WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprkind = 'b'
          AND o.oprname IN ('=', '<>', '<', '<=', '>', '>=', '||', '->', '->>', '?', '@>', '+', '-')
          AND o.oprleft IN ('text'::regtype, 'name'::regtype, 'jsonb'::regtype, 'integer'::regtype, 'bigint'::regtype,
                            'numeric'::regtype, 'oid'::regtype, '"char"'::regtype, 'boolean'::regtype,
                            'timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype, 'interval'::regtype)
          AND o.oprright IN ('text'::regtype, 'name'::regtype, 'jsonb'::regtype, 'integer'::regtype, 'bigint'::regtype,
                             'numeric'::regtype, 'oid'::regtype, '"char"'::regtype, 'boolean'::regtype,
                             'timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype, 'interval'::regtype)
    LOOP
        EXECUTE format('CREATE FUNCTION sec_shared.%I(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L',
                       'op_' || p.i, p.l, p.r, p.result,
                       format('BEGIN PERFORM sec_shared.planted(%L); RETURN NULL; END', 'operator ' || p.oprname));
        EXECUTE format('CREATE OPERATOR sec_shared.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = sec_shared.%I)',
                       p.oprname, p.l, p.r, 'op_' || p.i);
    END LOOP;
END
$$;
CREATE DOMAIN sec_shared.text AS pg_catalog.text CHECK (sec_shared.planted('domain text'));
CREATE DOMAIN sec_shared.name AS pg_catalog.name CHECK (sec_shared.planted('domain name'));
CREATE DOMAIN sec_shared.jsonb AS pg_catalog.jsonb CHECK (sec_shared.planted('domain jsonb'));
CREATE DOMAIN sec_shared.regclass AS pg_catalog.regclass CHECK (sec_shared.planted('domain regclass'));
CREATE DOMAIN sec_shared.integer AS pg_catalog.int4 CHECK (sec_shared.planted('domain integer'));
CREATE DOMAIN sec_shared.boolean AS pg_catalog.bool CHECK (sec_shared.planted('domain boolean'));
CREATE DOMAIN sec_shared.numeric AS pg_catalog.numeric CHECK (sec_shared.planted('domain numeric'));
CREATE DOMAIN sec_shared.timestamptz AS pg_catalog.timestamptz CHECK (sec_shared.planted('domain timestamptz'));
RESET ROLE;
SELECT count(*) > 100 AS planted_functions, count(*) FILTER (WHERE proname LIKE 'op\_%') > 100 AS planted_operators
FROM pg_proc WHERE pronamespace = 'sec_shared'::regnamespace;

SET ROLE regress_cp_sec_victim;
CREATE TABLE sec_victim.orders (order_id int, customer_id int, ordered_at timestamp, amount numeric, channel text);
INSERT INTO sec_victim.orders
SELECT i, 1 + i % 9, timestamp '2024-01-01' + i * interval '3 days', 5 + i % 11, (ARRAY['web', 'shop'])[1 + i % 2]
FROM generate_series(1, 90) AS i;
CREATE TABLE sec_victim.people (id int, region text, referrals int);
INSERT INTO sec_victim.people SELECT c, 'r' || c % 3, c % 2 FROM generate_series(1, 9) AS c;
RESET ROLE;
TRUNCATE sec_log;
SET ROLE regress_cp_sec_victim;
-- (the first schema of this path is the planter's: the victim names the schema of its
-- views, as create_segmentation() would otherwise put them in the current schema)
SET search_path = sec_shared, pg_catalog, sec_victim, customer_priority;
SET client_min_messages = error;       -- (the fits' convergence warnings on 9 customers)
SELECT customer_priority.create_segmentation('vic', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"schema": "sec_victim", "as_of": "2024-09-30", "time_zone": "Europe/Paris", "order_id": "order_id", "channel": "channel",
      "customers": "people", "customer_key": "id", "referrals": "referrals", "customer_attributes": ["region"],
      "abc_weights": {"revenue": 0.5, "loyalty": 0.5}, "potential": true, "snapshot": true,
      "history_retention": "24 months"}');
SELECT customer_priority.refresh_segmentation('vic');
SELECT customer_priority.refresh_segmentation('vic', false);
SELECT customer_priority.snapshot_segmentation('vic') AS snapshot;
SELECT customer_priority.snapshot_segmentation('vic', '2024-08-31') AS computed_snapshot;
SELECT count(*) AS months FROM customer_priority.backfill_segmentation('vic', '2024-05-01', '2024-06-01');
SELECT count(*) AS transitions FROM customer_priority.segmentation_transitions('vic');
SELECT count(*) AS holdout_rows FROM customer_priority.segmentation_holdout('vic', '2024-06-30'::pg_catalog.timestamptz);
SELECT customer_priority.segmentation_report('vic') LIKE '<!DOCTYPE html>%chart-p-alive%' AS report;
SELECT count(*) AS customers FROM sec_victim.vic_customers;
SELECT customer_priority.rfm_segment(5, 5, 5) AS segment;
SELECT count(*) AS scored, count(DISTINCT abc_class) AS abc_classes
FROM customer_priority.score_customers('sec_victim.orders', 'customer_id', 'ordered_at', 'amount',
                                       '2024-09-30'::pg_catalog.timestamptz);
SELECT count(*) AS profiles
FROM (SELECT customer_priority.customer_profile(o.ordered_at, o.amount, '2024-09-30'::pg_catalog.timestamptz, o.order_id)
      FROM sec_victim.orders o GROUP BY o.customer_id) q;
-- The models' C functions (MBG/NBD), with the types qualified: the planter's domains
-- shadow the unqualified names.
SELECT (m).customers, customer_priority.mbgnbd_p_alive(m, 1, 2, 3) > 0 AS p_alive,
       customer_priority.mbgnbd_expected_purchases(m, 4, 1, 2, 3) > 0 AS expected,
       customer_priority.mbgnbd_expected_purchases(m, 4) > 0 AS expected_new,
       customer_priority.mbgnbd_p_purchase_within(m, 4, 1, 2, 3) > 0 AS within,
       coalesce(customer_priority.mbgnbd_next_purchase_median(m, 1, 2, 3) > 0, true) AS median
FROM (SELECT customer_priority.mbgnbd_fit(v.x, v.t_x, v.t_cal) AS m
      FROM (VALUES (1, 2::pg_catalog.float8, 3::pg_catalog.float8), (0, 0, 5), (3, 4, 6), (2, 1, 4)) v(x, t_x, t_cal)) q;
-- Pareto/NBD (src/pareto_nbd.sql): the fit and every per-customer function.
SELECT (m).customers AS pareto_customers,
       customer_priority.pareto_nbd_p_alive(m, 2, 5, 10) IS NOT NULL AS p_alive,
       customer_priority.pareto_nbd_expected_purchases(m, 4, 2, 5, 10) IS NOT NULL AS expected,
       customer_priority.pareto_nbd_p_purchase_within(m, 4, 2, 5, 10) IS NOT NULL AS p_purchase,
       coalesce(customer_priority.pareto_nbd_next_purchase_median(m, 2, 5, 10), 0) IS NOT NULL AS median,
       customer_priority.pareto_nbd_bic(m) IS NOT NULL AS bic
FROM (SELECT customer_priority.pareto_nbd_fit(v.x, v.t_x, v.t_cal) AS m
      FROM (VALUES (2, 5.0::pg_catalog.float8, 10.0::pg_catalog.float8), (0, 0, 8), (1, 3, 9), (4, 7, 9)) v(x, t_x, t_cal)) q;
SELECT customer_priority.drop_segmentation('vic');
-- The control: an unqualified call of the victim's own does reach the planter's function.
SELECT length('abc') IS NULL AS planted_length_called;
RESET client_min_messages;
RESET search_path;
SET search_path = public, customer_priority;
RESET ROLE;
SELECT count(*) AS planted_calls, string_agg(DISTINCT what, ', ') AS planted FROM sec_log;

-------------------------------------------------------------------------------
-- 4. The run-as-owner functions grant nothing: a role may only compute as an owner
-- whose privileges it already has.
-------------------------------------------------------------------------------
-- query_columns_as_owner() is not even executable by PUBLIC (only the upgrade, run by a
-- superuser, calls it: docs/segmentation.md, "Internal functions"); granted to the
-- tenant here to test its own check.
SET ROLE regress_cp_sec_tenant;
SELECT pg_temp.error_of($$SELECT customer_priority.query_columns_as_owner('sec_tenant.orders', 'SELECT 1')$$) AS not_public;
RESET ROLE;
GRANT EXECUTE ON FUNCTION customer_priority.query_columns_as_owner(regclass, text) TO regress_cp_sec_tenant;
SET ROLE regress_cp_sec_tenant;
SELECT CASE WHEN q LIKE $p$%'sec_tenant.orders', 'ALTER ROLE%$p$      -- (its message differs by version)
            THEN split_part(pg_temp.error_of(q), ':', 1)
            ELSE pg_temp.error_of(q) END AS run_as_another
FROM (VALUES ($$SELECT customer_priority.execute_as_owner('pg_class', 'ALTER ROLE regress_cp_sec_tenant SUPERUSER')$$),
             ($$SELECT * FROM customer_priority.query_as_owner('sec_log', 'SELECT 1') AS t(x int)$$),
             ($$SELECT customer_priority.query_columns_as_owner('sec_log', 'SELECT 1')$$),
             ($$SELECT customer_priority.execute_as_owner(0, 'SELECT 1')$$),
             ($$SELECT customer_priority.execute_as_owner('sec_tenant.orders', 'ALTER ROLE regress_cp_sec_tenant SUPERUSER')$$),
             ($$SELECT customer_priority.execute_as_owner('sec_tenant.orders', 'SET ROLE postgres')$$),
             ($$SELECT customer_priority.execute_as_owner('sec_tenant.orders', 'CREATE TEMPORARY TABLE t (x int)')$$),
             ($$SELECT * FROM customer_priority.query_as_owner('sec_tenant.orders', 'SELECT 1, 2') AS t(x int)$$),
             ($$SELECT * FROM customer_priority.query_as_owner('sec_tenant.orders', 'SELECT 1') AS t(x text)$$),
             ($$SELECT * FROM customer_priority.query_as_owner('sec_tenant.orders', 'DELETE FROM sec_tenant.orders') AS t(x int)$$),
             ($$SELECT customer_priority.execute_as_owner('sec_tenant.orders', 'COMMIT')$$),
             ($$SELECT customer_priority.query_columns_as_owner('sec_tenant.orders', 'VACUUM')$$),
             ($$SELECT customer_priority.query_columns_as_owner('sec_tenant.orders', 'SELECT 1; SELECT 2')$$),
             ($$SELECT customer_priority.execute_as_owner('sec_tenant.orders', '')$$)
     ) AS t(q);
-- Within its rights it works, with search_path pinned.
SELECT customer_priority.execute_as_owner('sec_tenant.orders', 'UPDATE sec_tenant.orders SET amount = amount WHERE order_id <= 3') AS updated;
SELECT * FROM customer_priority.query_as_owner('sec_tenant.orders',
    'SELECT current_user::text, current_setting(''search_path'')') AS t(who text, path text);
SELECT customer_priority.query_columns_as_owner('sec_tenant.orders', 'SELECT order_id, amount AS "Net ""x""" FROM sec_tenant.orders');
DROP TABLE hostile;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION customer_priority.query_columns_as_owner(regclass, text) FROM regress_cp_sec_tenant;

-------------------------------------------------------------------------------
-- 5. Names are unique per schema: the victim's "shop" does not block the tenant's.
-------------------------------------------------------------------------------
SET ROLE regress_cp_sec_victim;
SELECT customer_priority.create_segmentation('shop', 'sec_victim.orders', 'customer_id', 'ordered_at', 'amount',
    '{"schema": "sec_victim", "as_of": "2024-09-30"}');
-- Two of that name: an unqualified name means the one on the search_path.
SELECT pg_temp.error_of($$SELECT customer_priority.refresh_segmentation('shop')$$) AS neither_on_the_path;
SET search_path = sec_victim, public, customer_priority;
SELECT customer_priority.refresh_segmentation('shop');
SET search_path = public, customer_priority;
-- The tenant's is not the victim's to refresh or drop.
SELECT pg_temp.error_of($$SELECT customer_priority.drop_segmentation('sec_tenant.shop')$$) AS drop_the_tenants;
RESET ROLE;
SELECT schema, name FROM segmentations WHERE name = 'shop' ORDER BY schema;

-------------------------------------------------------------------------------
-- Clean up.
-------------------------------------------------------------------------------
SELECT customer_priority.drop_segmentation(format('%I.%I', schema, name))
FROM segmentations WHERE schema IN ('sec_tenant', 'sec_victim') ORDER BY schema, name;
SET client_min_messages = warning;
DROP SCHEMA sec_tenant, sec_victim, sec_shared CASCADE;
RESET client_min_messages;
DROP TABLE sec_log;
DROP ROLE regress_cp_sec_tenant, regress_cp_sec_operator, regress_cp_sec_victim, regress_cp_sec_planter,
          regress_cp_sec_nobody;
