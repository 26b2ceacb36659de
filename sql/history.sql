-- History of a segmentation: snapshots, backfill, <name>_transitions, <name>_movers,
-- segmentation_transitions() and the recommended actions (segment_actions).
-- Part 1: a hand-made history whose transitions are worked out in the comments.
-- Part 2: snapshots taken by create, refresh and snapshot_segmentation().
-- Part 3: backfill on generated orders, compared with a segmentation at each as_of.
-- Part 4: the documented BI queries, retention, actions, names, errors, drop.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-------------------------------------------------------------------------------
-- Part 1: a hand-made history.  The segmentation "hand" only provides the tables;
-- its history is written by hand: three month-end snapshots of 8 customers.
-------------------------------------------------------------------------------
CREATE TABLE hand_orders (who text, at timestamptz, amt numeric);
INSERT INTO hand_orders VALUES ('a', '2024-01-10', 50);
SELECT create_segmentation('hand', 'hand_orders', 'who', 'at', 'amt',
                           '{"as_of": "2024-04-01 00:00+00", "time_zone": "UTC"}');
-- No snapshot option: no snapshot yet, and the views are empty.
SELECT (SELECT count(*) FROM hand_snapshots) AS snapshots, (SELECT count(*) FROM hand_history) AS rows,
       (SELECT count(*) FROM hand_transitions) AS transitions, (SELECT count(*) FROM hand_movers) AS movers;

INSERT INTO hand_snapshots VALUES
    ('2024-02-01 00:00+00', 'backfill', 6, now()),
    ('2024-03-01 00:00+00', 'backfill', 7, now()),
    ('2024-04-01 00:00+00', 'backfill', 8, now());
INSERT INTO hand_history (as_of, customer_id, lifecycle_stage, abc_class, rfm_segment, primary_type, xyz_class, frequency, revenue) VALUES
    -- S1 = February 1st (the end of January)
    ('2024-02-01 00:00+00', 'a', 'new',        'C', 'New Customers',   'new',        'Z', 1,  50),
    ('2024-02-01 00:00+00', 'b', 'new',        'C', 'New Customers',   'new',        'Z', 1,  40),
    ('2024-02-01 00:00+00', 'c', 'occasional', 'B', 'Promising',       'occasional', 'Z', 1,  80),
    ('2024-02-01 00:00+00', 'd', 'regular',    'A', 'Champions',       'royal',      'X', 5, 800),
    ('2024-02-01 00:00+00', 'e', 'regular',    'A', 'Loyal Customers', 'regular',    'Y', 4, 420),
    ('2024-02-01 00:00+00', 'f', 'regular',    'B', 'Loyal Customers', 'regular',    'Y', 4, 300),
    -- S2 = March 1st
    ('2024-03-01 00:00+00', 'a', 'occasional', 'C', 'Promising',       'occasional', 'Z', 1,  50),
    ('2024-03-01 00:00+00', 'b', 'occasional', 'C', 'Promising',       'occasional', 'Z', 1,  40),
    ('2024-03-01 00:00+00', 'c', 'occasional', 'B', 'Need Attention',  'occasional', 'Z', 2, 120),
    ('2024-03-01 00:00+00', 'd', 'regular',    'A', 'Champions',       'royal',      'X', 6, 900),
    ('2024-03-01 00:00+00', 'e', 'regular',    'A', 'Loyal Customers', 'regular',    'Y', 5, 500),
    ('2024-03-01 00:00+00', 'f', 'at_risk',    'B', 'At Risk',         'at_risk',    'Y', 4, 300),
    ('2024-03-01 00:00+00', 'g', 'new',        'C', 'New Customers',   'new',        'Z', 1,  30),
    -- S3 = April 1st
    ('2024-04-01 00:00+00', 'a', 'regular',    'C', 'Loyal Customers', 'regular',    'Z', 4, 140),
    ('2024-04-01 00:00+00', 'b', 'occasional', 'C', 'About To Sleep',  'occasional', 'Z', 1,  40),
    ('2024-04-01 00:00+00', 'c', 'regular',    'B', 'Loyal Customers', 'promotion_maximizer', 'Y', 4, 200),
    ('2024-04-01 00:00+00', 'd', 'regular',    'A', 'Champions',       'royal',      'X', 7, 1000),
    ('2024-04-01 00:00+00', 'e', 'at_risk',    'B', 'At Risk',         'at_risk',    'Y', 5, 500),
    ('2024-04-01 00:00+00', 'f', 'dormant',    'B', 'Hibernating',     'dormant',    'Y', 4, 300),
    ('2024-04-01 00:00+00', 'g', 'occasional', 'C', 'Promising',       'occasional', 'Z', 1,  30),
    ('2024-04-01 00:00+00', 'h', 'new',        'C', 'New Customers',   'new',        'Z', 1,  60);

