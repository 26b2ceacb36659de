-- pg_temp.error_of(query): run a query and return 'SQLSTATE: message' of the
-- error it raises, or 'no error', so a test can pin both in one table.
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$f$;
