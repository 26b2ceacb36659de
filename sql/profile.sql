-- customer_profile(): the behavioural profile aggregate.  Hand-made rows with
-- known answers, the time zone of weekdays, discount data given or not, row
-- order, errors, and a check against plain SQL on generated order lines.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- Customer 1, order lines: order 1 has two lines on Saturday 2024-01-06
-- (basket 150, one line discounted), order 2 is on a Saturday too, order 3 on
-- Saturday 2024-02-03, a line without order id on Saturday 2024-02-17, a
-- refund of 30 and a line after as_of (not counted).
-- Purchase days 01-06, 01-20, 02-03, 02-17: gaps 14, 14, 14.
CREATE TABLE p_orders (customer_id int, order_id int, ordered_at timestamptz, amount numeric,
                       returned numeric, discount numeric);
INSERT INTO p_orders VALUES
 (1, 1, '2024-01-06 10:00+00', 100, NULL, 0),
 (1, 1, '2024-01-06 11:00+00', 50, NULL, 5),
 (1, 2, '2024-01-20 10:00+00', 150, NULL, NULL),
 (1, 3, '2024-02-03 10:00+00', 150, NULL, 0),
 (1, NULL, '2024-02-17 10:00+00', 150, NULL, 0),
 (1, NULL, '2024-02-20 10:00+00', -30, NULL, 0),
 (1, 4, '2024-03-05 10:00+00', 999, NULL, 0),
-- Customer 2: days 0, 10, 30 after 2024-01-01 (gaps 10 and 20: mean 15,
-- standard deviation 5, gap_cv 1/3); baskets 100, 200, 300 (mean 200,
-- population standard deviation 81.65, basket_cv 0.408); returned_amount 60.
 (2, 10, '2024-01-01 09:00+00', 100, NULL, NULL),
 (2, 11, '2024-01-11 09:00+00', 200, 60, NULL),
 (2, 12, '2024-01-31 09:00+00', 300, NULL, NULL),
-- Customer 3: Sunday 23:30 in Berlin is Monday 07:30 in Tokyo, Sunday in UTC
-- and in New York.
 (3, 20, '2024-02-25 22:30+00', 40, NULL, NULL),
-- Customer 4: refunds only (their purchases predate the data).
 (4, 30, '2024-02-01 09:00+00', -25, NULL, NULL),
-- Customer 5: only rows after as_of: no counted row, NULL profile.
 (5, 40, '2024-06-01 09:00+00', 70, NULL, NULL);

\x on
SELECT customer_id, (customer_profile(ordered_at, amount, '2024-03-01', order_id, returned, discount)).*
FROM p_orders GROUP BY customer_id ORDER BY customer_id;
\x off

-- Without order ids every purchase row is an order: customer 1 has five
-- orders of 100, 50, 150, 150, 150 on four days.
SELECT (p).orders, (p).purchase_days, (p).average_basket, round((p).basket_cv::numeric, 6) AS basket_cv,
       (p).weekend_orders, (p).discount_share
FROM (SELECT customer_profile(ordered_at, amount, '2024-03-01') AS p
      FROM p_orders WHERE customer_id = 1) s;

-- Discount data: the constant NULL means "not mapped" (NULL shares), while
-- NULL discounts on some rows of a mapped column count as no discount.
SELECT (p).discounted_orders, (p).discount_share
FROM (SELECT customer_profile(ordered_at, amount, '2024-03-01', order_id, NULL, NULL) AS p
      FROM p_orders WHERE customer_id = 1) s;
SELECT (p).discounted_orders, (p).discount_share
FROM (SELECT customer_profile(ordered_at, amount, '2024-03-01', order_id, NULL,
                              CASE WHEN discount > 0 THEN discount END) AS p
      FROM p_orders WHERE customer_id = 1) s;

-- Weekdays and days in the time zone given, or in the session's.
SELECT zone, (p).time_zone, (p).weekend_orders, (p).recency_days
FROM (VALUES ('Europe/Berlin'), ('Asia/Tokyo'), ('America/New_York'), (NULL)) z(zone),
     LATERAL (SELECT customer_profile(ordered_at, amount, '2024-03-01', order_id, NULL, NULL, zone) AS p
              FROM p_orders WHERE customer_id = 3) s
