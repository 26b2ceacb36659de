/*
 * typology.c
 *		customer_typology(profile, model [, referrals, social_reach,
 *		service_contacts]): the labels of one customer, in priority order,
 *		its primary type and its lifecycle stage.  The rules and their
 *		defaults are documented in docs/typology.md; every threshold is an
 *		option of the model.  A label whose data is not given (NULL) is never
 *		assigned.
 */
#include "customer_priority.h"

#include "profile_state.h"
#include "typology.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/typcache.h"

#include <math.h>

PG_FUNCTION_INFO_V1(customer_typology);

#define ARG_PROFILE 0
#define ARG_MODEL 1
#define ARG_REFERRALS 2
#define ARG_REACH 3
#define ARG_SERVICE 4
#define ARG_P_ALIVE 5

/*
 * The labels in priority order: premium types, difficult segments, then the
 * lifecycle stages (exactly one of which every customer has).  The order is
 * also the priority column of the customer_type_actions view.
 */
typedef enum Label
{
	LABEL_ROYAL,
	LABEL_INFLUENCER,
	LABEL_ADVOCATE,
	LABEL_CONTENDER,
	LABEL_ADDICT,
	LABEL_SERVICE_DEMANDER,
	LABEL_REVENUE_REVERSER,
	LABEL_PROMOTION_MAXIMIZER,
	LABEL_SPENDING_LIMITER,
	LABEL_NEW,
	LABEL_REGULAR,
	LABEL_OCCASIONAL,
	LABEL_AT_RISK,
	LABEL_DORMANT,
	N_LABELS
} Label;

static const char *const label_names[N_LABELS] = {
	"royal", "influencer", "advocate", "contender", "addict",
	"service_demander", "revenue_reverser", "promotion_maximizer", "spending_limiter",
	"new", "regular", "occasional", "at_risk", "dormant"
};

/* A typology_model, parsed once per query. */
typedef struct ModelInfo
{
	CompositeCache parsed;
	TypologyOptions options;
	double		royal_min;		/* NaN: nobody is royal */
	double		mean_revenue;	/* NaN: nobody is a contender */
	double		median_gap_cv;	/* NaN: nobody is irregular */
	double		service_min;	/* NaN: nobody is a service demander */
} ModelInfo;

/*
 * Parse a typology_model into the cache, unless it is the one parsed last.
 */
static ModelInfo *
model_info(FunctionCallInfo fcinfo, HeapTupleHeader tuple)
{
	MemoryContext context = fcinfo->flinfo->fn_mcxt;
	ModelInfo  *info = (ModelInfo *) fcinfo->flinfo->fn_extra;
	TupleDesc	tupdesc;
	HeapTupleData tmptup;
	Datum		values[M_NATTS];
	bool		nulls[M_NATTS];

	if (info == NULL)
	{
		info = (ModelInfo *) MemoryContextAllocZero(context, sizeof(ModelInfo));
		fcinfo->flinfo->fn_extra = info;
	}
	if (cp_composite_unchanged(&info->parsed, tuple))
		return info;

	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(tuple),
									 HeapTupleHeaderGetTypMod(tuple));
	if (tupdesc->natts != M_NATTS)
		elog(ERROR, "typology_model has %d attributes, expected %d", tupdesc->natts, M_NATTS);
	tmptup.t_len = HeapTupleHeaderGetDatumLength(tuple);
	tmptup.t_data = tuple;
	heap_deform_tuple(&tmptup, tupdesc, values, nulls);
	ReleaseTupleDesc(tupdesc);

	if (nulls[M_OPTIONS])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("typology_model must have options"),
				 errhint("Build the model with the typology_model() aggregate.")));
	typology_options_parse(DatumGetJsonbP(values[M_OPTIONS]), &info->options);
	info->royal_min = typology_float_field(values, nulls, M_ROYAL_MIN_REVENUE);
	info->median_gap_cv = typology_float_field(values, nulls, M_MEDIAN_GAP_CV);
	info->service_min = typology_float_field(values, nulls, M_SERVICE_MIN_INTENSITY);
	info->mean_revenue = nulls[M_MEAN_REVENUE] ? get_float8_nan()
		: DatumGetFloat8(DirectFunctionCall1(numeric_float8, values[M_MEAN_REVENUE]));
	cp_composite_remember(&info->parsed, tuple, context);
	return info;
}

