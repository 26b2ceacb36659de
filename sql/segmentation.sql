-- Segmentations: create_segmentation(), refresh_segmentation(), drop_segmentation()
-- and the four views they manage (three of them read two generation tables each).
-- Part 1: a tiny hand-made shop whose every value is worked out in the comments.
-- Part 2: generated orders, the views checked against the building blocks.
-- Part 3: options, refresh, hostile names, errors, privileges, comments, drop,
-- generations.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-------------------------------------------------------------------------------
-- Part 1: the tiny shop.  Order times are local times (timestamp without time
-- zone) of a shop in Berlin; as_of 2024-06-30 00:00 Berlin = 2024-06-29 22:00 UTC.
--   ann: 3 orders, 100 + 50 + 150 = 300, the last 2024-06-29 23:30 Berlin:
--        recency 1 day in Berlin (it would be 0 read as UTC: 21:30 vs 22:00);
--   bob: 1 order of 20 on 2024-01-10: recency 172 days;
--   cy:  an order of 500 on 2024-06-20 and a refund of 100 on 2024-06-22:
--        1 purchase, net 400, recency 10;
--   dee: only an order after as_of: not a customer yet;
--   a row without customer: ignored.
-------------------------------------------------------------------------------
CREATE TABLE tiny_orders (order_no int, who text, at timestamp, amt int, pay text, channel text);
INSERT INTO tiny_orders VALUES
    (1, 'ann', '2024-06-01 10:00', 100, 'card',    'web'),
    (2, 'ann', '2024-06-15 10:00',  50, 'card',    'shop'),
    (3, 'ann', '2024-06-29 23:30', 150, 'invoice', 'web'),
    (4, 'bob', '2024-01-10 12:00',  20, 'cash',    'shop'),
    (5, 'cy',  '2024-06-20 09:00', 500, 'card',    'web'),
    (6, 'cy',  '2024-06-22 09:00', -100, NULL,     'web'),
    (7, 'dee', '2024-07-05 09:00',  80, 'card',    'web'),
    (8, NULL,  '2024-06-10 09:00',  70, 'card',    'web');
CREATE TABLE tiny_people (name text PRIMARY KEY, region text, referrals int);
INSERT INTO tiny_people VALUES ('ann', 'North', 2), ('bob', 'South', 0), ('cy', 'North', NULL);

-- Two scores (bins 2) with custom break points: recency <= 30 days scores 2,
-- more than 1 purchase scores 2, monetary > 100 scores 2.
SELECT create_segmentation('tiny', 'tiny_orders', 'who', 'at', 'amt', '{
    "as_of": "2024-06-30 00:00", "time_zone": "Europe/Berlin", "order_id": "order_no",
    "bins": 2, "recency_breaks": [30], "frequency_breaks": [1], "monetary_breaks": [100],
    "channel": "channel", "order_attributes": ["pay"],
    "customers": "tiny_people", "customer_key": "name", "referrals": "referrals",
    "customer_attributes": ["region"]}');

