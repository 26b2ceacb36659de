-- The option "potential" of a segmentation: BG/NBD and Gamma-Gamma fitted over the
-- segmentation's customers at each refresh, and per customer p_alive,
-- expected_purchases, expected_spend and clv in <name>_customers; the ABC criterion
-- "potential", the contender rule and the flag at_risk_high_clv use them.
-- Data: CDNOW (test/data/cdnow_sample.txt), calibration period up to 1997-09-30,
-- then 39 weeks of holdout purchases the segmentation does not see.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
SET extra_float_digits = 0;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all
-- The fits' warnings without their detail (iteration counts vary with the platform's
-- floating point); the iterations are columns of the models.
\set VERBOSITY terse

CREATE TABLE cdnow_lines (line text);
\copy cdnow_lines FROM 'test/data/cdnow_sample.txt'
CREATE TABLE cd_orders AS
SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD') AS ordered_on, f[5]::numeric AS amount
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM cdnow_lines) s;

SELECT create_segmentation('cd', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "1997-09-30", "time_zone": "UTC", "potential": {"unit": "week", "horizon": 39}}');
SELECT create_segmentation('cd_plain', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "1997-09-30", "time_zone": "UTC"}');
-- the effective option: defaults filled in (no discount, top 20 % of CLV is "high")
SELECT name, options -> 'potential' AS potential FROM segmentations ORDER BY name;

-- The new columns, described for BI tools.
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, col_description(a.attrelid, a.attnum)
FROM pg_attribute a
WHERE a.attrelid = 'cd_customers'::regclass AND a.attnum > 19 AND NOT a.attisdropped
ORDER BY a.attnum;

-- Each customer's values are exactly those of the public functions with the models
-- fitted over the same customers' summaries (2,349 customers with a paid purchase).
CREATE TABLE cd_summary AS
SELECT customer_id, purchase_summary(customer_profile(ordered_on::timestamptz, amount, '1997-09-30'), 'week') AS s
FROM cd_orders WHERE ordered_on <= '1997-09-30' GROUP BY customer_id;
CREATE TABLE cd_models AS
SELECT bgnbd_fit((s).x, (s).t_x, (s).t_cal) AS bg, gamma_gamma_fit((s).x, (s).repeat_spend::float8) AS gg
FROM cd_summary WHERE (s).x IS NOT NULL;
SELECT round((bg).r::numeric, 4) AS r, round((bg).alpha::numeric, 4) AS alpha,
       round((bg).a::numeric, 4) AS a, round((bg).b::numeric, 4) AS b, (bg).converged AS bg_converged,
       round((gg).p::numeric, 4) AS p, round((gg).q::numeric, 4) AS q, round((gg).v::numeric, 4) AS v,
       (gg).converged AS gg_converged
FROM cd_models;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE c.p_alive = bgnbd_p_alive(m.bg, (d.s).x, (d.s).t_x, (d.s).t_cal)
                          AND c.expected_purchases = bgnbd_expected_purchases(m.bg, 39, (d.s).x, (d.s).t_x, (d.s).t_cal)
                          AND c.expected_spend = gamma_gamma_expected_spend(m.gg, (d.s).x, (d.s).repeat_spend::float8)
                          AND c.clv = customer_clv(m.bg, m.gg, (d.s).x, (d.s).t_x, (d.s).t_cal,
                                                   (d.s).repeat_spend::float8, 39)) AS identical,
       count(*) FILTER (WHERE c.p_alive IS NULL OR c.expected_purchases IS NULL
                          OR c.expected_spend IS NULL OR c.clv IS NULL) AS with_null,
       count(*) FILTER (WHERE 'NaN' IN (c.p_alive, c.expected_purchases, c.expected_spend, c.clv)) AS with_nan
FROM cd_customers c JOIN cd_summary d USING (customer_id) CROSS JOIN cd_models m;
-- The next purchase: the probability within the next week and the median as a date
-- (as_of plus the median in weeks, in days), exactly as the public functions give them.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE c.p_purchase_next_unit = bgnbd_p_purchase_within(m.bg, 1, (d.s).x, (d.s).t_x, (d.s).t_cal)
                          AND c.next_purchase_median IS NOT DISTINCT FROM
                              (timestamptz '1997-09-30' + bgnbd_next_purchase_median(m.bg, (d.s).x, (d.s).t_x, (d.s).t_cal)
                                                          * 7 * interval '1 day')::date
                          AND c.potential_model = 'bgnbd') AS identical,
       count(*) FILTER (WHERE c.next_purchase_median IS NULL) AS without_median,
       count(*) FILTER (WHERE c.p_alive <= 0.5) AS at_most_even_odds,
       min(c.next_purchase_median) > '1997-09-30' AS medians_after_as_of
