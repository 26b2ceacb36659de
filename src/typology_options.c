/*
 * typology_options.c
 *		Parsing and printing the typology options: a jsonb object whose keys
 *		are option names and whose values are numbers.  Unknown keys, values
 *		that are not numbers and values out of range are errors, so a typo
 *		never silently falls back to a default.
 */
#include "typology_options.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"

#include <math.h>

/* How one option is checked. */
typedef enum OptionKind
{
	OPTION_SHARE,				/* 0 < x <= 1 */
	OPTION_RATIO,				/* 0 <= x <= 1 */
	OPTION_POSITIVE,			/* x > 0 */
	OPTION_COUNT,				/* a whole number >= 0 */
	OPTION_NONNEGATIVE			/* x >= 0 */
} OptionKind;

typedef struct OptionDef
{
	const char *name;
	double		default_value;
	OptionKind	kind;
} OptionDef;

#define OPTION(id, name, value, kind) [id] = {name, value, kind}

/* Every option with its default, indexed by TypologyOption. */
static const OptionDef option_defs[] = {
	OPTION(OPT_ROYAL_TOP_SHARE, "royal_top_share", 0.01, OPTION_SHARE),
	OPTION(OPT_ACTIVE_GAP_MULTIPLE, "active_gap_multiple", 2, OPTION_POSITIVE),
	OPTION(OPT_ACTIVE_MIN_DAYS, "active_min_days", 90, OPTION_COUNT),
	OPTION(OPT_CONTENDER_MIN_REVENUE_RATIO, "contender_min_revenue_ratio", 1, OPTION_NONNEGATIVE),
	OPTION(OPT_CONTENDER_MIN_P_ALIVE, "contender_min_p_alive", 0.5, OPTION_RATIO),
	OPTION(OPT_ADDICT_MIN_WEEKEND_SHARE, "addict_min_weekend_share", 0.5, OPTION_RATIO),
	OPTION(OPT_ADDICT_MIN_ORDERS, "addict_min_orders", 3, OPTION_COUNT),
	OPTION(OPT_ADVOCATE_MIN_REFERRALS, "advocate_min_referrals", 1, OPTION_COUNT),
	OPTION(OPT_INFLUENCER_MIN_REACH, "influencer_min_reach", 1000, OPTION_NONNEGATIVE),
	OPTION(OPT_SERVICE_DEMANDER_TOP_SHARE, "service_demander_top_share", 0.1, OPTION_SHARE),
	OPTION(OPT_SERVICE_DEMANDER_MIN_CONTACTS, "service_demander_min_contacts", 3, OPTION_NONNEGATIVE),
	OPTION(OPT_REVENUE_REVERSER_MIN_RETURN_RATE, "revenue_reverser_min_return_rate", 0.3, OPTION_NONNEGATIVE),
	OPTION(OPT_REVENUE_REVERSER_MIN_ORDERS, "revenue_reverser_min_orders", 3, OPTION_COUNT),
	OPTION(OPT_PROMOTION_MAXIMIZER_MIN_DISCOUNT_SHARE, "promotion_maximizer_min_discount_share", 0.7, OPTION_RATIO),
	OPTION(OPT_PROMOTION_MAXIMIZER_MIN_ORDERS, "promotion_maximizer_min_orders", 3, OPTION_COUNT),
	OPTION(OPT_SPENDING_LIMITER_MAX_BASKET_CV, "spending_limiter_max_basket_cv", 0.15, OPTION_NONNEGATIVE),
	OPTION(OPT_SPENDING_LIMITER_MAX_GAP_CV, "spending_limiter_max_gap_cv", 0.5, OPTION_NONNEGATIVE),
	OPTION(OPT_SPENDING_LIMITER_MIN_ORDERS, "spending_limiter_min_orders", 4, OPTION_COUNT),
	OPTION(OPT_NEW_MAX_DAYS, "new_max_days", 90, OPTION_COUNT),
	OPTION(OPT_REGULAR_MIN_ORDERS, "regular_min_orders", 4, OPTION_COUNT),
	OPTION(OPT_DORMANT_DAYS, "dormant_days", 365, OPTION_COUNT),
};

