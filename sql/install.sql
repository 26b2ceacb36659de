-- Installing the extension: trusted, so a non-superuser with CREATE on the
-- database can install it; everything lands in schema customer_priority.
CREATE ROLE regress_shop_owner LOGIN;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_shop_owner', current_database()); END $$;

SET ROLE regress_shop_owner;
CREATE EXTENSION customer_priority;
SELECT extname, extversion, extnamespace::regnamespace, extowner::regrole, extrelocatable
FROM pg_extension WHERE extname = 'customer_priority';

-- The installer may add its own segment map, but not change the shipped ones.
INSERT INTO customer_priority.rfm_segment_maps (map, scale, fallback) VALUES ('mine', 3, 'Rest');
INSERT INTO customer_priority.rfm_segment_rules (map, priority, segment, r_min) VALUES ('mine', 1, 'Recent', 3);
SELECT customer_priority.rfm_segment(3, 1, 1, 3, 'mine'), customer_priority.rfm_segment(2, 3, 3, 3, 'mine');
UPDATE customer_priority.rfm_segment_rules SET segment = 'x' WHERE map = 'standard' AND priority = 1;
DELETE FROM customer_priority.rfm_segment_maps WHERE map = 'rfm_package';
INSERT INTO customer_priority.rfm_segment_rules (map, priority, segment) VALUES ('standard', 99, 'x');
DROP EXTENSION customer_priority;
-- CREATE EXTENSION made the schema for the installer; DROP EXTENSION leaves it.
SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'customer_priority';
DROP SCHEMA customer_priority;
RESET ROLE;

-- Another role without grants can use the functions and read the maps, but
-- cannot change them.
CREATE EXTENSION customer_priority;
CREATE ROLE regress_analyst;
SET ROLE regress_analyst;
SELECT customer_priority.rfm_segment(5, 5, 5);
INSERT INTO customer_priority.rfm_segment_maps (map, scale) VALUES ('analyst', 5);
RESET ROLE;
DROP ROLE regress_analyst;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM regress_shop_owner', current_database()); END $$;
DROP ROLE regress_shop_owner;

-- Every object of the extension is in its schema and has a comment, so BI
-- tools and \df+ show what it is.
SELECT pg_describe_object(classid, objid, objsubid) AS object_without_comment
FROM pg_depend d
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'customer_priority')
  AND deptype = 'e'
  AND obj_description(objid, (SELECT relname FROM pg_class WHERE oid = classid)) IS NULL
  AND classid <> 'pg_type'::regclass           -- array types and row types of tables
  AND NOT (classid = 'pg_trigger'::regclass)   -- triggers are not members, listed for safety
ORDER BY 1;
SELECT c.relname, a.attname
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'customer_priority'::regnamespace AND c.relkind IN ('r', 'c', 'v', 'm')
  AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL
ORDER BY 1, 2;
SELECT t.typname FROM pg_type t
WHERE t.typnamespace = 'customer_priority'::regnamespace AND t.typtype = 'c'
  AND obj_description(t.oid, 'pg_type') IS NULL
  AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind IN ('r', 'v'))
ORDER BY 1;

-- Volatility, strictness and parallel safety of every function, as declared.
SELECT p.oid::regprocedure AS function, p.prokind, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p WHERE p.pronamespace = 'customer_priority'::regnamespace
ORDER BY p.oid::regprocedure::text;
