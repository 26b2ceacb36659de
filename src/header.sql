-- customer_priority: prioritise, profile and type customers inside PostgreSQL.
-- This file is the head of the generated install script; one file per concept follows
-- (see SQL_SOURCES in the Makefile).

\echo Use "CREATE EXTENSION customer_priority" to load this file. \quit

COMMENT ON SCHEMA customer_priority IS
    'customer_priority extension: RFM scores and segments, ABC classes, customer typology';

-- CREATE EXTENSION creates the schema without privileges for other roles;
-- every role may use the functions and types (the maps carry their own grants).
GRANT USAGE ON SCHEMA customer_priority TO PUBLIC;