-- ann 2 2 2 -> rescaled to the standard map's 5 5 5: Champions; bob 1 1 1: Lost;
-- cy 2 1 2 -> R 5, FM round((1 + 5) / 2) = 3: Loyal Customers.
-- ABC of 400, 300, 20 (total 720): cy before 0 and ann before 400 are under
-- 0.80 * 720 = 576: A; bob before 700 >= 0.95 * 720 = 684: C.
-- XYZ: each customer bought in one month only: no cv, Z.
-- ann made 2 referrals: advocate (cy's referrals are unknown: no label); ann and
-- cy bought first within 90 days: new; bob is silent for 172 days, more than 90
-- (his usual rhythm is unknown): at_risk.
-- Attributes: ann paid by card twice and invoice once, channel web twice;
-- cy's refund row has no payment method, so only "card" counts.
SELECT customer_id, first_order_at, last_order_at, recency_days, frequency, monetary, revenue,
       r_score, f_score, m_score, rfm_cell, rfm_segment, abc_class, xyz_class,
       primary_type, labels, lifecycle_stage, attributes, as_of
FROM tiny_customers ORDER BY customer_id;

SELECT * FROM tiny_membership ORDER BY customer_id, dimension, segment;

-- 3 customers, net revenue 720.
SELECT dimension, segment, customers, customer_share, revenue, revenue_share,
       avg_recency_days, avg_frequency, avg_monetary, recommended_action IS NOT NULL AS has_action
FROM tiny_segments ORDER BY dimension, segment;

SELECT * FROM tiny_profiles WHERE dimension IN ('abc_class', 'lifecycle_stage')
ORDER BY dimension, segment, attribute, value;

-- The definition, with every option's effective value.
SELECT name, schema, orders, customer_id, ordered_at, amount, refreshed_at = created_at AS refreshed_at_create
FROM segmentations;
SELECT key, value FROM segmentations, jsonb_each(options)
WHERE name = 'tiny' AND key <> 'typology' ORDER BY key;

-- Rows per generation table: create filled generation a, which is live.
CREATE FUNCTION pg_temp.generations(seg text) RETURNS TABLE (live "char", a text, b text)
LANGUAGE plpgsql AS $$
DECLARE
    n bigint[];  -- rows of _customers, _segments, _profiles
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['a', 'b'] LOOP
        EXECUTE format('SELECT ARRAY[(SELECT count(*) FROM %1$I), (SELECT count(*) FROM %2$I), (SELECT count(*) FROM %3$I)]',
                       seg || '_customers_' || t, seg || '_segments_' || t, seg || '_profiles_' || t) INTO n;
        IF t = 'a' THEN a := array_to_string(n, '/'); ELSE b := array_to_string(n, '/'); END IF;
    END LOOP;
    SELECT s.generation INTO live FROM segmentations s WHERE s.name = seg;
    RETURN NEXT;
END
$$;
SELECT * FROM pg_temp.generations('tiny');

-- Refresh: bob orders again (in June); dee's order is still after as_of.
INSERT INTO tiny_orders VALUES (9, 'bob', '2024-06-28 12:00', 30, 'cash', 'shop');
SELECT refresh_segmentation('tiny');
SELECT customer_id, recency_days, frequency, monetary, rfm_cell, rfm_segment, labels
FROM tiny_customers ORDER BY customer_id;
SELECT segment, customers FROM tiny_segments WHERE dimension = 'rfm_segment' ORDER BY segment;
-- It filled generation b and made it live; a was emptied after the flip (by DELETE:
-- transactions that still see a as live still see its rows).
SELECT * FROM pg_temp.generations('tiny');
-- A blocking refresh gives the same result.
CREATE TEMP TABLE before AS SELECT * FROM tiny_customers;
SELECT refresh_segmentation('tiny', false);
SELECT count(*) AS rows_differ
FROM (SELECT * FROM before EXCEPT SELECT * FROM tiny_customers) d;
-- It truncated and filled a, and left b's rows (no longer live) in place.
SELECT * FROM pg_temp.generations('tiny');
-- Only the live generation is scanned: the other branch's one-time filter is false.
-- (The scans of the plan; its InitPlan lines read differently from PostgreSQL 17 on.)
CREATE FUNCTION pg_temp.scans(query text) RETURNS TABLE (scanned text, never_executed boolean)
LANGUAGE plpgsql AS $f$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        scanned := substring(line FROM 'Scan on ([a-z_]+)');
        CONTINUE WHEN scanned IS NULL;
        never_executed := line LIKE '%never executed%';
        RETURN NEXT;
    END LOOP;
END
$f$;
SELECT * FROM pg_temp.scans('SELECT count(*) FROM tiny_customers') ORDER BY 1;

-- The session's TimeZone does not matter: the segmentation's time zone counts.
SET TimeZone = 'America/New_York';
SELECT refresh_segmentation('tiny');
SET TimeZone = 'UTC';
SELECT count(*) AS rows_differ
FROM (SELECT * FROM before EXCEPT SELECT * FROM tiny_customers) d;
-- A concurrent refresh after a blocking one empties both: b before filling it, a after.
SELECT * FROM pg_temp.generations('tiny');

-------------------------------------------------------------------------------
-- Part 2: 400 generated customers (test/generate_orders.sql), as of
-- 2024-11-30 12:00 UTC (the data runs to the end of 2024: later rows must not
-- count, and customers who only bought later are not customers yet).
-------------------------------------------------------------------------------
\set customers 400
\set seed 11
\set ECHO none
\i test/generate_orders.sql
\set ECHO all
SELECT create_segmentation('gen', 'orders', 'customer_id', 'ordered_at', 'amount',
                           '{"as_of": "2024-11-30 12:00+00", "order_id": "order_id", "time_zone": "UTC"}');

-- The same scores, segments and classes from the building blocks: rfm() (not
-- customer_profile(), which the view uses), rfm_breaks(), rfm_score(),
-- abc_cutoffs() and xyz() in the session time zone (UTC).
CREATE TABLE gen_manual AS
WITH m AS (
    SELECT customer_id, rfm(ordered_at, amount, '2024-11-30 12:00+00', order_id) AS m,
           xyz(ordered_at, amount, '2024-11-30 12:00+00') AS x
    FROM orders GROUP BY customer_id),
buyers AS (SELECT * FROM m WHERE (m).frequency > 0),
b AS (SELECT rfm_breaks((m).last_order, (m).frequency, (m).monetary, 5) AS b FROM buyers),
c AS (SELECT abc_cutoffs((m).monetary) AS c FROM buyers)
SELECT customer_id, (m).first_order, (m).last_order, (m).recency_days, (m).frequency,
       (m).monetary, s.recency_score, s.frequency_score, s.monetary_score,
       rfm_segment(s) AS rfm_segment, abc_class((m).monetary, c) AS abc_class,
       xyz_class((x).cv) AS xyz_class
FROM buyers, b, c, LATERAL rfm_score((m).last_order, (m).frequency, (m).monetary, b) s;

SELECT (SELECT count(*) FROM gen_customers) AS customers,
       (SELECT count(*) FROM gen_manual) AS manual,
       (SELECT count(*) FROM orders WHERE ordered_at > '2024-11-30 12:00+00') AS rows_after_as_of;
SELECT count(*) AS rows_differ
FROM gen_customers g FULL JOIN gen_manual m USING (customer_id)
WHERE (g.first_order_at, g.last_order_at, g.recency_days, g.frequency, g.monetary,
       g.r_score, g.f_score, g.m_score, g.rfm_segment, g.abc_class, g.xyz_class)
      IS DISTINCT FROM
      (m.first_order, m.last_order, m.recency_days, m.frequency, m.monetary,
       m.recency_score, m.frequency_score, m.monetary_score, m.rfm_segment, m.abc_class, m.xyz_class);
-- Plain SQL agrees on the basics too.
SELECT count(*) AS rows_differ
FROM gen_customers g
JOIN (SELECT customer_id, count(DISTINCT order_id) FILTER (WHERE amount > 0) AS frequency,
             sum(amount) AS revenue, max(ordered_at) FILTER (WHERE amount > 0) AS last_order_at
      FROM orders WHERE ordered_at <= '2024-11-30 12:00+00' GROUP BY customer_id) p USING (customer_id)
WHERE (g.frequency, g.revenue, g.last_order_at) IS DISTINCT FROM (p.frequency, p.revenue, p.last_order_at);
-- Labels from customer_profile(), typology_model() and customer_typology().
SELECT count(*) AS rows_differ
FROM gen_customers g
JOIN (SELECT customer_id, t.*
      FROM (SELECT customer_id, customer_profile(ordered_at, amount, '2024-11-30 12:00+00', order_id) AS p
            FROM orders GROUP BY customer_id) x,
           (SELECT typology_model(customer_profile) AS model
            FROM (SELECT customer_profile(ordered_at, amount, '2024-11-30 12:00+00', order_id)
                  FROM orders GROUP BY customer_id) y
            WHERE (customer_profile).orders > 0) mo,
           LATERAL customer_typology(p, model) t
      WHERE (p).orders > 0) t USING (customer_id)
WHERE (g.labels, g.primary_type, g.lifecycle_stage) IS DISTINCT FROM (t.labels, t.primary_type, t.lifecycle_stage);

-- Membership lists each customer once per dimension (labels: once per label).
SELECT dimension, count(*) AS memberships, count(DISTINCT customer_id) AS customers
FROM gen_membership GROUP BY dimension ORDER BY dimension;
SELECT (SELECT count(*) FROM gen_membership WHERE dimension = 'label')
     = (SELECT sum(cardinality(labels)) FROM gen_customers) AS labels_listed;
-- Segments: customers and revenue add up per dimension (labels overlap).
SELECT dimension, sum(customers) AS customers, sum(customer_share) AS customer_share,
       sum(revenue) = (SELECT sum(revenue) FROM gen_customers) AS all_revenue,
       round(sum(revenue_share), 4) AS revenue_share,
       bool_and(recommended_action IS NOT NULL) AS every_segment_has_an_action
FROM gen_segments GROUP BY dimension ORDER BY dimension;
-- A segment's averages are its customers' averages.
SELECT count(*) AS rows_differ
FROM gen_segments s
JOIN (SELECT 'abc_class' AS dimension, abc_class AS segment, count(*) AS customers,
             round(avg(recency_days), 2) AS r, round(avg(frequency), 2) AS f,
             round(avg(monetary), 2) AS m, sum(revenue) AS revenue
      FROM gen_customers GROUP BY abc_class) c USING (dimension, segment)
WHERE (s.customers, s.avg_recency_days, s.avg_frequency, s.avg_monetary, s.revenue)
      IS DISTINCT FROM (c.customers, c.r, c.f, c.m, c.revenue);
-- Every row of _segments, recomputed the plain way: _membership (one row per customer,
-- dimension and segment) joined to _customers and grouped.  Compared as text, so that
-- values, NULLs and the display scale of each numeric must all be the same.
CREATE FUNCTION pg_temp.segments_differ(seg text)
RETURNS TABLE (segments bigint, only_in_segments bigint, only_recomputed bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
WITH totals AS (SELECT count(*) AS customers, sum(revenue) AS revenue FROM %1$I),
recomputed AS (
    SELECT m.dimension, m.segment, count(*) AS customers,
           round(count(*)::numeric / min(t.customers), 6) AS customer_share,
           sum(c.revenue) AS revenue,
           CASE WHEN min(t.revenue) > 0 THEN round(sum(c.revenue) / min(t.revenue), 6) END AS revenue_share,
           round(avg(c.recency_days), 2) AS avg_recency_days,
           round(avg(c.frequency), 2) AS avg_frequency,
           round(avg(c.monetary), 2) AS avg_monetary,
           min(a.recommended_action) AS recommended_action
    FROM %2$I m
    JOIN %1$I c USING (customer_id)
    CROSS JOIN totals t
    LEFT JOIN segment_actions a ON a.dimension = m.dimension AND a.segment = m.segment
    GROUP BY m.dimension, m.segment)
SELECT (SELECT count(*) FROM %3$I),
       (SELECT count(*) FROM (SELECT s::text FROM %3$I s EXCEPT ALL SELECT r::text FROM recomputed r) x),
       (SELECT count(*) FROM (SELECT r::text FROM recomputed r EXCEPT ALL SELECT s::text FROM %3$I s) x)$q$,
                  seg || '_customers', seg || '_membership', seg || '_segments');
END
$$;
SELECT s.seg, d.* FROM unnest('{tiny,gen}'::text[]) AS s(seg), pg_temp.segments_differ(s.seg) d;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a WHERE a.attrelid = 'gen_segments'::regclass AND a.attnum > 0 ORDER BY a.attnum;
-- A map without a fallback leaves some customers without an RFM segment: no row for
-- them, and its segment "A" is not abc_class's "A".
INSERT INTO rfm_segment_maps (map, scale, fallback, description) VALUES ('partial', 5, NULL, 'test map');
INSERT INTO rfm_segment_rules (map, priority, segment, r_min, r_max) VALUES ('partial', 1, 'A', 4, 5);
SELECT create_segmentation('gen_partial', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-11-30 12:00+00", "order_id": "order_id", "segment_map": "partial"}');
SELECT count(*) FILTER (WHERE rfm_segment IS NULL) AS without_segment,
       count(*) FILTER (WHERE rfm_segment = 'A') AS rfm_a,
       count(*) FILTER (WHERE abc_class = 'A') AS abc_a
FROM gen_partial_customers;
SELECT dimension, segment, customers FROM gen_partial_segments
WHERE dimension IN ('rfm_segment', 'abc_class') ORDER BY dimension, segment;
SELECT * FROM pg_temp.segments_differ('gen_partial');
SELECT drop_segmentation('gen_partial');
DELETE FROM rfm_segment_maps WHERE map = 'partial';
-- No attribute mapped: no profiles.
SELECT count(*) AS profiles FROM gen_profiles;

-------------------------------------------------------------------------------
-- Part 3a: options
-------------------------------------------------------------------------------
-- bins 3, monetary as the average order value, another segment map.
SELECT create_segmentation('gen3', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-11-30 12:00+00", "order_id": "order_id", "bins": 3,
      "monetary": "average", "segment_map": "rfm_package"}');
WITH m AS (
    SELECT customer_id, rfm(ordered_at, amount, '2024-11-30 12:00+00', order_id) AS m
    FROM orders GROUP BY customer_id),
buyers AS (SELECT * FROM m WHERE (m).frequency > 0),
b AS (SELECT rfm_breaks((m).last_order, (m).frequency, (m).average_order_value, 3) AS b FROM buyers)
SELECT count(*) AS rows_differ
FROM gen3_customers g
JOIN (SELECT customer_id, (m).average_order_value, s.*, rfm_segment(s, 'rfm_package') AS segment
      FROM buyers, b, LATERAL rfm_score((m).last_order, (m).frequency, (m).average_order_value, b) s) x
     USING (customer_id)
WHERE (g.monetary, g.r_score, g.f_score, g.m_score, g.rfm_segment)
      IS DISTINCT FROM (x.average_order_value, x.recency_score, x.frequency_score, x.monetary_score, x.segment);
SELECT max(length(rfm_cell)) AS cell_length, count(DISTINCT rfm_cell) <= 27 AS at_most_27_cells
FROM gen3_customers;

-- ABC by shares of customers: A is the top 20 %, B the next 30 % (ties share a class).
SELECT create_segmentation('gen_share', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-11-30 12:00+00", "order_id": "order_id", "abc_method": "share",
      "abc_a": 0.2, "abc_b": 0.5}');
SELECT abc_class, count(*) FROM gen_share_customers GROUP BY 1 ORDER BY 1;

-- Multi-criteria ABC: revenue and loyalty ranks, weights 0.5 / 0.5, shares 0.2 / 0.5;
-- the same as the README recipe.
SELECT create_segmentation('gen_multi', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-11-30 12:00+00", "order_id": "order_id", "abc_method": "share",
      "abc_a": 0.2, "abc_b": 0.5, "abc_weights": {"revenue": 0.5, "loyalty": 0.5}}');
WITH m AS (
    SELECT customer_id, rfm(ordered_at, amount, '2024-11-30 12:00+00', order_id) AS m
    FROM orders GROUP BY customer_id HAVING (rfm(ordered_at, amount, '2024-11-30 12:00+00', order_id)).frequency > 0),
ranked AS (
    SELECT customer_id,
           abc_weighted_score(ARRAY[cume_dist() OVER (ORDER BY (m).monetary), 0,
                                    (cume_dist() OVER (ORDER BY (m).frequency)
                                     + cume_dist() OVER (ORDER BY (m).tenure_days)) / 2, 0],
                              '{0.5,0,0.5,0}')::numeric AS score
    FROM m)
SELECT count(*) AS rows_differ, count(*) FILTER (WHERE g.abc_class = 'A') AS a_customers_differ
FROM gen_multi_customers g
JOIN (SELECT customer_id, abc_class(score, c) AS abc_class
      FROM ranked, (SELECT abc_cutoffs(score, 0.2, 0.5, 'share') AS c FROM ranked) p) x USING (customer_id)
WHERE g.abc_class IS DISTINCT FROM x.abc_class;
SELECT abc_class, count(*) FROM gen_multi_customers GROUP BY 1 ORDER BY 1;

-- Profit needs a margin column; XYZ by quarter with other limits; typology options.
ALTER TABLE orders ADD COLUMN margin numeric, ADD COLUMN discount numeric;
UPDATE orders SET margin = round(amount * (0.1 + (customer_id % 5) * 0.1), 2),
                  discount = CASE WHEN customer_id % 3 = 0 THEN 1 ELSE 0 END;
SELECT create_segmentation('gen_profit', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-11-30 12:00+00", "order_id": "order_id", "margin": "margin",
      "discount": "discount", "abc_weights": {"profit": 1}, "xyz_period": "quarter",
      "xyz_x_max": 0.2, "xyz_y_max": 0.4, "typology": {"royal_top_share": 0.05}}');
-- A by profit: customers with margin 50 % of revenue dominate A.
SELECT customer_id % 5 AS margin_group, count(*) FILTER (WHERE abc_class = 'A') AS a,
       count(*) AS customers
FROM gen_profit_customers GROUP BY 1 ORDER BY 1;
WITH x AS (
    SELECT customer_id, xyz(ordered_at, amount, '2024-11-30 12:00+00', 'quarter') AS x
    FROM orders GROUP BY customer_id)
SELECT count(*) AS rows_differ
FROM gen_profit_customers g JOIN x USING (customer_id)
WHERE g.xyz_class IS DISTINCT FROM xyz_class((x).cv, 0.2, 0.4);
-- 5 % royals instead of 1 % (capped: never more than 5 % of the customers).
SELECT (SELECT count(*) FILTER (WHERE 'royal' = ANY (labels)) FROM gen_customers) AS royals_1pct,
       (SELECT count(*) FILTER (WHERE 'royal' = ANY (labels)) FROM gen_profit_customers) AS royals_5pct,
       (SELECT floor(count(*) * 0.05) FROM gen_profit_customers) AS cap;
-- Discounts are mapped: customers with discount 1 on every order are promotion maximizers.
SELECT customer_id % 3 = 0 AS always_discounted,
       count(*) FILTER (WHERE 'promotion_maximizer' = ANY (labels)) AS promotion_maximizers,
       count(*) FILTER (WHERE frequency >= 3) AS with_3_orders
FROM gen_profit_customers GROUP BY 1 ORDER BY 1;
SELECT options -> 'typology' -> 'royal_top_share' AS royal_top_share
FROM segmentations WHERE name = 'gen_profit';

-- The default as_of is the time of the refresh.
SELECT create_segmentation('gen_now', 'orders', 'customer_id', 'ordered_at', 'amount');
BEGIN;
SELECT refresh_segmentation('gen_now');
SELECT bool_and(as_of = now()) AS as_of_is_now, count(*) = 400 AS every_customer,
       (SELECT refreshed_at = now() FROM segmentations WHERE name = 'gen_now') AS refreshed_at_is_now
FROM gen_now_customers;
COMMIT;

-- A date column, an integer amount, a bigint customer key in another schema and views
-- in a third schema.
CREATE SCHEMA crm;
CREATE TABLE crm.daily (day date, client bigint, total int);
INSERT INTO crm.daily VALUES ('2024-06-01', 1, 10), ('2024-06-03', 1, 30), ('2024-06-02', 2, 5);
CREATE SCHEMA bi;
SELECT create_segmentation('daily', 'crm.daily', 'client', 'day', 'total',
    '{"schema": "bi", "as_of": "2024-06-04", "time_zone": "Asia/Tokyo"}');
-- day 2024-06-03 is midnight Tokyo: 1 day before as_of 2024-06-04 Tokyo.
SELECT customer_id, first_order_at, last_order_at, recency_days, frequency, monetary, as_of
FROM bi.daily_customers ORDER BY 1;
SELECT pg_typeof(customer_id) FROM bi.daily_customers LIMIT 1;

-------------------------------------------------------------------------------
-- Part 3b: hostile names are quoted, never executed
-------------------------------------------------------------------------------
CREATE SCHEMA "Bi ""Views""";
CREATE TABLE "Order ""Lines""; DROP TABLE tiny_orders; --" (
    "Customer ""Id""" text, "Ordered At" timestamptz, "Amount; DROP TABLE tiny_people" numeric,
    "Pay'ment" text);
INSERT INTO "Order ""Lines""; DROP TABLE tiny_orders; --" VALUES
    ('x''); DROP TABLE tiny_orders; --', '2024-06-01', 10, 'o''clock'),
    ('x''); DROP TABLE tiny_orders; --', '2024-06-11', 20, 'o''clock');
SELECT create_segmentation('Sales "2024"; DROP TABLE tiny_orders; --',
    '"Order ""Lines""; DROP TABLE tiny_orders; --"', 'Customer "Id"', 'Ordered At',
    'Amount; DROP TABLE tiny_people',
    '{"schema": "Bi \"Views\"", "as_of": "2024-07-01", "order_attributes": ["Pay''ment"]}');
SELECT relname FROM pg_class WHERE relnamespace = '"Bi ""Views"""'::regnamespace ORDER BY relname;
SELECT customer_id, frequency, monetary, attributes
FROM "Bi ""Views"""."Sales ""2024""; DROP TABLE tiny_orders; --_customers";
SELECT refresh_segmentation('Sales "2024"; DROP TABLE tiny_orders; --');
SELECT drop_segmentation('Sales "2024"; DROP TABLE tiny_orders; --');
SELECT count(*) AS left_behind FROM pg_class WHERE relnamespace = '"Bi ""Views"""'::regnamespace;
SELECT to_regclass('tiny_orders') IS NOT NULL AS tiny_orders_still_there,
       to_regclass('tiny_people') IS NOT NULL AS tiny_people_still_there;
-- The longest name that fits (47 bytes; its index <name>_customers_a_key makes 63).
SELECT create_segmentation(repeat('n', 47), 'tiny_orders', 'who', 'at', 'amt', '{"as_of": "2024-06-30"}');
SELECT relkind, count(*) FROM pg_class WHERE relname LIKE repeat('n', 47) || '\_%' GROUP BY 1 ORDER BY 1;
SELECT refresh_segmentation(repeat('n', 47));
SELECT drop_segmentation(repeat('n', 47));

-------------------------------------------------------------------------------
-- Part 3c: errors
-------------------------------------------------------------------------------
CREATE VIEW not_orders AS SELECT 1 AS x;
CREATE TABLE clash_segments (x int);
CREATE SEQUENCE a_sequence;
SELECT q AS call, pg_temp.error_of('SELECT create_segmentation(' || q || ')') AS error FROM (VALUES
    ($$NULL, 'tiny_orders', 'who', 'at', 'amt'$$),
    ($$'', 'tiny_orders', 'who', 'at', 'amt'$$),
    ($$repeat('n', 48), 'tiny_orders', 'who', 'at', 'amt'$$),
    ($$repeat('é', 25), 'tiny_orders', 'who', 'at', 'amt'$$),
    ($$'clash', 'tiny_orders', 'who', 'at', 'amt'$$),
    ($$'x', 'a_sequence', 'who', 'at', 'amt'$$),
    ($$'x', 'tiny_orders', 'nobody', 'at', 'amt'$$),
    ($$'x', 'tiny_orders', 'who', 'who', 'amt'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'pay'$$),
    ($$'x', 'not_orders', 'x', 'x', 'x'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '[]'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"bins": 5, "colour": "red"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"bins": "5"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"bins": 11}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"bins": 2.5}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"schema": "nowhere"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"schema": 1}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"as_of": "yesterday-ish"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"as_of": "infinity"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"time_zone": "Mars/Olympus"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"recency_breaks": [30, 90]}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"bins": 3, "recency_breaks": [90, 30]}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"bins": 3, "frequency_breaks": [1, 2.5]}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"bins": 3, "monetary_breaks": [1, "2"]}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"monetary": "median"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"segment_map": "mine"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"abc_method": "xyz"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"abc_a": 0.9, "abc_b": 0.8}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"abc_a": 0}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"abc_weights": [1, 0, 0, 0]}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"abc_weights": {"beauty": 1}}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"abc_weights": {"revenue": -1}}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"abc_weights": {"revenue": 0}}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"abc_weights": {"profit": 1}}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"xyz_period": "day"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"xyz_x_max": 2}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"typology": {"royal_top_share": 2}}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"typology": {"royals": 1}}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"typology": 1}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"order_id": "nope"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"margin": "pay"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"order_attributes": "pay"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"order_attributes": [1]}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"order_attributes": ["channel"], "channel": "channel"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"referrals": "referrals"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"customers": "nobody_here"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"customers": "tiny_people"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"customers": "tiny_people", "customer_key": "region", "referrals": "region"}'$$),
    ($$'x', 'tiny_orders', 'who', 'at', 'amt', '{"customers": "crm.daily", "customer_key": "client"}'$$)
) AS calls(q);
DROP TABLE clash_segments;
-- A zero weight written 0.0 is still zero: no margin needed.
SELECT create_segmentation('zero_profit', 'tiny_orders', 'who', 'at', 'amt',
                           '{"abc_weights": {"revenue": 1, "profit": 0.0}, "as_of": "2024-06-30"}');
