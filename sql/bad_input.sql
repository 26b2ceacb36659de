-- Bad input, function by function: NULLs, empty input, NaN and infinities, huge and
-- tiny numerics, timestamps at the ends of the range and before 1970, zero and
-- negative amounts, repeated order ids, bad options.  Each row is either the
-- documented answer or the documented error (SQLSTATE: message); README "Errors"
-- and docs/segmentation.md "Errors" list them.  The happy paths are in the
-- per-concept tests.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET extra_float_digits = 0;
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- The largest finite numeric (131072 digits before the point), as text: two of them
-- overflow any exact sum.
SELECT repeat('9', 131072) AS max_numeric \gset

-------------------------------------------------------------------------------
-- rfm(): per-customer aggregate
-------------------------------------------------------------------------------
SELECT c AS rfm_case, pg_temp.error_of(q) AS result FROM (VALUES
    ('NaN amount', $$SELECT rfm(t, 'NaN', '2024-06-30') FROM (VALUES (timestamptz '2024-01-01')) v(t)$$),
    ('infinity ordered_at', $$SELECT rfm('infinity', 1, '2024-06-30')$$),
    ('-infinity ordered_at', $$SELECT rfm('-infinity', 1, '2024-06-30')$$),
    ('infinity as_of', $$SELECT rfm('2024-01-01', 1, 'infinity')$$),
    ('-infinity as_of', $$SELECT rfm('2024-01-01', 1, '-infinity')$$),
    ('NULL as_of', $$SELECT rfm('2024-01-01', 1, NULL)$$),
    ('as_of changes in a group', $$SELECT rfm('2024-01-01', 1, a) FROM (VALUES (timestamptz '2024-06-30'), ('2024-07-01')) v(a)$$),
    ('negative returned_amount', $$SELECT rfm('2024-01-01', 1, '2024-06-30', 1, -1)$$),
    ('sum overflows numeric', format($$SELECT rfm('2024-01-01', %s, '2024-06-30') FROM generate_series(1, 2)$$, :'max_numeric')),
    ('refunds overflow numeric', format($$SELECT rfm('2024-01-01', -%s, '2024-06-30') FROM generate_series(1, 2)$$, :'max_numeric')),
    ('order id without hash', $$SELECT rfm('2024-01-01', 1, '2024-06-30', point '(1,1)')$$)
) AS t(c, q);

-- Documented answers.
SELECT c AS rfm_case, r AS result FROM (VALUES
    ('no rows', (SELECT coalesce(rfm(t, a, '2024-06-30')::text, 'NULL') FROM (VALUES (timestamptz '2024-01-01', 1::numeric)) v(t, a) WHERE false)),
    ('only NULL rows', (SELECT coalesce(rfm(t, a, '2024-06-30')::text, 'NULL') FROM (VALUES (NULL::timestamptz, 1::numeric), ('2024-01-01', NULL)) v(t, a))),
    ('only rows after as_of', (SELECT coalesce(rfm('2024-07-01', 1, '2024-06-30')::text, 'NULL'))),
    ('zero amounts', (SELECT rfm('2024-01-01', 0, '2024-06-30')::text)),
    ('only a refund', (SELECT rfm('2024-01-01', -5, '2024-06-30')::text)),
    ('refund bigger than purchase', (SELECT rfm(t, a, '2024-06-30')::text FROM (VALUES (timestamptz '2024-01-01', 10::numeric), ('2024-02-01', -25)) v(t, a))),
    ('before 1970, as_of too', (SELECT rfm('1900-03-01 12:00', 7, '1900-03-31')::text)),
    ('at the ends of the range', (SELECT rfm(t, 1, '294276-12-31')::text FROM (VALUES (timestamptz '4713-11-24 00:00:00+00 BC'), ('294276-12-31')) v(t))),
    ('tiny amounts stay exact', (SELECT ((rfm('2024-01-01', a, '2024-06-30')).monetary = 1 + 1e-1000)::text FROM (VALUES (1e-1000), (1)) v(a))),
    ('a huge sum stays exact', (SELECT (rfm('2024-01-01', a, '2024-06-30')).monetary = 2 * 1e1000 + 1 FROM (VALUES (1e1000), (1e1000), (1)) v(a))::text),
    ('repeated order ids', (SELECT (rfm('2024-01-01', 1, '2024-06-30', o)).frequency::text FROM (VALUES (7), (7), (7), (NULL), (NULL)) v(o))),
    ('NULL returned_amount is 0', (SELECT (rfm('2024-01-01', 5, '2024-06-30', 1, NULL)).monetary::text))
) AS t(c, r);