ORDER BY zone NULLS LAST;
SET TimeZone = 'Asia/Tokyo';
SELECT (p).time_zone, (p).weekend_orders
FROM (SELECT customer_profile(ordered_at, amount, '2024-03-01') AS p FROM p_orders WHERE customer_id = 3) s;
SET TimeZone = 'UTC';

-- Row order never changes the profile: five shuffles equal the sorted order.
SELECT count(DISTINCT p::text) AS distinct_profiles
FROM (SELECT seed, customer_profile(ordered_at, amount, '2024-03-01', order_id, returned, discount
                                    ORDER BY md5(seed || ':' || ordered_at || amount)) AS p
      FROM p_orders, generate_series(1, 5) seed WHERE customer_id = 1 GROUP BY seed
      UNION ALL
      SELECT 0, customer_profile(ordered_at, amount, '2024-03-01', order_id, returned, discount
                                 ORDER BY ordered_at, amount)
      FROM p_orders WHERE customer_id = 1) s;

-- Errors.
SELECT q, pg_temp.error_of(q) FROM (VALUES
 ($$SELECT customer_profile(ordered_at, amount, NULL) FROM p_orders$$),
 ($$SELECT customer_profile(ordered_at, amount, ordered_at) FROM p_orders$$),
 ($$SELECT customer_profile(ordered_at, amount, 'infinity') FROM p_orders$$),
 ($$SELECT customer_profile(ordered_at, amount, '2024-03-01', order_id, NULL, NULL, 'Mars/Olympus') FROM p_orders$$),
 ($$SELECT customer_profile(ordered_at, amount, '2024-03-01', order_id, NULL, NULL,
                            CASE WHEN amount > 100 THEN 'UTC' ELSE 'Asia/Tokyo' END) FROM p_orders$$),
 ($$SELECT customer_profile(ordered_at, amount, '2024-03-01', order_id, -1) FROM p_orders$$),
 ($$SELECT customer_profile(now(), 'NaN', '2024-03-01')$$),
 ($$SELECT customer_profile('-infinity', 1, '2024-03-01')$$),
 ($$SELECT customer_profile(now(), 9000000000000.01, now())$$),
 ($$SELECT customer_profile(now(), 4611686018427, now(), 1) FROM generate_series(1, 3000)$$),
 ($$SELECT customer_profile(now(), 1, now(), point(1, 1))$$)
) t(q);
-- NULL rows are skipped; a group of them yields NULL.
SELECT customer_profile(NULL, NULL, '2024-03-01') IS NULL AS null_profile,
       (customer_profile(t, a, '2024-03-01')).orders
FROM (VALUES (NULL::timestamptz, 1::numeric), ('2024-01-01', NULL), ('2024-01-01', 5)) v(t, a);