-- hand_transitions compares the last two snapshots, S2 -> S3.  Lifecycle, by hand:
--   occasional -> regular:    a (50 -> 140), c (120 -> 200): 2 of the 3 occasional
--                             buyers of S2 (a, b, c): share 0.666667, revenue 170 -> 340;
--   occasional -> occasional: b (40 -> 40): 1 of 3, 0.333333, change 0;
--   regular -> regular:       d (900 -> 1000): 1 of the 2 regulars (d, e): 0.5, change 100;
--   regular -> at_risk:       e (500 -> 500): 0.5, change 0;
--   at_risk -> dormant:       f: 1 of 1;  new -> occasional: g: 1 of 1;
--   (none) -> new:            h, not a customer at S2: from_revenue NULL, change 60.
-- ABC: C -> C a, b, g (all 3 C of S2); B -> B c, f (both B); A -> A d and A -> B e
-- (0.5 each); (none) -> C h.  8 customers in each dimension.
SELECT dimension, from_segment, to_segment, customers, from_share, from_revenue, to_revenue, revenue_change
FROM hand_transitions WHERE dimension IN ('lifecycle_stage', 'abc_class')
ORDER BY dimension, from_segment NULLS FIRST, to_segment;
SELECT dimension, sum(customers) AS customers, min(from_as_of) AS from_as_of, max(to_as_of) AS to_as_of
FROM hand_transitions GROUP BY dimension ORDER BY dimension;

-- hand_movers: one row per customer and changed dimension, 23 in all:
--   lifecycle_stage a, c, e, f, g, h (6); abc_class e (A -> B), h (2);
--   rfm_segment a, b, c, e, f, g, h: only d stays Champions (7);
--   primary_type a, c (occasional -> promotion_maximizer), e, f, g, h (6);
--   xyz_class c (Z -> Y), h (2).
-- frequency_change: purchases between S2 and S3 (a bought 3 times: 1 -> 4).
SELECT customer_id, dimension, from_segment, to_segment, from_revenue, to_revenue, revenue_change,
       frequency_change, recommended_action IS NOT NULL AS has_action
FROM hand_movers ORDER BY dimension, customer_id;
-- The campaigns of the issue: regulars who became at risk get the win-back offer;
-- occasional buyers who became regulars (a and c bought 3 and 2 times) the loyalty
-- programme: the action of the segment they moved to.
SELECT customer_id, from_segment, to_segment, frequency_change, recommended_action
FROM hand_movers
WHERE dimension = 'lifecycle_stage'
  AND (from_segment, to_segment) IN (('regular', 'at_risk'), ('occasional', 'regular'))
ORDER BY customer_id;

-- Any two snapshots: S1 -> S3, lifecycle.  a new -> regular, b new -> occasional,
-- c occasional -> regular (1 of 1), d regular -> regular, e regular -> at_risk,
-- f regular -> dormant (1 of the 3 regulars each), g (none) -> occasional,
-- h (none) -> new.
SELECT from_as_of, to_as_of, from_segment, to_segment, customers, from_share, revenue_change
FROM segmentation_transitions('hand', '2024-02-01 00:00+00', '2024-04-01 00:00+00')
WHERE dimension = 'lifecycle_stage' ORDER BY from_segment NULLS FIRST, to_segment NULLS FIRST;
-- Defaults: to the last snapshot, from the one before it: the view's rows.
SELECT count(*) AS rows,
       (SELECT count(*) FROM (SELECT * FROM segmentation_transitions('hand')
                              EXCEPT ALL SELECT * FROM hand_transitions) d) AS only_function,
       (SELECT count(*) FROM (SELECT * FROM hand_transitions
                              EXCEPT ALL SELECT * FROM segmentation_transitions('hand')) d) AS only_view