-------------------------------------------------------------------------------
-- rfm_breaks(), rfm_custom_breaks(), rfm_score(), bin_score()
-------------------------------------------------------------------------------
SELECT c AS breaks_case, pg_temp.error_of(q) AS result FROM (VALUES
    ('NULL bins', $$SELECT rfm_breaks('2024-01-01', 1, 1, NULL)$$),
    ('bins 1', $$SELECT rfm_breaks('2024-01-01', 1, 1, 1)$$),
    ('bins 11', $$SELECT rfm_breaks('2024-01-01', 1, 1, 11)$$),
    ('bins change in a group', $$SELECT rfm_breaks('2024-01-01', 1, 1, b) FROM (VALUES (3), (4)) v(b)$$),
    ('infinity last_order', $$SELECT rfm_breaks('infinity', 1, 1, 5)$$),
    ('NaN monetary', $$SELECT rfm_breaks('2024-01-01', 1, 'NaN', 5)$$),
    ('custom: NULL inside', $$SELECT rfm_custom_breaks('2024-06-30', '{1,NULL,3,4}', '{1,2,3,4}', '{1,2,3,4}')$$),
    ('custom: lengths differ', $$SELECT rfm_custom_breaks('2024-06-30', '{1,2,3}', '{1,2,3,4}', '{1,2,3,4}')$$),
    ('custom: unsorted', $$SELECT rfm_custom_breaks('2024-06-30', '{1,2,3,4}', '{1,3,2,4}', '{1,2,3,4}')$$),
    ('custom: repeated', $$SELECT rfm_custom_breaks('2024-06-30', '{1,2,3,4}', '{1,2,2,4}', '{1,2,3,4}')$$),
    ('custom: negative days', $$SELECT rfm_custom_breaks('2024-06-30', '{-1,2,3,4}', '{1,2,3,4}', '{1,2,3,4}')$$),
    ('custom: NaN break', $$SELECT rfm_custom_breaks('2024-06-30', '{1,2,3,4}', '{1,2,3,4}', '{1,2,3,NaN}')$$),
    ('custom: infinity as_of', $$SELECT rfm_custom_breaks('infinity', '{1,2,3,4}', '{1,2,3,4}', '{1,2,3,4}')$$),
    ('custom: 2-D array', $$SELECT rfm_custom_breaks('2024-06-30', '{{1,2},{3,4}}', '{1,2,3,4}', '{1,2,3,4}')$$),
    ('custom: empty arrays', $$SELECT rfm_custom_breaks('2024-06-30', '{}', '{}', '{}')$$),
    ('custom: huge day count', $$SELECT rfm_custom_breaks('2024-06-30', '{1,2,3,2147483647}', '{1,2,3,4}', '{1,2,3,4}')$$),
    ('score: NaN monetary', $$SELECT rfm_score('2024-01-01', 1, 'NaN', rfm_custom_breaks('2024-06-30', '{1,2,3,4}', '{1,2,3,4}', '{1,2,3,4}'))$$),
    ('score: infinity last_order', $$SELECT rfm_score('infinity', 1, 1, rfm_custom_breaks('2024-06-30', '{1,2,3,4}', '{1,2,3,4}', '{1,2,3,4}'))$$),
    ('score: hand-made breaks, bins 0', $$SELECT rfm_score('2024-01-01', 1, 1, ROW(0, 0, '{}', '{}', '{}')::rfm_breaks)$$),
    ('score: hand-made breaks, unsorted', $$SELECT rfm_score('2024-01-01', 1, 1, ROW(3, 2, '{2024-02-01,2024-01-01}', '{1,2}', '{1,2}')::rfm_breaks)$$),
    ('score: hand-made breaks, NULL inside', $$SELECT rfm_score('2024-01-01', 1, 1, ROW(3, 2, '{2024-01-01,NULL}', '{1,2}', '{1,2}')::rfm_breaks)$$),
    ('bin_score: empty breaks', $$SELECT bin_score(5, '{}'::int[])$$),
    ('bin_score: NaN value', $$SELECT bin_score('NaN'::numeric, '{1,2,3}'::numeric[])$$),
    ('bin_score: NaN break', $$SELECT bin_score(1::numeric, '{1,NaN}'::numeric[])$$),
    ('bin_score: NULL break', $$SELECT bin_score(1, '{1,NULL,3}'::int[])$$),
    ('bin_score: unsorted', $$SELECT bin_score(1, '{3,2}'::int[])$$),
    ('bin_score: too many breaks', $$SELECT bin_score(1, '{1,2,3,4,5,6,7,8,9,10}'::int[])$$),
    ('bin_score: float NaN value', $$SELECT bin_score('NaN'::float8, '{1,2}'::float8[])$$),
    ('bin_score: timestamp infinity', $$SELECT bin_score(timestamptz 'infinity', '{2024-01-01,2024-02-01}'::timestamptz[])$$)
) AS t(c, q);