SELECT drop_segmentation('zero_profit');
SELECT pg_temp.error_of($$SELECT refresh_segmentation('nope')$$) AS refresh_unknown,
       pg_temp.error_of($$SELECT refresh_segmentation(NULL)$$) AS refresh_null,
       pg_temp.error_of($$SELECT drop_segmentation('nope')$$) AS drop_unknown;
-- Nothing was left behind by the failed calls.
SELECT name FROM segmentations ORDER BY name;
SELECT count(*) AS stray_views FROM pg_class WHERE relname LIKE 'x\_%';

-- A view of the user's on a segmentation's view stops drop_segmentation.
CREATE VIEW my_champions AS SELECT customer_id FROM tiny_customers WHERE rfm_segment = 'Champions';
SELECT pg_temp.error_of($$SELECT drop_segmentation('tiny')$$) AS drop_with_dependent;
SELECT count(*) AS still_there FROM segmentations WHERE name = 'tiny';
DROP VIEW my_champions;
-- A view (or a table) dropped by hand: refresh says so; drop_segmentation still cleans up.
DROP VIEW gen3_profiles;
SELECT pg_temp.error_of($$SELECT refresh_segmentation('gen3')$$) AS refresh_missing_view;
DROP TABLE gen3_profiles_b;
SELECT drop_segmentation('gen3');

