-- Typology: typology_model() and customer_typology() on a hand-made data set
-- where each rule has customers just inside and just outside its threshold.
-- Reference time: as_of = Monday 2024-07-01 00:00 UTC; an order "k days ago"
-- is placed at noon UTC k days before (k mod 7 = 1 is a Sunday, 2 a Saturday).
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;
\set ECHO none
\i sql/helpers/error_of.sql
\set ECHO all

CREATE FUNCTION pg_temp.days_ago(k int) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT timestamptz '2024-07-01 12:00+00' - k * interval '1 day' $$;

-- The population (fillers) fixes the model.  Filler i (1..100) buys 3 orders
-- of 10*i, 130 and 120 days ago and then after a gap g: g = 10 for i <= 49
-- (gap_cv 0), 30 for i = 50, 51 (gap_cv 0.5) and 90 for i >= 52 (gap_cv 0.8).
-- So revenue_per_year = 30*i (tenure under a year): mean 1515, top 1 % is
-- i = 100 alone (3000); the lower median gap_cv is 0.5.  Every tenth filler
-- had 5 service contacts: intensities 5/(30*i), the top 10 % are those ten,
-- the smallest 5/3000 = 1/600.
CREATE TABLE fillers AS
SELECT i AS customer_id, k, 10 * i AS amount,
       CASE WHEN i % 10 = 0 THEN 5 ELSE 0 END AS contacts
FROM generate_series(1, 100) i,
     LATERAL unnest(ARRAY[130, 120, 120 - CASE WHEN i <= 49 THEN 10 WHEN i <= 51 THEN 30 ELSE 90 END]) k;
CREATE TABLE filler_profiles AS
SELECT customer_id, min(contacts) AS contacts,
       customer_profile(pg_temp.days_ago(k), amount, '2024-07-01') AS profile
FROM fillers GROUP BY customer_id;
CREATE TABLE model AS
SELECT typology_model(profile, contacts) AS model FROM filler_profiles;
SELECT (model).customers, (model).royal_min_revenue_per_year, (model).mean_revenue_per_year,
       (model).median_gap_cv, (model).service_customers,
       (model).service_demander_min_intensity = 1.0 / 600 AS service_min_is_1_600
FROM model;

-- The probes: order rows (k days ago), per-customer data, expected labels.
CREATE TABLE probe_orders (probe text, order_id int, k int, amount numeric,
                           returned numeric DEFAULT NULL, discount numeric DEFAULT 0);