SELECT c AS breaks_case, r AS result FROM (VALUES
    ('no customers', (SELECT rfm_breaks(t, 1, 1, 5)::text FROM (VALUES (timestamptz '2024-01-01')) v(t) WHERE false)),
    ('only NULL metrics', (SELECT rfm_breaks(NULL, NULL, NULL, 5)::text)),
    ('one customer', (SELECT rfm_breaks('1969-12-31 23:59:59', 1, -3, 3)::text)),
    -- the median (3rd of 5 sorted values) is 2e-400
    ('tiny and huge monetary (were 22003)', (SELECT ((b).monetary = '{2e-400}')::text
        FROM (SELECT rfm_breaks('2024-01-01', 1, v, 2) AS b FROM (VALUES (1e-400), (-1e-400), (2e-400), (1e301), (3e300)) x(v)) y)),
    ('bin_score: NULL value (strict)', (SELECT coalesce(bin_score(NULL::int, '{1,2}'::int[])::text, 'NULL')))
) AS t(c, r);

-------------------------------------------------------------------------------
-- rfm_segment(), rfm_rescale_score()
-------------------------------------------------------------------------------
SELECT c AS segment_case, pg_temp.error_of(q) AS result FROM (VALUES
    ('score 0', $$SELECT rfm_segment(0, 1, 1)$$),
    ('score above bins', $$SELECT rfm_segment(6, 1, 1)$$),
    ('bins 11', $$SELECT rfm_segment(1, 1, 1, 11)$$),
    ('unknown map', $$SELECT rfm_segment(1, 1, 1, 5, 'no such map')$$),
    ('empty map name', $$SELECT rfm_segment(1, 1, 1, 5, '')$$),
    ('rescale: score 0', $$SELECT rfm_rescale_score(0, 5, 5)$$),
    ('rescale: bins 1', $$SELECT rfm_rescale_score(1, 1, 5)$$),
    ('rescale: scale 11', $$SELECT rfm_rescale_score(1, 5, 11)$$),
    ('rescale: huge score', $$SELECT rfm_rescale_score(2147483647, 5, 5)$$),
    ('scores type: bins 0', $$SELECT rfm_segment(ROW(1, 1, 1, 0)::rfm_scores)$$)
) AS t(c, q);
-- a NULL score: no segment (the functions are strict)
SELECT coalesce(rfm_segment(ROW(1, NULL, 1, 5)::rfm_scores), 'NULL') AS null_score;

