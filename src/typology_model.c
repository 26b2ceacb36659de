/*
 * typology_model.c
 *		The population aggregate typology_model(profile [, service_contacts
 *		[, options]]): the statistics the label rules compare customers with
 *		(the royal revenue threshold, the mean revenue per customer-year, the
 *		median irregularity, the service-intensity threshold) and the options
 *		they were built with.
 *
 * Memory: 8 bytes per customer for each of the three ranked values, in the
 * aggregate's context; the final function sorts them.
 */
#include "customer_priority.h"

#include "float_list.h"
#include "money_sum.h"
#include "profile_state.h"
#include "typology.h"

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/typcache.h"

#include <math.h>

PG_FUNCTION_INFO_V1(typology_model_transfn);
PG_FUNCTION_INFO_V1(typology_model_combinefn);
PG_FUNCTION_INFO_V1(typology_model_serialfn);
PG_FUNCTION_INFO_V1(typology_model_deserialfn);
PG_FUNCTION_INFO_V1(typology_model_finalfn);

/*
 * Bump on any change of the serialized format: a leader and parallel workers
 * running different builds of the library must fail with "Unknown state
 * version" instead of misreading each other's bytes.
 */
#define MODEL_STATE_VERSION 3

#define ARG_PROFILE 1
#define ARG_SERVICE 2
#define ARG_OPTIONS 3

typedef struct ModelState
{
	TypologyOptions options;
	int64		customers;		/* non-NULL profiles */
	int64		revenue_customers;	/* profiles with a purchase */
	MoneySum	revenue_sum;	/* of their revenue_per_year */
	FloatList	revenue;		/* their revenue_per_year */
	FloatList	gap_cv;			/* defined irregularities */
	FloatList	service;		/* service intensities, where mapped */
} ModelState;

/* The options argument last parsed at this call site, kept in fn_extra. */
typedef struct OptionsCache
{
	bool		parsed;			/* options hold the parse of raw */
	Jsonb	   *raw;			/* NULL: the options argument was NULL */
	TypologyOptions options;
} OptionsCache;

/*
 * The options of this row, parsed again only when they differ from the last
 * row's (they are normally a constant).
 */
static const TypologyOptions *
row_options(FunctionCallInfo fcinfo)
{
	OptionsCache *cache = (OptionsCache *) fcinfo->flinfo->fn_extra;
	Jsonb	   *json = NULL;

	if (PG_NARGS() > ARG_OPTIONS && !PG_ARGISNULL(ARG_OPTIONS))
		json = PG_GETARG_JSONB_P(ARG_OPTIONS);
	if (cache == NULL)
	{
		cache = (OptionsCache *) MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														sizeof(OptionsCache));
		cache->parsed = false;
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cache->parsed &&
		(json == NULL) == (cache->raw == NULL) &&
		(json == NULL || (VARSIZE(json) == VARSIZE(cache->raw) &&
						  memcmp(json, cache->raw, VARSIZE(json)) == 0)))
		return &cache->options;

	typology_options_parse(json, &cache->options);
	if (cache->raw != NULL)
		pfree(cache->raw);
	cache->raw = NULL;
	if (json != NULL)
	{
		cache->raw = (Jsonb *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(json));
		memcpy(cache->raw, json, VARSIZE(json));
	}
	cache->parsed = true;
	return &cache->options;
}

/*
 * Options must be the same for all customers of one model.
 */
static void
check_same_options(const TypologyOptions *a, const TypologyOptions *b)
{
	if (!typology_options_equal(a, b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("typology options must be the same for all customers"),
				 errhint("Pass a constant or a parameter as options.")));
}

static ModelState *
model_state_create(MemoryContext context, const TypologyOptions *options)
{
	ModelState *state = (ModelState *) MemoryContextAllocZero(context, sizeof(ModelState));

	state->options = *options;
	return state;
}

/*
 * Add one customer's profile (and service contacts) to the population.
 */
Datum
typology_model_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ModelState *state = PG_ARGISNULL(0) ? NULL : (ModelState *) PG_GETARG_POINTER(0);
	const TypologyOptions *options = row_options(fcinfo);
	ProfileFields fields;

	if (state == NULL)
		state = model_state_create(context, options);
	else
		check_same_options(&state->options, options);
	if (PG_ARGISNULL(ARG_PROFILE))
		PG_RETURN_POINTER(state);

	profile_fields_read(PG_GETARG_HEAPTUPLEHEADER(ARG_PROFILE), &fields);
	state->customers++;
	if (fields.revenue_per_year != NULL)
	{
		state->revenue_customers++;
		money_sum_add(&state->revenue_sum, fields.revenue_per_year, context);
		float_list_append(&state->revenue, fields.revenue_per_year_f, context);
	}
	if (!isnan(fields.gap_cv))
		float_list_append(&state->gap_cv, fields.gap_cv, context);
	if (PG_NARGS() > ARG_SERVICE && !PG_ARGISNULL(ARG_SERVICE))
	{
		Numeric		contacts = PG_GETARG_NUMERIC(ARG_SERVICE);

		service_contacts_check(contacts);
		float_list_append(&state->service, service_intensity(contacts, fields.net_revenue),
						  context);
	}
	PG_RETURN_POINTER(state);
}

