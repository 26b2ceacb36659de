-- Typology: the five premium-customer types, the difficult segments and the lifecycle
-- stage of each customer, from their behavioural profile and a model of the population.
-- C code: src/typology_model.c (population), src/typology.c (labels),
-- src/typology_options.c (options).  Rules and defaults: docs/typology.md.

CREATE TYPE customer_priority.typology_model AS (
    customers                      bigint,
    royal_min_revenue_per_year     double precision,
    mean_revenue_per_year          numeric,
    median_gap_cv                  double precision,
    service_customers              bigint,
    service_demander_min_intensity double precision,
    options                        jsonb
);
COMMENT ON TYPE customer_priority.typology_model IS
    'population statistics the typology rules compare customers with, returned by the typology_model() aggregate';
COMMENT ON COLUMN customer_priority.typology_model.customers IS
    'customers with a (non-NULL) profile';
COMMENT ON COLUMN customer_priority.typology_model.royal_min_revenue_per_year IS
    'smallest revenue_per_year of the top royal_top_share of customers, ties at the boundary left out; NULL when no customer qualifies';
COMMENT ON COLUMN customer_priority.typology_model.mean_revenue_per_year IS
    'mean revenue_per_year of the customers with a purchase';
COMMENT ON COLUMN customer_priority.typology_model.median_gap_cv IS
    'lower median of the defined irregularities (gap_cv); customers above it buy irregularly';
COMMENT ON COLUMN customer_priority.typology_model.service_customers IS
    'customers with service data (non-NULL service_contacts)';
COMMENT ON COLUMN customer_priority.typology_model.service_demander_min_intensity IS
    'smallest service intensity (contacts per unit of net revenue) of the top service_demander_top_share; NULL when none qualifies';
COMMENT ON COLUMN customer_priority.typology_model.options IS
    'every typology option the model was built with, defaults included';

CREATE FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile) IS
    'transition function of typology_model(profile)';

CREATE FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile, numeric) IS
    'transition function of typology_model(profile, service_contacts)';

CREATE FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile, numeric, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_transfn(internal, customer_priority.customer_profile, numeric, jsonb) IS
    'transition function of typology_model(profile, service_contacts, options)';

CREATE FUNCTION customer_priority.typology_model_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_combinefn(internal, internal) IS
    'combine function of typology_model()';

CREATE FUNCTION customer_priority.typology_model_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'typology_model_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_serialfn(internal) IS
    'serial function of typology_model()';

CREATE FUNCTION customer_priority.typology_model_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'typology_model_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_deserialfn(bytea, internal) IS
    'deserial function of typology_model(), validated';

CREATE FUNCTION customer_priority.typology_model_finalfn(internal)
RETURNS customer_priority.typology_model
AS 'MODULE_PATHNAME', 'typology_model_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.typology_model_finalfn(internal) IS
    'final function of typology_model(): sorts the ranked values and reads off the thresholds';