FROM cd_customers c JOIN cd_summary d USING (customer_id) CROSS JOIN cd_models m;
-- Undiscounted, CLV is expected purchases times expected spend.
SELECT count(*) FILTER (WHERE abs(clv - expected_purchases * expected_spend) > 1e-9 * clv) AS differ
FROM cd_customers;
-- Ranges: 0 < p_alive <= 1 (1 exactly for customers without a repeat purchase, as
-- the model says), expected values positive.
SELECT min(p_alive) > 0 AS p_alive_positive, max(p_alive) AS max_p_alive,
       count(*) FILTER (WHERE p_alive = 1) AS p_alive_one,
       count(*) FILTER (WHERE frequency = 1) AS one_purchase,
       min(expected_purchases) > 0 AS purchases_positive, min(expected_spend) > 0 AS spend_positive
FROM cd_customers;

-- The holdout: the 39 weeks after as_of.  The model's expected purchases against the
-- purchase days that followed, in total and by the customers' calibration purchases.
SELECT round(sum(c.expected_purchases)::numeric, 1) AS expected,
       (SELECT count(DISTINCT (customer_id, ordered_on)) FROM cd_orders
        WHERE ordered_on > '1997-09-30' AND amount > 0) AS actual
FROM cd_customers c;
SELECT least(c.frequency - 1, 7) AS repeat_purchases, count(*) AS customers,
       round(avg(c.expected_purchases)::numeric, 2) AS expected,
       round(avg(coalesce(h.days, 0)), 2) AS actual
FROM cd_customers c
LEFT JOIN (SELECT customer_id, count(DISTINCT ordered_on) AS days FROM cd_orders
           WHERE ordered_on > '1997-09-30' AND amount > 0 GROUP BY customer_id) h USING (customer_id)
GROUP BY 1 ORDER BY 1;

-- segmentation_holdout(): the models fitted on the orders up to a calibration end and
-- held to the purchases that followed, by calibration repeat purchases (Fader, Hardie &
-- Lee 2005, figure 4: CDNOW, calibration to 1997-09-30, holdout to 1998-06-30).
SELECT create_segmentation('cd_all', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "1998-06-30", "time_zone": "UTC", "potential": {"unit": "week", "model": "best"}}');
CREATE TABLE cd_holdout AS SELECT * FROM segmentation_holdout('cd_all', '1997-09-30');
SELECT repeat_purchases, model, customers, round(actual_mean::numeric, 3) AS actual,
       round(expected_mean::numeric, 3) AS expected, actual_total, round(expected_total::numeric, 1) AS expected_total
FROM cd_holdout ORDER BY model, repeat_purchases = 'all', repeat_purchases;
-- The same by plain SQL: the purchase days after the calibration end of the customers
-- with a paid purchase by then, and bgnbd_expected_purchases() over the 39 weeks with
-- the model fitted on the calibration summaries (cd_models).
WITH plain AS (
    SELECT CASE WHEN (d.s).x >= 7 THEN '7+' ELSE (d.s).x::text END AS repeat_purchases,
           count(*) AS customers, sum(coalesce(h.days, 0)) AS actual_total,
           sum(CASE WHEN (m.bg).a + (m.bg).b + (d.s).x > 1
                    THEN bgnbd_expected_purchases(m.bg, 39, (d.s).x, (d.s).t_x, (d.s).t_cal) END) AS expected_total
    FROM cd_summary d CROSS JOIN cd_models m
    LEFT JOIN (SELECT customer_id, count(DISTINCT ordered_on) AS days FROM cd_orders
               WHERE ordered_on > '1997-09-30' AND ordered_on <= '1998-06-30' AND amount > 0
               GROUP BY customer_id) h USING (customer_id)
    WHERE (d.s).x IS NOT NULL
    GROUP BY ROLLUP (1)
)
SELECT count(*) AS groups,
       count(*) FILTER (WHERE h.customers = p.customers AND h.actual_total = p.actual_total
                          AND abs(h.expected_total - p.expected_total) < 1e-9 * p.expected_total) AS identical