-------------------------------------------------------------------------------
-- Part 3e: a name is unique within its schema, as a relation's is.  A name given to
-- refresh (drop, snapshot, ...) means the segmentation of that name in the first
-- schema of search_path that has one, or the only one in the database; 'schema.name'
-- names one exactly.
-------------------------------------------------------------------------------
SELECT create_segmentation('tiny', 'tiny_orders', 'who', 'at', 'amt', '{"schema": "crm", "as_of": "2024-06-30"}');
SELECT schema, name, generation FROM segmentations WHERE name = 'tiny' ORDER BY schema;
SELECT refresh_segmentation('tiny');             -- public is on search_path, crm is not
SELECT refresh_segmentation('crm.tiny');
SELECT refresh_segmentation('crm.tiny');
SELECT schema, name, generation FROM segmentations WHERE name = 'tiny' ORDER BY schema;
SET search_path = crm, public, customer_priority;
SELECT refresh_segmentation('tiny');             -- now crm comes first
SELECT schema, name, generation FROM segmentations WHERE name = 'tiny' ORDER BY schema;
SET search_path = customer_priority;
SELECT pg_temp.error_of($$SELECT refresh_segmentation('tiny')$$) AS on_no_schema_of_the_path,
       pg_temp.error_of($$SELECT refresh_segmentation('nowhere.tiny')$$) AS qualified_unknown,
       pg_temp.error_of($$SELECT refresh_segmentation('crm.tiny.x')$$) AS three_parts;