-- Generated order lines: profiles agree with the same quantities computed in
-- plain SQL (orders, purchase days, gaps, baskets, weekend share).
\set customers 400
\set seed 4
\set ECHO none
\set QUIET on
\i test/generate_orders.sql
\set QUIET off
\set ECHO all
CREATE TABLE gen_profiles AS
SELECT customer_id, customer_profile(ordered_at, amount, '2024-01-01', order_id) AS p
FROM orders GROUP BY customer_id;
CREATE TABLE gen_orders AS
SELECT customer_id, order_id, min(ordered_at) AS ordered_at, sum(amount) AS basket
FROM orders WHERE amount > 0 AND ordered_at <= '2024-01-01' GROUP BY customer_id, order_id;
CREATE TABLE gen_days AS
SELECT customer_id, day, day - lag(day) OVER (PARTITION BY customer_id ORDER BY day) AS gap
FROM (SELECT DISTINCT customer_id, (ordered_at AT TIME ZONE 'UTC')::date AS day FROM gen_orders) d;
WITH sql_side AS (
    SELECT o.customer_id, count(*) AS orders,
           avg(o.basket) AS average_basket,
           CASE WHEN count(*) >= 2 THEN stddev_pop(o.basket) / avg(o.basket) END AS basket_cv,
           avg(CASE WHEN extract(isodow FROM o.ordered_at) >= 6 THEN 1 ELSE 0 END) AS weekend_share,
           (SELECT count(*) FROM gen_days d WHERE d.customer_id = o.customer_id) AS purchase_days,
           (SELECT avg(gap) FROM gen_days d WHERE d.customer_id = o.customer_id) AS mean_gap,
           (SELECT CASE WHEN count(gap) >= 2 THEN stddev_pop(gap) / avg(gap) END
            FROM gen_days d WHERE d.customer_id = o.customer_id) AS gap_cv
    FROM gen_orders o GROUP BY o.customer_id
)
SELECT count(*) AS customers_with_orders,
       count(*) FILTER (WHERE (p).orders <> s.orders) AS orders_differ,
       count(*) FILTER (WHERE (p).purchase_days <> s.purchase_days) AS days_differ,
       count(*) FILTER (WHERE (p).average_basket <> s.average_basket) AS basket_differs,
       count(*) FILTER (WHERE abs((p).basket_cv - s.basket_cv) > 1e-9
                           OR ((p).basket_cv IS NULL) <> (s.basket_cv IS NULL)) AS basket_cv_differs,
       count(*) FILTER (WHERE abs((p).weekend_share - s.weekend_share) > 1e-12) AS weekend_differs,
       count(*) FILTER (WHERE abs((p).mean_gap_days - s.mean_gap) > 1e-9
                           OR ((p).mean_gap_days IS NULL) <> (s.mean_gap IS NULL)) AS mean_gap_differs,
       count(*) FILTER (WHERE abs((p).gap_cv - s.gap_cv) > 1e-9
                           OR ((p).gap_cv IS NULL) <> (s.gap_cv IS NULL)) AS gap_cv_differs,
       count(*) FILTER (WHERE (p).gap_cv IS NOT NULL) AS with_gap_cv,
       count(*) FILTER (WHERE (p).basket_cv IS NOT NULL) AS with_basket_cv
FROM gen_profiles JOIN sql_side s USING (customer_id);
-- gross, returned and orders agree with rfm() on the same rows.
SELECT count(*) AS differing
FROM (SELECT customer_id, rfm(ordered_at, amount, '2024-01-01', order_id) AS m
      FROM orders GROUP BY customer_id) r JOIN gen_profiles USING (customer_id)
WHERE (m).gross <> (p).gross OR (m).returned <> (p).returned
   OR (m).frequency <> (p).orders OR (m).recency_days <> (p).recency_days
   OR (m).tenure_days <> (p).tenure_days;

DROP TABLE p_orders, orders, gen_profiles, gen_orders, gen_days;

-- Local days in zones of one fixed offset (computed by division) and in a zone
-- with daylight saving (the calendar): 3,000 timestamps from 1961 to 2040, 30
-- customers, purchase days, weekend orders and recency against SQL's own dates.
CREATE TABLE tz_orders AS
SELECT i % 30 AS customer_id,
       timestamptz '1961-03-01 00:00:00+00' + (i * 9157 % 2437000) * interval '17 minutes' AS ordered_at,
       (1 + i % 97)::numeric(8,2) AS amount
FROM generate_series(1, 3000) AS i;
SELECT z.zone,
       count(*) AS customers,
       count(*) FILTER (WHERE (p).purchase_days <> s.days) AS days_differ,
       count(*) FILTER (WHERE (p).weekend_orders <> s.weekend) AS weekend_differs,
       count(*) FILTER (WHERE (p).recency_days <> s.recency) AS recency_differs
FROM unnest(ARRAY['UTC', 'Etc/GMT+5', 'Asia/Kolkata', 'Europe/Berlin']) AS z(zone)
CROSS JOIN LATERAL (
    SELECT customer_id,
           customer_profile(ordered_at, amount, '2045-01-01', NULL::bigint, NULL, NULL, z.zone) AS p
    FROM tz_orders GROUP BY customer_id) AS c
JOIN LATERAL (
    SELECT count(DISTINCT (ordered_at AT TIME ZONE z.zone)::date) AS days,
           count(*) FILTER (WHERE extract(isodow FROM ordered_at AT TIME ZONE z.zone) IN (6, 7)) AS weekend,
           (timestamptz '2045-01-01' AT TIME ZONE z.zone)::date
             - max((ordered_at AT TIME ZONE z.zone)::date) AS recency
    FROM tz_orders o WHERE o.customer_id = c.customer_id) AS s ON true
GROUP BY z.zone ORDER BY z.zone;
DROP TABLE tz_orders;
