-- Progress of long work (docs/segmentation.md, "Progress"): with the setting
-- customer_priority.progress on, create_segmentation(), refresh_segmentation() (both
-- modes) and backfill_segmentation() raise a NOTICE per phase, with the rows written;
-- off, the default, they raise nothing.
-- Each NOTICE's DETAIL is the time elapsed since the call started, different at every
-- run: VERBOSITY terse leaves it out here (as PostgreSQL's own tests do with the
-- timings of VACUUM VERBOSE), and test/t/009_progress.pl checks it line by line.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
SET client_min_messages = notice;
\set VERBOSITY terse

-- 12 customers, 5 orders each, one every two months from 2023-07 on.
CREATE TABLE progress_orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO progress_orders
SELECT c, timestamptz '2023-07-01 00:00+00' + (c * interval '1 day') + (k * interval '2 months'), 10 * c + k
FROM generate_series(1, 12) AS c, generate_series(0, 4) AS k;

-- Off by default, and then nothing is raised.
SELECT create_segmentation('quiet', 'progress_orders', 'customer_id', 'ordered_at', 'amount',
                           '{"as_of": "2024-08-01 00:00+00", "time_zone": "UTC", "snapshot": true}');
SELECT refresh_segmentation('quiet');
SELECT refresh_segmentation('quiet', concurrently => false);
SELECT * FROM backfill_segmentation('quiet', '2024-01-01', '2024-03-01') ORDER BY as_of;
SHOW customer_priority.progress;

-- On: a NOTICE per generation table filled (its rows), per generation emptied (the rows
-- deleted; unknown after the TRUNCATE of a blocking refresh) and made live, per month
-- backfilled (its customers, the month's rank of the months asked for), and at the end.
SET customer_priority.progress = on;
SELECT create_segmentation('loud', 'progress_orders', 'customer_id', 'ordered_at', 'amount',
                           '{"as_of": "2024-08-01 00:00+00", "time_zone": "UTC", "snapshot": true}');
SELECT refresh_segmentation('loud');
SELECT refresh_segmentation('loud');
SELECT refresh_segmentation('loud', concurrently => false);
SELECT * FROM backfill_segmentation('loud', '2024-01-01', '2024-03-01') ORDER BY as_of;
-- The rows shown are the rows written.
SELECT (SELECT count(*) FROM loud_customers) AS customers, (SELECT count(*) FROM loud_segments) AS segments,
       (SELECT count(*) FROM loud_profiles) AS profiles, (SELECT count(*) FROM loud_cohorts) AS cohorts;

-- Any role may set it, for a session or a transaction (SET LOCAL) or for itself
-- (ALTER ROLE ... SET); it is a boolean.
CREATE ROLE regress_cp_progress_analyst;
SET ROLE regress_cp_progress_analyst;
SET customer_priority.progress = off;
BEGIN;
SET LOCAL customer_priority.progress = true;
SHOW customer_priority.progress;
COMMIT;
SHOW customer_priority.progress;
SET customer_priority.progress = 'sometimes';
RESET ROLE;
DROP ROLE regress_cp_progress_analyst;
SELECT name, setting, vartype, context, boot_val FROM pg_settings WHERE name = 'customer_priority.progress';

-- Set in a new session before anything loaded the extension's library (the setting is
-- defined when it loads): the value is kept, and the refresh reports.
\c
SET search_path = public, customer_priority;
\set VERBOSITY terse
SET customer_priority.progress = on;
SELECT refresh_segmentation('loud');

RESET customer_priority.progress;
SELECT drop_segmentation('quiet'), drop_segmentation('loud');
DROP TABLE progress_orders;
