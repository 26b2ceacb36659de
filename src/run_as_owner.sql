-------------------------------------------------------------------------------
-- Computing for the owner of a segmentation (src/run_as_owner.c).
--
-- A refresh, snapshot, backfill, upgrade or history read started by a role other than
-- the owner of a segmentation's views runs what it computes as that owner, in a
-- security-restricted operation with search_path pinned, as REFRESH MATERIALIZED VIEW
-- does: the owner's orders relation (maybe a view calling the owner's functions) and
-- the owner's tables (maybe with the owner's triggers) never run with the caller's
-- rights.  Only a role that has the owner's privileges may do so (42501 otherwise):
-- these functions grant no right, they give one up.  Docs: docs/segmentation.md,
-- "Privileges".
-------------------------------------------------------------------------------

CREATE FUNCTION customer_priority.execute_as_owner(owned regclass, statement text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'execute_as_owner'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.execute_as_owner(regclass, text) IS
    'internal: runs one SQL statement as the owner of a relation (security-restricted, search_path pinned) and returns the rows it processed; the caller must have that owner''s privileges';

CREATE FUNCTION customer_priority.query_as_owner(owned regclass, query text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'query_as_owner'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.query_as_owner(regclass, text) IS
    'internal: the rows of a query run as the owner of a relation (security-restricted, search_path pinned); called with a column definition list; the caller must have that owner''s privileges';

CREATE FUNCTION customer_priority.query_columns_as_owner(owned regclass, query text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'query_columns_as_owner'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.query_columns_as_owner(regclass, text) IS
    'internal: the columns (quoted name and type) of a query, parsed but not run, as the owner of a relation; the caller must have that owner''s privileges';