FROM plain p JOIN cd_holdout h ON h.repeat_purchases = coalesce(p.repeat_purchases, 'all') AND h.model = 'bgnbd';
-- Bad calls.
SELECT q AS call, pg_temp.error_of(q) AS error FROM (VALUES
    ($$SELECT * FROM segmentation_holdout('cd_all', '1998-06-30')$$),
    ($$SELECT * FROM segmentation_holdout('cd_all', '1999-01-01')$$),
    ($$SELECT * FROM segmentation_holdout('cd_all', NULL)$$),
    ($$SELECT * FROM segmentation_holdout('cd_all', 'infinity')$$),
    ($$SELECT * FROM segmentation_holdout('no_such', '1997-09-30')$$)
) v(q);
-- "best": every model fitted over the segmentation's customers, the one of lowest BIC
-- scores them all; the same choice made by hand from the public fits.
CREATE TABLE cd_all_fits AS
SELECT bgnbd_fit((s).x, (s).t_x, (s).t_cal) AS bgnbd, mbgnbd_fit((s).x, (s).t_x, (s).t_cal) AS mbgnbd,
       pareto_nbd_fit((s).x, (s).t_x, (s).t_cal) AS pareto_nbd
FROM (SELECT purchase_summary(customer_profile(ordered_on::timestamptz, amount, '1998-06-30'), 'week') AS s
      FROM cd_orders WHERE ordered_on <= '1998-06-30' GROUP BY customer_id) q
WHERE (s).x IS NOT NULL;
SELECT m.model, round(m.bic::numeric, 2) AS bic, m.converged
FROM cd_all_fits f,
     LATERAL (VALUES ('bgnbd', 4 * ln((f.bgnbd).customers) - 2 * (f.bgnbd).log_likelihood, (f.bgnbd).converged),
                     ('mbgnbd', 4 * ln((f.mbgnbd).customers) - 2 * (f.mbgnbd).log_likelihood, (f.mbgnbd).converged),
                     ('pareto_nbd', pareto_nbd_bic(f.pareto_nbd), (f.pareto_nbd).converged))
             AS m(model, bic, converged)
ORDER BY m.bic;
SELECT c.potential_model, count(*) AS customers,
       count(*) FILTER (WHERE c.p_alive = mbgnbd_p_alive(f.mbgnbd, (d.s).x, (d.s).t_x, (d.s).t_cal)
                          AND c.p_purchase_next_unit = mbgnbd_p_purchase_within(f.mbgnbd, 1, (d.s).x, (d.s).t_x, (d.s).t_cal))
           AS scored_by_mbgnbd
FROM cd_all_customers c CROSS JOIN cd_all_fits f
JOIN (SELECT customer_id, purchase_summary(customer_profile(ordered_on::timestamptz, amount, '1998-06-30'), 'week') AS s
      FROM cd_orders GROUP BY customer_id) d USING (customer_id)
GROUP BY c.potential_model;
-- "pareto_nbd": every potential column from the Pareto/NBD functions.
SELECT create_segmentation('cd_pareto', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "1997-09-30", "time_zone": "UTC", "potential": {"horizon": 39, "model": "pareto_nbd"}}');
SELECT count(*) AS customers,
       count(*) FILTER (WHERE c.potential_model = 'pareto_nbd'
                          AND c.p_alive = pareto_nbd_p_alive(m.pn, (d.s).x, (d.s).t_x, (d.s).t_cal)
                          AND c.expected_purchases = pareto_nbd_expected_purchases(m.pn, 39, (d.s).x, (d.s).t_x, (d.s).t_cal)
                          AND c.p_purchase_next_unit = pareto_nbd_p_purchase_within(m.pn, 1, (d.s).x, (d.s).t_x, (d.s).t_cal)
                          AND c.next_purchase_median IS NOT DISTINCT FROM
                              (timestamptz '1997-09-30' + pareto_nbd_next_purchase_median(m.pn, (d.s).x, (d.s).t_x, (d.s).t_cal)
                                                          * 7 * interval '1 day')::date) AS identical
FROM cd_pareto_customers c JOIN cd_summary d USING (customer_id)
CROSS JOIN (SELECT pareto_nbd_fit((s).x, (s).t_x, (s).t_cal) AS pn FROM cd_summary WHERE (s).x IS NOT NULL) m;
SELECT drop_segmentation('cd_pareto');
-- A discounted CLV is BG/NBD's: another model with a discount rate is refused.
SELECT pg_temp.error_of($$SELECT create_segmentation('bad', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
    '{"potential": {"model": "mbgnbd", "discount_rate": 0.01}}')$$) AS discounted_mbgnbd;
