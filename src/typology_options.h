/*
 * typology_options.h
 *		The thresholds of the typology rules, each an option with a
 *		documented default (docs/typology.md).
 */
#ifndef TYPOLOGY_OPTIONS_H
#define TYPOLOGY_OPTIONS_H

#include "customer_priority.h"

#include "utils/jsonb.h"

typedef struct TypologyOptions
{
	double		royal_top_share;
	double		active_gap_multiple;
	double		active_min_days;
	double		contender_min_revenue_ratio;
	double		addict_min_weekend_share;
	double		addict_min_orders;
	double		advocate_min_referrals;
	double		influencer_min_reach;
	double		service_demander_top_share;
	double		service_demander_min_contacts;
	double		revenue_reverser_min_return_rate;
	double		revenue_reverser_min_orders;
	double		promotion_maximizer_min_discount_share;
	double		promotion_maximizer_min_orders;
	double		spending_limiter_max_basket_cv;
	double		spending_limiter_max_gap_cv;
	double		spending_limiter_min_orders;
	double		new_max_days;
	double		regular_min_orders;
	double		dormant_days;
} TypologyOptions;

extern void typology_options_parse(Jsonb *json, TypologyOptions *options);
extern Jsonb *typology_options_to_jsonb(const TypologyOptions *options);
extern bool typology_options_equal(const TypologyOptions *a, const TypologyOptions *b);
extern void typology_options_serialize(StringInfo buf, const TypologyOptions *options);
extern void typology_options_deserialize(StringInfo buf, TypologyOptions *options);

#endif							/* TYPOLOGY_OPTIONS_H */
