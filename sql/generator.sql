-- The synthetic order generator (test/generate_orders.sql): deterministic, and
-- rfm() on its order lines agrees with plain SQL.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\set QUIET on

\set customers 2000
\set seed 7
\i test/generate_orders.sql
ALTER TABLE orders RENAME TO orders_first;
\i test/generate_orders.sql
\set QUIET off
\set ECHO all

-- Same arguments, same rows.
SELECT (SELECT count(*) FROM orders) AS lines,
       (SELECT count(*) FROM (TABLE orders EXCEPT ALL TABLE orders_first) d) AS only_second,
       (SELECT count(*) FROM (TABLE orders_first EXCEPT ALL TABLE orders) d) AS only_first;

-- Shape: every customer has an order, refunds are there, order lines share ids.
SELECT count(DISTINCT customer_id) AS customers,
       count(*) FILTER (WHERE amount < 0) > 0 AS has_refunds,
       count(DISTINCT order_id) < count(*) AS has_multi_line_orders,
       min(ordered_at) >= '2022-01-01' AND max(ordered_at) < '2025-01-01' AS within_range
FROM orders;

-- rfm() against plain SQL, for every customer.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (m).frequency = s.orders AND (m).monetary = s.net
                          AND (m).last_order = s.last_purchase
                          AND (m).recency_days = date '2025-01-01' - s.last_purchase::date) AS same_as_sql
FROM (SELECT customer_id, rfm(ordered_at, amount, '2025-01-01', order_id) AS m
      FROM orders GROUP BY customer_id) c
JOIN (SELECT customer_id, count(DISTINCT order_id) FILTER (WHERE amount > 0) AS orders,
             sum(amount) AS net, max(ordered_at) FILTER (WHERE amount > 0) AS last_purchase
      FROM orders GROUP BY customer_id) s USING (customer_id);

DROP TABLE orders, orders_first;
