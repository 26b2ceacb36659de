-- The one-scan pass of a segmentation (segmentation_customers(), src/segmentation_scan.c)
-- gives the same <name>_customers, _segments, _profiles and _cohorts rows as GROUP BY with
-- the composable aggregates (customer_priority.segmentation_scan = off), for every option
-- that changes what the pass computes; where it does not apply, GROUP BY is used.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\set QUIET on
\set customers 3000
\set seed 11
\i test/generate_orders.sql
\set ON_ERROR_STOP off
\set QUIET off
\set ECHO all

-- Every column a definition can map, with rows each path must treat alike: refunds,
-- zero amounts, NULL amounts (a margin only), rows after as_of, NULL customer ids,
-- line-level returns, discounts and margins, local timestamps and dates.
ALTER TABLE orders ADD COLUMN returned numeric, ADD COLUMN discount numeric,
    ADD COLUMN margin numeric(12,2), ADD COLUMN local_at timestamp, ADD COLUMN day date,
    ADD COLUMN small_id integer, ADD COLUMN order_code text;
UPDATE orders SET
    returned = CASE WHEN order_id % 17 = 0 AND amount > 0 THEN round(amount / 3, 2) END,
    discount = CASE WHEN order_id % 5 = 0 THEN 1.5 WHEN order_id % 7 = 0 THEN 0 END,
    margin = CASE WHEN order_id % 3 <> 0 THEN round(amount * 0.3, 2) END,
    local_at = ordered_at AT TIME ZONE 'America/New_York',
    day = (ordered_at AT TIME ZONE 'Asia/Tokyo')::date,
    small_id = customer_id::integer,
    order_code = 'INV-' || order_id;
INSERT INTO orders (order_id, line_no, customer_id, ordered_at, amount, margin, local_at, day, small_id, order_code)
VALUES (900001, 1, 5, '2024-06-01 10:00+00', NULL, 4.00, '2024-06-01 06:00', '2024-06-01', 5, 'INV-900001'),
       (900002, 1, 5, '2024-06-02 10:00+00', 0, NULL, '2024-06-02 06:00', '2024-06-02', 5, 'INV-900002'),
       (900003, 1, NULL, '2024-06-02 10:00+00', 10, 1, '2024-06-02 06:00', '2024-06-02', NULL, 'INV-900003'),
       (900004, 1, 6, '2025-03-01 10:00+00', 99, 9, '2025-03-01 05:00', '2025-03-01', 6, 'INV-900004');
-- purchase rows without order id from customers whose other orders have one: each is
-- an order of its own
INSERT INTO orders (order_id, line_no, customer_id, ordered_at, amount, margin, local_at, day, small_id, order_code)
SELECT NULL, 1, c, timestamptz '2023-01-15 12:00+00' + k * interval '40 days', 20 + k, 2,
       timestamp '2023-01-15 07:00' + k * interval '40 days', date '2023-01-15' + k * 40, c, NULL
FROM generate_series(7, 60) AS c, generate_series(0, 4) AS k;
CREATE TABLE text_orders AS SELECT customer_id::text AS customer_id, ordered_at, amount FROM orders;
CREATE VIEW orders_view AS SELECT * FROM orders WHERE amount IS DISTINCT FROM 13.37;

