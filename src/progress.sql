-------------------------------------------------------------------------------
-- Progress of long work: create_segmentation(), refresh_segmentation() and
-- backfill_segmentation() tell the person waiting what they have done so far.
-- Docs: docs/segmentation.md, "Progress".
--
-- With the setting customer_priority.progress on (src/customer_priority.c; off by
-- default, any role may set it), each phase raises a NOTICE: the segmentation, the
-- phase, the rows written when known, and in its DETAIL the time elapsed since the call
-- started.  Off, nothing is raised: a BI tool, whose client_min_messages is usually the
-- default notice, sees no change.  The elapsed time is the DETAIL, as in PostgreSQL's
-- own VACUUM VERBOSE (errdetail of pg_rusage_show()), so that the message itself is the
-- same at every run (sql/progress.sql compares it with \set VERBOSITY terse).
--
-- A NOTICE, not pg_stat_progress_*: those views show only core's commands (the command
-- type is a fixed enum, ProgressCommandType), and the ANALYZE and CREATE INDEX a
-- refresh runs report their own progress there, which would overwrite any of ours.
-------------------------------------------------------------------------------

-- One NOTICE of a segmentation's progress when customer_priority.progress is on.
-- rows: the rows the phase wrote, NULL when unknown (then not shown).  Elapsed time from
-- clock_timestamp(), not now(): now() is the start of the transaction.
CREATE FUNCTION customer_priority.segmentation_progress(name text, phase text, started timestamptz,
                                                         rows bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF coalesce(current_setting('customer_priority.progress', true)::boolean, false) THEN
        RAISE NOTICE 'segmentation "%": %', name,
                     phase || CASE WHEN rows IS NOT NULL THEN format(', %s rows', rows) ELSE '' END
            USING DETAIL = format('Elapsed: %s s.', round(extract(epoch FROM clock_timestamp() - started)::numeric, 3));
    END IF;
END
$$;
COMMENT ON FUNCTION customer_priority.segmentation_progress(text, text, timestamptz, bigint) IS
    'internal: with customer_priority.progress on, a NOTICE of a phase of a segmentation''s create, refresh or backfill (rows written, time elapsed since started)';