#define N_OPTIONS N_TYPOLOGY_OPTIONS
StaticAssertDecl(lengthof(option_defs) == N_TYPOLOGY_OPTIONS, "every option needs a definition");

static const OptionDef *
option_lookup(const char *name, int len)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if ((int) strlen(option_defs[i].name) == len &&
			strncmp(option_defs[i].name, name, len) == 0)
			return &option_defs[i];
	return NULL;
}

/*
 * The names of all options, for error hints.
 */
static char *
option_names(void)
{
	StringInfoData names;

	initStringInfo(&names);
	for (size_t i = 0; i < N_OPTIONS; i++)
		appendStringInfo(&names, "%s%s", i > 0 ? ", " : "", option_defs[i].name);
	return names.data;
}

static void
option_check(const OptionDef *def, double value)
{
	bool		ok;
	const char *expected;

	switch (def->kind)
	{
		case OPTION_SHARE:
			ok = value > 0 && value <= 1;
			expected = "a share greater than 0 and at most 1";
			break;
		case OPTION_RATIO:
			ok = value >= 0 && value <= 1;
			expected = "a share between 0 and 1";
			break;
		case OPTION_POSITIVE:
			ok = value > 0;
			expected = "a number greater than 0";
			break;
		case OPTION_COUNT:
			ok = value >= 0 && value == floor(value) && value <= 1e9;
			expected = "a whole number between 0 and 1000000000";
			break;
		default:
			ok = value >= 0;
			expected = "a number of at least 0";
			break;
	}
	if (!ok || isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("typology option \"%s\" must be %s", def->name, expected),
				 errdetail("The value given is %s.", float8out_internal(value))));
}

/*
 * options := the defaults, overridden by the keys of json (may be NULL).
 */
void
typology_options_parse(Jsonb *json, TypologyOptions *options)
{
	JsonbIterator *it;
	JsonbValue	value;
	JsonbIteratorToken token;
	const OptionDef *def = NULL;

	for (size_t i = 0; i < N_OPTIONS; i++)
		options->value[i] = option_defs[i].default_value;
	if (json == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(json) || JB_ROOT_IS_SCALAR(json))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("typology options must be a jsonb object"),
				 errhint("For example '{\"royal_top_share\": 0.02}'.")));

	it = JsonbIteratorInit(&json->root);
	while ((token = JsonbIteratorNext(&it, &value, true)) != WJB_DONE)
	{
		if (token == WJB_KEY)
		{
			def = option_lookup(value.val.string.val, value.val.string.len);
			if (def == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown typology option \"%.*s\"",
								value.val.string.len, value.val.string.val),
						 errhint("Valid options are: %s.", option_names())));
		}
		else if (token == WJB_VALUE)
		{
			double		number;

			Assert(def != NULL);
			if (value.type != jbvNumeric)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("typology option \"%s\" must be a number", def->name)));
			number = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
														NumericGetDatum(value.val.numeric)));
			option_check(def, number);
			options->value[def - option_defs] = number;
		}
	}
}

/*
 * All options, defaults included, as a jsonb object: what a model was built
 * with, visible to BI tools.
 */
Jsonb *
typology_options_to_jsonb(const TypologyOptions *options)
{
	StringInfoData text;

	initStringInfo(&text);
	appendStringInfoChar(&text, '{');
	for (size_t i = 0; i < N_OPTIONS; i++)
		appendStringInfo(&text, "%s\"%s\": %s", i > 0 ? ", " : "", option_defs[i].name,
						 float8out_internal(options->value[i]));
	appendStringInfoChar(&text, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text.data)));
}

bool
typology_options_equal(const TypologyOptions *a, const TypologyOptions *b)
{
	return memcmp(a, b, sizeof(TypologyOptions)) == 0;
}

void
typology_options_serialize(StringInfo buf, const TypologyOptions *options)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		pq_sendfloat8(buf, options->value[i]);
}

/*
 * Read options written by typology_options_serialize, checked like user input.
 */
void
typology_options_deserialize(StringInfo buf, TypologyOptions *options)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
	{
		double		value = pq_getmsgfloat8(buf);

		if (isnan(value))
			cp_state_corrupted("An option is NaN.");
		option_check(&option_defs[i], value);
		options->value[i] = value;
	}
}