-- Create a segmentation with the scan, keep its rows, refresh it with GROUP BY, and
-- count the rows of each view that only one of them has (EXCEPT ALL both ways).  Also
-- says which path each query took, from the query text.
CREATE FUNCTION pg_temp.both_paths(name text, orders regclass, id name, at name, options jsonb,
                                   OUT scanned boolean, OUT customers bigint,
                                   OUT differ_customers bigint, OUT differ_segments bigint,
                                   OUT differ_profiles bigint, OUT differ_cohorts bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v text;
    n bigint;
BEGIN
    SET LOCAL customer_priority.segmentation_scan = on;
    PERFORM customer_priority.create_segmentation(name, orders, id, at, 'amount',
        options || '{"as_of": "2025-01-01"}');
    SELECT position('segmentation_customers(' IN customer_priority.segmentation_customers_query(d)) > 0
    INTO scanned FROM customer_priority.segmentations d WHERE d.name = both_paths.name;
    IF scanned IS DISTINCT FROM (
        SELECT position('segmentation_cohorts(' IN customer_priority.segmentation_cohorts_query(d, 'x')) > 0
        FROM customer_priority.segmentations d WHERE d.name = both_paths.name) THEN
        RAISE 'the _customers and _cohorts queries do not take the same path';
    END IF;
    FOREACH v IN ARRAY ARRAY['_customers', '_segments', '_profiles', '_cohorts'] LOOP
        EXECUTE format('CREATE TEMP TABLE %I AS SELECT * FROM %I', 'scan' || v, name || v);
    END LOOP;
    SET LOCAL customer_priority.segmentation_scan = off;
    PERFORM customer_priority.refresh_segmentation(name, false);
    IF (SELECT position('segmentation_customers(' IN customer_priority.segmentation_customers_query(d)) > 0
        FROM customer_priority.segmentations d WHERE d.name = both_paths.name) THEN
        RAISE 'the scan is used with customer_priority.segmentation_scan off';
    END IF;
    EXECUTE format('SELECT count(*) FROM %I', name || '_customers') INTO customers;
    FOREACH v IN ARRAY ARRAY['_customers', '_segments', '_profiles', '_cohorts'] LOOP
        EXECUTE format('SELECT (SELECT count(*) FROM (TABLE %1$I EXCEPT ALL TABLE %2$I) a)
                             + (SELECT count(*) FROM (TABLE %2$I EXCEPT ALL TABLE %1$I) b)',
                       'scan' || v, name || v) INTO n;
        CASE v WHEN '_customers' THEN differ_customers := n;
               WHEN '_segments' THEN differ_segments := n;
               WHEN '_profiles' THEN differ_profiles := n;
               ELSE differ_cohorts := n; END CASE;
        EXECUTE format('DROP TABLE %I', 'scan' || v);
    END LOOP;
    PERFORM customer_priority.drop_segmentation(name);
END
$$;

SELECT o.label, p.*
FROM (VALUES
    ('defaults', 'orders', 'customer_id', 'ordered_at', '{}'),
    ('order ids', 'orders', 'customer_id', 'ordered_at', '{"order_id": "order_id"}'),
    ('text order ids', 'orders', 'customer_id', 'ordered_at', '{"order_id": "order_code"}'),
    ('returns, discounts, margin', 'orders', 'customer_id', 'ordered_at',
     '{"order_id": "order_id", "returned_amount": "returned", "discount": "discount", "margin": "margin"}'),
    ('New York, weeks', 'orders', 'customer_id', 'ordered_at',
     '{"time_zone": "America/New_York", "xyz_period": "week"}'),
    ('local timestamps', 'orders', 'customer_id', 'local_at',
     '{"time_zone": "America/New_York", "xyz_period": "quarter"}'),
    ('dates', 'orders', 'customer_id', 'day', '{"time_zone": "Asia/Tokyo"}'),
    ('integer ids', 'orders', 'small_id', 'ordered_at', '{"bins": 4, "monetary": "average"}'),
    ('custom breaks, ABC by weights', 'orders', 'customer_id', 'ordered_at',
     '{"recency_breaks": [30, 90, 365, 730], "frequency_breaks": [1, 2, 5, 10], "margin": "margin",
       "abc_weights": {"revenue": 0.5, "profit": 0.3, "loyalty": 0.2}}'),
    ('ABC by share', 'orders', 'customer_id', 'ordered_at',
     '{"abc_method": "share", "abc_a": 0.2, "abc_b": 0.5}'),
    ('potential', 'orders', 'customer_id', 'ordered_at', '{"potential": true}'),
    ('a view', 'orders_view', 'customer_id', 'ordered_at', '{"order_id": "order_id"}'),
    ('text customer ids', 'text_orders', 'customer_id', 'ordered_at', '{}'),
    ('a channel', 'orders', 'customer_id', 'ordered_at', '{"channel": "order_code"}')
) AS o(label, orders, id, at, options)
CROSS JOIN LATERAL pg_temp.both_paths('scan_' || md5(o.label), o.orders::regclass, o.id, o.at,
                                      o.options::jsonb) p;

-- The pass called directly: what it returns for a customer equals the aggregates.
SELECT s.customer_id, s.profile = g.profile AS same_profile, s.xyz = g.xyz AS same_xyz,
       s.profit IS NOT DISTINCT FROM g.profit AS same_profit, s.profit
FROM segmentation_customers(
    'SELECT customer_id, ordered_at, amount::numeric, order_id, returned, discount, margin::numeric FROM orders WHERE customer_id IN (5, 6)',
    '2025-01-01', 'UTC', 'month', true) s
JOIN (SELECT customer_id,
             customer_profile(ordered_at, amount, '2025-01-01', order_id, returned, discount, 'UTC') AS profile,
             xyz(ordered_at, amount, '2025-01-01', 'month', 'UTC') AS xyz,
             sum(margin) AS profit
      FROM orders WHERE customer_id IN (5, 6) AND ordered_at <= '2025-01-01'
      GROUP BY customer_id) g USING (customer_id)
ORDER BY 1;

-- Bad calls: a lines query of the wrong shape, not a query, bad parameters.
\set VERBOSITY terse
SELECT count(*) FROM segmentation_customers('SELECT customer_id, ordered_at FROM orders',
                                            '2025-01-01', 'UTC', 'month', false);
SELECT count(*) FROM segmentation_customers('SELECT customer_id::text, ordered_at, amount::numeric, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric FROM orders',
                                            '2025-01-01', 'UTC', 'month', false);
SELECT count(*) FROM segmentation_customers('SELECT customer_id, ordered_at, ''NaN''::numeric, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric FROM orders',
                                            '2025-01-01', 'UTC', 'month', false);
SELECT count(*) FROM segmentation_customers('SELECT customer_id, ordered_at, amount::numeric, NULL::bigint, -1::numeric, NULL::numeric, NULL::numeric FROM orders',
                                            '2025-01-01', 'UTC', 'month', false);
SELECT count(*) FROM segmentation_customers('CREATE TABLE nope (a int)',
                                            '2025-01-01', 'UTC', 'month', false);
SELECT count(*) FROM segmentation_customers('SELECT customer_id, ordered_at, amount::numeric, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric FROM orders',
                                            'infinity', 'UTC', 'month', false);
SELECT count(*) FROM segmentation_customers('SELECT customer_id, ordered_at, amount::numeric, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric FROM orders',
                                            '2025-01-01', 'Mars/Olympus', 'month', false);
SELECT count(*) FROM segmentation_customers('SELECT customer_id, ordered_at, amount::numeric, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric FROM orders',
                                            '2025-01-01', 'UTC', 'fortnight', false);
SELECT count(*) FROM segmentation_customers(NULL, '2025-01-01', 'UTC', 'month', false);

-- The memory limit stops the pass with 54000 before the process grows further.
SET customer_priority.population_memory_limit = '1MB';
\set VERBOSITY sqlstate
SELECT count(*) FROM segmentation_customers('SELECT customer_id, ordered_at, amount::numeric, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric FROM orders',
                                            '2025-01-01', 'UTC', 'month', false);
RESET customer_priority.population_memory_limit;
\set VERBOSITY default

DROP VIEW orders_view;
DROP TABLE orders, text_orders;