FROM hand_transitions;
-- Only to_snapshot: from the snapshot before it.  S1 -> S2: c stays occasional,
-- a and b new -> occasional, d and e stay regular, f regular -> at_risk, g (none) -> new.
SELECT from_as_of, from_segment, to_segment, customers, from_share
FROM segmentation_transitions('hand', to_snapshot => '2024-03-01 00:00+00')
WHERE dimension = 'lifecycle_stage' ORDER BY from_segment NULLS FIRST, to_segment;
-- The first snapshot has no predecessor: no rows.
SELECT count(*) AS rows FROM segmentation_transitions('hand', to_snapshot => '2024-02-01 00:00+00');

-- The monthly conversion chart (docs/history.md): occasional -> regular per month.
-- February: c, the only occasional buyer of S1, stayed occasional: 0 of 1.
-- March: a and c of a, b, c converted: 2 of 3.
SELECT s.as_of AS month_end, t.from_segment, sum(t.customers) AS occasional_before,
       coalesce(sum(t.customers) FILTER (WHERE t.to_segment = 'regular'), 0) AS converted,
       round(coalesce(sum(t.customers) FILTER (WHERE t.to_segment = 'regular'), 0)::numeric
             / sum(t.customers), 4) AS conversion_rate
FROM hand_snapshots s
CROSS JOIN LATERAL segmentation_transitions('hand', to_snapshot => s.as_of) t
WHERE t.dimension = 'lifecycle_stage' AND t.from_segment = 'occasional'
GROUP BY s.as_of, t.from_segment ORDER BY s.as_of;

-- The Sankey-style table of the last move: source, target, value; node names carry
-- the side so that a stayer is no cycle.
SELECT coalesce(from_segment, '(not a customer)') || ' (before)' AS source,
       to_segment || ' (after)' AS target, customers AS value
FROM hand_transitions WHERE dimension = 'lifecycle_stage'
ORDER BY value DESC, source, target;

-------------------------------------------------------------------------------
-- Part 2: snapshots taken by create_segmentation(), refresh_segmentation() and
-- snapshot_segmentation().  ann: 3 orders, bob: 1, cy: 1 (as in sql/segmentation.sql).
-------------------------------------------------------------------------------
CREATE TABLE tiny_orders (order_no int, who text, at timestamptz, amt int);
INSERT INTO tiny_orders VALUES
    (1, 'ann', '2024-05-01 10:00+00', 100),
    (2, 'ann', '2024-06-01 10:00+00',  50),
    (3, 'ann', '2024-06-20 10:00+00', 150),
    (4, 'bob', '2024-01-10 12:00+00',  20),
    (5, 'cy',  '2024-06-20 09:00+00', 500);
SELECT create_segmentation('tiny', 'tiny_orders', 'who', 'at', 'amt',
    '{"as_of": "2024-07-01 00:00+00", "time_zone": "UTC", "order_id": "order_no", "snapshot": true}');
SELECT key, value FROM segmentations, jsonb_each(options)
WHERE name = 'tiny' AND key IN ('snapshot', 'history_retention') ORDER BY key;
-- create took the first snapshot, as of the option as_of: the rows of tiny_customers.
SELECT as_of, source, customers FROM tiny_snapshots;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (h.as_of, h.rfm_segment, h.abc_class, h.xyz_class, h.primary_type,
                               h.lifecycle_stage, h.frequency, h.revenue)
                              IS NOT DISTINCT FROM
                              (c.as_of, c.rfm_segment, c.abc_class, c.xyz_class, c.primary_type,
                               c.lifecycle_stage, c.frequency, c.revenue)) AS same_as_customers
