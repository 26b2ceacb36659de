-- Population break points rfm_breaks(), custom breaks, and scoring with
-- rfm_score() and bin_score().
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;

-- error_of(query) returns 'SQLSTATE: message' (sql/helpers/error_of.sql).
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- The contract: b_k = percentile_disc(k/N).  Compared with PostgreSQL's own
-- percentile_disc for every population size 1..150 and every N = 2..10, on
-- values full of ties.
CREATE TABLE population AS
SELECT n, i,
       timestamptz '2024-01-01' + ((i * 31) % 53) * interval '1 hour' AS last_order,
       ((i * 7919) % 7)::bigint AS frequency,
       ((i * 104729) % 1013)::numeric / 10 - 20 AS monetary
FROM generate_series(1, 150) n, generate_series(1, n) i;
WITH ours AS (
    SELECT n, bins, rfm_breaks(last_order, frequency, monetary, bins) AS b
    FROM population, generate_series(2, 10) bins GROUP BY n, bins),
theirs AS (
    SELECT n, bins,
           percentile_disc(array(SELECT k::float8 / bins FROM generate_series(1, bins - 1) k))
               WITHIN GROUP (ORDER BY last_order) AS recency,
           percentile_disc(array(SELECT k::float8 / bins FROM generate_series(1, bins - 1) k))
               WITHIN GROUP (ORDER BY frequency) AS frequency,
           percentile_disc(array(SELECT k::float8 / bins FROM generate_series(1, bins - 1) k))
               WITHIN GROUP (ORDER BY monetary) AS monetary
    FROM population, generate_series(2, 10) bins GROUP BY n, bins)
SELECT count(*) AS populations,
       count(*) FILTER (WHERE (b).recency = t.recency AND (b).frequency = t.frequency
                          AND (b).monetary = t.monetary AND (b).customers = n) AS equal_to_percentile_disc
FROM ours JOIN theirs t USING (n, bins);

-- Ties: most customers buy once.  NTILE would split the 7 one-time buyers
-- over several scores; here equal values always share a score, and scores
-- with no customer stay empty.
CREATE TABLE customers (customer_id int, last_order timestamptz, frequency bigint, monetary numeric);
INSERT INTO customers VALUES
    (1, '2024-05-01', 1, 10), (2, '2024-05-01', 1, 10), (3, '2024-04-01', 1, 20),
    (4, '2024-03-01', 1, 20), (5, '2024-02-01', 1, 30), (6, '2024-01-01', 1, 40),
    (7, '2023-12-01', 1, 50), (8, '2024-05-30', 2, 60), (9, '2024-05-31', 5, 1000),
    (10, '2024-05-31', 12, -5);
SELECT rfm_breaks(last_order, frequency, monetary, 5) FROM customers;
SELECT customer_id, (rfm_score(last_order, frequency, monetary, b)).*,
       ntile(5) OVER (ORDER BY frequency) AS ntile_frequency
FROM customers, (SELECT rfm_breaks(last_order, frequency, monetary, 5) AS b FROM customers) p
ORDER BY customer_id;

-- The score rule itself, spelled out: 1 + number of breaks strictly below.
SELECT customer_id,
       (s).frequency_score = 1 + (SELECT count(*) FROM unnest((b).frequency) x WHERE frequency > x) AS f_rule,
       (s).monetary_score = 1 + (SELECT count(*) FROM unnest((b).monetary) x WHERE monetary > x) AS m_rule,
       (s).recency_score = 1 + (SELECT count(*) FROM unnest((b).recency) x WHERE last_order > x) AS r_rule
FROM customers,
     LATERAL (SELECT rfm_breaks(last_order, frequency, monetary, 5) AS b FROM customers) p,
     LATERAL (SELECT rfm_score(last_order, frequency, monetary, b) AS s) s
ORDER BY customer_id;

-- N = 2 and N = 10.
SELECT (rfm_breaks(last_order, frequency, monetary, 2)).* FROM customers;
SELECT (rfm_breaks(last_order, frequency, monetary, 10)).* FROM customers;
SELECT customer_id, (rfm_score(last_order, frequency, monetary, b)).*
FROM customers, (SELECT rfm_breaks(last_order, frequency, monetary, 10) AS b FROM customers) p
ORDER BY customer_id;

