-------------------------------------------------------------------------------
-- The segmentation report: segmentation_report(name) returns one self-contained HTML
-- page (inline SVG and CSS; no script, font, image or URL loaded from anywhere) with
-- the charts a marketer looks at first.  Docs: docs/report.md.
--
-- Shape: the data is aggregated first (a few hundred numbers, whatever the number of
-- customers: one GROUPING SETS scan of <name>_customers, one sorted scan for the
-- Pareto curve, the small views _segments, _profiles, _cohorts, _transitions), into
-- jsonb; the chart helpers below turn jsonb into SVG and tables.  Every text from data
-- (segment names, attribute names and values) goes through report_escape(); numbers
-- and colours are formatted here from numeric values (report_number(),
-- report_colour()), never pasted from text.
-- The report reads the views as the caller, like a SELECT: a caller without SELECT on
-- them gets 42501.
-------------------------------------------------------------------------------

-- HTML text: & < > " ' escaped (safe in element content and in quoted attributes).
CREATE FUNCTION customer_priority.report_escape(t text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT replace(replace(replace(replace(replace(coalesce(t, ''), '&', '&amp;'), '<', '&lt;'),
                                   '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION customer_priority.report_escape(text) IS
    'internal: a text escaped for HTML (& < > " and single quote); NULL gives an empty text';

-- A number for display and for SVG coordinates: rounded to digits, '-' when NULL.
-- From a numeric, so the result only ever holds digits, a sign, a point (or NaN,
-- Infinity).
CREATE FUNCTION customer_priority.report_number(v numeric, digits integer DEFAULT 0)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN v IS NULL THEN '-'
                WHEN v IN ('NaN'::numeric) THEN 'NaN'
                ELSE round(v, digits)::text END
$$;
COMMENT ON FUNCTION customer_priority.report_number(numeric, integer) IS
    'internal: a number rounded for the report (''-'' for NULL)';

-- A label cut to at most n characters (an ellipsis marks the cut), before escaping: the
-- charts' label areas are fixed; the data tables give the whole text.
CREATE FUNCTION customer_priority.report_shorten(t text, n integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN length(t) > n THEN left(t, n - 3) || '...' ELSE t END
$$;
COMMENT ON FUNCTION customer_priority.report_shorten(text, integer) IS
    'internal: a chart label cut to at most n characters';

-- A share as a percentage with one decimal.
CREATE FUNCTION customer_priority.report_percent(v numeric)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN v IS NULL THEN '-' ELSE round(100 * v, 1)::text || '%' END
$$;
COMMENT ON FUNCTION customer_priority.report_percent(numeric) IS
    'internal: a share (0..1) as a percentage with one decimal for the report';

-- The colour of a heat-map cell: white (0) to dark blue (1), computed from the number.
CREATE FUNCTION customer_priority.report_colour(fraction float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('rgb(%s,%s,%s)',
                  round(247 - 239 * f)::integer, round(251 - 203 * f)::integer, round(255 - 148 * f)::integer)
    FROM (SELECT greatest(0, least(1, coalesce(fraction, 0))) AS f) x
$$;
COMMENT ON FUNCTION customer_priority.report_colour(float8) IS
    'internal: heat-map colour (rgb) of a fraction 0..1';

-- The text colour readable on a heat-map cell of that fraction.
CREATE FUNCTION customer_priority.report_ink(fraction float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN coalesce(fraction, 0) > 0.55 THEN '#fff' ELSE '#111' END $$;
COMMENT ON FUNCTION customer_priority.report_ink(float8) IS
    'internal: text colour readable on a heat-map cell';

-- A data table: caption, column headers, rows (a jsonb array of arrays of texts or
-- numbers; numbers are shown as they are, texts escaped).
CREATE FUNCTION customer_priority.report_table(caption text, columns text[], rows jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format(E'<table>\n<caption>%s</caption>\n<thead><tr>%s</tr></thead>\n<tbody>\n%s</tbody>\n</table>\n',
                  customer_priority.report_escape(caption),
                  (SELECT string_agg(format('<th scope="col">%s</th>', customer_priority.report_escape(c)), '' ORDER BY i)
                   FROM unnest(columns) WITH ORDINALITY AS h(c, i)),
                  coalesce((SELECT string_agg(format(E'<tr>%s</tr>\n',
                                   (SELECT string_agg(CASE WHEN j = 1 THEN format('<th scope="row">%s</th>', customer_priority.report_escape(v))
                                                           ELSE format('<td>%s</td>', customer_priority.report_escape(v)) END,
                                                      '' ORDER BY j)
                                    FROM jsonb_array_elements_text(r) WITH ORDINALITY AS c(v, j))), '' ORDER BY i)
                            FROM jsonb_array_elements(coalesce(rows, '[]')) WITH ORDINALITY AS t(r, i)),
                           format(E'<tr><td colspan="%s">no rows</td></tr>\n', cardinality(columns))))
$$;
COMMENT ON FUNCTION customer_priority.report_table(text, text[], jsonb) IS
    'internal: an HTML data table (caption, headers, rows as a jsonb array of arrays), every text escaped';

-- The frame of a chart: <figure> with the SVG (role img, its <title> and <desc>), the
-- axis titles, and the data table after it.  id names the chart (a fixed word of ours).
CREATE FUNCTION customer_priority.report_figure(id text, title text, description text, width integer,
                                                height integer, body text, x_title text, y_title text,
                                                data_table text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format(E'<figure id="%1$s">\n<svg role="img" aria-labelledby="%1$s-title %1$s-desc" viewBox="0 0 %4$s %5$s" width="%4$s" height="%5$s">\n'
                  '<title id="%1$s-title">%2$s</title>\n<desc id="%1$s-desc">%3$s</desc>\n%6$s'
                  '<text class="axis-title" x="%7$s" y="%8$s" text-anchor="middle">%9$s</text>\n'
                  '<text class="axis-title" x="14" y="%10$s" text-anchor="middle" transform="rotate(-90 14 %10$s)">%11$s</text>\n'
                  '</svg>\n<figcaption>%2$s</figcaption>\n%12$s</figure>\n',
                  id, customer_priority.report_escape(title), customer_priority.report_escape(description),
                  width, height, body,
                  width / 2, height - 6, customer_priority.report_escape(x_title),
                  height / 2, customer_priority.report_escape(y_title),
                  data_table)
$$;
COMMENT ON FUNCTION customer_priority.report_figure(text, text, text, integer, integer, text, text, text, text) IS
    'internal: an SVG chart in a figure with title, description, axis titles and its data table';

-- A heat map: cells is a jsonb array of {"x": column index from 1, "y": row index from
-- 1 (top), "value": number deciding the colour, "text": the cell's label lines}; the
-- column and row labels are texts.
CREATE FUNCTION customer_priority.report_heatmap(id text, title text, description text,
                                                 x_title text, y_title text,
                                                 x_labels text[], y_labels text[], cells jsonb,
                                                 data_table text, cell_width integer DEFAULT 110,
                                                 cell_height integer DEFAULT 56)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH c AS (
        SELECT (e ->> 'x')::integer AS x, (e ->> 'y')::integer AS y, (e ->> 'value')::float8 AS v,
               e -> 'text' AS lines
        FROM jsonb_array_elements(coalesce(cells, '[]')) AS e
    ), m AS (
        SELECT nullif(max(v), 0) AS top FROM c
    ), geometry AS (
        SELECT 130 AS left_, 10 AS top_
    )
    SELECT customer_priority.report_figure(id, title, description,
        130 + cell_width * greatest(cardinality(x_labels), 1) + 10,
        greatest(10 + cell_height * greatest(cardinality(y_labels), 1) + 50, 240),
        coalesce((SELECT string_agg(format(E'<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="#fff"/>\n%s',
                                           g.left_ + (c.x - 1) * cell_width, g.top_ + (c.y - 1) * cell_height,
                                           cell_width, cell_height, customer_priority.report_colour(c.v / m.top),
                                           (SELECT string_agg(format(E'<text x="%s" y="%s" text-anchor="middle" fill="%s" class="%s">%s</text>\n',
                                                                     g.left_ + (c.x - 1) * cell_width + cell_width / 2,
                                                                     g.top_ + (c.y - 1) * cell_height + 16 + (l.i - 1) * 14,
                                                                     customer_priority.report_ink(c.v / m.top),
                                                                     CASE WHEN l.i = 1 THEN 'cell-name' ELSE 'cell' END,
                                                                     customer_priority.report_escape(l.t)), '' ORDER BY l.i)
                                            FROM jsonb_array_elements_text(c.lines) WITH ORDINALITY AS l(t, i))),
                                    '' ORDER BY c.y, c.x)
                  FROM c, m, geometry g), '')
        || coalesce((SELECT string_agg(format(E'<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>\n',
                                              130 + (i - 1) * cell_width + cell_width / 2,
                                              10 + cell_height * cardinality(y_labels) + 16,
                                              customer_priority.report_escape(l)), '' ORDER BY i)
                     FROM unnest(x_labels) WITH ORDINALITY AS x(l, i)), '')
        || coalesce((SELECT string_agg(format(E'<text class="tick" x="124" y="%s" text-anchor="end">%s</text>\n',
                                              10 + (i - 1) * cell_height + cell_height / 2 + 4,
                                              customer_priority.report_escape(customer_priority.report_shorten(l, 18))), '' ORDER BY i)
                     FROM unnest(y_labels) WITH ORDINALITY AS y(l, i)), ''),
        x_title, y_title, data_table)
$$;
COMMENT ON FUNCTION customer_priority.report_heatmap(text, text, text, text, text, text[], text[], jsonb, text, integer, integer) IS
    'internal: an SVG heat map (cells coloured by value, labelled) with its data table';

-- Horizontal bars in groups: items is a jsonb array of {"label": text, "values":
-- [numbers, one per series]}; values are shares 0..1 (or any numbers when scale is
-- given: the value of a full bar).
CREATE FUNCTION customer_priority.report_bars(id text, title text, description text,
                                              x_title text, y_title text, series text[], items jsonb,
                                              data_table text, percent boolean DEFAULT true)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH i AS (
        SELECT t.i, t.e ->> 'label' AS label, v.j, (v.v)::numeric AS v
        FROM jsonb_array_elements(coalesce(items, '[]')) WITH ORDINALITY AS t(e, i)
        CROSS JOIN LATERAL jsonb_array_elements_text(t.e -> 'values') WITH ORDINALITY AS v(v, j)
    ), m AS (
        SELECT greatest(max(v), 0) AS top, count(DISTINCT i) AS n FROM i
    ), s AS (
        SELECT cardinality(series) AS k, 22 - 2 * least(cardinality(series), 3) AS bar
    )
    SELECT customer_priority.report_figure(id, title, description, 860,
        (SELECT greatest(30 + m.n::integer * (s.k * s.bar + 10) + 60, 200) FROM m, s),
        -- legend
        coalesce((SELECT string_agg(format(E'<rect x="%s" y="8" width="12" height="12" class="series-%s"/><text x="%s" y="18" class="tick">%s</text>\n',
                                           330 + (j - 1) * 170, j, 348 + (j - 1) * 170, customer_priority.report_escape(n)), '' ORDER BY j)
                  FROM unnest(series) WITH ORDINALITY AS l(n, j)), '')
        || coalesce((SELECT string_agg(format(E'%s<rect x="330" y="%s" width="%s" height="%s" class="series-%s"/><text x="%s" y="%s" class="tick">%s</text>\n',
                                              CASE WHEN i.j = 1
                                                   THEN format(E'<text class="tick" x="322" y="%s" text-anchor="end">%s</text>\n',
                                                               30 + (i.i - 1) * (s.k * s.bar + 10) + s.k * s.bar / 2 + 4,
                                                               customer_priority.report_escape(customer_priority.report_shorten(i.label, 44)))
                                                   ELSE '' END,
                                              30 + (i.i - 1) * (s.k * s.bar + 10) + (i.j - 1) * s.bar,
                                              customer_priority.report_number(CASE WHEN m.top > 0 THEN greatest(i.v, 0) / m.top * 440 ELSE 0 END, 1),
                                              s.bar - 2, i.j,
                                              customer_priority.report_number(336 + CASE WHEN m.top > 0 THEN greatest(i.v, 0) / m.top * 440 ELSE 0 END, 1),
                                              30 + (i.i - 1) * (s.k * s.bar + 10) + (i.j - 1) * s.bar + s.bar - 6,
                                              CASE WHEN percent THEN customer_priority.report_percent(i.v)
                                                   ELSE customer_priority.report_number(i.v) END),
                                       '' ORDER BY i.i, i.j)
                     FROM i, m, s), ''),
        x_title, y_title, data_table)
$$;
COMMENT ON FUNCTION customer_priority.report_bars(text, text, text, text, text, text[], jsonb, text, boolean) IS
    'internal: SVG horizontal bars, one group per item and one bar per series, with its data table';

-- The Pareto (Lorenz) curve: points is a jsonb array of {"x": customer share, "y":
-- revenue share}, cumulative from the best customer; marks of {"label", "x", "y"}.
CREATE FUNCTION customer_priority.report_lorenz(id text, title text, description text, points jsonb,
                                                marks jsonb, data_table text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- plot area: x 70..670, y 20..420 (y up to the highest share reached, at least 1)
    WITH p AS (
        SELECT (e ->> 'x')::numeric AS x, (e ->> 'y')::numeric AS y
        FROM jsonb_array_elements(coalesce(points, '[]')) AS e
    ), r AS (
        SELECT greatest(1, coalesce(max(y), 1)) AS top, least(0, coalesce(min(y), 0)) AS bottom FROM p
    )
    SELECT customer_priority.report_figure(id, title, description, 700, 470,
        (SELECT format(E'<line x1="70" y1="420" x2="670" y2="420" class="axis"/><line x1="70" y1="20" x2="70" y2="420" class="axis"/>\n'
                       '<line x1="70" y1="%s" x2="670" y2="%s" class="diagonal"/>\n'
                       '<polyline class="curve" points="70,%s %s"/>\n',
                       customer_priority.report_number(420 - (0 - r.bottom) / (r.top - r.bottom) * 400, 1),
                       customer_priority.report_number(420 - (1 - r.bottom) / (r.top - r.bottom) * 400, 1),
                       customer_priority.report_number(420 - (0 - r.bottom) / (r.top - r.bottom) * 400, 1),
                       coalesce((SELECT string_agg(format('%s,%s', customer_priority.report_number(70 + p.x * 600, 1),
                                                          customer_priority.report_number(420 - (p.y - r.bottom) / (r.top - r.bottom) * 400, 1)),
                                                   ' ' ORDER BY p.x) FROM p), ''))
         FROM r)
        || (SELECT string_agg(format(E'<text class="tick" x="%s" y="436" text-anchor="middle">%s%%</text>\n<text class="tick" x="64" y="%s" text-anchor="end">%s%%</text>\n',
                                     70 + k * 60, k * 10,
                                     customer_priority.report_number(424 - (k / 10.0 - r.bottom) / (r.top - r.bottom) * 400, 1), k * 10), '' ORDER BY k)
            FROM generate_series(0, 10) AS k, r)
        || coalesce((SELECT string_agg(format(E'<circle cx="%1$s" cy="%2$s" r="5" class="mark"/><line x1="%1$s" y1="%2$s" x2="%1$s" y2="420" class="cut"/>\n<text x="%3$s" y="%4$s" class="mark-label">%5$s</text>\n',
                                              customer_priority.report_number(70 + (e ->> 'x')::numeric * 600, 1),
                                              customer_priority.report_number(420 - ((e ->> 'y')::numeric - r.bottom) / (r.top - r.bottom) * 400, 1),
                                              customer_priority.report_number(78 + (e ->> 'x')::numeric * 600, 1),
                                              customer_priority.report_number(436 - ((e ->> 'y')::numeric - r.bottom) / (r.top - r.bottom) * 400, 1),
                                              customer_priority.report_escape(e ->> 'label')), '' ORDER BY e ->> 'label')
                     FROM jsonb_array_elements(coalesce(marks, '[]')) AS e, r
                     WHERE (e ->> 'x') IS NOT NULL AND (e ->> 'y') IS NOT NULL), ''),
        'customers, best first (cumulative share)', 'revenue (cumulative share)', data_table)
$$;
COMMENT ON FUNCTION customer_priority.report_lorenz(text, text, text, jsonb, jsonb, text) IS
    'internal: the SVG Pareto (Lorenz) curve with its cut points and data table';

-- A section of the report: its heading and content.
CREATE FUNCTION customer_priority.report_section(id text, heading text, content text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format(E'<section id="section-%s">\n<h2>%s</h2>\n%s</section>\n', id,
                  customer_priority.report_escape(heading), content)
$$;
COMMENT ON FUNCTION customer_priority.report_section(text, text, text) IS
    'internal: an HTML section of the report with its heading';

-- The page's style: one inline <style>, for the screen and for print.
CREATE FUNCTION customer_priority.report_style()
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT $css$
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1180px; padding: 24px; color: #111; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 2px solid #08306b; padding-bottom: 4px; }
.summary { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; padding: 0; list-style: none; }
.summary li { background: #eef3fb; border-radius: 6px; padding: 10px 14px; } .summary b { display: block; font-size: 20px; }
nav a { margin-right: 12px; color: #08306b; }
figure { margin: 12px 0 24px; } figcaption { font-weight: 600; margin: 4px 0; }
svg { max-width: 100%; height: auto; font-size: 12px; }
svg .axis-title { font-size: 13px; font-weight: 600; } svg .tick { font-size: 12px; }
svg .cell-name { font-size: 12px; font-weight: 600; } svg .cell { font-size: 11px; }
svg .axis { stroke: #444; } svg .diagonal { stroke: #999; stroke-dasharray: 4 4; } svg .curve { fill: none; stroke: #08519c; stroke-width: 2.5; }
svg .mark { fill: #d94801; } svg .cut { stroke: #d94801; stroke-dasharray: 3 3; } svg .mark-label { font-weight: 600; fill: #a63603; }
svg .series-1 { fill: #2171b5; } svg .series-2 { fill: #fd8d3c; } svg .series-3 { fill: #74c476; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; } caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #ccd; padding: 3px 8px; text-align: right; } th[scope="col"] { background: #eef3fb; } th[scope="row"] { text-align: left; font-weight: normal; }
details summary { cursor: pointer; color: #08306b; } .note { color: #555; }
@media print { body { max-width: none; padding: 0; } nav { display: none; } details { display: block; } h2 { break-before: auto; } figure, table { break-inside: avoid; } }
$css$ $$;
COMMENT ON FUNCTION customer_priority.report_style() IS
    'internal: the report''s inline CSS';

-- The data of the report from <name>_customers, aggregated in one scan: the R x FM
-- grid (and its cells' segments, for the most common one), the ABC x XYZ matrix, the
-- revenue in log buckets (the Pareto curve), with potential the frequency x recency
-- matrix of P(alive) and expected purchases and the CLV histogram.  customers is the
-- view, quoted and qualified.  One plain hash GROUP BY over every bucket at once (a
-- thousand or so groups: the buckets are few and correlated), then GROUPING SETS over
-- those groups: GROUPING SETS over the customers themselves would sort them for all
-- but one set.  No ordered-set aggregate, no numeric logarithm (slow, per customer).
--   - FM: the mean of the F and M scores, rounded half up;
--   - frequency buckets 1, 2, 3, 4, 5, 6-10, 11-20, 21+; recency buckets in days;
--   - CLV buckets: 0 under 1, k for 10^(k-1) to 10^k, 9 from 10^8;
--   - revenue buckets: floor(40 log10(revenue)) for positive revenue (40 per tenfold,
--     so the Pareto curve is exact at revenue steps of 6%), NULL for the rest.
CREATE FUNCTION customer_priority.report_customers_query(customers text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format($q$
WITH g AS (
    SELECT c.r_score, (c.f_score + c.m_score + 1) / 2 AS fm, c.rfm_segment, c.abc_class, c.xyz_class,
           CASE WHEN c.p_alive IS NULL THEN NULL
                WHEN c.frequency <= 5 THEN c.frequency::integer
                WHEN c.frequency <= 10 THEN 6 WHEN c.frequency <= 20 THEN 7 ELSE 8 END AS f_bucket,
           CASE WHEN c.p_alive IS NULL THEN NULL
                WHEN c.recency_days <= 30 THEN 1 WHEN c.recency_days <= 90 THEN 2
                WHEN c.recency_days <= 180 THEN 3 WHEN c.recency_days <= 365 THEN 4 ELSE 5 END AS r_bucket,
           CASE WHEN c.clv IS NULL OR c.clv = 'NaN' THEN NULL WHEN c.clv < 1 THEN 0
                ELSE least(floor(log(c.clv)) + 1, 9)::integer END AS clv_bucket,
           CASE WHEN c.revenue > 0 THEN floor(40 * log(c.revenue::float8))::integer END AS revenue_bucket,
           count(*) AS customers, sum(c.revenue) AS revenue,
           sum(c.p_alive) AS p_alive, count(c.p_alive) AS with_p_alive,
           sum(c.expected_purchases) AS expected, count(c.expected_purchases) AS with_expected
    FROM %s c
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
), sets AS (
    SELECT CASE WHEN grouping(g.r_score, g.fm, g.rfm_segment) = 0 THEN 'rfm_segment'
                WHEN grouping(g.r_score, g.fm) = 0 THEN 'rfm'
                WHEN grouping(g.abc_class, g.xyz_class) = 0 THEN 'abc_xyz'
                WHEN grouping(g.f_bucket, g.r_bucket) = 0 THEN 'alive'
                WHEN grouping(g.clv_bucket) = 0 THEN 'clv'
                WHEN grouping(g.revenue_bucket) = 0 THEN 'revenue'
                ELSE 'total' END AS kind,
           g.r_score, g.fm, g.rfm_segment, g.abc_class, g.xyz_class,
           g.f_bucket, g.r_bucket, g.clv_bucket, g.revenue_bucket,
           sum(g.customers) AS customers, sum(g.revenue) AS revenue,
           round((sum(g.p_alive) / nullif(sum(g.with_p_alive), 0))::numeric, 3) AS p_alive,
           round((sum(g.expected) / nullif(sum(g.with_expected), 0))::numeric, 2) AS expected
    FROM g
    GROUP BY GROUPING SETS ((g.r_score, g.fm), (g.r_score, g.fm, g.rfm_segment), (g.abc_class, g.xyz_class),
                            (g.f_bucket, g.r_bucket), (g.clv_bucket), (g.revenue_bucket), ())
)
SELECT s.kind,
       jsonb_agg(jsonb_build_object('r', s.r_score, 'fm', s.fm, 'segment', s.rfm_segment,
                                    'abc', s.abc_class, 'xyz', s.xyz_class,
                                    'f', s.f_bucket, 'rb', s.r_bucket, 'clv', s.clv_bucket, 'rev', s.revenue_bucket,
                                    'customers', s.customers, 'revenue', s.revenue,
                                    'p_alive', s.p_alive, 'expected', s.expected)) AS data
FROM sets s
GROUP BY s.kind$q$, customers)
$$;
COMMENT ON FUNCTION customer_priority.report_customers_query(text) IS
    'internal: the query aggregating <name>_customers for the report (one scan, grouping sets)';

-- The report of a definition, read as the caller from its views.
CREATE FUNCTION customer_priority.report_html(def customer_priority.segmentations)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    customers constant text := format('%I.%I', def.schema, def.name || '_customers');
    segments constant text := format('%I.%I', def.schema, def.name || '_segments');
    bins constant integer := (def.options ->> 'bins')::integer;
    potential constant boolean := coalesce(def.options -> 'potential', 'null') NOT IN ('null', 'false');
    agg jsonb;                  -- report_customers_query(): kind -> array of groups
    total jsonb;
    rows_ jsonb;
    cells jsonb;
    marks jsonb;
    labels text[];
    labels2 text[];
    body text := '';
    nav text := '';
    s text;
BEGIN
    EXECUTE format('SELECT jsonb_object_agg(q.kind, q.data) FROM (%s) q',
                   customer_priority.report_customers_query(customers)) INTO agg;
    total := coalesce(agg -> 'total' -> 0, '{"customers": 0}');

    -- 1. The RFM grid: R (rows, best on top) x FM (columns)
    SELECT jsonb_agg(jsonb_build_object('x', (e ->> 'fm')::integer, 'y', bins + 1 - (e ->> 'r')::integer,
                                        'value', e -> 'customers',
                                        'text', jsonb_build_array(coalesce(e ->> 'segment', '(no segment)'),
                                                                  (e ->> 'customers') || ' customers',
                                                                  'revenue ' || customer_priority.report_number((e ->> 'revenue')::numeric)))),
           jsonb_agg(jsonb_build_array(e -> 'r', e -> 'fm', coalesce(e ->> 'segment', '(no segment)'), e -> 'customers',
                                       customer_priority.report_number((e ->> 'revenue')::numeric, 2))
                     ORDER BY (e ->> 'r')::integer DESC, (e ->> 'fm')::integer)
    INTO cells, rows_
    FROM jsonb_array_elements(coalesce(agg -> 'rfm', '[]')) AS x
    -- the cell with its most common segment (ties: the first name)
    CROSS JOIN LATERAL (
        SELECT x || jsonb_build_object('segment', (SELECT t ->> 'segment'
                                                   FROM jsonb_array_elements(coalesce(agg -> 'rfm_segment', '[]')) AS t
                                                   WHERE t -> 'r' = x -> 'r' AND t -> 'fm' = x -> 'fm' AND t ->> 'segment' IS NOT NULL
                                                   ORDER BY (t ->> 'customers')::bigint DESC, t ->> 'segment' LIMIT 1)) AS e
    ) c
    WHERE e ->> 'r' IS NOT NULL;
    body := body || customer_priority.report_section('rfm', 'RFM grid',
        customer_priority.report_heatmap('chart-rfm-grid', 'Customers and revenue per R x FM cell',
            format('Customers per recency score (rows, %s = most recent) and FM score (columns, the mean of the frequency and monetary scores rounded up), with the most common segment of the map %s in each cell; darker = more customers.',
                   bins, def.options ->> 'segment_map'),
            'FM score (mean of F and M)', 'R score',
            ARRAY(SELECT i::text FROM generate_series(1, bins) AS i),
            ARRAY(SELECT i::text FROM generate_series(bins, 1, -1) AS i),
            cells,
            customer_priority.report_table('RFM grid: customers and revenue per cell',
                ARRAY['R score', 'FM score', 'most common segment', 'customers', 'revenue'], rows_),
            CASE WHEN bins > 6 THEN 86 ELSE 150 END, 56));
    nav := nav || '<a href="#section-rfm">RFM grid</a>';

    -- 2. Segment sizes against revenue shares
    EXECUTE format($q$SELECT jsonb_agg(jsonb_build_object('label', s.segment, 'values', jsonb_build_array(s.customer_share, s.revenue_share)) ORDER BY s.customers DESC, s.segment),
                             jsonb_agg(jsonb_build_array(s.segment, s.customers, customer_priority.report_percent(s.customer_share), customer_priority.report_number(s.revenue, 2),
                                                         customer_priority.report_percent(s.revenue_share), s.recommended_action) ORDER BY s.customers DESC, s.segment)
                      FROM %s s WHERE s.dimension = 'rfm_segment'$q$, segments) INTO cells, rows_;
    body := body || customer_priority.report_section('segments', 'Segments',
        customer_priority.report_bars('chart-segments', 'Segment sizes against revenue shares',
            'For each RFM segment, its share of the customers and its share of the net revenue.',
            'share of all customers / of net revenue', 'RFM segment',
            ARRAY['customers', 'revenue'], cells,
            customer_priority.report_table('Segments: customers and revenue',
                ARRAY['segment', 'customers', 'share of customers', 'revenue', 'share of revenue', 'recommended action'], rows_)));
    nav := nav || '<a href="#section-segments">Segments</a>';

    -- 3. The ABC Pareto curve, from the revenue buckets, best first: exact at each
    -- bucket's edge (customers with revenue <= 0 last)
    WITH b AS (
        SELECT (e ->> 'rev')::integer AS bucket, (e ->> 'customers')::numeric AS n, (e ->> 'revenue')::numeric AS revenue
        FROM jsonb_array_elements(coalesce(agg -> 'revenue', '[]')) AS e
    ), p AS (
        SELECT b.bucket,
               round(sum(b.n) OVER w / nullif((total ->> 'customers')::numeric, 0), 6) AS x,
               CASE WHEN (total ->> 'revenue')::numeric > 0
                    THEN round(sum(b.revenue) OVER w / (total ->> 'revenue')::numeric, 6) END AS y
        FROM b
        WINDOW w AS (ORDER BY b.bucket DESC NULLS LAST)
    )
    SELECT (SELECT jsonb_agg(jsonb_build_object('x', p.x, 'y', p.y) ORDER BY p.x) FROM p WHERE p.y IS NOT NULL),
           (SELECT jsonb_agg(jsonb_build_array(customer_priority.report_percent(t.x), customer_priority.report_percent(t.y),
                                               CASE WHEN t.bucket IS NULL THEN '0 or less'
                                                    ELSE customer_priority.report_number((10::numeric ^ (t.bucket / 40.0))::numeric, 2) END)
                             ORDER BY t.k)
            FROM (SELECT DISTINCT ON (k) k, p.*
                  FROM p, generate_series(1, 10) AS k WHERE p.x >= k / 10.0 ORDER BY k, p.x) t)
    INTO cells, rows_;
    EXECUTE format($q$SELECT jsonb_agg(jsonb_build_object('label', m.label, 'x', m.x, 'y', m.y))
                      FROM (SELECT s.segment AS label,
                                   sum(s.customer_share) OVER (ORDER BY s.segment) AS x,
                                   sum(s.revenue_share) OVER (ORDER BY s.segment) AS y
                            FROM %s s WHERE s.dimension = 'abc_class') m
                      WHERE m.label IN ('A', 'B')$q$, segments) INTO marks;
    body := body || customer_priority.report_section('abc', 'ABC: Pareto curve',
        customer_priority.report_lorenz('chart-pareto', 'ABC Pareto curve (Lorenz)',
            format('Cumulative share of the net revenue against the cumulative share of customers, best first; the marks are the ends of class A and B (abc_a %s, abc_b %s, method %s). The dashed diagonal is an even spread.',
                   def.options ->> 'abc_a', def.options ->> 'abc_b', def.options ->> 'abc_method'),
            cells, marks,
            customer_priority.report_table('Pareto curve: cumulative shares, at the first point past each tenth of the customers',
                ARRAY['customers (cumulative)', 'revenue (cumulative)', 'revenue per customer at least'], rows_)
            || customer_priority.report_table('ABC cut points',
                ARRAY['class ends at', 'customers (cumulative)', 'revenue (cumulative)'],
                (SELECT jsonb_agg(jsonb_build_array('end of ' || (m ->> 'label'), customer_priority.report_percent((m ->> 'x')::numeric),
                                                    customer_priority.report_percent((m ->> 'y')::numeric)) ORDER BY m ->> 'label')
                 FROM jsonb_array_elements(coalesce(marks, '[]')) AS m))));
    nav := nav || '<a href="#section-abc">Pareto</a>';

    -- 4. ABC x XYZ
    SELECT jsonb_agg(jsonb_build_object('x', strpos('XYZ', e ->> 'xyz'), 'y', strpos('ABC', e ->> 'abc'),
                                        'value', e -> 'customers',
                                        'text', jsonb_build_array((e ->> 'abc') || (e ->> 'xyz'),
                                                                  (e ->> 'customers') || ' customers',
                                                                  'revenue ' || customer_priority.report_number((e ->> 'revenue')::numeric)))),
           jsonb_agg(jsonb_build_array(e -> 'abc', e -> 'xyz', e -> 'customers', customer_priority.report_number((e ->> 'revenue')::numeric, 2))
                     ORDER BY e ->> 'abc', e ->> 'xyz')
    INTO cells, rows_
    FROM jsonb_array_elements(coalesce(agg -> 'abc_xyz', '[]')) AS e
    WHERE e ->> 'abc' IN ('A', 'B', 'C') AND e ->> 'xyz' IN ('X', 'Y', 'Z');
    body := body || customer_priority.report_section('abc-xyz', 'ABC x XYZ',
        customer_priority.report_heatmap('chart-abc-xyz', 'ABC x XYZ matrix',
            format('Customers per ABC class (rows: value) and XYZ class (columns: X regular, Y fluctuating, Z sporadic revenue per %s); darker = more customers.',
                   def.options ->> 'xyz_period'),
            'XYZ class', 'ABC class', '{X,Y,Z}', '{A,B,C}', cells,
            customer_priority.report_table('ABC x XYZ: customers and revenue',
                ARRAY['ABC class', 'XYZ class', 'customers', 'revenue'], rows_),
            180, 56));
    nav := nav || '<a href="#section-abc-xyz">ABC x XYZ</a>';

    -- 5. Lifecycle stages and primary types
    s := '';
    FOR labels IN SELECT ARRAY[d, t] FROM (VALUES ('lifecycle_stage', 'Lifecycle stages'), ('primary_type', 'Primary types')) AS v(d, t) LOOP
        EXECUTE format($q$SELECT jsonb_agg(jsonb_build_object('label', s.segment, 'values', jsonb_build_array(s.customer_share, s.revenue_share))
                                           ORDER BY array_position('{new,regular,occasional,at_risk,dormant}'::text[], s.segment), s.customers DESC, s.segment),
                                 jsonb_agg(jsonb_build_array(s.segment, s.customers, customer_priority.report_percent(s.customer_share), customer_priority.report_number(s.revenue, 2),
                                                             customer_priority.report_percent(s.revenue_share), s.recommended_action)
                                           ORDER BY array_position('{new,regular,occasional,at_risk,dormant}'::text[], s.segment), s.customers DESC, s.segment)
                          FROM %s s WHERE s.dimension = %L$q$, segments, labels[1]) INTO cells, rows_;
        s := s || customer_priority.report_bars('chart-' || replace(labels[1], '_', '-'), labels[2] || ': customers and revenue',
            format('For each %s, its share of the customers and of the net revenue.', replace(labels[1], '_', ' ')),
            'share of all customers / of net revenue', replace(labels[1], '_', ' '),
            ARRAY['customers', 'revenue'], cells,
            customer_priority.report_table(labels[2],
                ARRAY[replace(labels[1], '_', ' '), 'customers', 'share of customers', 'revenue', 'share of revenue', 'recommended action'], rows_));
    END LOOP;
    body := body || customer_priority.report_section('typology', 'Lifecycle and types', s);
    nav := nav || '<a href="#section-typology">Lifecycle</a>';

    -- 6. The top profile attributes of the five largest RFM segments
    EXECUTE format($q$
SELECT jsonb_agg(jsonb_build_object('label', p.segment || ': ' || p.attribute || ' = ' || coalesce(p.value, '(unknown)'),
                                    'values', jsonb_build_array(p.share)) ORDER BY p.rank_, p.n),
       jsonb_agg(jsonb_build_array(p.segment, p.attribute, coalesce(p.value, '(unknown)'), p.customers,
                                   customer_priority.report_percent(p.share)) ORDER BY p.rank_, p.n)
FROM (SELECT f.*, t.rank_, row_number() OVER (PARTITION BY f.segment ORDER BY f.customers DESC, f.attribute, f.value) AS n
      FROM %s f
      JOIN (SELECT s.segment, row_number() OVER (ORDER BY s.customers DESC, s.segment) AS rank_
            FROM %s s WHERE s.dimension = 'rfm_segment') t ON t.segment = f.segment
      WHERE f.dimension = 'rfm_segment' AND t.rank_ <= 5) p
WHERE p.n <= 3$q$, format('%I.%I', def.schema, def.name || '_profiles'), segments) INTO cells, rows_;
    body := body || customer_priority.report_section('profiles', 'Profiles of the largest segments',
        CASE WHEN cells IS NULL
             THEN '<p class="note">No profile attributes are mapped (options order_attributes, channel, customer_attributes).</p>'
             ELSE customer_priority.report_bars('chart-profiles', 'Top profile attributes of the five largest segments',
                      'For each of the five largest RFM segments, its three most common attribute values and their share of the segment.',
                      'share of the segment''s customers', 'segment: attribute = value',
                      ARRAY['share of the segment'], cells,
                      customer_priority.report_table('Top attribute values per segment',
                          ARRAY['segment', 'attribute', 'value', 'customers', 'share of the segment'], rows_)) END);
    nav := nav || '<a href="#section-profiles">Profiles</a>';

    -- 7. History: lifecycle transitions between the last two snapshots
    EXECUTE format($q$
SELECT array_agg(DISTINCT coalesce(t.from_segment, '(not a customer)')),
       array_agg(DISTINCT coalesce(t.to_segment, '(not a customer)'))
FROM %s t WHERE t.dimension = 'lifecycle_stage'$q$, format('%I.%I', def.schema, def.name || '_transitions'))
    INTO labels, labels2;
    EXECUTE format($q$
SELECT jsonb_agg(jsonb_build_object('x', array_position(%2$L::text[], coalesce(t.to_segment, '(not a customer)')),
                                    'y', array_position(%1$L::text[], coalesce(t.from_segment, '(not a customer)')),
                                    'value', t.customers,
                                    'text', jsonb_build_array(t.customers::text, customer_priority.report_percent(t.from_share)))),
       jsonb_agg(jsonb_build_array(coalesce(t.from_segment, '(not a customer)'), coalesce(t.to_segment, '(not a customer)'), t.customers,
                                   customer_priority.report_percent(t.from_share), customer_priority.report_number(t.revenue_change, 2),
                                   to_char(t.from_as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                                   to_char(t.to_as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'))
                 ORDER BY t.from_segment NULLS FIRST, t.to_segment NULLS FIRST)
FROM %3$s t WHERE t.dimension = 'lifecycle_stage'$q$, labels, labels2,
                   format('%I.%I', def.schema, def.name || '_transitions')) INTO cells, rows_;
    s := CASE WHEN cells IS NULL
              THEN '<p class="note">No transitions: they need two snapshots (option snapshot, or snapshot_segmentation() and backfill_segmentation(); docs/history.md).</p>'
              ELSE customer_priority.report_heatmap('chart-transitions', 'Lifecycle transitions between the last two snapshots',
                       'Customers per lifecycle stage at the earlier snapshot (rows) and at the later one (columns), with the share of the row.',
                       'stage at the later snapshot', 'stage at the earlier snapshot', labels2, labels, cells,
                       customer_priority.report_table('Lifecycle transitions',
                           ARRAY['from', 'to', 'customers', 'share of from', 'revenue change', 'from snapshot', 'to snapshot'], rows_),
                       110, 40) END;

    -- 8. Cohorts: retention of the last 24 cohorts over their first 24 periods
    EXECUTE format($q$
SELECT array_agg(DISTINCT k.cohort::text ORDER BY k.cohort::text)
FROM (SELECT DISTINCT c.cohort FROM %s c ORDER BY c.cohort DESC LIMIT 24) k$q$,
                   format('%I.%I', def.schema, def.name || '_cohorts')) INTO labels;
    EXECUTE format($q$
SELECT jsonb_agg(jsonb_build_object('x', c.period + 1, 'y', array_position(%1$L::text[], c.cohort::text), 'value', c.retention,
                                    'text', jsonb_build_array(customer_priority.report_number(100 * c.retention)))),
       jsonb_agg(jsonb_build_array(c.cohort, c.period, c.cohort_customers, c.active_customers,
                                   customer_priority.report_percent(c.retention), customer_priority.report_number(c.revenue, 2),
                                   customer_priority.report_percent(c.regular_share)) ORDER BY c.cohort, c.period),
       (SELECT array_agg(p::text ORDER BY p) FROM generate_series(0, least(max(c.period), 23)) AS p)
FROM %2$s c WHERE c.cohort::text = ANY (%1$L::text[]) AND c.period < 24$q$,
                   labels, format('%I.%I', def.schema, def.name || '_cohorts')) INTO cells, rows_, labels2;
    s := s || CASE WHEN cells IS NULL THEN '<p class="note">No cohorts (no customers).</p>'
                   ELSE customer_priority.report_heatmap('chart-cohorts', 'Cohort retention',
                            format('Share (%%) of each first-purchase cohort (rows, by %s) buying in each %s since its first purchase (columns, 0 = the first); darker = more retained. The table also gives the share of the cohort that had become regular by then.',
                                   def.options ->> 'xyz_period', def.options ->> 'xyz_period'),
                            format('%ss since the first purchase', def.options ->> 'xyz_period'), 'cohort',
                            labels2, labels, cells,
                            customer_priority.report_table('Cohorts: retention and the move to regular',
                                ARRAY['cohort', 'period', 'cohort customers', 'active customers', 'retention', 'revenue', 'regular by then'], rows_),
                            38, 20) END;
    body := body || customer_priority.report_section('history', 'Transitions and cohorts', s);
    nav := nav || '<a href="#section-history">Cohorts</a>';

    -- 9. Potential: P(alive) and expected purchases by frequency and recency; CLV
    IF potential THEN
        labels := '{1,2,3,4,5,6-10,11-20,21+}';
        labels2 := '{0-30,31-90,91-180,181-365,366+}';
        s := '';
        FOR i IN 1 .. 2 LOOP
            SELECT jsonb_agg(jsonb_build_object('x', (e ->> 'rb')::integer, 'y', (e ->> 'f')::integer,
                                                'value', CASE i WHEN 1 THEN e -> 'p_alive' ELSE e -> 'expected' END,
                                                'text', jsonb_build_array(CASE i WHEN 1 THEN e ->> 'p_alive' ELSE e ->> 'expected' END,
                                                                          (e ->> 'customers') || ' cust.'))),
                   jsonb_agg(jsonb_build_array(labels[(e ->> 'f')::integer], labels2[(e ->> 'rb')::integer], e -> 'customers',
                                               CASE i WHEN 1 THEN e -> 'p_alive' ELSE e -> 'expected' END)
                             ORDER BY (e ->> 'f')::integer, (e ->> 'rb')::integer)
            INTO cells, rows_
            FROM jsonb_array_elements(coalesce(agg -> 'alive', '[]')) AS e
            WHERE e ->> 'f' IS NOT NULL AND e ->> 'rb' IS NOT NULL;
            s := s || customer_priority.report_heatmap(CASE i WHEN 1 THEN 'chart-p-alive' ELSE 'chart-expected' END,
                CASE i WHEN 1 THEN 'P(alive) by frequency and recency' ELSE 'Expected purchases by frequency and recency' END,
                CASE i WHEN 1 THEN 'Mean BG/NBD probability that the customer is still active, per frequency (rows) and recency (columns, days since the last purchase).'
                     ELSE format('Mean BG/NBD expected purchases in the next %s, per frequency (rows) and recency (columns).',
                                 coalesce(customer_priority.potential_horizon_text(def.options -> 'potential'), 'horizon')) END,
                'recency (days since the last purchase)', 'frequency (purchases)', labels2, labels, cells,
                customer_priority.report_table(CASE i WHEN 1 THEN 'P(alive) per cell' ELSE 'Expected purchases per cell' END,
                    ARRAY['frequency', 'recency (days)', 'customers', CASE i WHEN 1 THEN 'mean P(alive)' ELSE 'mean expected purchases' END], rows_),
                120, 40);
        END LOOP;
        SELECT jsonb_agg(jsonb_build_object('label', b.label, 'values', jsonb_build_array(b.customers)) ORDER BY b.k),
               jsonb_agg(jsonb_build_array(b.label, b.customers, customer_priority.report_number(b.revenue, 2)) ORDER BY b.k)
        INTO cells, rows_
        FROM (SELECT (e ->> 'clv')::integer AS k, (e ->> 'customers')::bigint AS customers, (e ->> 'revenue')::numeric AS revenue,
                     CASE WHEN (e ->> 'clv')::integer = 0 THEN 'under 1'
                          WHEN (e ->> 'clv')::integer = 9 THEN format('%s and more', customer_priority.report_number(10::numeric ^ 8))
                          ELSE format('%s to %s', customer_priority.report_number(10::numeric ^ ((e ->> 'clv')::integer - 1)),
                                      customer_priority.report_number(10::numeric ^ (e ->> 'clv')::integer)) END AS label
              FROM jsonb_array_elements(coalesce(agg -> 'clv', '[]')) AS e
              WHERE e ->> 'clv' IS NOT NULL) b;
        s := s || customer_priority.report_bars('chart-clv', 'CLV distribution',
            'Customers per range of customer lifetime value (expected revenue over the horizon), ranges growing tenfold.',
            'customers', 'CLV range', ARRAY['customers'], cells,
            customer_priority.report_table('CLV distribution', ARRAY['CLV range', 'customers', 'net revenue so far'], rows_),
            false);
        body := body || customer_priority.report_section('potential', 'Potential', s);
        nav := nav || '<a href="#section-potential">Potential</a>';
    END IF;

    RETURN format(E'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                  '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">\n'
                  '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                  '<title>Segmentation %1$s</title>\n<style>%2$s</style>\n</head>\n<body>\n'
                  '<header>\n<h1>Segmentation %1$s</h1>\n<p class="note">%3$s, as of %4$s (refreshed %5$s), customer_priority %6$s</p>\n'
                  '<ul class="summary"><li><b>%7$s</b>customers</li><li><b>%8$s</b>net revenue</li><li><b>%9$s</b>RFM segments</li></ul>\n'
                  '<nav>%10$s</nav>\n</header>\n<main>\n%11$s</main>\n</body>\n</html>\n',
                  customer_priority.report_escape(format('%s.%s', def.schema, def.name)),
                  customer_priority.report_style(),
                  customer_priority.report_escape(def.orders::text),
                  customer_priority.report_escape(coalesce(def.options ->> 'as_of', 'the refresh time')),
                  customer_priority.report_escape(to_char(def.refreshed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')),
                  customer_priority.report_escape((SELECT e.extversion FROM pg_extension e WHERE e.extname = 'customer_priority')),
                  customer_priority.report_number((total ->> 'customers')::numeric),
                  customer_priority.report_number((total ->> 'revenue')::numeric, 2),
                  customer_priority.report_number((SELECT count(DISTINCT e ->> 'segment')
                                                   FROM jsonb_array_elements(coalesce(agg -> 'rfm_segment', '[]')) AS e)),
                  nav, body);
END
$$;
COMMENT ON FUNCTION customer_priority.report_html(customer_priority.segmentations) IS
    'internal: segmentation_report() of a definition, reading its views as the caller';

CREATE FUNCTION customer_priority.segmentation_report(name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$
    -- the name resolved in the caller's search_path, as refresh_segmentation() does
    SELECT customer_priority.report_html(
        customer_priority.segmentation_find($1, pg_catalog.current_schemas(true)))
$$;
COMMENT ON FUNCTION customer_priority.segmentation_report(text) IS
    'one self-contained HTML page (inline SVG and CSS, nothing loaded) with the charts of a segmentation: RFM grid, segments, ABC Pareto curve, ABC x XYZ, lifecycle, profiles, transitions, cohorts, potential';
