/*
 * abc.c
 *		ABC classes: the population aggregate abc_cutoffs(), the per-customer
 *		abc_class(), the multi-criteria abc_weighted_score() and the
 *		customer_potential() criterion.
 *
 * The contract (README, "ABC"), for method pareto with 0 < a < b <= 1:
 *		total	 = sum over customers of max(value, 0)
 *		before_i = sum of max(value_j, 0) over customers j with value_j > value_i
 *		class_i  = A if value_i > 0 and before_i < a * total
 *				   B if value_i > 0 and before_i < b * total
 *				   C otherwise
 * and for method share the same with every customer weighing 1 (before_i =
 * number of customers with a greater value, total = number of customers) and
 * no condition on the sign.  before_i only grows as the value falls, so each
 * class is "value >= its smallest member": the aggregate finds those two
 * cut-offs once, and classifying a customer is two comparisons.
 */
#include "customer_priority.h"

#include "abc.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(abc_cutoffs_transfn);
PG_FUNCTION_INFO_V1(abc_cutoffs_combinefn);
PG_FUNCTION_INFO_V1(abc_cutoffs_serialfn);
PG_FUNCTION_INFO_V1(abc_cutoffs_deserialfn);
PG_FUNCTION_INFO_V1(abc_cutoffs_finalfn);
PG_FUNCTION_INFO_V1(abc_class);
PG_FUNCTION_INFO_V1(abc_weighted_score);
PG_FUNCTION_INFO_V1(customer_potential);

/*
 * Bump on any change of the serialized format: a leader and parallel workers
 * running different builds of the library must fail with "Unknown state
 * version" instead of misreading each other's bytes.
 */
#define ABC_STATE_VERSION 1
#define ABC_MAX_CRITERIA 16


/* Attribute numbers (0-based) of the abc_cutoffs composite. */
enum
{
	CUT_METHOD,
	CUT_A,
	CUT_B,
	CUT_CUSTOMERS,
	CUT_TOTAL,
	CUT_A_MIN,
	CUT_B_MIN,
	CUT_A_CUSTOMERS,
	CUT_B_CUSTOMERS,
	CUT_NATTS
};

/*
 * The population state: the values that can be in A or B (pareto: the
 * positive ones; share: all), and how many customers there are.
 */
typedef struct AbcState
{
	AbcMethod	method;
	Numeric		a;				/* copies in the aggregate context */
	Numeric		b;
	int64		customers;
	NumericList values;
} AbcState;

static const char *
abc_method_name(AbcMethod method)
{
	return method == ABC_SHARE ? "share" : "pareto";
}

/*
 * Parse the method argument.
 */
static AbcMethod
abc_parse_method(const char *name)
{
	if (strcmp(name, "pareto") == 0)
		return ABC_PARETO;
	if (strcmp(name, "share") == 0)
		return ABC_SHARE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown ABC method \"%s\"", name),
			 errhint("Use \"pareto\" (cumulative share of the value) or \"share\" (share of customers).")));
	return ABC_UNSET;			/* keep the compiler quiet */
}

/*
 * Raise an error unless 0 < a < b <= 1.
 */
void
abc_check_thresholds(Numeric a, Numeric b)
{
	Numeric		one = int64_to_numeric(1);

	cp_check_finite_amount(a, "ABC threshold a");
	cp_check_finite_amount(b, "ABC threshold b");
	if (cp_numeric_sign(a) <= 0 || cp_numeric_cmp(a, b) >= 0 || cp_numeric_cmp(b, one) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ABC thresholds must satisfy 0 < a < b <= 1"),
				 errdetail("Got a = %s and b = %s.",
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(a))),
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(b)))),
				 errhint("The defaults are a = 0.80 and b = 0.95.")));
}

/*
 * Take the parameters of this row: they must be the same for all rows.
 */