-- A single customer, and a population where everyone is equal: every break
-- is that value, so everyone scores 1 (nobody is above anybody).
WITH one AS (SELECT * FROM customers WHERE customer_id = 9)
SELECT (b).*, (rfm_score(last_order, frequency, monetary, b)).*
FROM one, (SELECT rfm_breaks(last_order, frequency, monetary, 5) AS b FROM one) p;
WITH same AS (SELECT timestamptz '2024-01-01' AS last_order, 3::bigint AS frequency, 9.99 AS monetary
              FROM generate_series(1, 100))
SELECT (rfm_score(last_order, frequency, monetary, b)).*, count(*)
FROM same, (SELECT rfm_breaks(last_order, frequency, monetary, 5) AS b FROM same) p
GROUP BY 1, 2, 3, 4;
-- rfm_breaks sorts its state in the final function, so it is not a window
-- aggregate: compute it in a subquery or CTE as above.
SELECT rfm_breaks(last_order, frequency, monetary, 5) OVER () FROM customers;

-- Rows with a NULL metric (customers without a purchase) are not part of the
-- population; an empty population has no breaks (NULL), and scoring against
-- NULL breaks gives NULL.
SELECT (rfm_breaks(last_order, frequency, monetary, 5)).customers
FROM (SELECT * FROM customers UNION ALL SELECT 11, NULL, 0, -7) s;
SELECT rfm_breaks(last_order, frequency, monetary, 5) IS NULL AS no_breaks FROM customers WHERE false;
SELECT rfm_score('2024-01-01', 1, 1, NULL) IS NULL AS no_score;

-- Custom breaks: each break is the inclusive upper bound of its bin.
-- Frequency 1,2,4,8 gives 1 -> 1, 2 -> 2, 3-4 -> 3, 5-8 -> 4, 9+ -> 5.
-- Recency days 30,90,180,365 give <= 30 -> 5, 31-90 -> 4, 91-180 -> 3, 181-365 -> 2, > 365 -> 1.
SELECT rfm_custom_breaks('2024-06-01', '{30,90,180,365}', '{1,2,4,8}', '{100,500,1000,5000}');
WITH c AS (SELECT rfm_custom_breaks('2024-06-01', '{30,90,180,365}', '{1,2,4,8}', '{100,500,1000,5000}') AS b)
SELECT f AS frequency, (rfm_score('2024-06-01', f, 0, b)).frequency_score
FROM c, generate_series(0, 10) f ORDER BY f;
WITH c AS (SELECT rfm_custom_breaks('2024-06-01', '{30,90,180,365}', '{1,2,4,8}', '{100,500,1000,5000}') AS b)
SELECT days, (m).recency_days, (rfm_score((m).last_order, 1, 0, b)).recency_score
FROM c, (SELECT days, rfm(timestamptz '2024-06-01 12:00' - days * interval '1 day', 1, '2024-06-01 12:00') AS m
         FROM unnest('{0,30,31,90,91,180,181,365,366,1000}'::int[]) days GROUP BY days) r
ORDER BY days;
-- Day breaks follow local calendar days across a daylight-saving change.
SET TimeZone = 'Europe/Berlin';
WITH c AS (SELECT rfm_custom_breaks('2024-04-01 08:00', '{1,2}', '{1,2}', '{1,2}') AS b)
SELECT t AS last_order, (rfm(t, 1, '2024-04-01 08:00')).recency_days,
       (rfm_score(t, 1, 0, b)).recency_score
FROM c, unnest('{2024-03-30 00:00, 2024-03-30 23:59:59, 2024-03-31 00:00, 2024-03-31 23:00, 2024-04-01 00:00}'::timestamptz[]) t
GROUP BY t, b ORDER BY t;
SET TimeZone = 'UTC';
-- Mixing: quantile breaks for two metrics, your own for frequency.
WITH q AS (SELECT rfm_breaks(last_order, frequency, monetary, 5) AS b FROM customers),
mixed AS (SELECT ROW((b).bins, (b).customers, (b).recency, '{1,2,4,8}'::bigint[], (b).monetary)::rfm_breaks AS b FROM q)
SELECT customer_id, frequency, (rfm_score(last_order, frequency, monetary, b)).frequency_score
FROM customers, mixed ORDER BY customer_id;

-- bin_score: the same rule for any ordered type.
SELECT customer_priority.bin_score(v, '{1,2,4,8}'::int[]) AS higher_is_better,
       customer_priority.bin_score(v, '{1,2,4,8}'::int[], false) AS lower_is_better