FROM tiny_history h FULL JOIN tiny_customers c USING (customer_id);
-- A refresh replaces the snapshot of the same as_of: still one, now from the refresh.
INSERT INTO tiny_orders VALUES (6, 'bob', '2024-06-28 12:00+00', 30);
SELECT refresh_segmentation('tiny');
SELECT as_of, source, customers FROM tiny_snapshots;
SELECT customer_id, frequency, revenue FROM tiny_history ORDER BY customer_id;
-- An explicit snapshot at an earlier as_of computes it from the orders: on June 1st
-- (00:00) bob has bought once, ann not yet in June, cy not at all.
SELECT snapshot_segmentation('tiny', '2024-06-01 00:00+00') AS customers;
SELECT as_of, customer_id, frequency, revenue FROM tiny_history ORDER BY as_of, customer_id;
-- The movers of June: cy is new (not a customer on June 1st); bob, at risk on June 1st
-- (silent since January), bought again: occasional; ann stays new (first order May 1st).
SELECT customer_id, from_segment, to_segment, revenue_change, frequency_change
FROM tiny_movers WHERE dimension = 'lifecycle_stage' ORDER BY customer_id;
-- A blocking refresh snapshots too; without the option, refreshes take none.
SELECT refresh_segmentation('tiny', false);
SELECT as_of, source FROM tiny_snapshots ORDER BY as_of;
SELECT refresh_segmentation('hand');
SELECT count(*) AS hand_snapshots FROM hand_snapshots;
-- snapshot_segmentation() without as_of copies the live views: the same rows as the
-- refresh put there.
CREATE TEMP TABLE tiny_before AS SELECT * FROM tiny_history;
SELECT snapshot_segmentation('tiny') AS customers;
SELECT as_of, source FROM tiny_snapshots ORDER BY as_of;
SELECT (SELECT count(*) FROM (SELECT * FROM tiny_before EXCEPT ALL SELECT * FROM tiny_history) d) AS only_before,
       (SELECT count(*) FROM (SELECT * FROM tiny_history EXCEPT ALL SELECT * FROM tiny_before) d) AS only_after;

-- Without the option as_of, create and each refresh snapshot as of their own start,
-- the as_of of the rows they computed: two snapshots, the last one the live rows.
SELECT create_segmentation('today', 'tiny_orders', 'who', 'at', 'amt', '{"snapshot": true, "time_zone": "UTC"}');
SELECT refresh_segmentation('today');
SELECT count(*) AS snapshots, string_agg(source, ', ' ORDER BY as_of) AS sources,
       max(as_of) = (SELECT min(c.as_of) FROM today_customers c)
       AND max(as_of) = (SELECT max(c.as_of) FROM today_customers c) AS last_is_live,
       (SELECT count(*) FROM today_history h JOIN today_customers c USING (customer_id, as_of)) AS live_rows
FROM today_snapshots;

-------------------------------------------------------------------------------
-- Part 3: backfill on 400 generated customers (test/generate_orders.sql) in Berlin
-- time, as of 2024-12-01 00:00 Berlin.  The default range is the 12 months before
-- the month of as_of: December 2023 .. November 2024, each snapshot as of the first
-- instant of the next month in Berlin (23:00 UTC in winter, 22:00 in summer).
-------------------------------------------------------------------------------
\set customers 400
\set seed 11
\set ECHO none
\i test/generate_orders.sql
\set ECHO all
SELECT create_segmentation('gen', 'orders', 'customer_id', 'ordered_at', 'amount',
                           '{"as_of": "2024-12-01 00:00", "time_zone": "Europe/Berlin", "order_id": "order_id"}');
SELECT * FROM backfill_segmentation('gen') ORDER BY as_of;
SELECT count(*) AS snapshots, min(source) AS source, sum(customers) AS customers,
       (SELECT count(*) FROM gen_history) AS history_rows
FROM gen_snapshots;

