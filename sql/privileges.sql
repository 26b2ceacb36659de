-- Privileges: what a non-superuser owner, a BI reader granted only the views and a
-- role with no rights can see and do (docs/segmentation.md, "Privileges"), and an audit
-- of the functions: every SQL and PL/pgSQL function pins search_path, and the only
-- SECURITY DEFINER functions are the four writers of the definitions table.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-------------------------------------------------------------------------------
-- Audit of the installed functions.
-------------------------------------------------------------------------------
-- SQL and PL/pgSQL functions without a pinned search_path: only the SQL wrappers that
-- read the caller's search_path (create_segmentation: its current schema; the others:
-- which schema a segmentation name means) and pass it to a pinned function.  Each of
-- their bodies qualifies every name (sql/security.sql plants functions and operators
-- on the caller's search_path and calls them).
SELECT p.oid::regprocedure AS unpinned
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'customer_priority'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
  AND NOT coalesce(p.proconfig, '{}') @> '{"search_path=pg_catalog, pg_temp"}'
ORDER BY p.oid::regprocedure::text;
-- SECURITY DEFINER: the four writers of the definitions table, owned by the role that
-- installed the extension (a superuser), search_path pinned.
SELECT p.oid::regprocedure AS security_definer, (SELECT rolsuper FROM pg_roles WHERE oid = p.proowner) AS owner_is_superuser,
       p.proconfig
FROM pg_proc p
WHERE p.pronamespace = 'customer_priority'::regnamespace AND p.prosecdef
ORDER BY p.oid::regprocedure::text;
-- Table privileges of PUBLIC: read-only everywhere.
SELECT c.relname, a.privilege_type
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.relnamespace = 'customer_priority'::regnamespace AND a.grantee = 0
ORDER BY 1, 2;

-------------------------------------------------------------------------------
-- Three roles: an owner (not a superuser) with its own schema and SELECT on the
-- orders, a BI reader, a role with no rights.
-------------------------------------------------------------------------------
CREATE ROLE regress_cp_priv_owner;
CREATE ROLE regress_cp_priv_bi;
CREATE ROLE regress_cp_priv_nobody;
CREATE ROLE regress_cp_priv_operator IN ROLE regress_cp_priv_owner;   -- has the owner's rights
CREATE SCHEMA priv_shop AUTHORIZATION regress_cp_priv_owner;
CREATE TABLE priv_orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO priv_orders
SELECT i % 20, timestamptz '2024-01-01' + i * interval '1 day', 10 + i % 7 FROM generate_series(1, 100) AS i;
GRANT SELECT ON priv_orders TO regress_cp_priv_owner;

-- The owner creates, refreshes (both modes) and grants its views to the BI role: only
-- _customers and _segments.
SET ROLE regress_cp_priv_owner;
SELECT create_segmentation('priv', 'priv_orders', 'customer_id', 'ordered_at', 'amount',
                           '{"schema": "priv_shop", "as_of": "2024-06-30"}');
SELECT refresh_segmentation('priv');
SELECT refresh_segmentation('priv', false);
SELECT generation FROM segmentations WHERE name = 'priv';
SELECT count(DISTINCT relowner::regrole) AS owners, min(relowner::regrole::text) AS owner
FROM pg_class WHERE relnamespace = 'priv_shop'::regnamespace;
GRANT USAGE ON SCHEMA priv_shop TO regress_cp_priv_bi;
GRANT SELECT ON priv_shop.priv_customers, priv_shop.priv_segments TO regress_cp_priv_bi;
-- The generation tables carry no grant: readers go through the views.
SELECT c.relname, c.relacl IS NULL AS owner_only FROM pg_class c
WHERE c.relnamespace = 'priv_shop'::regnamespace AND c.relkind = 'r' ORDER BY 1;
RESET ROLE;

-------------------------------------------------------------------------------
-- The BI reader reads the two views it was granted, and nothing else.
-------------------------------------------------------------------------------
SET ROLE regress_cp_priv_bi;
SELECT count(*) AS customers FROM priv_shop.priv_customers;
SELECT count(*) > 0 AS segments FROM priv_shop.priv_segments;
SELECT pg_temp.error_of(q) AS bi_reader
FROM (VALUES ('SELECT * FROM priv_shop.priv_membership'),
             ('SELECT * FROM priv_shop.priv_profiles'),
             ('SELECT * FROM priv_shop.priv_customers_a'),
             ('SELECT * FROM priv_shop.priv_customers_b'),
             ('SELECT * FROM priv_shop.priv_segments_a'),
             ('SELECT * FROM priv_orders'),
             ('DELETE FROM priv_shop.priv_customers'),
             ('CREATE TABLE priv_shop.mine (x int)'),
             ($$SELECT refresh_segmentation('priv')$$),
             ($$SELECT drop_segmentation('priv')$$),
             ($$SELECT create_segmentation('bi', 'priv_orders', 'customer_id', 'ordered_at', 'amount', '{"schema": "priv_shop"}')$$)
     ) AS t(q);
-- The definitions are readable (names, relations, options; no customer data), not
-- writable, not lockable.
SELECT name, schema, orders FROM segmentations;
SELECT pg_temp.error_of(q) AS bi_reader_on_definitions
FROM (VALUES ($$UPDATE segmentations SET generation = 'a' WHERE name = 'priv'$$),
             ($$UPDATE segmentations SET refreshed_at = now()$$),
             ($$DELETE FROM segmentations$$),
             ($$INSERT INTO segmentations (name, schema, orders, customer_id, ordered_at, amount, options)
                VALUES ('x', 'public', 'priv_orders', 'a', 'b', 'c', '{}')$$),
             ($$TRUNCATE segmentations$$),
             ($$SELECT * FROM segmentations FOR UPDATE$$),
             ($$SELECT * FROM segmentations FOR KEY SHARE$$),
             ($$LOCK TABLE segmentations IN ACCESS EXCLUSIVE MODE$$),
             ($$LOCK TABLE segmentations IN ROW EXCLUSIVE MODE$$)
     ) AS t(q);
-- Nor through the SECURITY DEFINER writers, called directly.
SELECT pg_temp.error_of(q) AS bi_reader_calls_writers
FROM (VALUES ($$SELECT * FROM segmentation_lock('priv_shop', 'priv', 'lock it')$$),
             ($$SELECT segmentation_set_live('priv_shop', 'priv', 'a')$$),
             ($$SELECT segmentation_delete('priv_shop', 'priv')$$),
             ($$SELECT segmentation_insert(s) FROM segmentations s WHERE name = 'priv'$$)
     ) AS t(q);
RESET ROLE;

-------------------------------------------------------------------------------
-- The role with no rights reads nothing and changes nothing.
-------------------------------------------------------------------------------
SET ROLE regress_cp_priv_nobody;
SELECT pg_temp.error_of(q) AS nobody
FROM (VALUES ('SELECT * FROM priv_shop.priv_customers'),
             ('SELECT * FROM priv_shop.priv_segments'),
             ('SELECT * FROM priv_orders'),
             ($$SELECT refresh_segmentation('priv')$$),
             ($$SELECT drop_segmentation('priv')$$),
             ($$SELECT create_segmentation('nobody', 'priv_orders', 'customer_id', 'ordered_at', 'amount', '{"schema": "public"}')$$),
             ($$SELECT * FROM segmentation_lock('priv_shop', 'priv', 'lock it')$$),
             ($$SELECT segmentation_set_live('priv_shop', 'priv', 'a')$$),
             ($$SELECT segmentation_delete('priv_shop', 'priv')$$),
             ($$LOCK TABLE segmentations IN EXCLUSIVE MODE$$),
             ($$SELECT * FROM segmentations WHERE name = 'priv' FOR SHARE$$)
     ) AS t(q);
-- A definition of a name nobody uses yet, without views, needs what
-- create_segmentation needs: SELECT on the orders and CREATE on the schema.
SELECT pg_temp.error_of($$SELECT segmentation_insert(('ghost', 'priv_shop', 'priv_orders', 'customer_id',
    'ordered_at', 'amount', '{}', now(), now(), 'a')::segmentations)$$) AS nobody_takes_a_name,
       pg_temp.error_of($$SELECT segmentation_insert(('ghost', 'priv_shop', 'pg_class', 'relname',
    'relname', 'relname', '{}', now(), now(), 'a')::segmentations)$$) AS nobody_takes_a_name_2;
RESET ROLE;

-------------------------------------------------------------------------------
-- A member of the owner role (with its rights) refreshes; the owner drops.  The SQL
-- functions run as the caller: the role the session acts as is what counts.
-------------------------------------------------------------------------------
SET ROLE regress_cp_priv_operator;
SELECT refresh_segmentation('priv');
SELECT generation FROM segmentations WHERE name = 'priv';
RESET ROLE;
SET ROLE regress_cp_priv_owner;
-- A definition without views (as left by a DROP of the views by hand) is dropped by
-- drop_segmentation like any other; here the owner makes one directly.
SELECT segmentation_insert(('ghost', 'priv_shop', 'priv_orders', 'customer_id',
    'ordered_at', 'amount', '{}', now(), now(), 'a')::segmentations);
SET client_min_messages = warning;   -- DROP ... IF EXISTS: a notice per relation
SELECT drop_segmentation('ghost');
RESET client_min_messages;
-- Delegation by a SECURITY DEFINER function of the owner does not work: the writers of
-- the definitions see the role the session acts as.  Membership (above) does.
CREATE FUNCTION priv_shop.refresh_priv() RETURNS void LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT customer_priority.refresh_segmentation('priv') $$;
GRANT USAGE ON SCHEMA priv_shop TO regress_cp_priv_nobody;
RESET ROLE;
SET ROLE regress_cp_priv_nobody;
SELECT pg_temp.error_of('SELECT priv_shop.refresh_priv()') AS nobody_through_definer;
RESET ROLE;
SET ROLE regress_cp_priv_owner;
DROP FUNCTION priv_shop.refresh_priv();
SELECT drop_segmentation('priv');
SELECT count(*) AS left_behind FROM pg_class WHERE relnamespace = 'priv_shop'::regnamespace;
RESET ROLE;
SELECT count(*) AS definitions FROM segmentations;

DROP SCHEMA priv_shop;
DROP TABLE priv_orders;
DROP ROLE regress_cp_priv_owner, regress_cp_priv_bi, regress_cp_priv_nobody, regress_cp_priv_operator;