static void
abc_state_set_parameters(AbcState *state, AbcMethod method, Numeric a, Numeric b,
						 MemoryContext context)
{
	if (state->method == ABC_UNSET)
	{
		abc_check_thresholds(a, b);
		state->method = method;
		state->a = cp_numeric_copy(a, context);
		state->b = cp_numeric_copy(b, context);
		return;
	}
	if (state->method != method || cp_numeric_cmp(state->a, a) != 0 ||
		cp_numeric_cmp(state->b, b) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ABC thresholds and method must be the same for all rows"),
				 errhint("Pass constants or parameters.")));
}

/*
 * abc_cutoffs(value [, a, b [, method]]) transition: NULL values are skipped.
 */
Datum
abc_cutoffs_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	AbcState   *state = PG_ARGISNULL(0) ? NULL : (AbcState *) PG_GETARG_POINTER(0);
	AbcMethod	method = ABC_PARETO;
	Numeric		a;
	Numeric		b;
	Numeric		value;

	for (int i = 2; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ABC thresholds and method must not be null")));
	if (state == NULL)
		state = (AbcState *) MemoryContextAllocZero(context, sizeof(AbcState));
	if (PG_NARGS() >= 4)
	{
		/* explicit parameters: checked on every row, they could vary */
		a = PG_GETARG_NUMERIC(2);
		b = PG_GETARG_NUMERIC(3);
		if (PG_NARGS() >= 5)
			method = abc_parse_method(text_to_cstring(PG_GETARG_TEXT_PP(4)));
		abc_state_set_parameters(state, method, a, b, context);
	}
	else if (state->method == ABC_UNSET)
	{
		a = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum("0.80"),
												ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
		b = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum("0.95"),
												ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
		abc_state_set_parameters(state, method, a, b, context);
	}

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);
	value = PG_GETARG_NUMERIC(1);
	cp_check_finite_amount(value, "value");
	state->customers++;
	if (state->method == ABC_SHARE || cp_numeric_sign(value) > 0)
		numeric_list_append(&state->values, value, context);
	PG_RETURN_POINTER(state);
}

/*
 * Combine two partial states (the other may be short-lived: copy).
 */
Datum
abc_cutoffs_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	AbcState   *state = PG_ARGISNULL(0) ? NULL : (AbcState *) PG_GETARG_POINTER(0);
	AbcState   *other = PG_ARGISNULL(1) ? NULL : (AbcState *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = (AbcState *) MemoryContextAllocZero(context, sizeof(AbcState));
	abc_state_set_parameters(state, other->method, other->a, other->b, context);
	state->customers += other->customers;
	numeric_list_append_all(&state->values, &other->values, context);
	PG_RETURN_POINTER(state);
}

/*
 * State to bytea: version, method, a, b, customers, values.
 */
Datum
abc_cutoffs_serialfn(PG_FUNCTION_ARGS)
{
	AbcState   *state = (AbcState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, ABC_STATE_VERSION);
	pq_sendbyte(&buf, (int) state->method);
	cp_state_send_numeric(&buf, state->a);
	cp_state_send_numeric(&buf, state->b);
	pq_sendint64(&buf, state->customers);
	numeric_list_serialize(&buf, &state->values);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * bytea to state, checked like a fresh one.
 */
Datum
abc_cutoffs_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	StringInfoData buf;
	AbcState   *state;
	int			method;

	cp_state_reader(&buf, PG_GETARG_BYTEA_PP(0));
	if (pq_getmsgbyte(&buf) != ABC_STATE_VERSION)
		cp_state_corrupted("Unknown state version.");
	method = pq_getmsgbyte(&buf);
	if (method != ABC_PARETO && method != ABC_SHARE)
		cp_state_corrupted("Unknown ABC method.");
	state = (AbcState *) MemoryContextAllocZero(context, sizeof(AbcState));
	state->method = (AbcMethod) method;
	state->a = cp_numeric_copy(cp_state_recv_numeric(&buf, "a serialized threshold"), context);
	state->b = cp_numeric_copy(cp_state_recv_numeric(&buf, "a serialized threshold"), context);
	abc_check_thresholds(state->a, state->b);
	state->customers = pq_getmsgint64(&buf);
	numeric_list_deserialize(&buf, &state->values, context);
	pq_getmsgend(&buf);
	if (state->customers < state->values.count)
		cp_state_corrupted("More values than customers.");
	PG_RETURN_POINTER(state);
}

