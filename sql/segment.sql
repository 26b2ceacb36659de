-- Named RFM segments: rfm_segment() with the shipped maps, rescaling of other
-- score scales, and maps of one's own.
SET search_path = public, customer_priority;

-- error_of(query) returns 'SQLSTATE: message' (sql/helpers/error_of.sql).
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- The standard map on R and FM = round half up((F + M) / 2): the whole
-- 5 x 5 grid, as published (rows R, columns FM).
SELECT r AS "R \ FM",
       max(segment) FILTER (WHERE fm = 1) AS "1", max(segment) FILTER (WHERE fm = 2) AS "2",
       max(segment) FILTER (WHERE fm = 3) AS "3", max(segment) FILTER (WHERE fm = 4) AS "4",
       max(segment) FILTER (WHERE fm = 5) AS "5"
FROM (SELECT r, fm, rfm_segment(r, fm, fm) AS segment
      FROM generate_series(1, 5) r, generate_series(1, 5) fm) s
GROUP BY r ORDER BY r DESC;

-- FM rounds half up: F = 4, M = 5 gives FM = 5 (4.5), F = 1, M = 2 gives 2.
SELECT rfm_segment(4, 4, 5) AS r4_fm5, rfm_segment(4, 4, 4) AS r4_fm4,
       rfm_segment(1, 1, 2) AS r1_fm2, rfm_segment(1, 1, 1) AS r1_fm1;

-- Every one of the 125 (R, F, M) cells gets exactly one of the 11 segments.
SELECT count(*) AS cells, count(segment) AS with_segment, count(DISTINCT segment) AS segments
FROM (SELECT rfm_segment(r, f, m) AS segment
      FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m) s;

-- The R package rfm's map: first matching rule wins, unmatched cells are
-- 'Others'.  Its rules shadow each other: count the cells each one takes.
SELECT segment, count(*) AS cells
FROM (SELECT rfm_segment(r, f, m, 5, 'rfm_package') AS segment
      FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m) s
GROUP BY segment ORDER BY cells DESC, segment;
SELECT rfm_segment(5, 5, 5, 5, 'rfm_package') AS champions,
       rfm_segment(4, 4, 4, 5, 'rfm_package') AS potential_loyalist,
       rfm_segment(2, 2, 2, 5, 'rfm_package') AS loyal,
       rfm_segment(1, 1, 1, 5, 'rfm_package') AS lost,
       rfm_segment(3, 1, 5, 5, 'rfm_package') AS promising,
       rfm_segment(5, 1, 1, 5, 'rfm_package') AS new_customers,
       rfm_segment(2, 5, 1, 5, 'rfm_package') AS others;

-- Other score scales are mapped onto the map's 1..5 scale, keeping the ends:
-- round half up(1 + (s - 1) * 4 / (N - 1)).
SELECT bins, array_agg(rfm_rescale_score(s, bins, 5) ORDER BY s) AS onto_1_to_5
FROM generate_series(2, 10) bins, generate_series(1, bins) s
GROUP BY bins ORDER BY bins;
SELECT rfm_segment(10, 10, 10, 10) AS best_of_10, rfm_segment(1, 1, 1, 10) AS worst_of_10,
       rfm_segment(2, 2, 2, 2) AS best_of_2, rfm_segment(1, 2, 1, 2) AS r1_f2_m1_of_2,
       rfm_segment(3, 2, 2, 3) AS r3_fm2_of_3;

-- The composite form takes bins from the scores.
SELECT rfm_segment(ROW(5, 4, 4, 5)::rfm_scores), rfm_segment(ROW(1, 1, 1, 2)::rfm_scores, 'rfm_package');

-- A map of one's own on a 3-point scale: fallback for unmatched cells, and
-- 5-point scores rescaled onto it.
INSERT INTO rfm_segment_maps (map, scale, fallback, description)
VALUES ('three_tier', 3, 'Occasional', 'test map');
INSERT INTO rfm_segment_rules (map, priority, segment, r_min, r_max, f_min, f_max, m_min, m_max) VALUES
    ('three_tier', 1, 'Top', 3, 3, 3, 3, 3, 3),
    ('three_tier', 2, 'Active', 2, 3, 1, 3, 1, 3),
    ('three_tier', 3, 'Never matched', 3, 3, 3, 3, 3, 3);
SELECT rfm_segment(3, 3, 3, 3, 'three_tier') AS top, rfm_segment(2, 1, 1, 3, 'three_tier') AS active,
       rfm_segment(1, 3, 3, 3, 'three_tier') AS fallback, rfm_segment(5, 5, 5, 5, 'three_tier') AS top_from_5,
       rfm_segment(3, 1, 1, 5, 'three_tier') AS active_from_5;
-- A map without a fallback leaves unmatched scores without a segment (NULL).
UPDATE rfm_segment_maps SET fallback = NULL WHERE map = 'three_tier';
SELECT rfm_segment(1, 3, 3, 3, 'three_tier') IS NULL AS no_segment;
DELETE FROM rfm_segment_maps WHERE map = 'three_tier';
SELECT count(*) AS rules_left FROM rfm_segment_rules WHERE map = 'three_tier';

-- Bad input.
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT rfm_segment(6, 1, 1)$$),
    ($$SELECT rfm_segment(0, 1, 1)$$),
    ($$SELECT rfm_segment(1, 3, 1, 2)$$),
    ($$SELECT rfm_segment(1, 1, -1)$$),
    ($$SELECT rfm_segment(1, 1, 1, 1)$$),
    ($$SELECT rfm_segment(1, 1, 1, 11)$$),
    ($$SELECT rfm_segment(1, 1, 1, 5, 'no such map')$$),
    ($$SELECT rfm_rescale_score(3, 2, 5)$$),
    ($$SELECT rfm_rescale_score(1, 5, 1)$$),
    ($$INSERT INTO rfm_segment_rules (map, priority, segment) VALUES ('standard', 100, 'x')$$),
    ($$WITH m AS (INSERT INTO rfm_segment_maps (map, scale) VALUES ('bad', 5))
       INSERT INTO rfm_segment_rules (map, priority, segment, r_min, r_max) VALUES ('bad', 1, 'x', 4, 2)$$),
    ($$INSERT INTO rfm_segment_rules (map, priority, segment) VALUES ('nope', 1, 'x')$$),
    ($$INSERT INTO rfm_segment_maps (map, scale) VALUES ('big', 11)$$)
) v(q);
SELECT rfm_segment(1, 1, NULL) IS NULL AS strict;