INSERT INTO probe_orders (probe, order_id, k, amount) VALUES
 -- royal: revenue_per_year >= 3000 and active (recency <= max(2 * gap, 90))
 ('royal_in', 1, 100, 1000), ('royal_in', 2, 60, 1000), ('royal_in', 3, 20, 1000),
 ('royal_low', 1, 100, 1000), ('royal_low', 2, 60, 1000), ('royal_low', 3, 20, 999.99),
 ('royal_inactive', 1, 300, 1000), ('royal_inactive', 2, 280, 1000), ('royal_inactive', 3, 260, 1000),
 ('royal_window_in', 1, 200, 1000), ('royal_window_in', 2, 150, 1000), ('royal_window_in', 3, 100, 1000),
 ('royal_window_out', 1, 201, 1000), ('royal_window_out', 2, 151, 1000), ('royal_window_out', 3, 101, 1000),
 -- a slow rhythm (window 2 * 365 days) never keeps a dormant customer active
 ('royal_dormant', 1, 1100, 4000), ('royal_dormant', 2, 700, 4000), ('royal_dormant', 3, 370, 4000),
 -- contender: revenue_per_year > mean 1515 and gap_cv > median 0.5
 ('contender_in', 1, 121, 600), ('contender_in', 2, 111, 600), ('contender_in', 3, 80, 600),
 ('contender_steady', 1, 120, 600), ('contender_steady', 2, 110, 600), ('contender_steady', 3, 80, 600),
 ('contender_at_mean', 1, 121, 505), ('contender_at_mean', 2, 111, 505), ('contender_at_mean', 3, 80, 505),
 -- addict: >= 3 orders, gap_cv > 0.5, weekend share >= 0.5 (k = 100 Sat, 99 Sun, 98 Mon)
 ('addict_in', 1, 100, 10), ('addict_in', 2, 99, 10), ('addict_in', 3, 60, 10), ('addict_in', 4, 10, 10),
 ('addict_weekday', 1, 100, 10), ('addict_weekday', 2, 98, 10), ('addict_weekday', 3, 60, 10),
 ('addict_weekday', 4, 10, 10),
 ('addict_two_orders', 1, 100, 10), ('addict_two_orders', 2, 99, 10),
 -- advocate / influencer: referrals and reach come from the customer table
 ('advocate_in', 1, 30, 50), ('advocate_zero', 1, 30, 50), ('advocate_no_data', 1, 30, 50),
 ('influencer_in', 1, 30, 50), ('influencer_low_reach', 1, 30, 50), ('influencer_no_referral', 1, 30, 50),
 -- service demander: contacts >= 3 and contacts / net revenue >= 1/600
 ('service_in', 1, 30, 1800), ('service_low_intensity', 1, 30, 1801),
 ('service_few_contacts', 1, 30, 100), ('service_no_data', 1, 30, 100),
 -- revenue reverser: >= 3 orders and return rate >= 0.3
 ('reverser_in', 1, 100, 100), ('reverser_in', 2, 90, 100), ('reverser_in', 3, 80, 100),
 ('reverser_in', NULL, 70, -90),
 ('reverser_low', 1, 100, 100), ('reverser_low', 2, 90, 100), ('reverser_low', 3, 80, 100),
 ('reverser_low', NULL, 70, -89.99),
 ('reverser_two_orders', 1, 100, 100), ('reverser_two_orders', 2, 90, 100),
 ('reverser_two_orders', NULL, 70, -100),
 -- spending limiter: >= 4 orders, basket_cv <= 0.15, gap_cv <= 0.5
 -- (limiter_in's baskets 85, 115, 85, 115, two of them of two lines: cv 0.15)
 ('limiter_in', 1, 100, 40), ('limiter_in', 1, 100, 45), ('limiter_in', 2, 80, 100),
 ('limiter_in', 2, 80, 15), ('limiter_in', 3, 60, 85), ('limiter_in', 4, 40, 115),
 ('limiter_basket', 1, 100, 84), ('limiter_basket', 2, 80, 116), ('limiter_basket', 3, 60, 84),
 ('limiter_basket', 4, 40, 116),
 -- gaps 10, 30, 20 (gap_cv 0.41) and 10, 30, 10 (gap_cv 0.57, one weekend order)
 ('limiter_rhythm_in', 1, 100, 100), ('limiter_rhythm_in', 2, 90, 100), ('limiter_rhythm_in', 3, 60, 100),
 ('limiter_rhythm_in', 4, 40, 100),
 ('limiter_rhythm_out', 1, 101, 100), ('limiter_rhythm_out', 2, 91, 100), ('limiter_rhythm_out', 3, 61, 100),
 ('limiter_rhythm_out', 4, 51, 100),
 ('limiter_three', 1, 100, 100), ('limiter_three', 2, 70, 100), ('limiter_three', 3, 40, 100),
 -- lifecycle: new (tenure <= 90), dormant (recency > 365), at risk (not
 -- active), regular (>= 4 orders), occasional
 ('new_in', 1, 90, 10), ('new_out', 1, 91, 10),
 ('new_four_orders', 1, 80, 10), ('new_four_orders', 2, 60, 20), ('new_four_orders', 3, 40, 10),
 ('new_four_orders', 4, 20, 20),
 ('occasional_in', 1, 200, 10), ('occasional_in', 2, 90, 10),
 ('regular_in', 1, 100, 10), ('regular_in', 2, 70, 20), ('regular_in', 3, 40, 10), ('regular_in', 4, 10, 20),
 ('at_risk_edge', 1, 400, 10), ('at_risk_edge', 2, 365, 10),
 ('dormant_edge', 1, 401, 10), ('dormant_edge', 2, 366, 10),
 ('slow_rhythm_active', 1, 900, 10), ('slow_rhythm_active', 2, 500, 10), ('slow_rhythm_active', 3, 100, 10),
 ('slow_rhythm_dormant', 1, 1000, 10), ('slow_rhythm_dormant', 2, 600, 10),
 ('slow_rhythm_dormant', 3, 370, 10),
 ('refunds_only', NULL, 10, -50);
-- reverser_returned: the refund as returned_amount on a purchase line.
INSERT INTO probe_orders (probe, order_id, k, amount, returned) VALUES
 ('reverser_returned', 1, 100, 100, NULL), ('reverser_returned', 2, 90, 100, 90),
 ('reverser_returned', 3, 80, 100, NULL);
-- promotion maximizer: >= 3 orders and discount share >= 0.7 (7 of 10 orders
-- discounted; 6 of 10 is out).  Alternating baskets keep them off the limiter.
INSERT INTO probe_orders (probe, order_id, k, amount, discount)
SELECT probe, n, 10 * n, CASE WHEN n % 2 = 0 THEN 10 ELSE 30 END,
       CASE WHEN n <= discounted THEN 5 ELSE 0 END
FROM (VALUES ('promotion_in', 7), ('promotion_low', 6)) p(probe, discounted), generate_series(1, 10) n;

CREATE TABLE probe_customers (probe text PRIMARY KEY, referrals bigint, social_reach bigint,
                              service_contacts numeric, expected text[]);
INSERT INTO probe_customers VALUES
 ('royal_in', NULL, NULL, NULL, '{royal,occasional}'),
 ('royal_low', NULL, NULL, NULL, '{occasional}'),
 ('royal_inactive', NULL, NULL, NULL, '{at_risk}'),
 ('royal_window_in', NULL, NULL, NULL, '{royal,occasional}'),
 ('royal_window_out', NULL, NULL, NULL, '{at_risk}'),
 ('royal_dormant', NULL, NULL, NULL, '{dormant}'),
 ('contender_in', NULL, NULL, NULL, '{contender,occasional}'),
 ('contender_steady', NULL, NULL, NULL, '{occasional}'),
 ('contender_at_mean', NULL, NULL, NULL, '{occasional}'),
 ('addict_in', NULL, NULL, NULL, '{addict,regular}'),
 ('addict_weekday', NULL, NULL, NULL, '{regular}'),
 ('addict_two_orders', NULL, NULL, NULL, '{at_risk}'),
 ('advocate_in', 1, NULL, NULL, '{advocate,new}'),
 ('advocate_zero', 0, NULL, NULL, '{new}'),
 ('advocate_no_data', NULL, 5000, NULL, '{new}'),
 ('influencer_in', 1, 1000, NULL, '{influencer,advocate,new}'),
 ('influencer_low_reach', 1, 999, NULL, '{advocate,new}'),
 ('influencer_no_referral', 0, 5000, NULL, '{new}'),
 ('service_in', NULL, NULL, 3, '{service_demander,new}'),
 ('service_low_intensity', NULL, NULL, 3, '{new}'),
 ('service_few_contacts', NULL, NULL, 2, '{new}'),
 ('service_no_data', NULL, NULL, NULL, '{new}'),
 ('reverser_in', NULL, NULL, NULL, '{revenue_reverser,occasional}'),
 ('reverser_low', NULL, NULL, NULL, '{occasional}'),
 ('reverser_two_orders', NULL, NULL, NULL, '{occasional}'),
 ('reverser_returned', NULL, NULL, NULL, '{revenue_reverser,occasional}'),
 ('promotion_in', NULL, NULL, NULL, '{promotion_maximizer,regular}'),
 ('promotion_low', NULL, NULL, NULL, '{regular}'),
 ('limiter_in', NULL, NULL, NULL, '{spending_limiter,regular}'),
 ('limiter_basket', NULL, NULL, NULL, '{regular}'),
 ('limiter_rhythm_in', NULL, NULL, NULL, '{spending_limiter,regular}'),
 ('limiter_rhythm_out', NULL, NULL, NULL, '{regular}'),
 ('limiter_three', NULL, NULL, NULL, '{occasional}'),
 ('new_in', NULL, NULL, NULL, '{new}'),
 ('new_out', NULL, NULL, NULL, '{at_risk}'),
 ('new_four_orders', NULL, NULL, NULL, '{new}'),
 ('occasional_in', NULL, NULL, NULL, '{occasional}'),
 ('regular_in', NULL, NULL, NULL, '{regular}'),
 ('at_risk_edge', NULL, NULL, NULL, '{at_risk}'),
 ('dormant_edge', NULL, NULL, NULL, '{dormant}'),
 ('slow_rhythm_active', NULL, NULL, NULL, '{occasional}'),
 ('slow_rhythm_dormant', NULL, NULL, NULL, '{dormant}'),
 ('refunds_only', NULL, NULL, 3, '{service_demander,dormant}');
SELECT count(*) AS probes_without_orders FROM probe_customers c
WHERE NOT EXISTS (SELECT FROM probe_orders o WHERE o.probe = c.probe);

CREATE TABLE probe_profiles AS
SELECT probe, customer_profile(pg_temp.days_ago(k), amount, '2024-07-01', order_id, returned, discount) AS profile
FROM probe_orders GROUP BY probe;

-- The profile values the rules look at.
SELECT probe, (profile).orders AS n, (profile).recency_days AS rec, (profile).tenure_days AS ten,
       (profile).revenue_per_year AS rpy, round((profile).mean_gap_days::numeric, 2) AS gap,
       round((profile).gap_cv::numeric, 4) AS gap_cv, round((profile).basket_cv::numeric, 4) AS basket_cv,
       (profile).weekend_share AS wkend, (profile).discount_share AS disc,
       round((profile).return_rate::numeric, 5) AS ret
FROM probe_profiles ORDER BY probe;

-- Every probe gets exactly its expected labels.
CREATE TABLE probe_labels AS
SELECT c.probe, c.expected, t.*
FROM probe_customers c JOIN probe_profiles p USING (probe), model,
     LATERAL customer_typology(p.profile, model.model, c.referrals, c.social_reach,
                               c.service_contacts) t;
SELECT probe, labels, primary_type, lifecycle_stage, labels = expected AS as_expected
FROM probe_labels ORDER BY probe;
SELECT count(*) AS probes, count(*) FILTER (WHERE labels = expected) AS as_expected,
       count(*) FILTER (WHERE primary_type = labels[1]
                          AND lifecycle_stage = labels[array_length(labels, 1)]) AS consistent
FROM probe_labels;

-- Without discount data (the constant NULL), promotion_maximizer is never assigned.
SELECT (customer_typology(customer_profile(pg_temp.days_ago(k), amount, '2024-07-01', order_id, returned, NULL),
                          (SELECT model FROM model))).labels
FROM probe_orders WHERE probe = 'promotion_in';

-- Shuffled rows give the same labels (three orders of the rows).
SELECT seed, count(*) FILTER (WHERE t.labels <> l.labels) AS differing
FROM generate_series(1, 3) seed,
     LATERAL (SELECT probe, customer_profile(pg_temp.days_ago(k), amount, '2024-07-01', order_id, returned,
                                             discount ORDER BY md5(seed || probe || k || amount)) AS profile
              FROM probe_orders GROUP BY probe) s
     JOIN probe_customers c USING (probe) JOIN probe_labels l USING (probe),
     LATERAL customer_typology(s.profile, (SELECT model FROM model), c.referrals, c.social_reach,
                               c.service_contacts) t
GROUP BY seed ORDER BY seed;

-- Options: every threshold can be changed; the model shows what it used.
SELECT (typology_model(profile, NULL, '{"royal_top_share": 0.02}')).royal_min_revenue_per_year
FROM filler_profiles;
SELECT (customer_typology(p.profile, m)).labels
FROM probe_profiles p,
     (SELECT typology_model(profile, NULL, '{"new_max_days": 89, "active_min_days": 91}') AS m
      FROM filler_profiles) mm
WHERE probe IN ('new_in', 'new_out') ORDER BY probe;
SELECT key, value FROM model, jsonb_each((model).options) ORDER BY key;
SELECT q, pg_temp.error_of(q) FROM (VALUES
 ($$SELECT typology_model(profile, NULL, '{"royal_share": 0.02}') FROM filler_profiles$$),
 ($$SELECT typology_model(profile, NULL, '{"royal_top_share": "2%"}') FROM filler_profiles$$),
 ($$SELECT typology_model(profile, NULL, '{"royal_top_share": 0}') FROM filler_profiles$$),
 ($$SELECT typology_model(profile, NULL, '{"royal_top_share": 1.5}') FROM filler_profiles$$),
 ($$SELECT typology_model(profile, NULL, '{"regular_min_orders": 2.5}') FROM filler_profiles$$),
 ($$SELECT typology_model(profile, NULL, '{"active_gap_multiple": -1}') FROM filler_profiles$$),
 ($$SELECT typology_model(profile, NULL, '[1, 2]') FROM filler_profiles$$),
 ($$SELECT typology_model(profile, NULL, '3') FROM filler_profiles$$),
 ($$SELECT typology_model(profile, NULL, jsonb_build_object('dormant_days', customer_id))
    FROM filler_profiles$$),
 ($$SELECT typology_model(profile, -1) FROM filler_profiles$$),
 ($$SELECT customer_typology(profile, NULL) FROM filler_profiles$$),
 ($$SELECT customer_typology(profile, model, referrals => -1) FROM filler_profiles, model$$),
 ($$SELECT customer_typology(profile, model, social_reach => -1) FROM filler_profiles, model$$),
 ($$SELECT customer_typology(profile, model, service_contacts => -1) FROM filler_profiles, model$$),
 ($$SELECT customer_typology(profile, (SELECT typology_model(profile) FROM filler_profiles),
                             service_contacts => -1) FROM filler_profiles$$),
 ($$SELECT customer_typology(profile, model, service_contacts => 'NaN') FROM filler_profiles, model$$),
 ($$SELECT customer_typology(ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::customer_profile,
                             model) FROM model$$)
) t(q);
SELECT customer_typology(NULL, model) IS NULL AS null_profile FROM model;

-- Top shares leave out customers tied at the boundary rather than exceed the
-- share: revenue 300, 300, 100 with room for 1 or 2 royals.
CREATE TABLE tie_profiles AS
SELECT c, customer_profile(pg_temp.days_ago(10), a, '2024-07-01') AS profile
FROM (VALUES (1, 300), (2, 300), (3, 100)) v(c, a) GROUP BY c;
SELECT share, (typology_model(profile, NULL, jsonb_build_object('royal_top_share', share))).royal_min_revenue_per_year
FROM tie_profiles, (VALUES (0.34), (0.67), (1.0)) s(share) GROUP BY share ORDER BY share;

-- The recommended action of each label, in the labels' priority order.
SELECT priority, label, kind, name, recommended_action FROM customer_type_actions ORDER BY priority;
-- Labels come out in the view's priority order.
SELECT count(*) AS out_of_order
FROM probe_labels, LATERAL unnest(labels) WITH ORDINALITY a(label, pos)
     JOIN customer_type_actions USING (label)
WHERE EXISTS (SELECT FROM unnest(labels) WITH ORDINALITY b(label2, pos2)
              JOIN customer_type_actions a2 ON a2.label = b.label2
              WHERE b.pos2 > a.pos AND a2.priority < customer_type_actions.priority);
SELECT a.name AS primary_type, count(*), min(a.recommended_action) AS what_to_do
FROM probe_labels l JOIN customer_type_actions a ON a.label = l.primary_type
GROUP BY a.name, a.priority ORDER BY a.priority;

DROP TABLE fillers, filler_profiles, model, probe_orders, probe_customers, probe_profiles, probe_labels,
           tie_profiles;