/*
 * Walk the values from the largest down, group by group of equal values; a
 * group is A while the weight strictly before it is below a * total, then B
 * while below b * total.  values are sorted here; customers counts every
 * customer with a value (for method share).
 */
void
abc_find_cutoffs(NumericList *values, AbcMethod method, Numeric a, Numeric b,
				 int64 customers, AbcCutoffs *cut)
{
	Numeric		a_limit;
	Numeric		b_limit;
	Numeric		before;
	int64		i;

	memset(cut, 0, sizeof(AbcCutoffs));
	numeric_list_sort(values);
	if (method == ABC_SHARE)
		cut->total = int64_to_numeric(customers);
	else
	{
		cut->total = cp_numeric_zero();
		for (i = 0; i < values->count; i++)
		{
			cut->total = numeric_add_opt_error(cut->total, values->items[i], NULL);
			cp_check_interrupts(i);
		}
	}
	a_limit = numeric_mul_opt_error(a, cut->total, NULL);
	b_limit = numeric_mul_opt_error(b, cut->total, NULL);

	before = cp_numeric_zero();
	i = values->count - 1;
	while (i >= 0)
	{
		Numeric		value = values->items[i];
		int64		group_end = i;
		Numeric		group_weight;

		while (i >= 0 && cp_numeric_cmp(values->items[i], value) == 0)
		{
			cp_check_interrupts(i);
			i--;
		}
		if (cp_numeric_cmp(before, a_limit) < 0)
		{
			cut->a_min = value;
			cut->a_customers += group_end - i;
		}
		else if (cp_numeric_cmp(before, b_limit) < 0)
		{
			cut->b_min = value;
			cut->b_customers += group_end - i;
		}
		else
			break;
		group_weight = method == ABC_SHARE
			? int64_to_numeric(group_end - i)
			: numeric_mul_opt_error(value, int64_to_numeric(group_end - i), NULL);
		before = numeric_add_opt_error(before, group_weight, NULL);
	}
}

/*
 * The class of value under the cut-offs: 'A', 'B' or 'C'.  With method
 * pareto only positive values can be A or B.
 */
char
abc_class_of(AbcMethod method, Numeric a_min, Numeric b_min, Numeric value)
{
	bool		any_value = method == ABC_SHARE || cp_numeric_sign(value) > 0;

	if (any_value && a_min != NULL && cp_numeric_cmp(value, a_min) >= 0)
		return 'A';
	if (any_value && b_min != NULL && cp_numeric_cmp(value, b_min) >= 0)
		return 'B';
	return 'C';
}

/*
 * Final: the cut-offs as an abc_cutoffs composite.  NULL for an empty
 * population.
 */
Datum
abc_cutoffs_finalfn(PG_FUNCTION_ARGS)
{
	AbcState   *state;
	AbcCutoffs	cut;
	TupleDesc	tupdesc;
	Datum		result[CUT_NATTS];
	bool		nulls[CUT_NATTS] = {false};

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (AbcState *) PG_GETARG_POINTER(0);
	if (state->customers == 0)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "abc_cutoffs_finalfn must return a composite type");

	abc_find_cutoffs(&state->values, state->method, state->a, state->b, state->customers, &cut);

	result[CUT_METHOD] = CStringGetTextDatum(abc_method_name(state->method));
	result[CUT_A] = NumericGetDatum(state->a);
	result[CUT_B] = NumericGetDatum(state->b);
	result[CUT_CUSTOMERS] = Int64GetDatum(state->customers);
	result[CUT_TOTAL] = NumericGetDatum(cut.total);
	result[CUT_A_MIN] = cut.a_min ? NumericGetDatum(cut.a_min) : (Datum) 0;
	nulls[CUT_A_MIN] = cut.a_min == NULL;
	result[CUT_B_MIN] = cut.b_min ? NumericGetDatum(cut.b_min) : (Datum) 0;
	nulls[CUT_B_MIN] = cut.b_min == NULL;
	result[CUT_A_CUSTOMERS] = Int64GetDatum(cut.a_customers);
	result[CUT_B_CUSTOMERS] = Int64GetDatum(cut.b_customers);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, result, nulls)));
}

