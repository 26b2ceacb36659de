-- segmentation_report(): the HTML page of a segmentation (docs/report.md).  Checked as
-- structure (each chart's SVG with its title, the data tables, nothing that loads) and
-- as an attacker would write data: segment names, an action, attribute names and
-- values holding HTML and script come out as text.  The whole page is not pinned.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

-- A segment map whose names are HTML, an action that is HTML, an attribute column whose
-- name is HTML and whose values are.
INSERT INTO rfm_segment_maps (map, scale, fallback) VALUES ('hostile', 5, '"><img src=x onerror=alert(1)>');
INSERT INTO rfm_segment_rules (map, priority, segment, r_min) VALUES
    ('hostile', 1, '<script>alert(1)</script>', 4),
    ('hostile', 2, 'Tom & Jerry''s', 3);
INSERT INTO segment_actions (dimension, segment, recommended_action)
VALUES ('rfm_segment', '<script>alert(1)</script>', '<img src=x onerror=alert(2)>');
CREATE TABLE rep_orders (order_id int, customer_id int, ordered_at timestamptz, amount numeric,
                         "<svg onload=alert(3)>" text);
INSERT INTO rep_orders
SELECT i, 1 + (i * 7919) % 300, timestamptz '2023-01-01' + ((i * 104729) % 700) * interval '1 day',
       5 + (i * 31) % 200, (ARRAY['<script>alert(4)</script>', '"><img src=x onerror=alert(5)>', 'web'])[1 + i % 3]
FROM generate_series(1, 3000) AS i;
SET client_min_messages = error;   -- the model fits' warnings on these made-up orders
SELECT create_segmentation('rep', 'rep_orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-12-01", "order_id": "order_id", "segment_map": "hostile",
      "order_attributes": ["<svg onload=alert(3)>"], "potential": true, "snapshot": true}');
SELECT count(*) AS snapshots FROM backfill_segmentation('rep');   -- monthly: the transitions
RESET client_min_messages;

CREATE TEMP TABLE page AS SELECT segmentation_report('rep') AS html;
SELECT length(html) AS page_length FROM page \gset

-- The hostile texts are there, escaped; their raw forms are not.
SELECT strpos(html, '&lt;script&gt;alert(1)&lt;/script&gt;') > 0 AS segment_escaped,
       strpos(html, '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;') > 0 AS fallback_escaped,
       strpos(html, 'Tom &amp; Jerry&#39;s') > 0 AS ampersand_and_quote_escaped,
       strpos(html, '&lt;img src=x onerror=alert(2)&gt;') > 0 AS action_escaped,
       strpos(html, '&lt;svg onload=alert(3)&gt;') > 0 AS attribute_name_escaped,
       strpos(html, '&lt;script&gt;alert(4)&lt;/script&gt;') > 0 AS value_escaped,
       strpos(html, '&quot;&gt;&lt;img src=x onerror=alert(5)&gt;') > 0 AS value_2_escaped
FROM page;
SELECT strpos(lower(html), '<script') AS raw_script, strpos(lower(html), '<img') AS raw_img,
       strpos(lower(html), '<svg onload') AS raw_svg_onload, strpos(html, 'Tom & Jerry') AS raw_ampersand,
       strpos(html, 'Jerry''s') AS raw_quote
FROM page;

-- Every element and attribute the page has: only the report's own.
SELECT string_agg(DISTINCT lower(m[1]), ' ' ORDER BY lower(m[1])) AS elements
FROM page, regexp_matches(html, '<([a-zA-Z][a-zA-Z0-9]*)', 'g') AS m;
SELECT string_agg(DISTINCT lower(a[1]), ' ' ORDER BY lower(a[1])) AS attributes
FROM page, regexp_matches(html, '<[a-zA-Z][^>]*>', 'g') AS t,
     regexp_matches(t[1], '\s([a-zA-Z-]+)=', 'g') AS a;
-- Nothing that loads: no URL, no src or href other than the page's own anchors, a
-- Content-Security-Policy that forbids everything but the inline style.
-- (The escaped texts above hold "src=x" as text: the tags and the style are searched.)
SELECT (SELECT bool_or(t[1] ~* '(https?:|ftp:|data:|//|url\(|@import|src=|srcset=|xlink)')
        FROM regexp_matches(html, '<[a-zA-Z][^>]*>|<style>[^<]*</style>', 'g') AS t) AS loads_something,
       (SELECT count(*) FROM regexp_matches(html, 'href="([^"]*)"', 'g') AS h WHERE h[1] !~ '^#section-[a-z-]+$') AS foreign_links,
       strpos(html, '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">') > 0 AS csp
FROM page;

-- Each chart: an <svg role="img"> with its <title> and <desc> first, and its data table
-- in the same <figure>.
SELECT m[1] AS chart, m[2] AS title
FROM page, regexp_matches(html, '<svg role="img" aria-labelledby="([a-z-]+)-title [a-z-]+-desc"[^>]*>\n<title id="[a-z-]+-title">([^<]*)</title>\n<desc id=', 'g') WITH ORDINALITY AS t(m, i)
ORDER BY i;
SELECT (SELECT count(*) FROM regexp_matches(html, '<svg', 'g')) AS svgs,
       (SELECT count(*) FROM regexp_split_to_table(html, '<figure id=') AS f
        WHERE f ~ '^"chart-[a-z-]+">\n<svg role="img"[^\x01]*</svg>\n<figcaption>[^<]+</figcaption>\n<table>\n<caption>') AS figures_with_svg_and_table,
       (SELECT count(*) FROM regexp_matches(html, '<table>\n<caption>[^<]+</caption>\n<thead><tr>(<th scope="col">[^<]*</th>)+</tr></thead>', 'g')) AS tables_with_caption_and_headers,
       (SELECT count(*) FROM regexp_matches(html, 'class="axis-title"', 'g')) AS axis_titles,
       (SELECT count(*) FROM regexp_matches(html, '<section id="section-[a-z-]+">\n<h2>', 'g')) AS sections
FROM page;
-- The numbers behind the charts: the RFM grid's table adds up to the customers.
SELECT (SELECT count(*) FROM rep_customers) AS customers,
       (SELECT sum(m[1]::integer) FROM page,
               regexp_matches(substring(html FROM '<caption>RFM grid: customers and revenue per cell</caption>.*?</table>'),
                              '<tr><th scope="row">\d+</th><td>\d+</td><td>[^<]*</td><td>(\d+)</td>', 'g') AS m) AS in_the_grid_table;
SELECT octet_length(html) < 1000000 AS under_1_mb FROM page;

-- Without potential, history or attributes: those charts are left out or explained.
CREATE TABLE rep_plain AS SELECT order_id, customer_id, ordered_at, amount FROM rep_orders;
SELECT create_segmentation('rep_plain', 'rep_plain', 'customer_id', 'ordered_at', 'amount', '{"as_of": "2024-12-01"}');
SELECT strpos(html, 'chart-p-alive') = 0 AS no_p_alive, strpos(html, 'chart-clv') = 0 AS no_clv,
       strpos(html, 'No transitions: they need two snapshots') > 0 AS transitions_explained,
       strpos(html, 'No profile attributes are mapped') > 0 AS profiles_explained,
       strpos(html, 'chart-cohorts') > 0 AS cohorts, strpos(html, 'chart-rfm-grid') > 0 AS rfm_grid
FROM (SELECT segmentation_report('rep_plain') AS html) p;

-- Names as refresh_segmentation() reads them; errors.
SELECT length(segmentation_report('public.rep')) = :page_length AS qualified_name;
SELECT pg_temp.error_of($$SELECT segmentation_report('nope')$$) AS unknown;
SELECT pg_temp.error_of($$SELECT segmentation_report(NULL)$$) AS null_name;
-- A role without SELECT on the views reads nothing: 42501, not data.
CREATE ROLE regress_cp_report_nobody;
SET ROLE regress_cp_report_nobody;
SELECT pg_temp.error_of($$SELECT customer_priority.segmentation_report('rep')$$) AS without_grant;
RESET ROLE;
GRANT SELECT ON rep_customers, rep_segments TO regress_cp_report_nobody;
SET ROLE regress_cp_report_nobody;
SELECT pg_temp.error_of($$SELECT customer_priority.segmentation_report('rep')$$) AS with_some_grants;
RESET ROLE;
GRANT SELECT ON rep_profiles, rep_transitions, rep_cohorts TO regress_cp_report_nobody;
SET ROLE regress_cp_report_nobody;
SELECT length(customer_priority.segmentation_report('rep')) = :page_length AS with_the_views_granted;
RESET ROLE;

-- Labels.
SELECT p.oid::regprocedure, p.provolatile, p.proparallel, p.prosecdef
FROM pg_proc p WHERE p.proname IN ('segmentation_report', 'report_html') ORDER BY p.proname;

DROP OWNED BY regress_cp_report_nobody;
DROP ROLE regress_cp_report_nobody;
SELECT drop_segmentation('rep');
SELECT drop_segmentation('rep_plain');
DROP TABLE rep_orders, rep_plain, page;
DELETE FROM segment_actions WHERE segment = '<script>alert(1)</script>';
DELETE FROM rfm_segment_rules WHERE map = 'hostile';
DELETE FROM rfm_segment_maps WHERE map = 'hostile';
