-- The per-customer aggregate rfm(): recency, frequency, monetary as of a
-- reference time.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;

CREATE TABLE orders (
    customer_id  int,
    order_id     text,
    ordered_at   timestamptz,
    amount       numeric,
    returned     numeric
);
INSERT INTO orders VALUES
    -- customer 1: two orders of two lines each, one refund line, one order after as_of
    (1, 'A1', '2024-01-10 09:00', 10.10, NULL),
    (1, 'A1', '2024-01-10 09:00',  5.05, NULL),
    (1, 'A2', '2024-03-01 18:30', 20.00, NULL),
    (1, 'A2', '2024-03-01 18:30',  0.01, NULL),
    (1, 'R1', '2024-03-05 12:00', -5.05, NULL),
    (1, 'A9', '2024-07-01 00:00', 99.00, NULL),
    -- customer 2: a refund bigger than the purchases
    (2, 'B1', '2024-02-01', 30.00, NULL),
    (2, 'B2', '2024-02-02', -50.00, NULL),
    -- customer 3: only a refund
    (3, 'C1', '2024-05-01', -7.00, NULL),
    -- customer 4: zero-amount line (a free sample) and one purchase; NULL rows are skipped
    (4, 'D1', '2024-04-01', 0, NULL),
    (4, 'D2', '2024-04-02', 12.34, NULL),
    (4, 'D3', NULL, 100.00, NULL),
    (4, 'D4', '2024-04-03', NULL, NULL),
    -- customer 5: every order after as_of
    (5, 'E1', '2024-06-02', 1.00, NULL),
    -- customer 6: separate returned amounts, and purchase lines without an order id
    (6, 'F1', '2024-05-20', 40.00, 15.00),
    (6, NULL, '2024-05-21', 10.00, NULL),
    (6, NULL, '2024-05-22', 10.00, 10.00);

-- One row per order (no order id): every positive row is a purchase.
SELECT customer_id, (rfm(ordered_at, amount, '2024-06-01')).*
FROM orders GROUP BY customer_id ORDER BY customer_id;

-- Order lines: frequency counts distinct order ids of purchase lines.
SELECT customer_id, (rfm(ordered_at, amount, '2024-06-01', order_id)).*
FROM orders GROUP BY customer_id ORDER BY customer_id;

-- With a separate returned amount.
SELECT customer_id, (rfm(ordered_at, amount, '2024-06-01', order_id, returned)).*
FROM orders GROUP BY customer_id ORDER BY customer_id;

-- as_of is inclusive and reproduces the past: at 2024-03-01 18:30 customer 1
-- has both orders, a microsecond earlier only the first.
SELECT (rfm(ordered_at, amount, '2024-03-01 18:30', order_id)).frequency AS at_order,
       (rfm(ordered_at, amount, timestamptz '2024-03-01 18:30' - interval '1 microsecond', order_id)).frequency AS before_order
FROM orders WHERE customer_id = 1;

-- Input order does not matter.
SELECT a = b AS same_result
FROM (SELECT rfm(ordered_at, amount, '2024-06-01', order_id ORDER BY ordered_at)::text AS a,
             rfm(ordered_at, amount, '2024-06-01', order_id ORDER BY ordered_at DESC, amount)::text AS b
      FROM orders WHERE customer_id = 1) s;

-- Integer order ids are exact keys (0, negative and extreme values included);
-- other types are hashed with the type's own hash function.
SELECT (rfm(t, 1, '2024-01-02', id)).frequency AS int8_orders
FROM (VALUES (0::bigint, timestamptz '2024-01-01'), (-1, '2024-01-01'), (9223372036854775807, '2024-01-01'),
             (-9223372036854775808, '2024-01-01'), (0, '2024-01-01')) v(id, t);
SELECT (rfm(t, 1, '2024-01-02', id)).frequency AS int4_orders,
       (rfm(t, 1, '2024-01-02', id::int2)).frequency AS int2_orders,
       (rfm(t, 1, '2024-01-02', id::text)).frequency AS text_orders,
       (rfm(t, 1, '2024-01-02', md5(id::text)::uuid)).frequency AS uuid_orders
FROM (SELECT i % 1000 AS id, timestamptz '2024-01-01' AS t FROM generate_series(1, 5000) i) s;

-- A customer with thousands of orders.
SELECT (m).frequency, (m).monetary, (m).first_order, (m).last_order, (m).recency_days
FROM (SELECT rfm(timestamptz '2020-01-01' + i * interval '1 hour', i, '2021-01-01', i) AS m
      FROM generate_series(1, 5000) i) s;

-- Money stays exact: many cents and huge amounts are summed without rounding.
SELECT (m).monetary, (m).gross
FROM (SELECT rfm('2024-01-01', 0.01, '2024-01-02') AS m FROM generate_series(1, 100000)) s;
SELECT (rfm('2024-01-01', amount, '2024-01-02')).monetary
FROM (VALUES (123456789012345678901234567890.12), (0.000000000000000000001), (-0.01)) v(amount);

-- Recency counts calendar days in the session time zone; a daylight-saving
-- change does not lose a day, and the hour of the order does not matter.
SET TimeZone = 'Europe/Berlin';
SELECT (rfm('2024-03-30', 1, '2024-04-01')).recency_days AS across_dst,
       (rfm('2024-03-31 23:59', 1, '2024-04-01 00:01')).recency_days AS yesterday,
       (rfm('2024-04-01 00:00', 1, '2024-04-01 00:00')).recency_days AS same_instant;
-- Dates convert to midnight in the session time zone, as in any SQL.
SELECT (rfm(d, 1, date '2024-12-31')).recency_days
FROM (VALUES (date '2024-01-01')) v(d);
SET TimeZone = 'UTC';

-- Timestamps before 1970 are fine.
SELECT (rfm('1950-06-15', 1, '1960-06-15')).recency_days;

-- A group with no counted row gives NULL; so does an empty input.
SELECT rfm(ordered_at, amount, '2024-06-01') IS NULL AS all_after_as_of FROM orders WHERE customer_id = 5;
SELECT rfm(ordered_at, amount, '2024-06-01') IS NULL AS empty FROM orders WHERE false;

-- Bad input: a clear error with its SQLSTATE, never a silently wrong answer.
-- The first cases show the full message with detail and hint.
SELECT rfm(ordered_at, amount, NULL) FROM orders;
SELECT rfm(ordered_at, 'NaN', '2024-06-01') FROM orders;
-- error_of(query) returns 'SQLSTATE: message' (sql/helpers/error_of.sql).
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT rfm(ordered_at, amount, NULL) FROM orders$$),
    ($$SELECT rfm(ordered_at, amount, now() + (customer_id || ' seconds')::interval) FROM orders$$),
    ($$SELECT rfm(ordered_at, 'NaN', '2024-06-01') FROM orders$$),
    ($$SELECT rfm('infinity', 1, '2024-06-01')$$),
    ($$SELECT rfm('-infinity', 1, '2024-06-01')$$),
    ($$SELECT rfm('2024-01-01', 1, 'infinity')$$),
    ($$SELECT rfm('2024-01-01', 1, '2024-06-01', 1, -1)$$),
    ($$SELECT rfm('2024-01-01', 1, '2024-06-01', 1, 'NaN')$$),
    ($$SELECT rfm('2024-01-01', 1, '2024-06-01', point(1, 1))$$),
    ($$SELECT rfm('2024-01-01', amount, '2024-06-01') FROM (VALUES (9.99e131071), (9.99e131071)) v(amount)$$)
) v(q);
