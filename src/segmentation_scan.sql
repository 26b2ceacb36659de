-- The per-customer pass of a segmentation in one scan of its order rows (C code:
-- src/segmentation_scan.c): what GROUP BY customer with customer_profile(), xyz() and
-- sum(margin) gives, without PostgreSQL's hash aggregate.  src/segmentation.sql builds
-- the lines query from a validated definition and uses it where it applies
-- (segmentation_scan_lines()).

-- STABLE: it only reads, through a query run with the caller's rights in the
-- caller's snapshot (a read-only SPI call); PARALLEL UNSAFE: SPI, and a scan kept in
-- the backend for segmentation_cohorts().
CREATE FUNCTION customer_priority.segmentation_customers(lines text, as_of timestamptz,
                                                         time_zone text, xyz_period text,
                                                         discount_mapped boolean)
RETURNS TABLE (customer_id bigint, profile customer_priority.customer_profile,
               xyz customer_priority.xyz_metrics, profit numeric)
AS 'MODULE_PATHNAME', 'segmentation_customers'
LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.segmentation_customers(text, timestamptz, text, text, boolean) IS
    'internal: every customer''s customer_profile(), xyz() and sum of margins from one scan of the rows of the lines query (customer_id bigint, ordered_at, amount, order_id, returned_amount, discount, margin)';

-- STABLE: it only reads, through a query run with the caller's rights in the
-- caller's snapshot (a read-only SPI call); PARALLEL UNSAFE: SPI, and a scan kept in
-- the backend for segmentation_cohorts().
CREATE FUNCTION customer_priority.segmentation_cohorts(lines text, as_of timestamptz,
                                                       time_zone text, xyz_period text,
                                                       regulars bigint[], regular_min bigint)
RETURNS TABLE (cohort date, period_start date, active_customers bigint, revenue numeric,
               regulars_reached bigint)
AS 'MODULE_PATHNAME', 'segmentation_cohorts'
LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION customer_priority.segmentation_cohorts(text, timestamptz, text, text, bigint[], bigint) IS
    'internal: per first-purchase cohort and period with activity, from one scan of the rows of the lines query: active customers, net revenue, and how many of the given regulars reached regular_min purchases in that period';