FROM generate_series(0, 9) v;
SELECT customer_priority.bin_score('m'::text, '{c,m,x}'::text[]),
       customer_priority.bin_score(date '2024-05-01', '{2024-01-01,2024-06-01}'::date[]),
       customer_priority.bin_score(2.5, '{1,2,3}'::numeric[]),
       customer_priority.bin_score(2, '{1.5,2.5}'::numeric[]);

-- Bad parameters and bad breaks.
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT rfm_breaks(last_order, frequency, monetary, 1) FROM customers$$),
    ($$SELECT rfm_breaks(last_order, frequency, monetary, 11) FROM customers$$),
    ($$SELECT rfm_breaks(last_order, frequency, monetary, NULL) FROM customers$$),
    ($$SELECT rfm_breaks(last_order, frequency, monetary, customer_id % 2 + 4) FROM customers$$),
    ($$SELECT rfm_breaks(last_order, frequency, 'NaN', 5) FROM customers$$),
    ($$SELECT rfm_breaks('infinity', frequency, monetary, 5) FROM customers$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{90,30}', '{1,2}', '{1,2}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{30,90}', '{2,2}', '{1,2}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{30,90}', '{1,2}', '{2,1}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{30,90}', '{1,2,3}', '{1,2}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{}', '{}', '{}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{1,2,3,4,5,6,7,8,9,10}', '{1,2,3,4,5,6,7,8,9,10}', '{1,2,3,4,5,6,7,8,9,10}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{30,NULL}', '{1,2}', '{1,2}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{-1,2}', '{1,2}', '{1,2}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{1,2}', '{1,2}', '{1,NaN}')$$),
    ($$SELECT rfm_custom_breaks('infinity', '{1,2}', '{1,2}', '{1,2}')$$),
    ($$SELECT rfm_custom_breaks('2024-06-01', '{{1,2},{3,4}}', '{1,2}', '{1,2}')$$),
    ($$SELECT rfm_score('2024-01-01', 1, 1, ROW(5, NULL, '{2024-01-01}', '{1}', '{1}')::rfm_breaks)$$),
    ($$SELECT rfm_score('2024-01-01', 1, 1, ROW(2, NULL, '{2024-01-01}', '{1}', NULL)::rfm_breaks)$$),
    ($$SELECT rfm_score('2024-01-01', 1, 1, ROW(NULL, NULL, '{2024-01-01}', '{1}', '{1}')::rfm_breaks)$$),
    ($$SELECT rfm_score('2024-01-01', 1, 1, ROW(12, NULL, '{2024-01-01}', '{1}', '{1}')::rfm_breaks)$$),
    ($$SELECT rfm_score('2024-01-01', 1, 1, ROW(3, NULL, '{2024-02-01,2024-01-01}', '{1,2}', '{1,2}')::rfm_breaks)$$),
    ($$SELECT rfm_score('2024-01-01', 1, 1, ROW(3, NULL, '{2024-01-01,2024-02-01}', '{3,2}', '{1,2}')::rfm_breaks)$$),
    ($$SELECT rfm_score('2024-01-01', 1, 1, ROW(3, NULL, '{2024-01-01,2024-02-01}', '{1,2}', '{1,NaN}')::rfm_breaks)$$),
    ($$SELECT rfm_score('2024-01-01', 1, 1, ROW(3, NULL, '{2024-01-01,infinity}', '{1,2}', '{1,2}')::rfm_breaks)$$),
    ($$SELECT rfm_score('2024-01-01', 1, 'NaN', ROW(2, NULL, '{2024-01-01}', '{1}', '{1}')::rfm_breaks)$$),
    ($$SELECT rfm_score('infinity', 1, 1, ROW(2, NULL, '{2024-01-01}', '{1}', '{1}')::rfm_breaks)$$),
    ($$SELECT bin_score(1, '{3,2}'::int[])$$),
    ($$SELECT bin_score(1, '{}'::int[])$$),
    ($$SELECT bin_score(1, '{1,NULL}'::int[])$$),
    ($$SELECT bin_score('NaN'::numeric, '{1,2}'::numeric[])$$),
    ($$SELECT bin_score(1::float8, '{1,Infinity}'::float8[])$$),
    ($$SELECT bin_score('infinity'::date, '{2024-01-01}'::date[])$$),
    ($$SELECT bin_score(point(1,1), ARRAY[point(1,1)])$$)
) v(q);
