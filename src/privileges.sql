-------------------------------------------------------------------------------
-- Privileges (last in the install script: the objects above all exist now).
-- Docs: docs/segmentation.md#privileges.
--
-- Who may do what:
--   every role        calls the public functions (README's Reference; the internal ones
--                     at the end of this file), reads the segment maps, segment_actions and
--                     the segmentation definitions (names, relations, options: no
--                     customer data); creates segmentations of the orders it may read
--                     in schemas where it may create.
--   a view owner      (and the roles that have its rights) refreshes and drops its
--                     segmentations; grants SELECT on its views to readers.
--   a reader          granted SELECT on some views (and USAGE on their schema) reads
--                     them, nothing else: not the generation tables, not the orders.
--   extension owner   (the role that ran CREATE EXTENSION) adds its own segment maps.
--
-- The definitions table is written only through the four functions below.  No role but
-- its owner (the superuser that installed the extension) has INSERT, UPDATE or DELETE on
-- it, so no other role can lock it (LOCK TABLE needs one of those privileges) and
-- make every reader of every segmentation's views wait, lock a definition row (SELECT
-- ... FOR UPDATE needs UPDATE) and make its owner's refreshes wait, or change a row.
-------------------------------------------------------------------------------

GRANT SELECT ON customer_priority.segmentations TO PUBLIC;
-- The role that ran CREATE EXTENSION (a database owner, for example) may insert
-- definitions as a restore does: pg_restore --no-owner by that role brings the rows of
-- this configuration table back.  The trigger check_definition still applies (a
-- definition whose views exist only by a role with their owner's rights, and only a
-- valid one, stored with its effective options), and INSERT allows only
-- LOCK TABLE ... ROW EXCLUSIVE, which no reader and no refresh waits for.
GRANT INSERT ON customer_priority.segmentations TO @extowner@ WITH GRANT OPTION;

-- Whether the calling role may change (lock, flip, delete, insert) the definition def.
-- The rule of the trigger check_definition: only a role with the rights of the owner of the
-- segmentation's views (or, without them, of its table <name>_customers_a) may; a
-- definition without any of its relations (being created, or dropped) protects nothing.
-- The caller is the role the session acts as (SET ROLE, or else the session user),
-- because the functions below run as their owner (SECURITY DEFINER), where
-- current_user is that owner.  So a SECURITY DEFINER function of the views' owner that
-- calls refresh_segmentation() for another role is refused: give that role membership
-- in the owner instead.
CREATE FUNCTION customer_priority.segmentation_authorize(def customer_priority.segmentations, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := coalesce(nullif(current_setting('role'), 'none'), session_user);
    owner constant oid := customer_priority.segmentation_owner(def);
BEGIN
    IF owner IS NOT NULL AND NOT pg_has_role(caller, owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of the views of segmentation "%" to %', def.name, action
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%I.%I belongs to %s.', def.schema, def.name || '_customers',
                                  pg_get_userbyid(owner));
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_authorize(customer_priority.segmentations, text) IS
    'internal: raises 42501 unless the calling role has the rights of the owner of the segmentation''s views';

-- The four writers of the definitions table.  SECURITY DEFINER, justified: the
-- functions that call them (create, refresh and drop_segmentation) run with the
-- caller's rights, as they must (they read the caller's orders and create the caller's
-- views), and the caller has no privilege on the table.  Each one checks the caller
-- with segmentation_authorize() before it touches a row, runs fixed statements on
-- the definitions table only, and pins search_path.  Tested in sql/privileges.sql.

-- A new definition (create_segmentation); unique_violation if the name is taken in its
-- schema.  The caller needs what create_segmentation needs next (SELECT on the orders
-- and the customers relation, CREATE on the schema), so that a definition without views
-- (which any role may drop) is not a way to take names for a role that could not create
-- a segmentation anyway.  The trigger check_definition validates the row: whatever the
-- caller passes, only a valid definition is stored.
CREATE FUNCTION customer_priority.segmentation_insert(def customer_priority.segmentations)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := coalesce(nullif(current_setting('role'), 'none'), session_user);
    customers regclass;