SET search_path = public, customer_priority;
SELECT drop_segmentation('"crm".tiny');
SELECT schema, name FROM segmentations WHERE name = 'tiny' ORDER BY schema;

-------------------------------------------------------------------------------
-- Part 3d: every view and column has a comment a BI tool shows
-------------------------------------------------------------------------------
SELECT c.relname, count(*) AS columns,
       count(col_description(c.oid, a.attnum)) AS described,
       obj_description(c.oid, 'pg_class') IS NOT NULL AS view_described
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
WHERE c.relname LIKE 'tiny\_%' AND c.relkind = 'v'
GROUP BY c.oid, c.relname ORDER BY c.relname;
-- The generation tables: a comment that sends the reader to the view, a unique index.
SELECT c.relname, c.relkind, i.indisunique, pg_get_indexdef(i.indexrelid) AS index,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid
WHERE c.relname LIKE 'tiny\_%\__' ORDER BY c.relname;
SELECT obj_description('tiny_segments'::regclass, 'pg_class');

-------------------------------------------------------------------------------
-- Part 3e: privileges.  The views belong to their creator; a BI role reads what it
-- is granted; a role without rights reads nothing and changes nothing.
-------------------------------------------------------------------------------
CREATE ROLE regress_cp_owner;
CREATE ROLE regress_cp_bi;
CREATE ROLE regress_cp_nobody;
CREATE SCHEMA shop AUTHORIZATION regress_cp_owner;
GRANT SELECT ON tiny_orders TO regress_cp_owner;
SET ROLE regress_cp_owner;
SELECT create_segmentation('owned', 'tiny_orders', 'who', 'at', 'amt',
                           '{"schema": "shop", "as_of": "2024-06-30"}');