/*
 * A non-negative count argument as a double, or NaN when NULL.
 */
static double
count_argument(FunctionCallInfo fcinfo, int argno, const char *name)
{
	int64		value;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return get_float8_nan();
	value = PG_GETARG_INT64(argno);
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", name)));
	return (double) value;
}

/*
 * The customer's probability of being alive (BG/NBD, from a segmentation's
 * potential model) as a double, or NaN when not given.
 */
static double
p_alive_argument(FunctionCallInfo fcinfo)
{
	double		p_alive;

	if (PG_NARGS() <= ARG_P_ALIVE || PG_ARGISNULL(ARG_P_ALIVE))
		return get_float8_nan();
	p_alive = PG_GETARG_FLOAT8(ARG_P_ALIVE);
	if (!(p_alive >= 0 && p_alive <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("p_alive must be between 0 and 1, not %g", p_alive)));
	return p_alive;
}

/*
 * Is the customer still active: last order within active_gap_multiple times
 * their mean gap, and in any case within active_min_days?  Never beyond
 * dormant_days, so that a slow rhythm cannot make a dormant customer active.
 */
static bool
is_active(const ProfileFields *p, const TypologyOptions *o)
{
	double		window = o->value[OPT_ACTIVE_MIN_DAYS];

	if (!isnan(p->mean_gap_days))
		window = Max(window, o->value[OPT_ACTIVE_GAP_MULTIPLE] * p->mean_gap_days);
	return p->orders > 0 && p->recency_days <= window &&
		p->recency_days <= o->value[OPT_DORMANT_DAYS];
}

/*
 * The one lifecycle stage of a customer.
 */
static Label
lifecycle_stage(const ProfileFields *p, const TypologyOptions *o)
{
	if (p->orders == 0 || p->recency_days > o->value[OPT_DORMANT_DAYS])
		return LABEL_DORMANT;
	if (p->tenure_days <= o->value[OPT_NEW_MAX_DAYS])
		return LABEL_NEW;
	if (!is_active(p, o))
		return LABEL_AT_RISK;
	if (p->orders >= o->value[OPT_REGULAR_MIN_ORDERS])
		return LABEL_REGULAR;
	return LABEL_OCCASIONAL;
}

/*
 * Is the customer's irregularity above the population median?
 */
static bool
is_irregular(const ProfileFields *p, const ModelInfo *m)
{
	return !isnan(p->gap_cv) && !isnan(m->median_gap_cv) && p->gap_cv > m->median_gap_cv;
}

/*
 * Decide every label; has[label] is set for those that apply.
 */
