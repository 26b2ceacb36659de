-- Scaling out over foreign partitions (docs/scale-out.md).
--
-- postgres_fdw ships an aggregate call to the server holding a partition only if
-- every collatable input of the call comes from a column of that partition: a text
-- constant such as the time zone 'Europe/Berlin' or the period 'month' has no such
-- origin, so customer_profile(..., time_zone text) and xyz(..., period text,
-- time_zone text) are always computed on the coordinator, from every order row
-- fetched over the network.  calendar_name is text without a collation (same bytes,
-- same input and output), and the forms of customer_profile() and xyz() below take
-- it instead of text: the same C functions, the same results, and postgres_fdw
-- ships them.  create_segmentation() uses these forms.

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