SELECT relname, relkind, pg_get_userbyid(relowner) AS owner FROM pg_class
WHERE relnamespace = 'shop'::regnamespace AND relkind IN ('r', 'v') ORDER BY relname;
GRANT USAGE ON SCHEMA shop TO regress_cp_bi;
GRANT SELECT ON shop.owned_customers, shop.owned_segments TO regress_cp_bi;
RESET ROLE;
SET ROLE regress_cp_bi;
-- The views read the tables (and the definition) with their owner's rights: the
-- grant on the view is enough, the tables themselves stay closed.
SELECT count(*) AS bi_reads_customers FROM shop.owned_customers;
SELECT pg_temp.error_of($$SELECT * FROM shop.owned_membership$$) AS bi_reads_membership,
       pg_temp.error_of($$SELECT * FROM tiny_orders$$) AS bi_reads_orders,
       pg_temp.error_of($$SELECT * FROM shop.owned_customers_a$$) AS bi_reads_table;
SELECT pg_temp.error_of($$SELECT refresh_segmentation('owned')$$) AS bi_refreshes,
       pg_temp.error_of($$SELECT drop_segmentation('owned')$$) AS bi_drops;
SELECT pg_temp.error_of($$UPDATE segmentations SET options = '{}' WHERE name = 'owned'$$) AS bi_updates,
       pg_temp.error_of($$DELETE FROM segmentations WHERE name = 'owned'$$) AS bi_deletes,
       pg_temp.error_of($$UPDATE segmentations SET name = 'mine' WHERE name = 'owned'$$) AS bi_renames,
       pg_temp.error_of($$UPDATE segmentations SET generation = 'b' WHERE name = 'owned'$$) AS bi_flips;