-------------------------------------------------------------------------------
-- abc_cutoffs(), abc_class(), abc_weighted_score(), customer_potential()
-------------------------------------------------------------------------------
SELECT c AS abc_case, pg_temp.error_of(q) AS result FROM (VALUES
    ('NaN value', $$SELECT abc_cutoffs('NaN'::numeric)$$),
    ('NULL a', $$SELECT abc_cutoffs(1, NULL, 0.95)$$),
    ('a = 0', $$SELECT abc_cutoffs(1, 0, 0.95)$$),
    ('a = b', $$SELECT abc_cutoffs(1, 0.9, 0.9)$$),
    ('b > 1', $$SELECT abc_cutoffs(1, 0.8, 1.01)$$),
    ('NaN a', $$SELECT abc_cutoffs(1, 'NaN', 0.95)$$),
    ('unknown method', $$SELECT abc_cutoffs(1, 0.8, 0.95, 'median')$$),
    ('NULL method', $$SELECT abc_cutoffs(1, 0.8, 0.95, NULL)$$),
    ('thresholds change in a group', $$SELECT abc_cutoffs(1, a, 0.95) FROM (VALUES (0.8), (0.7)) v(a)$$),
    ('total overflows numeric', format($$SELECT abc_cutoffs(%s::numeric) FROM generate_series(1, 2)$$, :'max_numeric')),
    ('class: NaN value', $$SELECT abc_class('NaN', (SELECT abc_cutoffs(v) FROM (VALUES (1::numeric)) x(v)))$$),
    ('weighted: NULL weight', $$SELECT abc_weighted_score('{0.5,0.5}', '{1,NULL}')$$),
    ('weighted: negative weight', $$SELECT abc_weighted_score('{0.5,0.5}', '{1,-1}')$$),
    ('weighted: all-zero weights', $$SELECT abc_weighted_score('{0.5,0.5}', '{0,0}')$$),
    ('weighted: rank above 1', $$SELECT abc_weighted_score('{1.5,0.5}', '{1,1}')$$),
    ('weighted: NaN rank', $$SELECT abc_weighted_score('{NaN,0.5}', '{1,1}')$$),
    ('weighted: Infinity weight', $$SELECT abc_weighted_score('{0.5,0.5}', '{Infinity,1}')$$),
    ('weighted: lengths differ', $$SELECT abc_weighted_score('{0.5,0.5}', '{1}')$$),
    ('weighted: empty', $$SELECT abc_weighted_score('{}', '{}')$$),
    ('weighted: 2-D', $$SELECT abc_weighted_score('{{1},{1}}', '{{1},{1}}')$$)
) AS t(c, q);
-- Weights whose sum overflows float8 (each finite): the same score as any weights
-- in the same proportion (it was NaN), and tiny (subnormal) ones.
SELECT abc_weighted_score('{1,0}', '{1e308,1e308}') AS huge_equal,
       abc_weighted_score('{1,0.5,0}', '{1.5e308,1e308,0.5e308}') AS huge_3_2_1,
       abc_weighted_score('{1,0.5,0}', '{3,2,1}') AS same_3_2_1,
       abc_weighted_score('{1,0}', '{1e-320,1e-320}') AS subnormal;

SELECT c AS abc_case, r AS result FROM (VALUES
    ('no customers', (SELECT abc_cutoffs(v)::text FROM (VALUES (1::numeric)) x(v) WHERE false)),
    ('only NULL values', (SELECT abc_cutoffs(NULL::numeric)::text)),
    ('only negative and zero', (SELECT abc_cutoffs(v)::text FROM (VALUES (-5::numeric), (0), (-1e-1000)) x(v))),
    -- total 1.3e301 + 3e-400: 1e301 and 3e300 are A (before them 0 and 77 %), the rest C
    ('tiny and huge values (were 22003)', (SELECT format('total = 1.3e301 + 3e-400: %s, a_min = 3e300: %s, b_min: %s, A: %s, B: %s',
        (c).total = 1.3e301 + 3e-400, (c).a_min = 3e300, coalesce((c).b_min::text, 'NULL'), (c).a_customers, (c).b_customers)
        FROM (SELECT abc_cutoffs(v) AS c FROM (VALUES (1e-400), (-1e-400), (2e-400), (1e301), (3e300)) x(v)) y)),
    ('class of 0 and of a negative', (SELECT abc_class(0, c) || abc_class(-1, c) FROM (SELECT abc_cutoffs(v) AS c FROM (VALUES (1::numeric)) x(v)) y)),
    ('potential: empty metrics', (SELECT coalesce(customer_potential(ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::rfm_metrics)::text, 'NULL'))),
    ('potential: no purchase', (SELECT coalesce(customer_potential(rfm('2024-01-01', -5, '2024-06-30'))::text, 'NULL')))
) AS t(c, r);