-- The same as a segmentation made with as_of = each month-end, one by one: every row
-- of its <name>_customers (the history's columns) is in the history, and nothing else.
CREATE FUNCTION pg_temp.backfill_differs(seg text, orders text, options jsonb)
RETURNS TABLE (as_of timestamptz, customers bigint, only_history bigint, only_segmentation bigint)
LANGUAGE plpgsql AS $$
DECLARE
    s timestamptz;
    cols constant text := 'as_of, customer_id, rfm_segment, abc_class, xyz_class, primary_type, lifecycle_stage, frequency, revenue';
BEGIN
    FOR s IN EXECUTE format('SELECT as_of FROM %I ORDER BY as_of', seg || '_snapshots') LOOP
        PERFORM create_segmentation('one', orders::regclass, 'customer_id', 'ordered_at', 'amount',
            options || jsonb_build_object('as_of', s));
        as_of := s;
        EXECUTE format($q$SELECT (SELECT count(*) FROM one_customers),
            (SELECT count(*) FROM (SELECT %1$s FROM %2$I WHERE as_of = $1 EXCEPT ALL SELECT %1$s FROM one_customers) d),
            (SELECT count(*) FROM (SELECT %1$s FROM one_customers EXCEPT ALL SELECT %1$s FROM %2$I WHERE as_of = $1) d)$q$,
            cols, seg || '_history')
            INTO customers, only_history, only_segmentation USING s;
        PERFORM drop_segmentation('one');
        RETURN NEXT;
    END LOOP;
END
$$;
SELECT * FROM pg_temp.backfill_differs('gen', 'orders', '{"time_zone": "Europe/Berlin", "order_id": "order_id"}');
-- The last month-end is the segmentation's as_of: the live view has the same rows.
SELECT count(*) AS customers,
       (SELECT count(*) FROM (SELECT c.as_of, c.customer_id, c.rfm_segment, c.abc_class, c.xyz_class,
                                     c.primary_type, c.lifecycle_stage, c.frequency, c.revenue
                              FROM gen_customers c
                              EXCEPT ALL
                              SELECT * FROM gen_history WHERE as_of = '2024-12-01 00:00+01') d) AS only_view
FROM gen_customers;
-- A range: two months, backfilled again (replaced, not added).
SELECT * FROM backfill_segmentation('gen', '2024-03-15', '2024-04-01');
SELECT count(*) AS snapshots, count(*) FILTER (WHERE source = 'backfill') AS backfilled FROM gen_snapshots;

-------------------------------------------------------------------------------
-- Part 4a: what a BI tool runs on the generated history (docs/history.md).
-------------------------------------------------------------------------------
-- Monthly conversion chart: occasional -> regular per month, straight from the history.
SELECT t.as_of AS month_end,
       count(*) AS occasional_before,
       count(*) FILTER (WHERE t.lifecycle_stage = 'regular') AS converted,
       round(count(*) FILTER (WHERE t.lifecycle_stage = 'regular')::numeric / count(*), 4) AS conversion_rate
FROM gen_snapshots s
JOIN gen_history f ON f.as_of = (SELECT max(p.as_of) FROM gen_snapshots p WHERE p.as_of < s.as_of)
                  AND f.lifecycle_stage = 'occasional'
JOIN gen_history t ON t.as_of = s.as_of AND t.customer_id = f.customer_id
GROUP BY t.as_of ORDER BY t.as_of;
-- The same numbers from segmentation_transitions() over each pair of consecutive snapshots.
SELECT count(*) AS months_differ FROM (
    SELECT s.as_of, sum(t.customers) AS occasional_before,
           coalesce(sum(t.customers) FILTER (WHERE t.to_segment = 'regular'), 0) AS converted
    FROM gen_snapshots s
    CROSS JOIN LATERAL segmentation_transitions('gen', to_snapshot => s.as_of) t
    WHERE t.dimension = 'lifecycle_stage' AND t.from_segment = 'occasional'
    GROUP BY s.as_of
    EXCEPT
    SELECT t.as_of, count(*), count(*) FILTER (WHERE t.lifecycle_stage = 'regular')
    FROM gen_snapshots s
    JOIN gen_history f ON f.as_of = (SELECT max(p.as_of) FROM gen_snapshots p WHERE p.as_of < s.as_of)
                      AND f.lifecycle_stage = 'occasional'
    JOIN gen_history t ON t.as_of = s.as_of AND t.customer_id = f.customer_id
    GROUP BY t.as_of) d;
-- The last move (November) as a from -> to table of ABC classes.
SELECT from_segment, to_segment, customers, from_share, revenue_change
FROM gen_transitions WHERE dimension = 'abc_class' ORDER BY from_segment NULLS FIRST, to_segment;
-- Every customer of the last snapshot is in each dimension's matrix once, and the
-- movers are the customers whose segment differs.
SELECT t.dimension, t.customers, t.movers, g.movers_rows,
       (SELECT count(*) FROM gen_history h WHERE h.as_of = '2024-12-01 00:00+01') AS last_customers
FROM (SELECT dimension, sum(customers) AS customers,
             sum(customers) FILTER (WHERE from_segment IS DISTINCT FROM to_segment) AS movers
      FROM gen_transitions GROUP BY dimension) t
FULL JOIN (SELECT dimension, count(*) AS movers_rows FROM gen_movers GROUP BY dimension) g USING (dimension)
ORDER BY t.dimension;

-------------------------------------------------------------------------------
-- Part 4b: retention.  "3 months" keeps the snapshots of the last one (December 1st)
-- back to September 1st: September, October, November, December 1st = 4.
-------------------------------------------------------------------------------
UPDATE segmentations SET options = options || '{"history_retention": "3 months"}' WHERE name = 'gen';
SELECT snapshot_segmentation('gen') AS customers;
SELECT as_of FROM gen_snapshots ORDER BY as_of;
SELECT count(DISTINCT as_of) AS history_snapshots FROM gen_history;
-- A bad value edited into the definition is refused: every definition written is
-- validated (and stored with its effective options).
SELECT pg_temp.error_of($$UPDATE segmentations SET options = options || '{"history_retention": "soon"}' WHERE name = 'gen'$$) AS error;
SELECT options -> 'history_retention' AS history_retention FROM segmentations WHERE name = 'gen';

-------------------------------------------------------------------------------
-- Part 4c: the recommended actions, a configurable table.
-------------------------------------------------------------------------------
SELECT dimension, count(*) AS segments, count(recommended_action) AS with_action
FROM segment_actions GROUP BY dimension ORDER BY dimension;
-- The defaults the domain names.
SELECT dimension, segment, recommended_action FROM segment_actions
WHERE (dimension, segment) IN (('abc_class', 'A'), ('abc_class', 'B'), ('label', 'promotion_maximizer'),
                               ('label', 'service_demander'), ('label', 'spending_limiter'),
                               ('lifecycle_stage', 'occasional'), ('lifecycle_stage', 'dormant'))
ORDER BY dimension, segment;
-- pg_dump keeps every row of it.
SELECT c.relname, x.filter
FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(config, filter)
JOIN pg_class c ON c.oid = x.config
WHERE e.extname = 'customer_priority' ORDER BY c.relname;
-- An INSERT of an existing segment sets its action (what a restore does); a new one
-- is added.  The movers read it at once, _segments at the next refresh.
INSERT INTO segment_actions VALUES ('lifecycle_stage', 'at_risk', 'Call them this week.'),
                                   ('rfm_segment', 'Whales', 'A personal account manager.');
SELECT * FROM segment_actions WHERE (dimension, segment) IN (('lifecycle_stage', 'at_risk'), ('rfm_segment', 'Whales'));
SELECT customer_id, recommended_action FROM hand_movers
WHERE dimension = 'lifecycle_stage' AND to_segment = 'at_risk';
SELECT recommended_action FROM tiny_segments WHERE dimension = 'lifecycle_stage' AND segment = 'new';
UPDATE segment_actions SET recommended_action = 'Welcome them.' WHERE dimension = 'lifecycle_stage' AND segment = 'new';
SELECT refresh_segmentation('tiny');
SELECT recommended_action FROM tiny_segments WHERE dimension = 'lifecycle_stage' AND segment = 'new';
SELECT pg_temp.error_of($$INSERT INTO segment_actions VALUES ('region', 'North', 'x')$$) AS bad_dimension;
-- Back to the shipped texts.
UPDATE segment_actions a SET recommended_action = t.recommended_action
FROM customer_type_actions t
WHERE a.dimension = 'lifecycle_stage' AND a.segment = t.label AND a.segment IN ('at_risk', 'new');
DELETE FROM segment_actions WHERE segment = 'Whales';

-------------------------------------------------------------------------------
-- Part 4d: hostile names, comments, errors, drop.
-------------------------------------------------------------------------------
CREATE SCHEMA "Bi ""Views""";
CREATE TABLE "Order ""Lines""; --" ("Customer ""Id""" text, "Ordered At" timestamptz, "Amount" numeric);
INSERT INTO "Order ""Lines""; --" VALUES
    ('x''); DROP TABLE tiny_orders; --', '2024-05-02', 10),
    ('x''); DROP TABLE tiny_orders; --', '2024-06-11', 20),
    ('y"', '2024-06-12', 30);
SELECT create_segmentation('Sales "2024"; --', '"Order ""Lines""; --"', 'Customer "Id"', 'Ordered At', 'Amount',
    '{"schema": "Bi \"Views\"", "as_of": "2024-07-01 00:00+00", "time_zone": "UTC", "snapshot": true}');
SELECT * FROM backfill_segmentation('Sales "2024"; --', '2024-05-01', '2024-06-01') ORDER BY as_of;
SELECT customer_id, dimension, from_segment, to_segment, revenue_change
FROM "Bi ""Views"""."Sales ""2024""; --_movers" WHERE dimension = 'lifecycle_stage' ORDER BY customer_id;
SELECT dimension, from_segment, to_segment, customers
FROM segmentation_transitions('Sales "2024"; --', '2024-06-01 00:00+00', '2024-07-01 00:00+00')
WHERE dimension = 'abc_class' ORDER BY 2 NULLS FIRST, 3;

-- Every history relation is described, every column of its views too.
SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') IS NOT NULL AS described,
       count(a.attnum) AS columns, count(col_description(c.oid, a.attnum)) AS described_columns
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
WHERE c.relname ~ '^tiny_(snapshots|history|transitions|movers)$'
GROUP BY c.oid, c.relname, c.relkind ORDER BY c.relname;
SELECT pg_get_indexdef(i.indexrelid) AS index
FROM pg_index i WHERE i.indrelid IN ('tiny_history'::regclass, 'tiny_snapshots'::regclass) ORDER BY 1;

CREATE TABLE clash_movers (x int);
SELECT q AS call, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT create_segmentation('clash', 'tiny_orders', 'who', 'at', 'amt')$$),
    ($$SELECT create_segmentation('x', 'tiny_orders', 'who', 'at', 'amt', '{"snapshot": "yes"}')$$),
    ($$SELECT create_segmentation('x', 'tiny_orders', 'who', 'at', 'amt', '{"history_retention": "soon"}')$$),
    ($$SELECT create_segmentation('x', 'tiny_orders', 'who', 'at', 'amt', '{"history_retention": "-1 day"}')$$),
    ($$SELECT create_segmentation('x', 'tiny_orders', 'who', 'at', 'amt', '{"history_retention": 12}')$$),
    ($$SELECT snapshot_segmentation(NULL)$$),
    ($$SELECT snapshot_segmentation('nope')$$),
    ($$SELECT snapshot_segmentation('tiny', 'infinity')$$),
    ($$SELECT * FROM backfill_segmentation('nope')$$),
    ($$SELECT * FROM backfill_segmentation('tiny', '2024-05-01', '2024-04-01')$$),
    ($$SELECT * FROM backfill_segmentation('tiny', '1900-01-01', '2024-04-01')$$),
    ($$SELECT * FROM segmentation_transitions(NULL)$$),
    ($$SELECT * FROM segmentation_transitions('nope')$$),
    ($$SELECT * FROM segmentation_transitions('hand', '2024-01-01 00:00+00')$$),
    ($$SELECT * FROM segmentation_transitions('hand', to_snapshot => '2024-01-01 00:00+00')$$)
) AS v(q);
DROP TABLE clash_movers;

-- A role that does not own the views may not write their history.
CREATE ROLE regress_cp_history_nobody;
SET ROLE regress_cp_history_nobody;
SELECT pg_temp.error_of($$SELECT snapshot_segmentation('tiny')$$) AS snapshot,
       pg_temp.error_of($$SELECT * FROM backfill_segmentation('tiny')$$) AS backfill,
       pg_temp.error_of($$SELECT * FROM segmentation_transitions('tiny')$$) AS transitions,
       pg_temp.error_of($$UPDATE segment_actions SET recommended_action = 'x'$$) AS edit_actions;
RESET ROLE;
DROP ROLE regress_cp_history_nobody;

-- drop_segmentation() drops the history with the views.
SELECT drop_segmentation(name) FROM segmentations ORDER BY name;
SELECT count(*) AS relations FROM pg_class
WHERE relname ~ '_(snapshots|history|transitions|movers)(_key)?$';
DROP TABLE hand_orders, tiny_orders, orders, "Order ""Lines""; --";
DROP SCHEMA "Bi ""Views""";
