-- Infinite amounts: numeric has 'Infinity' and '-Infinity' from PostgreSQL 14 on, and
-- every aggregate and function that takes money refuses them (22003), as it refuses NaN
-- (each concept's test).  PostgreSQL 13's numeric has no infinity: the input itself is
-- refused (22P02) before any function of the extension sees it
-- (expected/numeric_infinity_1.out).
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

CREATE TABLE inf_orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO inf_orders VALUES (1, '2024-01-01', 10), (2, '2024-02-01', 20);

SELECT c AS infinity_case, left(pg_temp.error_of(q), 100) AS result FROM (VALUES
    ('rfm: Infinity amount', $$SELECT rfm(ordered_at, 'Infinity', '2024-06-01') FROM inf_orders$$),
    ('rfm: -Infinity amount', $$SELECT rfm(ordered_at, '-Infinity', '2024-06-01') FROM inf_orders$$),
    ('rfm_breaks: Infinity monetary', $$SELECT rfm_breaks('2024-01-01', 1, 'Infinity', 5)$$),
    ('rfm_custom_breaks: Infinity break', $$SELECT rfm_custom_breaks('2024-06-30', '{1,2,3,4}', '{1,2,3,4}', '{1,2,3,Infinity}')$$),
    ('abc_cutoffs: Infinity value', $$SELECT abc_cutoffs('Infinity'::numeric)$$),
    ('abc_cutoffs: -Infinity value', $$SELECT abc_cutoffs('-Infinity'::numeric)$$),
    ('xyz: Infinity amount', $$SELECT xyz('2024-01-01', 'Infinity', '2024-06-30')$$),
    ('customer_profile: -Infinity amount', $$SELECT customer_profile('2024-01-01', '-Infinity', '2024-06-30')$$),
    ('score_population: Infinity amount', $$SELECT score_population(customer_id, ordered_at, 'Infinity'::numeric, '2024-06-30', 5, 0.8, 0.95) FROM inf_orders$$)
) AS t(c, q);

DROP TABLE inf_orders;
