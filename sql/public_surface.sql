-- The public surface: every function, aggregate, type, table and view of the extension
-- that PUBLIC may use, against the reference.  README.md's "Reference" lists the public
-- objects (a function by a signature in a plain code block), docs/segmentation.md's
-- "Internal functions" the internal functions that must stay executable by every role
-- (and why); the support functions of the aggregates and types come with them.  Every
-- other function is internal and not executable by PUBLIC (src/privileges.sql).
--
-- The docs are read now, by sql/helpers/public_surface.awk run by psql (\copy ... FROM
-- PROGRAM: on the client, in the checkout, which the server may not be able to read).
-- Every query below returns no row unless the catalog and the docs differ; a row names
-- what to fix: document the function in README's Reference (signature, example,
-- COMMENT, a call in sql/security.sql), or REVOKE EXECUTE on it FROM PUBLIC in
-- src/privileges.sql and the upgrade script, or list it under "Internal functions"
-- with where it is reached from.
SET search_path = public, customer_priority;

CREATE TEMPORARY TABLE reference (kind text, name text);
\copy reference FROM PROGRAM 'awk -f sql/helpers/public_surface.awk README.md docs/segmentation.md'
-- The docs were read: each kind has names.
SELECT kind, count(DISTINCT name) > 0 AS names FROM reference GROUP BY kind ORDER BY kind;

-- The extension's functions and aggregates (its members), with what PUBLIC may do.
-- support: the transition, final, combine, serial and deserial function of one of its
-- aggregates, or the input, output, receive or send function of one of its types.
CREATE TEMPORARY VIEW extension_functions AS
SELECT p.oid::regprocedure AS signature, p.proname::text AS name,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public,
       EXISTS (SELECT FROM pg_aggregate a
               WHERE p.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                               a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn))
       OR EXISTS (SELECT FROM pg_type t
                  WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend,
                                  t.typmodin, t.typmodout, t.typanalyze)) AS support,
       coalesce(obj_description(p.oid, 'pg_proc'), '') ~ '^(internal|trigger function)' AS commented_internal
FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'customer_priority');
SELECT count(*) > 200 AS functions_found FROM extension_functions;

-------------------------------------------------------------------------------
-- Functions
-------------------------------------------------------------------------------
-- Executable by PUBLIC, and neither public in the Reference nor in the list of internal
-- functions.
SELECT DISTINCT f.name AS executable_but_not_documented
FROM extension_functions f
WHERE f.public AND NOT f.support
  AND f.name NOT IN (SELECT r.name FROM reference r WHERE r.kind IN ('function', 'internal'))
ORDER BY 1;
-- Documented (public or internal), but no function of that name that PUBLIC may execute.
SELECT DISTINCT r.kind, r.name AS documented_but_not_executable
FROM reference r
WHERE r.kind IN ('function', 'internal')
  AND NOT EXISTS (SELECT FROM extension_functions f WHERE f.name = r.name AND f.public AND NOT f.support)
ORDER BY 1, 2;
-- Public in the Reference and internal in the list both.
SELECT name AS public_and_internal FROM reference WHERE kind = 'function'
INTERSECT
SELECT name FROM reference WHERE kind = 'internal'
ORDER BY 1;
-- The COMMENT says the opposite of the docs: a function of the Reference commented
-- "internal", or one of the list of internal functions commented as public.
SELECT DISTINCT r.kind, f.signature::text AS comment_contradicts_the_docs
FROM extension_functions f JOIN reference r ON r.name = f.name AND r.kind IN ('function', 'internal')
WHERE f.commented_internal <> (r.kind = 'internal')
ORDER BY 1, 2;
-- Overloads of one name of which PUBLIC may execute some and not others (the docs name
-- functions, not signatures).
SELECT f.name AS overloads_disagree FROM extension_functions f WHERE NOT f.support
GROUP BY f.name HAVING bool_or(f.public) AND NOT bool_and(f.public)
ORDER BY 1;
-- Not executable by PUBLIC: the functions no role but a superuser runs (the trigger
-- functions; what only ALTER EXTENSION ... UPDATE calls; support functions on an
-- internal state that no aggregate uses any more), none a support function.
SELECT f.signature::text AS not_executable_by_public, f.support
FROM extension_functions f WHERE NOT f.public
ORDER BY 1;
-- No function of the extension is executable by a role by a grant of its own: PUBLIC's
-- is the only grant there is (beyond the owner's).
SELECT DISTINCT f.signature::text AS granted_to_a_role, a.grantee::regrole
FROM extension_functions f JOIN pg_proc p ON p.oid = f.signature, aclexplode(p.proacl) a
WHERE a.grantee <> 0 AND a.grantee <> p.proowner
ORDER BY 1, 2;

-------------------------------------------------------------------------------
-- Types, tables and views
-------------------------------------------------------------------------------
-- The extension's types (a table's or view's row type is the relation's), tables and
-- views, with whether PUBLIC may use the type or read the relation, against the
-- Reference's "Types", "Tables" and "Views".
CREATE TEMPORARY VIEW extension_objects AS
SELECT 'type' AS kind, t.typname::text AS name, has_type_privilege('public', t.oid, 'USAGE') AS public
FROM pg_depend d JOIN pg_type t ON t.oid = d.objid
WHERE d.classid = 'pg_type'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'customer_priority')
  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
  -- an array type goes with its element type (PostgreSQL 17 records it as a member too)
  AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
UNION ALL
SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END, c.relname::text,
       has_table_privilege('public', c.oid, 'SELECT')
FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'customer_priority');
SELECT count(*) > 15 AS objects_found FROM extension_objects;
SELECT kind, name AS usable_but_not_documented FROM extension_objects WHERE public
EXCEPT
SELECT kind, name FROM reference
ORDER BY 1, 2;
SELECT kind, name AS documented_but_not_usable FROM reference WHERE kind IN ('type', 'table', 'view')
EXCEPT
SELECT kind, name FROM extension_objects WHERE public
ORDER BY 1, 2;

DROP VIEW extension_objects, extension_functions;
DROP TABLE reference;