-- Without the option potential, every model is compared (in weeks).
SELECT array_agg(DISTINCT model ORDER BY model) AS models, max(customers) FILTER (WHERE repeat_purchases = 'all') AS customers
FROM segmentation_holdout('cd_plain', '1997-06-30');
-- A calibration end before every order: no customer, no row.
SELECT count(*) AS rows_before_any_order FROM segmentation_holdout('cd_all', '1990-01-01');
SELECT drop_segmentation('cd_all');

-- Without the option the columns are NULL, and the rest is the same segmentation.
SELECT count(*) AS customers, count(p_alive) AS p_alive, count(expected_purchases) AS expected_purchases,
       count(expected_spend) AS expected_spend, count(clv) AS clv
FROM cd_plain_customers;
SELECT count(*) AS differ
FROM cd_customers c JOIN cd_plain_customers p USING (customer_id)
WHERE (c.rfm_cell, c.rfm_segment, c.abc_class, c.xyz_class, c.lifecycle_stage, c.revenue)
      IS DISTINCT FROM (p.rfm_cell, p.rfm_segment, p.abc_class, p.xyz_class, p.lifecycle_stage, p.revenue);

-- The contender rule: with a model, a contender must also be alive with probability
-- contender_min_p_alive (0.5) or more.  Exactly the plain segmentation's contenders
-- whose p_alive reaches 0.5 stay contenders.
SELECT count(*) FILTER (WHERE 'contender' = ANY (p.labels)) AS plain_contenders,
       count(*) FILTER (WHERE 'contender' = ANY (p.labels) AND c.p_alive < 0.5) AS probably_gone,
       count(*) FILTER (WHERE 'contender' = ANY (c.labels)) AS contenders,
       count(*) FILTER (WHERE ('contender' = ANY (c.labels))
                              IS DISTINCT FROM ('contender' = ANY (p.labels) AND c.p_alive >= 0.5)) AS wrong
FROM cd_customers c JOIN cd_plain_customers p USING (customer_id);
-- Customers who lose the label fall to their next type (addict or none).
SELECT p.primary_type AS plain, c.primary_type AS with_potential, count(*)
FROM cd_customers c JOIN cd_plain_customers p USING (customer_id)
WHERE c.primary_type IS DISTINCT FROM p.primary_type
GROUP BY 1, 2 ORDER BY 1, 2;

-- The flag: an at_risk customer whose CLV is above the 80th percentile of all
-- customers' CLV (high_clv_share 0.2) gets the label at_risk_high_clv, just before the
-- lifecycle stage, which still ends the labels.
SELECT percentile_disc(0.8) WITHIN GROUP (ORDER BY clv) AS min_clv INTO TEMP cd_cut FROM cd_customers;
SELECT count(*) FILTER (WHERE 'at_risk_high_clv' = ANY (c.labels)) AS flagged,
       count(*) FILTER (WHERE c.lifecycle_stage = 'at_risk' AND c.clv > k.min_clv) AS expected,
       count(*) FILTER (WHERE ('at_risk_high_clv' = ANY (c.labels))
                              IS DISTINCT FROM (c.lifecycle_stage = 'at_risk' AND c.clv > k.min_clv)) AS wrong,
       count(*) FILTER (WHERE c.labels[cardinality(c.labels)] <> c.lifecycle_stage) AS not_last,
       count(*) FILTER (WHERE 'at_risk_high_clv' = ANY (c.labels)
                          AND c.labels[cardinality(c.labels) - 1] <> 'at_risk_high_clv') AS misplaced,
       count(*) FILTER (WHERE array_remove(array_remove(c.labels, 'at_risk_high_clv'), 'contender')
                              IS DISTINCT FROM array_remove(p.labels, 'contender')) AS other_labels_differ
FROM cd_customers c JOIN cd_plain_customers p USING (customer_id) CROSS JOIN cd_cut k;
-- ... with its recommended action in _segments (and _membership)
SELECT segment, customers, round(revenue_share, 3) AS revenue_share, recommended_action
FROM cd_segments WHERE dimension = 'label' AND segment IN ('at_risk', 'at_risk_high_clv') ORDER BY segment;
SELECT count(*) FROM cd_membership WHERE dimension = 'label' AND segment = 'at_risk_high_clv';
SELECT recommended_action FROM segment_actions WHERE dimension = 'label' AND segment = 'at_risk_high_clv';