-------------------------------------------------------------------------------
-- xyz(), xyz_class()
-------------------------------------------------------------------------------
-- (results cut at 100 characters: numeric_float8 prints the whole number)
SELECT c AS xyz_case, left(pg_temp.error_of(q), 100) AS result FROM (VALUES
    ('NaN amount', $$SELECT xyz('2024-01-01', 'NaN', '2024-06-30')$$),
    ('infinity ordered_at', $$SELECT xyz('infinity', 1, '2024-06-30')$$),
    ('-infinity as_of', $$SELECT xyz('2024-01-01', 1, '-infinity')$$),
    ('NULL as_of', $$SELECT xyz('2024-01-01', 1, NULL)$$),
    ('unknown period', $$SELECT xyz('2024-01-01', 1, '2024-06-30', 'fortnight')$$),
    ('NULL period', $$SELECT xyz('2024-01-01', 1, '2024-06-30', NULL)$$),
    ('unknown time zone', $$SELECT xyz('2024-01-01', 1, '2024-06-30', 'month', 'Mars/Olympus')$$),
    ('time zone changes in a group', $$SELECT xyz('2024-01-01', 1, '2024-06-30', 'month', z) FROM (VALUES ('UTC'), ('Europe/Berlin')) v(z)$$),
    ('sum overflows numeric', format($$SELECT xyz('2024-01-01', %s, '2024-06-30') FROM generate_series(1, 2)$$, :'max_numeric')),
    ('class: x_max = y_max', $$SELECT xyz_class(0.3, 0.5, 0.5)$$),
    ('class: negative x_max', $$SELECT xyz_class(0.3, -0.1, 0.5)$$),
    ('class: NaN x_max', $$SELECT xyz_class(0.3, 'NaN', 0.5)$$),
    ('class: NaN cv', $$SELECT xyz_class('NaN')$$),
    ('class: -Infinity cv', $$SELECT xyz_class('-Infinity')$$),
    ('class: Infinity y_max', $$SELECT xyz_class(0.3, 0.5, 'Infinity')$$),
    ('amounts beyond float8', $$SELECT xyz(t, 1e400, '2024-06-30') FROM (VALUES (timestamptz '2024-01-15'), ('2024-03-15')) v(t)$$),
    ('class: NULL threshold', $$SELECT xyz_class(0.3, NULL, 1)$$)
) AS t(c, q);

SELECT c AS xyz_case, r AS result FROM (VALUES
    ('no rows', (SELECT coalesce(xyz(t, 1, '2024-06-30')::text, 'NULL') FROM (VALUES (timestamptz '2024-01-01')) v(t) WHERE false)),
    ('before 1970', (SELECT xyz(t, 10, '1960-06-30', 'month')::text FROM (VALUES (timestamptz '1960-01-15'), ('1960-03-15')) v(t))),
    ('only refunds', (SELECT xyz(t, -10, '2024-06-30')::text FROM (VALUES (timestamptz '2024-01-15'), ('2024-03-15')) v(t))),
    ('class: NULL cv', xyz_class(NULL)),
    ('class: Infinity cv', xyz_class('Infinity'))
) AS t(c, r);