static void
model_state_merge(ModelState *state, const ModelState *other, MemoryContext context)
{
	check_same_options(&state->options, &other->options);
	state->customers += other->customers;
	state->revenue_customers += other->revenue_customers;
	money_sum_merge(&state->revenue_sum, &other->revenue_sum, context);
	float_list_append_all(&state->revenue, &other->revenue, context);
	float_list_append_all(&state->gap_cv, &other->gap_cv, context);
	float_list_append_all(&state->service, &other->service, context);
}

Datum
typology_model_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ModelState *state = PG_ARGISNULL(0) ? NULL : (ModelState *) PG_GETARG_POINTER(0);
	ModelState *other = PG_ARGISNULL(1) ? NULL : (ModelState *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = model_state_create(context, &other->options);
	model_state_merge(state, other, context);
	PG_RETURN_POINTER(state);
}

Datum
typology_model_serialfn(PG_FUNCTION_ARGS)
{
	ModelState *state = (ModelState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, MODEL_STATE_VERSION);
	typology_options_serialize(&buf, &state->options);
	pq_sendint64(&buf, state->customers);
	pq_sendint64(&buf, state->revenue_customers);
	money_sum_serialize(&buf, &state->revenue_sum);
	float_list_serialize(&buf, &state->revenue);
	float_list_serialize(&buf, &state->gap_cv);
	float_list_serialize(&buf, &state->service);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
typology_model_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	StringInfoData buf;
	TypologyOptions options;
	ModelState *state;

	cp_state_reader(&buf, PG_GETARG_BYTEA_PP(0));
	if (pq_getmsgbyte(&buf) != MODEL_STATE_VERSION)
		cp_state_corrupted("Unknown state version.");
	typology_options_deserialize(&buf, &options);
	state = model_state_create(context, &options);
	state->customers = pq_getmsgint64(&buf);
	state->revenue_customers = pq_getmsgint64(&buf);
	money_sum_deserialize(&buf, &state->revenue_sum, context);
	float_list_deserialize(&buf, &state->revenue, context);
	float_list_deserialize(&buf, &state->gap_cv, context);
	float_list_deserialize(&buf, &state->service, context);
	pq_getmsgend(&buf);
	if (state->revenue_customers != state->revenue.count ||
		state->revenue_customers > state->customers ||
		state->gap_cv.count > state->customers ||
		state->service.count > state->customers)
		cp_state_corrupted("The counters are inconsistent.");
	PG_RETURN_POINTER(state);
}

static void
set_float(Datum *values, bool *nulls, int field, double value)
{
	if (isnan(value))
		nulls[field] = true;
	else
		values[field] = Float8GetDatum(value);
}

/*
 * The typology_model composite: sorts the ranked values and reads off the
 * thresholds.  NULL when no row was aggregated.
 */
Datum
typology_model_finalfn(PG_FUNCTION_ARGS)
{
	ModelState *state;
	TupleDesc	tupdesc;
	Datum		values[M_NATTS];
	bool		nulls[M_NATTS] = {false};

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (ModelState *) PG_GETARG_POINTER(0);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "typology_model_finalfn must return a composite type");
	if (tupdesc->natts != M_NATTS)
		elog(ERROR, "typology_model has %d attributes, expected %d", tupdesc->natts, M_NATTS);

	float_list_sort(&state->revenue);
	float_list_sort(&state->gap_cv);
	float_list_sort(&state->service);

	values[M_CUSTOMERS] = Int64GetDatum(state->customers);
	set_float(values, nulls, M_ROYAL_MIN_REVENUE,
			  float_list_top_share_min(&state->revenue, state->options.value[OPT_ROYAL_TOP_SHARE]));
	if (state->revenue_customers > 0)
		values[M_MEAN_REVENUE] =
			NumericGetDatum(numeric_div_opt_error(money_sum_value(&state->revenue_sum),
												  int64_to_numeric(state->revenue_customers),
												  NULL));
	else
		nulls[M_MEAN_REVENUE] = true;
	set_float(values, nulls, M_MEDIAN_GAP_CV, float_list_lower_median(&state->gap_cv));
	values[M_SERVICE_CUSTOMERS] = Int64GetDatum(state->service.count);
	set_float(values, nulls, M_SERVICE_MIN_INTENSITY,
			  float_list_top_share_min(&state->service,
									   state->options.value[OPT_SERVICE_DEMANDER_TOP_SHARE]));
	values[M_OPTIONS] = JsonbPGetDatum(typology_options_to_jsonb(&state->options));

	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