static void
decide_labels(FunctionCallInfo fcinfo, const ProfileFields *p, const ModelInfo *m, bool *has)
{
	const TypologyOptions *o = &m->options;
	double		referrals = count_argument(fcinfo, ARG_REFERRALS, "referrals");
	double		reach = count_argument(fcinfo, ARG_REACH, "social_reach");
	double		p_alive = p_alive_argument(fcinfo);
	bool		buys = p->orders > 0;

	has[LABEL_ROYAL] = buys && !isnan(m->royal_min) && p->revenue_per_year_f > 0 &&
		p->revenue_per_year_f >= m->royal_min && is_active(p, o);
	has[LABEL_CONTENDER] = buys && !has[LABEL_ROYAL] && !isnan(m->mean_revenue) &&
		p->revenue_per_year_f > o->value[OPT_CONTENDER_MIN_REVENUE_RATIO] * m->mean_revenue &&
		is_irregular(p, m) &&
		(isnan(p_alive) || p_alive >= o->value[OPT_CONTENDER_MIN_P_ALIVE]);
	has[LABEL_ADDICT] = p->orders >= o->value[OPT_ADDICT_MIN_ORDERS] && is_irregular(p, m) &&
		p->weekend_share >= o->value[OPT_ADDICT_MIN_WEEKEND_SHARE];
	has[LABEL_ADVOCATE] = !isnan(referrals) && referrals >= o->value[OPT_ADVOCATE_MIN_REFERRALS];
	has[LABEL_INFLUENCER] = has[LABEL_ADVOCATE] && !isnan(reach) &&
		reach >= o->value[OPT_INFLUENCER_MIN_REACH];

	if (PG_NARGS() > ARG_SERVICE && !PG_ARGISNULL(ARG_SERVICE))
	{
		Numeric		contacts = PG_GETARG_NUMERIC(ARG_SERVICE);
		double		intensity;

		service_contacts_check(contacts);
		intensity = service_intensity(contacts, p->net_revenue);
		has[LABEL_SERVICE_DEMANDER] = !isnan(m->service_min) &&
			intensity > 0 && intensity >= m->service_min &&
			DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(contacts))) >=
			o->value[OPT_SERVICE_DEMANDER_MIN_CONTACTS];
	}
	has[LABEL_REVENUE_REVERSER] = p->orders >= o->value[OPT_REVENUE_REVERSER_MIN_ORDERS] &&
		p->return_rate >= o->value[OPT_REVENUE_REVERSER_MIN_RETURN_RATE];
	has[LABEL_PROMOTION_MAXIMIZER] = p->orders >= o->value[OPT_PROMOTION_MAXIMIZER_MIN_ORDERS] &&
		!isnan(p->discount_share) &&
		p->discount_share >= o->value[OPT_PROMOTION_MAXIMIZER_MIN_DISCOUNT_SHARE];
	has[LABEL_SPENDING_LIMITER] = p->orders >= o->value[OPT_SPENDING_LIMITER_MIN_ORDERS] &&
		!isnan(p->basket_cv) && p->basket_cv <= o->value[OPT_SPENDING_LIMITER_MAX_BASKET_CV] &&
		!isnan(p->gap_cv) && p->gap_cv <= o->value[OPT_SPENDING_LIMITER_MAX_GAP_CV];
	has[lifecycle_stage(p, o)] = true;
}

/*
 * customer_typology(profile, model, referrals, social_reach, service_contacts):
 * (labels, primary_type, lifecycle_stage), NULL for a NULL profile.
 */
Datum
customer_typology(PG_FUNCTION_ARGS)
{
	ProfileFields profile;
	ModelInfo  *model;
	bool		has[N_LABELS] = {false};
	Datum		labels[N_LABELS];
	int			count = 0;
	Label		stage = N_LABELS;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false};

	if (PG_ARGISNULL(ARG_PROFILE))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(ARG_MODEL))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be null"),
				 errhint("Build it with the typology_model() aggregate over all customers' profiles.")));
	profile_fields_read(PG_GETARG_HEAPTUPLEHEADER(ARG_PROFILE), &profile);
	model = model_info(fcinfo, PG_GETARG_HEAPTUPLEHEADER(ARG_MODEL));
	decide_labels(fcinfo, &profile, model, has);

	for (int i = 0; i < N_LABELS; i++)
	{
		if (!has[i])
			continue;
		labels[count++] = CStringGetTextDatum(label_names[i]);
		if (i >= LABEL_NEW)
			stage = (Label) i;
	}
	Assert(stage != N_LABELS);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "customer_typology must return a composite type");
	values[0] = PointerGetDatum(construct_array(labels, count, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = labels[0];
	values[2] = CStringGetTextDatum(label_names[stage]);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