CREATE AGGREGATE customer_priority.typology_model(profile customer_priority.customer_profile) (
    SFUNC = customer_priority.typology_model_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.typology_model_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.typology_model_combinefn,
    SERIALFUNC = customer_priority.typology_model_serialfn,
    DESERIALFUNC = customer_priority.typology_model_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.typology_model(customer_priority.customer_profile) IS
    'typology model of a customer population with the default options and no service data';

CREATE AGGREGATE customer_priority.typology_model(profile customer_priority.customer_profile,
                                                  service_contacts numeric) (
    SFUNC = customer_priority.typology_model_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.typology_model_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.typology_model_combinefn,
    SERIALFUNC = customer_priority.typology_model_serialfn,
    DESERIALFUNC = customer_priority.typology_model_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.typology_model(customer_priority.customer_profile, numeric) IS
    'typology model of a customer population with service contacts (or service cost) per customer';

CREATE AGGREGATE customer_priority.typology_model(profile customer_priority.customer_profile,
                                                  service_contacts numeric, options jsonb) (
    SFUNC = customer_priority.typology_model_transfn,
    STYPE = internal,
    FINALFUNC = customer_priority.typology_model_finalfn,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = customer_priority.typology_model_combinefn,
    SERIALFUNC = customer_priority.typology_model_serialfn,
    DESERIALFUNC = customer_priority.typology_model_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE customer_priority.typology_model(customer_priority.customer_profile, numeric, jsonb) IS
    'typology model of a customer population with service data and options (thresholds of the rules)';

CREATE TYPE customer_priority.customer_typology AS (
    labels          text[],
    primary_type    text,
    lifecycle_stage text
);
COMMENT ON TYPE customer_priority.customer_typology IS
    'typology of one customer, returned by customer_typology()';
COMMENT ON COLUMN customer_priority.customer_typology.labels IS
    'every label that applies, in priority order (see customer_type_actions.priority); always ends with the lifecycle stage';
COMMENT ON COLUMN customer_priority.customer_typology.primary_type IS
    'the first label: the premium type or difficult segment of highest priority, else the lifecycle stage';
COMMENT ON COLUMN customer_priority.customer_typology.lifecycle_stage IS
    'exactly one of new, regular, occasional, at_risk, dormant';

CREATE FUNCTION customer_priority.customer_typology(
    profile customer_priority.customer_profile,
    model customer_priority.typology_model,
    referrals bigint DEFAULT NULL,
    social_reach bigint DEFAULT NULL,
    service_contacts numeric DEFAULT NULL)
RETURNS customer_priority.customer_typology
AS 'MODULE_PATHNAME', 'customer_typology'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_typology(customer_priority.customer_profile, customer_priority.typology_model, bigint, bigint, numeric) IS
    'labels, primary type and lifecycle stage of one customer; NULL referrals, social_reach or service_contacts mean "no data": those labels are not assigned';

-- With the customer's BG/NBD probability of being alive (segmentations with the option
-- potential): a contender must reach contender_min_p_alive.  An overload, not a sixth
-- defaulted parameter, so that views on the five-argument function survive an upgrade;
-- every argument is given (NULL p_alive: the rule without a model).
CREATE FUNCTION customer_priority.customer_typology(
    profile customer_priority.customer_profile,
    model customer_priority.typology_model,
    referrals bigint,
    social_reach bigint,
    service_contacts numeric,
    p_alive double precision)
RETURNS customer_priority.customer_typology
AS 'MODULE_PATHNAME', 'customer_typology'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.customer_typology(customer_priority.customer_profile, customer_priority.typology_model, bigint, bigint, numeric, double precision) IS
    'customer_typology() with the customer''s BG/NBD probability of being alive: a contender needs p_alive >= contender_min_p_alive; NULL p_alive: no such condition';

CREATE VIEW customer_priority.customer_type_actions AS
SELECT *
FROM (VALUES
    (1, 'royal', 'premium', 'Royals',
     'The elite: the highest revenue per customer-year, still active. Kept deliberately small.',
     'Individual offers, excellent service, exclusive invitations, free or express delivery.'),
    (2, 'influencer', 'premium', 'Influencers',
     'Advocates with a strong social-media reach.',
     'Involve them: previews, partnerships, content they can share; reward their reach.'),
    (3, 'advocate', 'premium', 'Advocates',
     'Recommend the brand unprompted (referrals).',
     'Cheap to keep with small perks: thank-you gifts, referral rewards; court the customers they bring.'),
    (4, 'contender', 'premium', 'Contenders',
     'Above-average revenue per customer-year, but buying irregularly.',
     'Court them with the perks the Royals get, to make their buying regular.'),
    (5, 'addict', 'premium', 'Addicts',
     'Love the products; buy irregularly and impulsively, concentrated on weekends.',
     'Turn them into regulars with price and brand image; time campaigns for the weekend.'),
    (6, 'service_demander', 'difficult', 'Service demanders',
     'Service effort out of proportion to their revenue.',
     'Offer self-service and chatbots; route them to service desks.'),
    (7, 'revenue_reverser', 'difficult', 'Revenue reversers',
     'A high return rate undoes the revenue they book.',
     'Predict returns; present offers that fit better (sizes, descriptions).'),
    (8, 'promotion_maximizer', 'difficult', 'Promotion maximizers',
     'Bargain hunters who buy almost only with discounts or coupons.',
     'Never discount below profit; newsletters with individual offers, memberships.'),
    (9, 'spending_limiter', 'difficult', 'Spending limiters',
     'A steady, planned budget: steady baskets at a steady rhythm.',
     'Do not cross-sell; use event-triggered marketing (e.g. an abandoned basket) instead of add-on offers.'),
    (10, 'new', 'lifecycle', 'New customers',
     'First order within the last new_max_days days.',
     'Welcome series; make the second purchase easy.'),
    (11, 'regular', 'lifecycle', 'Regular customers',
     'At least regular_min_orders orders and still buying at their usual rhythm.',
     'Keep them: loyalty programme, personalised recommendations.'),
    (12, 'occasional', 'lifecycle', 'Occasional buyers',
     'Still active, but not (yet) regular.',
     'Worth converting into regulars, e.g. with a discount code for the next order.'),
    (13, 'at_risk', 'lifecycle', 'At risk',
     'No order for longer than their usual rhythm allows, but within dormant_days.',
     'Win them back before they drift to a competitor: reactivation offer, ask for feedback.'),
    (14, 'dormant', 'lifecycle', 'Dormant',
     'No order for more than dormant_days days (or never a purchase).',
     'Low-cost reactivation campaign; otherwise stop spending on them.')
) AS actions(priority, label, kind, name, description, recommended_action);
COMMENT ON VIEW customer_priority.customer_type_actions IS
    'every typology label with its priority, kind, description and recommended action';
COMMENT ON COLUMN customer_priority.customer_type_actions.priority IS
    'order of the labels in customer_typology.labels; primary_type is the label of lowest priority number';
COMMENT ON COLUMN customer_priority.customer_type_actions.label IS
    'the label as customer_typology returns it';
COMMENT ON COLUMN customer_priority.customer_type_actions.kind IS
    'premium (the five premium types), difficult (difficult segments) or lifecycle (stage)';
COMMENT ON COLUMN customer_priority.customer_type_actions.name IS 'display name';
COMMENT ON COLUMN customer_priority.customer_type_actions.description IS 'who the label describes';
COMMENT ON COLUMN customer_priority.customer_type_actions.recommended_action IS
    'what a retailer does with these customers';
GRANT SELECT ON customer_priority.customer_type_actions TO PUBLIC;