/* What abc_class needs of an abc_cutoffs value, parsed once per query. */
typedef struct ClassCache
{
	CompositeCache parsed;
	AbcMethod	method;
	Numeric		a_min;			/* NULL: class A is empty */
	Numeric		b_min;			/* NULL: class B is empty */
} ClassCache;

/*
 * Parse an abc_cutoffs value into the cache, unless it is the one parsed
 * last (the cut-offs are usually the same for every customer).
 */
static ClassCache *
class_cache(FunctionCallInfo fcinfo, HeapTupleHeader tuple)
{
	MemoryContext context = fcinfo->flinfo->fn_mcxt;
	ClassCache *cache = (ClassCache *) fcinfo->flinfo->fn_extra;
	TupleDesc	tupdesc;
	HeapTupleData tmptup;
	Datum		fields[CUT_NATTS];
	bool		nulls[CUT_NATTS];

	if (cache == NULL)
	{
		cache = (ClassCache *) MemoryContextAllocZero(context, sizeof(ClassCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cp_composite_unchanged(&cache->parsed, tuple))
		return cache;

	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(tuple),
									 HeapTupleHeaderGetTypMod(tuple));
	if (tupdesc->natts != CUT_NATTS)
		elog(ERROR, "abc_cutoffs has %d attributes, expected %d", tupdesc->natts, CUT_NATTS);
	tmptup.t_len = HeapTupleHeaderGetDatumLength(tuple);
	tmptup.t_data = tuple;
	heap_deform_tuple(&tmptup, tupdesc, fields, nulls);
	ReleaseTupleDesc(tupdesc);

	if (nulls[CUT_METHOD])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("abc_cutoffs must have a method"),
				 errhint("Build cut-offs with the abc_cutoffs() aggregate.")));
	cache->method = abc_parse_method(TextDatumGetCString(fields[CUT_METHOD]));
	cache->a_min = nulls[CUT_A_MIN] ? NULL
		: cp_numeric_copy(DatumGetNumeric(fields[CUT_A_MIN]), context);
	cache->b_min = nulls[CUT_B_MIN] ? NULL
		: cp_numeric_copy(DatumGetNumeric(fields[CUT_B_MIN]), context);
	cp_composite_remember(&cache->parsed, tuple, context);
	return cache;
}

/*
 * abc_class(value, cutoffs): 'A', 'B' or 'C'.
 */
Datum
abc_class(PG_FUNCTION_ARGS)
{
	Numeric		value = PG_GETARG_NUMERIC(0);
	ClassCache *cache = class_cache(fcinfo, PG_GETARG_HEAPTUPLEHEADER(1));
	char		class;

	cp_check_finite_amount(value, "value");
	class = abc_class_of(cache->method, cache->a_min, cache->b_min, value);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(&class, 1));
}

/*
 * Deconstruct a float8 array of 1..ABC_MAX_CRITERIA finite elements without
 * NULLs.
 */