-- Multi-criteria ABC: with the option, the criterion "potential" ranks by CLV, so with
-- potential alone every A customer has at least the CLV of every B customer, and
-- every B at least that of every C.
SELECT create_segmentation('cd_by_clv', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "1997-09-30", "time_zone": "UTC", "potential": {"horizon": 39},
      "abc_weights": {"potential": 1}}');
SELECT abc_class, count(*), round(min(clv)::numeric, 2) AS min_clv, round(max(clv)::numeric, 2) AS max_clv
FROM cd_by_clv_customers GROUP BY abc_class ORDER BY abc_class;
SELECT (SELECT min(clv) FROM cd_by_clv_customers WHERE abc_class = 'A')
           >= (SELECT max(clv) FROM cd_by_clv_customers WHERE abc_class = 'B') AS a_over_b,
       (SELECT min(clv) FROM cd_by_clv_customers WHERE abc_class = 'B')
           >= (SELECT max(clv) FROM cd_by_clv_customers WHERE abc_class = 'C') AS b_over_c;
-- Without the option, the criterion is the heuristic customer_potential() as before:
-- the classes differ.
SELECT create_segmentation('cd_by_heuristic', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "1997-09-30", "time_zone": "UTC", "abc_weights": {"potential": 1}}');
SELECT count(*) FILTER (WHERE c.abc_class <> h.abc_class) > 0 AS classes_differ
FROM cd_by_clv_customers c JOIN cd_by_heuristic_customers h USING (customer_id);

-- Another unit, and a discount rate: months, 9 of them, 1 % per month.  CLV is then
-- customer_clv() with the discount, below the undiscounted product.
SELECT create_segmentation('cd_monthly', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "1997-09-30", "time_zone": "UTC",
      "potential": {"unit": "month", "horizon": 9, "discount_rate": 0.01, "high_clv_share": 0.1}}');
SELECT options -> 'potential' AS potential FROM segmentations WHERE name = 'cd_monthly';
SELECT col_description('cd_monthly_customers'::regclass, 23) AS clv_comment;
CREATE TABLE cd_month_summary AS
SELECT customer_id, purchase_summary(customer_profile(ordered_on::timestamptz, amount, '1997-09-30'), 'month') AS s
FROM cd_orders WHERE ordered_on <= '1997-09-30' GROUP BY customer_id;
CREATE TABLE cd_month_models AS
SELECT bgnbd_fit((s).x, (s).t_x, (s).t_cal) AS bg, gamma_gamma_fit((s).x, (s).repeat_spend::float8) AS gg
FROM cd_month_summary WHERE (s).x IS NOT NULL;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE c.clv = customer_clv(m.bg, m.gg, (d.s).x, (d.s).t_x, (d.s).t_cal,
                                                   (d.s).repeat_spend::float8, 9, 0.01)) AS identical,
       count(*) FILTER (WHERE c.clv < c.expected_purchases * c.expected_spend) AS discounted
FROM cd_monthly_customers c JOIN cd_month_summary d USING (customer_id) CROSS JOIN cd_month_models m;
-- The same customers in weeks and in months: the fits differ in their unit only,
-- so expected purchases over 39 weeks and 9 months are close, not equal.
SELECT round(sum(expected_purchases)::numeric, 1) AS months_9 FROM cd_monthly_customers;

-- Refresh: a later as_of would move everything; the same as_of gives the same rows.
CREATE TABLE cd_before AS SELECT * FROM cd_customers;
SELECT refresh_segmentation('cd');
SELECT count(*) AS differ FROM (
    (SELECT * FROM cd_customers EXCEPT ALL SELECT * FROM cd_before)
    UNION ALL (SELECT * FROM cd_before EXCEPT ALL SELECT * FROM cd_customers)) d;