RESET ROLE;
SET ROLE regress_cp_nobody;
SELECT pg_temp.error_of($$SELECT * FROM shop.owned_customers$$) AS nobody_reads_customers;
SELECT pg_temp.error_of($$SELECT create_segmentation('stolen', 'tiny_orders', 'who', 'at', 'amt', '{"schema": "public"}')$$)
    AS nobody_segments_orders;
RESET ROLE;
SET ROLE regress_cp_owner;
SELECT refresh_segmentation('owned');
SELECT drop_segmentation('owned');
RESET ROLE;
SELECT count(*) AS left_behind FROM pg_class WHERE relnamespace = 'shop'::regnamespace;
DROP SCHEMA shop;
REVOKE ALL ON tiny_orders FROM regress_cp_owner;
DROP ROLE regress_cp_owner, regress_cp_bi, regress_cp_nobody;

-------------------------------------------------------------------------------
-- Clean up: drop_segmentation leaves nothing behind.
-------------------------------------------------------------------------------
SELECT drop_segmentation(name) FROM segmentations ORDER BY name;
SELECT count(*) AS definitions FROM segmentations;
SELECT count(*) AS relations FROM pg_class
WHERE relname ~ '_(customers|membership|segments|profiles)(_[ab])?(_key)?$';
DROP TABLE tiny_orders, tiny_people, orders, gen_manual, before;
DROP VIEW not_orders;
DROP SEQUENCE a_sequence;
DROP SCHEMA crm, bi, "Bi ""Views""" CASCADE;
DROP TABLE "Order ""Lines""; DROP TABLE tiny_orders; --";
