/*
 * typology_options.h
 *		The thresholds of the typology rules, each an option with a
 *		documented default (docs/typology.md).
 */
#ifndef TYPOLOGY_OPTIONS_H
#define TYPOLOGY_OPTIONS_H

#include "customer_priority.h"

#include "utils/jsonb.h"

/* The options; TypologyOptions.value holds one number per option. */
typedef enum TypologyOption
{
	OPT_ROYAL_TOP_SHARE,
	OPT_ACTIVE_GAP_MULTIPLE,
	OPT_ACTIVE_MIN_DAYS,
	OPT_CONTENDER_MIN_REVENUE_RATIO,
	OPT_CONTENDER_MIN_P_ALIVE,
	OPT_ADDICT_MIN_WEEKEND_SHARE,
	OPT_ADDICT_MIN_ORDERS,
	OPT_ADVOCATE_MIN_REFERRALS,
	OPT_INFLUENCER_MIN_REACH,
	OPT_SERVICE_DEMANDER_TOP_SHARE,
	OPT_SERVICE_DEMANDER_MIN_CONTACTS,
	OPT_REVENUE_REVERSER_MIN_RETURN_RATE,
	OPT_REVENUE_REVERSER_MIN_ORDERS,
	OPT_PROMOTION_MAXIMIZER_MIN_DISCOUNT_SHARE,
	OPT_PROMOTION_MAXIMIZER_MIN_ORDERS,
	OPT_SPENDING_LIMITER_MAX_BASKET_CV,
	OPT_SPENDING_LIMITER_MAX_GAP_CV,
	OPT_SPENDING_LIMITER_MIN_ORDERS,
	OPT_NEW_MAX_DAYS,
	OPT_REGULAR_MIN_ORDERS,
	OPT_DORMANT_DAYS,
	N_TYPOLOGY_OPTIONS
} TypologyOption;

typedef struct TypologyOptions
{
	double		value[N_TYPOLOGY_OPTIONS];
} TypologyOptions;

extern void typology_options_parse(Jsonb *json, TypologyOptions *options);
extern Jsonb *typology_options_to_jsonb(const TypologyOptions *options);
extern bool typology_options_equal(const TypologyOptions *a, const TypologyOptions *b);
extern void typology_options_serialize(StringInfo buf, const TypologyOptions *options);
extern void typology_options_deserialize(StringInfo buf, TypologyOptions *options);

#endif							/* TYPOLOGY_OPTIONS_H */