-- customer_typology()'s p_alive argument, directly: a contender at p_alive 0.5 stays
-- one, at 0.49 not; no p_alive is the rule without a model; out of range is an error.
CREATE TABLE cdt_profiles AS
SELECT customer_id, customer_profile(ordered_on::timestamptz, amount, '1997-09-30') AS profile
FROM cd_orders WHERE ordered_on <= '1997-09-30' GROUP BY customer_id;
CREATE TABLE cdt_typology_model AS
SELECT typology_model(profile, NULL::numeric) AS m FROM cdt_profiles WHERE (profile).orders > 0;
SELECT p.p_alive, (customer_typology(c.profile, m.m, NULL, NULL, NULL, p.p_alive)).labels
FROM cdt_profiles c CROSS JOIN cdt_typology_model m
CROSS JOIN (VALUES (NULL::float8), (0.5), (0.49)) p(p_alive)
WHERE c.customer_id = (SELECT min(customer_id) FROM cd_plain_customers WHERE primary_type = 'contender');
SELECT v AS p_alive,
       pg_temp.error_of(format($$SELECT customer_typology(c.profile, m.m, NULL, NULL, NULL, %L)
                         FROM cdt_profiles c, cdt_typology_model m LIMIT 1$$, v)) AS result
FROM unnest(ARRAY['0', '1', '-0.01', '1.01', 'NaN', 'Infinity']) v;
-- the typology option that sets the bar
SELECT pg_temp.error_of($$SELECT typology_model(profile, NULL::numeric, '{"contender_min_p_alive": 1.5}')
                  FROM cdt_profiles$$) AS result;

-- Bad options: each a clear error, nothing created.
SELECT o AS options, pg_temp.error_of(format($$SELECT create_segmentation('bad', 'cd_orders', 'customer_id',
                                       'ordered_on', 'amount', %L)$$, o)) AS result
FROM unnest(ARRAY[
    '{"potential": 1}', '{"potential": "yes"}', '{"potential": []}',
    '{"potential": {"unit": "hour"}}', '{"potential": {"unit": 7}}', '{"potential": {"units": "week"}}',
    '{"potential": {"horizon": -1}}', '{"potential": {"horizon": 10001}}', '{"potential": {"horizon": "52"}}',
    '{"potential": {"discount_rate": -0.01}}', '{"potential": {"high_clv_share": 1.5}}',
    '{"potential": {"model": "lifetimes"}}', '{"potential": {"model": 1}}']) o;
SELECT count(*) AS bad_segmentations FROM segmentations WHERE name = 'bad';
-- false, null and {} : off, off, all defaults (a year is 365 days, 12 months, 1 year)
SELECT potential_options(o) FROM (VALUES ('{"potential": false}'::jsonb), ('{"potential": null}'), ('{}'),
    ('{"potential": true}'), ('{"potential": {"unit": "day"}}'), ('{"potential": {"unit": "month"}}'),
    ('{"potential": {"unit": "year"}}')) v(o);

-- Edge cases of the data: nobody bought twice (BG/NBD cannot be fitted: the model
-- and every value are NULL, the rest of the segmentation is there); one customer.
CREATE TABLE one_time_buyers (customer_id int, ordered_on date, amount numeric);
INSERT INTO one_time_buyers VALUES (1, '2020-01-05', 10), (2, '2020-02-01', 20), (3, '2020-03-01', 5);
SELECT create_segmentation('one_time', 'one_time_buyers', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "2020-06-30", "time_zone": "UTC", "potential": true}');
SELECT customer_id, p_alive, expected_purchases, expected_spend, clv, p_purchase_next_unit,
       next_purchase_median, potential_model, labels FROM one_time_customers ORDER BY 1;
CREATE TABLE lone_buyer (customer_id int, ordered_on date, amount numeric);
INSERT INTO lone_buyer VALUES (1, '2020-01-05', 10), (1, '2020-02-01', 20), (1, '2020-05-01', 30);
SELECT create_segmentation('lone', 'lone_buyer', 'customer_id', 'ordered_on', 'amount',
    '{"as_of": "2020-06-30", "time_zone": "UTC", "potential": true}');
SELECT customer_id, p_alive BETWEEN 0 AND 1 AS p_alive_ok, expected_purchases >= 0 AS purchases_ok,
       expected_spend > 0 AS spend_ok, clv >= 0 AS clv_ok, labels FROM lone_customers;

SELECT drop_segmentation(name) FROM segmentations ORDER BY name;
DROP TABLE cdnow_lines, cd_orders, cd_summary, cd_models, cd_holdout, cd_all_fits, cd_before, cd_month_summary, cd_month_models,
           cdt_profiles, cdt_typology_model, one_time_buyers, lone_buyer;