static int
criteria_array(ArrayType *array, const char *name, float8 **values)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	deconstruct_array(array, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n < 1 || n > ABC_MAX_CRITERIA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must have between 1 and %d elements, not %d", name, ABC_MAX_CRITERIA, n)));
	*values = palloc(sizeof(float8) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", name),
					 errhint("Give a criterion that does not apply weight 0 and rank 0.")));
		(*values)[i] = DatumGetFloat8(elems[i]);
		if (isnan((*values)[i]) || isinf((*values)[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s must be finite", name)));
	}
	return n;
}

/*
 * sum(w_i * r_i) / sum(w_i) for weights whose sum overflows float8 (each one
 * finite, but near DBL_MAX): every weight divided by the largest first, which
 * leaves the ratio as it is and keeps the sums below n.
 */
static float8
weighted_score_scaled(const float8 *ranks, const float8 *weights, int n)
{
	float8		largest = 0;
	float8		weighted = 0;
	float8		total_weight = 0;

	for (int i = 0; i < n; i++)
		largest = Max(largest, weights[i]);
	for (int i = 0; i < n; i++)
	{
		weighted += weights[i] / largest * ranks[i];
		total_weight += weights[i] / largest;
	}
	return weighted / total_weight;
}

/*
 * abc_weighted_score(ranks, weights) = sum(w_i * r_i) / sum(w_i), with ranks
 * in 0..1 and weights >= 0, not all zero.
 */
Datum
abc_weighted_score(PG_FUNCTION_ARGS)
{
	float8	   *ranks;
	float8	   *weights;
	int			n = criteria_array(PG_GETARG_ARRAYTYPE_P(0), "ranks", &ranks);
	float8		weighted = 0;
	float8		total_weight = 0;

	if (criteria_array(PG_GETARG_ARRAYTYPE_P(1), "weights", &weights) != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ranks and weights must have the same number of elements")));
	for (int i = 0; i < n; i++)
	{
		if (ranks[i] < 0 || ranks[i] > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ranks must be between 0 and 1, not %g", ranks[i]),
					 errhint("Normalise each criterion, e.g. with cume_dist() OVER (ORDER BY criterion).")));
		if (weights[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weights must not be negative, not %g", weights[i])));
		weighted += weights[i] * ranks[i];
		total_weight += weights[i];
	}
	if (total_weight <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("at least one weight must be positive")));
	if (isinf(total_weight))
		PG_RETURN_FLOAT8(weighted_score_scaled(ranks, weights, n));
	PG_RETURN_FLOAT8(weighted / total_weight);
}

/*
 * A float8 field of an rfm_metrics value, NULL-aware.
 */
static bool
metrics_field(HeapTupleHeader metrics, const char *name, float8 *value)
{
	bool		isnull;
	Datum		datum = GetAttributeByName(metrics, name, &isnull);

	if (isnull)
		return false;
	if (strcmp(name, "average_order_value") == 0)
		*value = DatumGetFloat8(DirectFunctionCall1(numeric_float8, datum));
	else if (strcmp(name, "frequency") == 0)
		*value = (float8) DatumGetInt64(datum);
	else
		*value = (float8) DatumGetInt32(datum);
	return true;
}

/*
 * customer_potential(metrics): expected revenue in the 365 days after as_of,
 * a documented heuristic until the BG/NBD model is in:
 *		T = max(tenure_days, 365), rate = frequency * 365 / T purchases a year,
 *		gap = T / frequency days, p_active = exp(-recency_days / gap),
 *		potential = rate * p_active * max(average_order_value, 0),
 * rounded to cents.  NULL for a customer without a purchase.  The one-year
 * floor on tenure keeps young customers from being extrapolated: one order
 * yesterday predicts about one order next year, not twelve.
 */
Datum
customer_potential(PG_FUNCTION_ARGS)
{
	HeapTupleHeader metrics = PG_GETARG_HEAPTUPLEHEADER(0);
	float8		frequency;
	float8		tenure;
	float8		recency;
	float8		aov;
	float8		potential;

	if (!metrics_field(metrics, "frequency", &frequency) || frequency <= 0 ||
		!metrics_field(metrics, "tenure_days", &tenure) ||
		!metrics_field(metrics, "recency_days", &recency) ||
		!metrics_field(metrics, "average_order_value", &aov))
		PG_RETURN_NULL();
	tenure = Max(tenure, 365);
	potential = (frequency * 365 / tenure) * exp(-recency / (tenure / frequency)) * Max(aov, 0);
	PG_RETURN_DATUM(DirectFunctionCall2(numeric_round,
										DirectFunctionCall1(float8_numeric, Float8GetDatum(potential)),
										Int32GetDatum(2)));
}