BEGIN
    IF NOT has_any_column_privilege(caller, def.orders, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', (SELECT relname FROM pg_class WHERE oid = def.orders)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF jsonb_typeof(def.options -> 'customers') = 'string' THEN
        customers := to_regclass(def.options ->> 'customers');
    END IF;
    IF customers IS NOT NULL AND NOT has_any_column_privilege(caller, customers, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', def.options ->> 'customers'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT has_schema_privilege(caller, def.schema, 'CREATE') THEN
        RAISE EXCEPTION 'permission denied for schema %', def.schema
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM customer_priority.segmentation_authorize(def, 'change its definition');
    INSERT INTO customer_priority.segmentations SELECT def.*;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_insert(customer_priority.segmentations) IS
    'internal (SECURITY DEFINER): inserts a segmentation definition';

-- The definition of a segmentation, locked FOR UPDATE until the end of the caller's
-- transaction (refresh and drop_segmentation: refreshes and drops of one segmentation
-- run one after the other); no row if it does not exist.  Only a role that may change
-- it gets the lock: action says for what, in the error.
CREATE FUNCTION customer_priority.segmentation_lock(schema name, name text, action text)
RETURNS SETOF customer_priority.segmentations
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s
    WHERE s.schema = segmentation_lock.schema AND s.name = segmentation_lock.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, action);
        RETURN QUERY SELECT * FROM customer_priority.segmentations s
                     WHERE s.schema = segmentation_lock.schema AND s.name = segmentation_lock.name
                     FOR UPDATE;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_lock(name, text, text) IS
    'internal (SECURITY DEFINER): the definition of a segmentation, locked for the caller''s transaction';

-- Makes a generation live (refresh_segmentation) and records the refresh time.
CREATE FUNCTION customer_priority.segmentation_set_live(schema name, name text, generation "char")
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s
    WHERE s.schema = segmentation_set_live.schema AND s.name = segmentation_set_live.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, 'change its definition');
        UPDATE customer_priority.segmentations s
        SET generation = segmentation_set_live.generation, refreshed_at = now()
        WHERE s.schema = segmentation_set_live.schema AND s.name = segmentation_set_live.name;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_set_live(name, text, "char") IS
    'internal (SECURITY DEFINER): makes a generation of a segmentation live';

-- Deletes a definition (drop_segmentation, after its views and tables are gone).
CREATE FUNCTION customer_priority.segmentation_delete(schema name, name text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    def customer_priority.segmentations;
BEGIN
    SELECT * INTO def FROM customer_priority.segmentations s
    WHERE s.schema = segmentation_delete.schema AND s.name = segmentation_delete.name;
    IF FOUND THEN
        PERFORM customer_priority.segmentation_authorize(def, 'change its definition');
        DELETE FROM customer_priority.segmentations s
        WHERE s.schema = segmentation_delete.schema AND s.name = segmentation_delete.name;
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_delete(name, text) IS
    'internal (SECURITY DEFINER): deletes a segmentation definition';

-- What PUBLIC may execute: the functions of README's "Reference", the support functions
-- of their aggregates and types, and the internal functions that these reach while
-- running as their caller (docs/segmentation.md, "Internal functions", lists them and
-- says why each must stay executable; the test public_surface compares the catalog
-- with both lists).  A function call checks EXECUTE for the role running it at every
-- level, and create, refresh, drop_segmentation and the others are SECURITY INVOKER (they
-- read the caller's orders and create the caller's views): each internal function they
-- reach, and each one of the queries they generate (run by the caller or, through
-- execute_as_owner(), by the owner of the views), must stay executable by every role.
-- Calling one directly grants nothing: only the four writers above are SECURITY
-- DEFINER, and they check the caller first; the run-as-owner functions refuse a caller
-- without the owner's rights; the rest compute text from their arguments or do one step
-- of a public function with the caller's own rights.
-- Not executable by PUBLIC, because no role but a superuser ever runs them:
--   the trigger functions: PostgreSQL checks EXECUTE on a trigger function when the
--     trigger is created (by this script), not when it fires, so every role's INSERT,
--     UPDATE and DELETE still fire them (and they cannot be called directly anyway);
--   segmentation_upgrade() and query_columns_as_owner(), which only it calls: only the
--     upgrade scripts call them, and ALTER EXTENSION ... UPDATE runs them as a superuser
--     (for this trusted extension too, whoever runs the command);
--   the support functions on an internal state that no aggregate uses any more (those of
--     rfm_breaks(), abc_cutoffs() and score_population() without order_id until 0.2.0:
--     their aggregates now keep the state in an aggregate_state, and its *_state_*
--     functions run the same C code).  Only a superuser may create an aggregate on an
--     internal state (test/fuzz/make_corpus.sql does).
-- (The support functions of the aggregates stay executable, though the aggregates would
-- not need it: PostgreSQL checks their EXECUTE for the aggregate's owner.)
REVOKE EXECUTE ON FUNCTION customer_priority.rfm_segment_protect_builtin(),
                           customer_priority.segmentations_check(),
                           customer_priority.segment_actions_upsert(),
                           customer_priority.segmentation_upgrade(customer_priority.segmentations),
                           customer_priority.query_columns_as_owner(regclass, text),
                           customer_priority.rfm_breaks_transfn(internal, timestamptz, bigint, numeric, integer),
                           customer_priority.rfm_breaks_combinefn(internal, internal),
                           customer_priority.rfm_breaks_serialfn(internal),
                           customer_priority.rfm_breaks_deserialfn(bytea, internal),
                           customer_priority.rfm_breaks_finalfn(internal),
                           customer_priority.abc_cutoffs_transfn(internal, numeric),
                           customer_priority.abc_cutoffs_transfn(internal, numeric, numeric, numeric),
                           customer_priority.abc_cutoffs_transfn(internal, numeric, numeric, numeric, text),
                           customer_priority.abc_cutoffs_combinefn(internal, internal),
                           customer_priority.abc_cutoffs_serialfn(internal),
                           customer_priority.abc_cutoffs_deserialfn(bytea, internal),
                           customer_priority.abc_cutoffs_finalfn(internal),
                           customer_priority.score_population_transfn(internal, bigint, timestamptz, numeric,
                                                                      timestamptz, integer, numeric, numeric)
    FROM PUBLIC;
