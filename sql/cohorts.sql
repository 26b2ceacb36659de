-- <name>_cohorts on the UCI Online Retail order lines (test/data/README.md), checked
-- against a plain-SQL statement of the same definition (docs/segmentation.md,
-- "<name>_cohorts"): monthly cohorts of the first purchase, in London time, as of
-- 2011-12-10.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;

CREATE TABLE online_retail (invoice_no text, stock_code text, description text, quantity int,
                            invoice_date timestamp, unit_price numeric, customer_id int, country text);
\copy online_retail FROM PROGRAM 'xz -dc test/data/online_retail.csv.xz' WITH (FORMAT csv, HEADER)
CREATE VIEW retail_lines AS
SELECT invoice_no, customer_id, invoice_date, quantity * unit_price AS amount FROM online_retail;
SELECT create_segmentation('retail', 'retail_lines', 'customer_id', 'invoice_date', 'amount',
    '{"as_of": "2011-12-10", "time_zone": "Europe/London", "order_id": "invoice_no"}');

-- The same definition in plain SQL on the local times (invoice_date is London time):
-- cohort = month of the first purchase line; period = months since; active = a purchase
-- line in the month; revenue = all lines of the month; regular by then = regular at
-- as_of and at least regular_min_orders (4) invoices with a purchase line whose first
-- purchase line is before the end of the month.
CREATE TABLE plain_cohorts AS
WITH lines AS (
    SELECT customer_id, invoice_no, invoice_date, quantity * unit_price AS amount
    FROM online_retail
    WHERE customer_id IS NOT NULL AND invoice_date <= timestamp '2011-12-10 00:00'
), firsts AS (
    SELECT l.customer_id, date_trunc('month', min(l.invoice_date) FILTER (WHERE l.amount > 0)) AS cohort,
           c.lifecycle_stage = 'regular' AS regular
    FROM lines l JOIN retail_customers c USING (customer_id)
    GROUP BY l.customer_id, c.lifecycle_stage
), months AS (
    SELECT m FROM generate_series(timestamp '2010-12-01', timestamp '2011-12-01', interval '1 month') AS m
), monthly AS (
    SELECT customer_id, date_trunc('month', invoice_date) AS m,
           bool_or(amount > 0) AS active, sum(amount) AS revenue
    FROM lines GROUP BY 1, 2
), invoices AS (
    SELECT customer_id, invoice_no, min(invoice_date) AS first_line
    FROM lines WHERE amount > 0 GROUP BY 1, 2
), invoices_by AS (
    SELECT f.customer_id, m.m, count(i.invoice_no) AS invoices
    FROM firsts f JOIN months m ON m.m >= f.cohort
    LEFT JOIN invoices i ON i.customer_id = f.customer_id AND i.first_line < m.m + interval '1 month'
    GROUP BY f.customer_id, m.m
)
SELECT f.cohort::date AS cohort,
       ((extract(year FROM b.m) * 12 + extract(month FROM b.m))
        - (extract(year FROM f.cohort) * 12 + extract(month FROM f.cohort)))::integer AS period,
       b.m::date AS period_start,
       count(*) AS cohort_customers,
       count(*) FILTER (WHERE y.active) AS active_customers,
       round(count(*) FILTER (WHERE y.active)::numeric / count(*), 6) AS retention,
       coalesce(sum(y.revenue), 0) AS revenue,
       count(*) FILTER (WHERE f.regular AND b.invoices >= 4) AS regular_customers,
       round(count(*) FILTER (WHERE f.regular AND b.invoices >= 4)::numeric / count(*), 6) AS regular_share
FROM firsts f
JOIN invoices_by b ON b.customer_id = f.customer_id
LEFT JOIN monthly y ON y.customer_id = f.customer_id AND y.m = b.m
GROUP BY f.cohort, b.m;

SELECT (SELECT count(*) FROM retail_cohorts) AS cohort_rows,
       (SELECT count(*) FROM plain_cohorts) AS plain_rows,
       (SELECT count(*) FROM (TABLE retail_cohorts EXCEPT ALL TABLE plain_cohorts) d) AS only_in_view,
       (SELECT count(*) FROM (TABLE plain_cohorts EXCEPT ALL TABLE retail_cohorts) d) AS only_in_plain_sql;

-- Every cohort adds up to the customers; period 0 keeps everyone; the revenue adds up
-- to the customers' net revenue less their lines before the month of their first
-- purchase (refunds of earlier purchases, before the data starts).
SELECT sum(cohort_customers) FILTER (WHERE period = 0) = (SELECT count(*) FROM retail_customers) AS every_customer_once,
       bool_and(retention = 1) FILTER (WHERE period = 0) AS period_0_all_active,
       (SELECT sum(revenue) FROM retail_customers) - sum(revenue) AS revenue_not_in_cohorts,
       (SELECT sum(l.amount) FROM retail_lines l JOIN retail_customers c USING (customer_id)
        WHERE l.invoice_date < date_trunc('month', c.first_order_at AT TIME ZONE 'Europe/London')) AS before_first_month
FROM retail_cohorts;

-- The December 2010 cohort (the first month of the data), month by month.
SELECT period, period_start, cohort_customers, active_customers, retention, revenue,
       regular_customers, regular_share
FROM retail_cohorts WHERE cohort = '2010-12-01' ORDER BY period;

-- Refresh fills the other generation with the same rows; a blocking refresh too.
SELECT refresh_segmentation('retail');
SELECT count(*) AS differing FROM (TABLE retail_cohorts EXCEPT ALL TABLE plain_cohorts) d;
SELECT refresh_segmentation('retail', concurrently => false);
SELECT count(*) AS differing FROM (TABLE plain_cohorts EXCEPT ALL TABLE retail_cohorts) d;

-- Weekly cohorts: the option xyz_period; week 0 is the ISO week (from Monday) of the
-- first purchase.
SELECT create_segmentation('retail_weeks', 'retail_lines', 'customer_id', 'invoice_date', 'amount',
    '{"as_of": "2011-12-10", "time_zone": "Europe/London", "order_id": "invoice_no", "xyz_period": "week"}');
SELECT count(DISTINCT cohort) AS cohorts, min(cohort), max(period),
       bool_and(extract(isodow FROM cohort) = 1) AS mondays,
       bool_and(period_start = cohort + 7 * period) AS weeks_apart
FROM retail_weeks_cohorts;

-- Every column has a comment.
SELECT a.attname, col_description(a.attrelid, a.attnum) IS NOT NULL AS described
FROM pg_attribute a WHERE a.attrelid = 'retail_cohorts'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT obj_description('retail_cohorts'::regclass, 'pg_class');

SELECT drop_segmentation('retail_weeks');
SELECT drop_segmentation('retail');
SELECT count(*) AS left_behind FROM pg_class WHERE relname LIKE 'retail\_%' AND relname <> 'retail_lines';
DROP TABLE plain_cohorts;
DROP VIEW retail_lines;
DROP TABLE online_retail;