-------------------------------------------------------------------------------
-- customer_profile(), typology_model(), customer_typology()
-------------------------------------------------------------------------------
SELECT c AS profile_case, pg_temp.error_of(q) AS result FROM (VALUES
    ('NaN amount', $$SELECT customer_profile('2024-01-01', 'NaN', '2024-06-30')$$),
    ('infinity ordered_at', $$SELECT customer_profile('infinity', 1, '2024-06-30')$$),
    ('infinity as_of', $$SELECT customer_profile('2024-01-01', 1, 'infinity')$$),
    ('NULL as_of', $$SELECT customer_profile('2024-01-01', 1, NULL)$$),
    ('order line above the limit', $$SELECT customer_profile('2024-01-01', 9000000000001, '2024-06-30', 1)$$),
    ('NaN returned_amount', $$SELECT customer_profile('2024-01-01', 1, '2024-06-30', 1, 'NaN')$$),
    ('NaN discount', $$SELECT customer_profile('2024-01-01', 1, '2024-06-30', 1, 0, 'NaN')$$),
    ('unknown time zone', $$SELECT customer_profile('2024-01-01', 1, '2024-06-30', 1, 0, 0, 'Nowhere/Else')$$),
    ('an order line of 1e20', $$SELECT customer_profile('2024-01-01', 1e20, '2024-06-30')$$),
    ('model: NaN option', $$SELECT typology_model(p, 0, '{"royal_top_share": "NaN"}') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: share option above 1', $$SELECT typology_model(p, 0, '{"royal_top_share": 1.5}') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: negative count option', $$SELECT typology_model(p, 0, '{"new_max_days": -1}') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: fractional count option', $$SELECT typology_model(p, 0, '{"new_max_days": 1.5}') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: huge count option', $$SELECT typology_model(p, 0, '{"new_max_days": 1e300}') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: unknown option', $$SELECT typology_model(p, 0, '{"no_such_option": 1}') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: options not an object', $$SELECT typology_model(p, 0, '[1]') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: option of the wrong type', $$SELECT typology_model(p, 0, '{"royal_top_share": "high"}') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: NaN service contacts', $$SELECT typology_model(p, 'NaN') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('model: negative service contacts', $$SELECT typology_model(p, -1) FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s$$),
    ('typology: NULL model', $$SELECT customer_typology(customer_profile('2024-01-01', 1, '2024-06-30'), NULL)$$),
    ('typology: negative referrals', $$WITH p AS (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p)
        SELECT customer_typology(p, (SELECT typology_model(p) FROM p), -1) FROM p$$),
    ('typology: NaN service contacts', $$WITH p AS (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p)
        SELECT customer_typology(p, (SELECT typology_model(p) FROM p), 0, 0, 'NaN') FROM p$$)
) AS t(c, q);
SELECT c AS profile_case, r AS result FROM (VALUES
    ('no rows', (SELECT coalesce(customer_profile(t, 1, '2024-06-30')::text, 'NULL') FROM (VALUES (timestamptz '2024-01-01')) v(t) WHERE false)),
    ('model of no customers', (SELECT coalesce(typology_model(p)::text, 'NULL') FROM (SELECT customer_profile('2024-01-01', 1, '2024-06-30') AS p) s WHERE false)),
    ('repeated order ids, before 1970', (SELECT (customer_profile(t, 10, '1960-06-30', o)).orders::text FROM (VALUES (timestamptz '1960-01-15', 1), ('1960-01-15', 1), ('1960-03-15', 2)) v(t, o)))
) AS t(c, r);

-------------------------------------------------------------------------------
-- score_population(), population_scores(), score_customers()
-------------------------------------------------------------------------------
CREATE TABLE bad_orders (customer_id bigint, ordered_at timestamptz, amount numeric, label text);
INSERT INTO bad_orders VALUES (1, '2024-01-01', 10, 'x'), (2, '1950-01-01', 5, 'y');
SELECT c AS population_case, pg_temp.error_of(q) AS result FROM (VALUES
    ('NaN amount', $$SELECT score_population(1, '2024-01-01', 'NaN', '2024-06-30', 5, 0.8, 0.95)$$),
    ('infinity ordered_at', $$SELECT score_population(1, 'infinity', 1, '2024-06-30', 5, 0.8, 0.95)$$),
    ('NULL as_of', $$SELECT score_population(1, '2024-01-01', 1, NULL, 5, 0.8, 0.95)$$),
    ('bins 1', $$SELECT score_population(1, '2024-01-01', 1, '2024-06-30', 1, 0.8, 0.95)$$),
    ('a >= b', $$SELECT score_population(1, '2024-01-01', 1, '2024-06-30', 5, 0.95, 0.8)$$),
    ('sum overflows numeric', format($$SELECT score_population(1, '2024-01-01', %s, '2024-06-30', 5, 0.8, 0.95) FROM generate_series(1, 2)$$, :'max_numeric')),
    ('scores of garbage', $$SELECT * FROM population_scores('\x00')$$),
    ('scores of nothing', $$SELECT * FROM population_scores('')$$),
    ('table: NULL as_of', $$SELECT * FROM score_customers('bad_orders', 'customer_id', 'ordered_at', 'amount', NULL)$$),
    ('table: text customer id', $$SELECT * FROM score_customers('bad_orders', 'label', 'ordered_at', 'amount', '2024-06-30')$$),
    ('table: unknown column', $$SELECT * FROM score_customers('bad_orders', 'nope', 'ordered_at', 'amount', '2024-06-30')$$)
) AS t(c, q);
SELECT customer_id, recency_days, frequency, monetary, r_score, abc_class
FROM score_customers('bad_orders', 'customer_id', 'ordered_at', 'amount', '2024-06-30') ORDER BY 1;
-- population_scores() parses a bytea any role can hand it.  A valid one (7 customers,
-- refunds, zero and negative revenue), each byte set to 0, 255 and flipped in its
-- high and low bit, every truncation, one byte too many: each call returns rows or
-- raises 22P03 (corrupted) or 08P01 (truncated); none crashes the backend.
CREATE TEMP TABLE scored_state AS
SELECT score_population(i % 7, timestamptz '2024-01-01' + i * interval '9 hours', (i % 5 - 1) * 10.5,
                        '2024-06-30', 5, 0.8, 0.95) AS b
FROM generate_series(1, 40) AS i;
SELECT length(b) AS state_bytes, (SELECT count(*) FROM population_scores(b)) AS customers FROM scored_state;
SELECT split_part(r, ':', 1) AS sqlstate, count(*) AS calls FROM (
    SELECT pg_temp.error_of(format('SELECT * FROM population_scores(%L::bytea)', set_byte(b, i, v))) AS r
    FROM scored_state, generate_series(0, length(b) - 1) AS i,
         LATERAL (VALUES (0), (255), (get_byte(b, i) # 128), (get_byte(b, i) # 1)) AS x(v)
    UNION ALL
    SELECT pg_temp.error_of(format('SELECT * FROM population_scores(%L::bytea)', substr(b, 1, k)))
    FROM scored_state, generate_series(0, length(b) - 1) AS k
    UNION ALL
    SELECT pg_temp.error_of(format('SELECT * FROM population_scores(%L::bytea)', b || '\x00'::bytea))
    FROM scored_state
) AS s GROUP BY 1 ORDER BY 1;

-------------------------------------------------------------------------------
-- create_segmentation(): names, options (each row: the options given)
-------------------------------------------------------------------------------
SELECT c AS create_case, pg_temp.error_of(format(
    $$SELECT create_segmentation(%L, 'bad_orders', 'customer_id', 'ordered_at', 'amount', %L)$$, n, o)) AS result
FROM (VALUES
    ('NULL name', NULL, '{}'),
    ('empty name', '', '{}'),
    ('48-byte name', repeat('x', 48), '{}'),
    ('options not an object', 'bad', '[]'),
    ('options a string', 'bad', '"as_of"'),
    ('unknown option', 'bad', '{"bogus": 1}'),
    ('as_of not a timestamp', 'bad', '{"as_of": "soon"}'),
    ('as_of a number', 'bad', '{"as_of": 20240630}'),
    ('as_of infinity', 'bad', '{"as_of": "infinity"}'),
    ('bins a string', 'bad', '{"bins": "5"}'),
    ('bins 11', 'bad', '{"bins": 11}'),
    ('bins 2.5', 'bad', '{"bins": 2.5}'),
    ('abc_a above abc_b', 'bad', '{"abc_a": 0.97}'),
    ('abc_b above 1', 'bad', '{"abc_b": 2}'),
    ('abc_method unknown', 'bad', '{"abc_method": "median"}'),
    ('abc_weights wrong type', 'bad', '{"abc_weights": [1, 2]}'),
    ('monetary unknown', 'bad', '{"monetary": "max"}'),
    ('breaks not ascending', 'bad', '{"frequency_breaks": [1, 3, 2, 4]}'),
    ('breaks wrong length', 'bad', '{"frequency_breaks": [1, 2]}'),
    ('breaks with null', 'bad', '{"frequency_breaks": [1, null, 3, 4]}'),
    ('time zone unknown', 'bad', '{"time_zone": "Mars/Olympus"}'),
    ('xyz_x_max above xyz_y_max', 'bad', '{"xyz_x_max": 2}'),
    ('xyz_x_max equal to xyz_y_max', 'bad', '{"xyz_x_max": 1, "xyz_y_max": 1}'),
    ('xyz_period unknown', 'bad', '{"xyz_period": "day"}'),
    ('typology not an object', 'bad', '{"typology": 1}'),
    ('segment map unknown', 'bad', '{"segment_map": "nope"}'),
    ('schema unknown', 'bad', '{"schema": "no_such_schema"}'),
    ('order_id unknown column', 'bad', '{"order_id": "nope"}'),
    ('order_attributes not an array', 'bad', '{"order_attributes": "label"}'),
    ('order_attributes duplicate', 'bad', '{"order_attributes": ["label", "label"]}'),
    ('customers unknown relation', 'bad', '{"customers": "no_such_table"}'),
    ('customer_key without customers', 'bad', '{"customer_key": "id"}'),
    ('hostile name: SQL', 'x''); DROP TABLE bad_orders; --', '{"as_of": "2024-06-30"}'),
    ('hostile name: quotes and spaces', 'a "b" c', '{"as_of": "2024-06-30"}'),
    ('hostile name: unicode', 'ünïcødé 🛒', '{"as_of": "2024-06-30"}'),
    ('47-byte name', repeat('é', 23) || 'x', '{"as_of": "2024-06-30"}')
) AS t(c, n, o);
-- The hostile names made segmentations, with those names.
SELECT name FROM segmentations ORDER BY name;
SELECT count(*) AS views FROM pg_class WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace
  AND relname LIKE '%\_customers';
SELECT drop_segmentation(name) FROM segmentations ORDER BY name;
SELECT count(*) AS bad_orders_still_there FROM bad_orders;
-- Columns: wrong type, wrong kind of relation, hostile column names.
SELECT c AS create_case, pg_temp.error_of(q) AS result FROM (VALUES
    ('amount not a number', $$SELECT create_segmentation('bad', 'bad_orders', 'customer_id', 'ordered_at', 'label')$$),
    ('ordered_at not a time', $$SELECT create_segmentation('bad', 'bad_orders', 'customer_id', 'amount', 'amount')$$),
    ('unknown column', $$SELECT create_segmentation('bad', 'bad_orders', 'customer_id', 'ordered_at', 'amount"; --')$$),
    ('orders a sequence', $$CREATE SEQUENCE bad_seq; SELECT create_segmentation('bad', 'bad_seq', 'customer_id', 'ordered_at', 'amount')$$),
    ('NaN amount in the orders', $$INSERT INTO bad_orders VALUES (3, '2024-01-01', 'NaN'); SELECT create_segmentation('bad', 'bad_orders', 'customer_id', 'ordered_at', 'amount', '{"as_of": "2024-06-30"}')$$),
    ('refresh: NULL name', $$SELECT refresh_segmentation(NULL)$$),
    ('refresh: unknown', $$SELECT refresh_segmentation('nope')$$),
    ('refresh: NULL mode', $$SELECT refresh_segmentation('nope', NULL)$$),
    ('drop: unknown', $$SELECT drop_segmentation('nope')$$)
) AS t(c, q);
SELECT count(*) AS definitions_left FROM segmentations;
DROP TABLE bad_orders;
