/*
 * breaks.c
 *		RFM break points and scores.
 *
 * The contract (see README, "Scoring contract"): with N bins,
 *		b_k = percentile_disc(k/N) of the metric over all customers, k = 1..N-1
 *		score = 1 + #{ k : value > b_k }
 * so equal values always get equal scores.  percentile_disc(p) is the value at
 * 1-based position ceil(p * n) of the n sorted values; we compute that
 * position in exact integer arithmetic, ceil(k * n / N).
 *
 * Exact quantiles need every value, so the population aggregate keeps three
 * arrays of one entry per customer (about 40 bytes per customer), sorts them
 * in the final function and picks the N-1 positions.
 */
#include "customer_priority.h"

#include "breaks.h"
#include "calendar.h"
#include "int64_sort.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(rfm_breaks_transfn);
PG_FUNCTION_INFO_V1(rfm_breaks_combinefn);
PG_FUNCTION_INFO_V1(rfm_breaks_serialfn);
PG_FUNCTION_INFO_V1(rfm_breaks_deserialfn);
PG_FUNCTION_INFO_V1(rfm_breaks_finalfn);
PG_FUNCTION_INFO_V1(rfm_custom_breaks);
PG_FUNCTION_INFO_V1(rfm_score);
PG_FUNCTION_INFO_V1(bin_score);

/*
 * Bump on any change of the serialized format: a leader and parallel workers
 * running different builds of the library must fail with "Unknown state
 * version" instead of misreading each other's bytes.
 */
#define BREAKS_STATE_VERSION 1

/* Attribute numbers (0-based) of the rfm_breaks composite. */
enum
{
	BREAKS_BINS,
	BREAKS_CUSTOMERS,
	BREAKS_RECENCY,
	BREAKS_FREQUENCY,
	BREAKS_MONETARY,
	BREAKS_NATTS
};

/* The population aggregate's state: one entry per customer. */
typedef struct BreaksState
{
	int32		bins;			/* 0 until the first row */
	int64		count;
	int64		capacity;
	TimestampTz *last_order;
	int64	   *frequency;
	NumericList monetary;
} BreaksState;


/*
 * Make room for extra more customers' timestamps and counts.
 */
static void
breaks_state_reserve(BreaksState *state, int64 extra, MemoryContext context)
{
	int64		capacity;

	if (state->count + extra <= state->capacity)
		return;
	capacity = Max(Max(state->capacity * 2, 1024), state->count + extra);
	if (state->last_order == NULL)
	{
		state->last_order = MemoryContextAllocHuge(context, sizeof(TimestampTz) * capacity);
		state->frequency = MemoryContextAllocHuge(context, sizeof(int64) * capacity);
	}
	else
	{
		state->last_order = repalloc_huge(state->last_order, sizeof(TimestampTz) * capacity);
		state->frequency = repalloc_huge(state->frequency, sizeof(int64) * capacity);
	}
	state->capacity = capacity;
}

/*
 * Append one customer's recency and frequency values (monetary goes to its
 * own list).
 */
static void
breaks_state_append(BreaksState *state, TimestampTz last_order, int64 frequency,
					MemoryContext context)
{
	breaks_state_reserve(state, 1, context);
	state->last_order[state->count] = last_order;
	state->frequency[state->count] = frequency;
	state->count++;
}

/*
 * bins must be the same in every row of one population.
 */
static void
breaks_state_set_bins(BreaksState *state, int32 bins)
{
	if (state->bins == 0)
	{
		cp_check_bins(bins, "bins");
		state->bins = bins;
	}
	else if (state->bins != bins)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be the same for all rows of rfm_breaks"),
				 errdetail("Saw %d and then %d.", state->bins, bins)));
}

/*
 * rfm_breaks(last_order, frequency, monetary, bins) transition: rows with a
 * NULL metric (customers without a purchase) are skipped.
 */
Datum
rfm_breaks_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	BreaksState *state = PG_ARGISNULL(0) ? NULL : (BreaksState *) PG_GETARG_POINTER(0);
	TimestampTz last_order;
	Numeric		monetary;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bins must not be null")));
	if (state == NULL)
		state = (BreaksState *) MemoryContextAllocZero(context, sizeof(BreaksState));
	breaks_state_set_bins(state, PG_GETARG_INT32(4));

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_POINTER(state);
	last_order = PG_GETARG_TIMESTAMPTZ(1);
	cp_check_finite_timestamp(last_order, "last_order");
	monetary = PG_GETARG_NUMERIC(3);
	cp_check_finite_amount(monetary, "monetary");
	breaks_state_append(state, last_order, PG_GETARG_INT64(2), context);
	numeric_list_append(&state->monetary, monetary, context);
	PG_RETURN_POINTER(state);
}

/*
 * Combine: append the other state's customers (copied, since the other state
 * may live in a short-lived context).
 */
Datum
rfm_breaks_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	BreaksState *state = PG_ARGISNULL(0) ? NULL : (BreaksState *) PG_GETARG_POINTER(0);
	BreaksState *other = PG_ARGISNULL(1) ? NULL : (BreaksState *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = (BreaksState *) MemoryContextAllocZero(context, sizeof(BreaksState));
	breaks_state_set_bins(state, other->bins);
	breaks_state_reserve(state, other->count, context);
	for (int64 i = 0; i < other->count; i++)
	{
		breaks_state_append(state, other->last_order[i], other->frequency[i], context);
		cp_check_interrupts(i);
	}
	numeric_list_append_all(&state->monetary, &other->monetary, context);
	PG_RETURN_POINTER(state);
}

/*
 * State to bytea: version, bins, count, the two int64 columns, the monetary
 * list.
 */
Datum
rfm_breaks_serialfn(PG_FUNCTION_ARGS)
{
	BreaksState *state = (BreaksState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, BREAKS_STATE_VERSION);
	pq_sendint32(&buf, state->bins);
	pq_sendint64(&buf, state->count);
	for (int64 i = 0; i < state->count; i++)
	{
		pq_sendint64(&buf, state->last_order[i]);
		pq_sendint64(&buf, state->frequency[i]);
	}
	numeric_list_serialize(&buf, &state->monetary);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * bytea to state.  The count is checked against the bytes present before
 * anything is allocated, and every numeric goes through numeric_recv.
 */
Datum
rfm_breaks_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	BreaksState *state;
	int32		bins;
	int64		count;

	cp_state_reader(&buf, bytes);

	if (pq_getmsgbyte(&buf) != BREAKS_STATE_VERSION)
		cp_state_corrupted("Unknown state version.");
	bins = pq_getmsgint(&buf, 4);
	if (bins < CP_MIN_BINS || bins > CP_MAX_BINS)
		cp_state_corrupted("Bins out of range.");
	count = pq_getmsgint64(&buf);
	/* each customer takes 16 bytes here plus at least 8 for its numeric */
	if (count < 0 || count > (buf.len - buf.cursor) / 24)
		cp_state_corrupted("The customer count does not match the length.");

	state = (BreaksState *) MemoryContextAllocZero(context, sizeof(BreaksState));
	state->bins = bins;
	breaks_state_reserve(state, count, context);
	for (int64 i = 0; i < count; i++)
	{
		TimestampTz last_order = pq_getmsgint64(&buf);
		int64		frequency = pq_getmsgint64(&buf);

		cp_check_finite_timestamp(last_order, "a serialized last_order");
		breaks_state_append(state, last_order, frequency, context);
		cp_check_interrupts(i);
	}
	numeric_list_deserialize(&buf, &state->monetary, context);
	if (state->monetary.count != count)
		cp_state_corrupted("The monetary values do not match the customer count.");
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/*
 * 0-based index of percentile_disc(k / bins) among count sorted values:
 * position ceil(k * count / bins), at least 1.
 */
int64
rfm_quantile_index(int k, int bins, int64 count)
{
	int64		position = ((int64) k * count + bins - 1) / bins;

	return Max(position, 1) - 1;
}

/*
 * Build an rfm_breaks composite.  customers < 0 means NULL.
 */
static Datum
make_breaks_datum(FunctionCallInfo fcinfo, int bins, int64 customers,
				  const TimestampTz *recency, const int64 *frequency, const Numeric *monetary)
{
	TupleDesc	tupdesc;
	Datum		values[BREAKS_NATTS];
	bool		nulls[BREAKS_NATTS] = {false};
	Datum		elems[CP_MAX_BREAKS];
	int			n = bins - 1;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "function returning rfm_breaks called in a context that cannot accept it");

	values[BREAKS_BINS] = Int32GetDatum(bins);
	values[BREAKS_CUSTOMERS] = Int64GetDatum(customers);
	nulls[BREAKS_CUSTOMERS] = customers < 0;
	for (int k = 0; k < n; k++)
		elems[k] = TimestampTzGetDatum(recency[k]);
	values[BREAKS_RECENCY] = PointerGetDatum(construct_array(elems, n, TIMESTAMPTZOID, sizeof(TimestampTz),
															 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	for (int k = 0; k < n; k++)
		elems[k] = Int64GetDatum(frequency[k]);
	values[BREAKS_FREQUENCY] = PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64),
															   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	for (int k = 0; k < n; k++)
		elems[k] = NumericGetDatum(monetary[k]);
	values[BREAKS_MONETARY] = PointerGetDatum(construct_array(elems, n, NUMERICOID, -1,
															  false, TYPALIGN_INT));
	tupdesc = BlessTupleDesc(tupdesc);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * Sort the population's last order times and frequencies in place and pick
 * the N-1 break points of each (not the monetary ones).  count must be > 0.
 */
void
rfm_breaks_pick_recency_frequency(TimestampTz *last_order, int64 *frequency, int64 count,
								  int bins, RfmBreaks *breaks)
{
	int64_sort(last_order, count);
	int64_sort(frequency, count);
	breaks->bins = bins;
	for (int k = 1; k < bins; k++)
	{
		int64		i = rfm_quantile_index(k, bins, count);

		breaks->recency[k - 1] = last_order[i];
		breaks->frequency[k - 1] = frequency[i];
	}
}

/*
 * Sort the population's metrics in place and pick the N-1 break points of
 * each; breaks->monetary points into the list.  count must be > 0.
 */
void
rfm_breaks_pick(TimestampTz *last_order, int64 *frequency, NumericList *monetary,
				int64 count, int bins, RfmBreaks *breaks)
{
	rfm_breaks_pick_recency_frequency(last_order, frequency, count, bins, breaks);
	numeric_list_sort(monetary);
	for (int k = 1; k < bins; k++)
		breaks->monetary[k - 1] = monetary->items[rfm_quantile_index(k, bins, count)];
}

/*
 * The three scores of one customer: 1 + the number of breaks below each
 * metric.
 */
void
rfm_breaks_score(const RfmBreaks *breaks, TimestampTz last_order, int64 frequency,
				 Numeric monetary, int *r, int *f, int *m)
{
	*r = *f = *m = 1;
	for (int k = 0; k < breaks->bins - 1; k++)
	{
		*r += last_order > breaks->recency[k];
		*f += frequency > breaks->frequency[k];
		*m += cp_numeric_cmp(monetary, breaks->monetary[k]) > 0;
	}
}

/*
 * Final: sort each metric and pick the break points.  NULL for an empty
 * population (there is nothing to rank against).
 */
Datum
rfm_breaks_finalfn(PG_FUNCTION_ARGS)
{
	BreaksState *state;
	RfmBreaks	breaks;

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (BreaksState *) PG_GETARG_POINTER(0);
	if (state->count == 0)
		PG_RETURN_NULL();

	rfm_breaks_pick(state->last_order, state->frequency, &state->monetary, state->count,
					state->bins, &breaks);
	PG_RETURN_DATUM(make_breaks_datum(fcinfo, state->bins, state->count,
									  breaks.recency, breaks.frequency, breaks.monetary));
}

/*
 * Deconstruct a one-dimensional array without NULLs of 1..CP_MAX_BREAKS
 * elements; name is used in errors.
 */
static int
break_array_elements(ArrayType *array, const char *name, Datum **elems)
{
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s break points must be a one-dimensional array", name)));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, elems, &nulls, &n);
	if (n < 1 || n > CP_MAX_BREAKS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs between 1 and %d break points, not %d", name, CP_MAX_BREAKS, n),
				 errdetail("N bins take N - 1 break points, and N is between %d and %d.",
						   CP_MIN_BINS, CP_MAX_BINS)));
	for (int i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s break points must not contain NULL", name)));
	return n;
}

/*
 * Raise an error unless a break list is ascending: non-decreasing, or
 * strictly increasing when strict (hand-written breaks with a duplicate are
 * a mistake; quantile breaks repeat under ties).
 */
static void
check_ascending(int cmp, bool strict, const char *name, int position)
{
	if (cmp > 0 || (strict && cmp == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s break points must be %s", name,
						strict ? "strictly increasing" : "in ascending order"),
				 errdetail("Break point %d is %s the one before it.", position + 1,
						   cmp > 0 ? "smaller than" : "equal to")));
}

/*
 * Parse and check the three break arrays of an rfm_breaks value.
 */
static void
parse_breaks(HeapTupleHeader tuple, RfmBreaks *breaks, MemoryContext context)
{
	Oid			type = HeapTupleHeaderGetTypeId(tuple);
	int32		typmod = HeapTupleHeaderGetTypMod(tuple);
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(type, typmod);
	HeapTupleData tmptup;
	Datum		values[BREAKS_NATTS];
	bool		nulls[BREAKS_NATTS];
	Datum	   *elems;
	int			n;

	if (tupdesc->natts != BREAKS_NATTS)
		elog(ERROR, "rfm_breaks has %d attributes, expected %d", tupdesc->natts, BREAKS_NATTS);
	tmptup.t_len = HeapTupleHeaderGetDatumLength(tuple);
	tmptup.t_data = tuple;
	heap_deform_tuple(&tmptup, tupdesc, values, nulls);
	ReleaseTupleDesc(tupdesc);

	for (int i = 0; i < BREAKS_NATTS; i++)
		if (nulls[i] && i != BREAKS_CUSTOMERS)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rfm_breaks must have bins and all three break arrays"),
					 errhint("Build breaks with rfm_breaks() or rfm_custom_breaks().")));
	breaks->bins = DatumGetInt32(values[BREAKS_BINS]);
	cp_check_bins(breaks->bins, "bins");

	n = break_array_elements(DatumGetArrayTypeP(values[BREAKS_RECENCY]), "recency", &elems);
	if (n != breaks->bins - 1)
		goto wrong_length;
	for (int k = 0; k < n; k++)
	{
		breaks->recency[k] = DatumGetTimestampTz(elems[k]);
		cp_check_finite_timestamp(breaks->recency[k], "a recency break point");
		if (k > 0)
			check_ascending((breaks->recency[k - 1] > breaks->recency[k]) -
							(breaks->recency[k - 1] < breaks->recency[k]), false, "recency", k);
	}
	n = break_array_elements(DatumGetArrayTypeP(values[BREAKS_FREQUENCY]), "frequency", &elems);
	if (n != breaks->bins - 1)
		goto wrong_length;
	for (int k = 0; k < n; k++)
	{
		breaks->frequency[k] = DatumGetInt64(elems[k]);
		if (k > 0)
			check_ascending((breaks->frequency[k - 1] > breaks->frequency[k]) -
							(breaks->frequency[k - 1] < breaks->frequency[k]), false, "frequency", k);
	}
	n = break_array_elements(DatumGetArrayTypeP(values[BREAKS_MONETARY]), "monetary", &elems);
	if (n != breaks->bins - 1)
		goto wrong_length;
	for (int k = 0; k < n; k++)
	{
		breaks->monetary[k] = cp_numeric_copy(DatumGetNumeric(elems[k]), context);
		cp_check_finite_amount(breaks->monetary[k], "a monetary break point");
		if (k > 0)
			check_ascending(cp_numeric_cmp(breaks->monetary[k - 1], breaks->monetary[k]),
							false, "monetary", k);
	}
	return;

wrong_length:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("each break array must have bins - 1 = %d elements", breaks->bins - 1)));
}

/*
 * rfm_custom_breaks(as_of, recency_days, frequency, monetary): user break
 * points, each the inclusive upper bound of its bin.  Recency is given in
 * days (lower is better): "days <= d" is "last order on or after the local
 * day as_of - d", stored as the instant just before that day starts, so that
 * score = 1 + #{ k : last_order > b_k } holds for every metric.
 */
Datum
rfm_custom_breaks(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(0);
	Datum	   *days;
	Datum	   *freq;
	Datum	   *money;
	int			n;
	TimestampTz recency[CP_MAX_BREAKS];
	int64		frequency[CP_MAX_BREAKS];
	Numeric		monetary[CP_MAX_BREAKS];
	DateADT		as_of_date;

	cp_check_finite_timestamp(as_of, "as_of");
	n = break_array_elements(PG_GETARG_ARRAYTYPE_P(1), "recency_days", &days);
	if (break_array_elements(PG_GETARG_ARRAYTYPE_P(2), "frequency", &freq) != n ||
		break_array_elements(PG_GETARG_ARRAYTYPE_P(3), "monetary", &money) != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency_days, frequency and monetary must have the same number of break points"),
				 errdetail("N bins take N - 1 break points for every metric.")));

	as_of_date = cp_session_date(as_of);
	for (int k = 0; k < n; k++)
	{
		int32		d = DatumGetInt32(days[k]);
		int64		f = DatumGetInt64(freq[k]);
		Numeric		m = DatumGetNumeric(money[k]);
		TimestampTz day_start;

		if (d < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("recency_days break points must not be negative")));
		cp_check_finite_amount(m, "a monetary break point");
		if (k > 0)
		{
			check_ascending((DatumGetInt32(days[k - 1]) > d) - (DatumGetInt32(days[k - 1]) < d),
							true, "recency_days", k);
			check_ascending((DatumGetInt64(freq[k - 1]) > f) - (DatumGetInt64(freq[k - 1]) < f),
							true, "frequency", k);
			check_ascending(cp_numeric_cmp(DatumGetNumeric(money[k - 1]), m), true, "monetary", k);
		}
		day_start = DatumGetTimestampTz(DirectFunctionCall1(date_timestamptz,
															DateADTGetDatum(as_of_date - d)));
		/* larger day counts are earlier instants: store in ascending order */
		recency[n - 1 - k] = day_start - 1;
		frequency[k] = f;
		monetary[k] = m;
	}
	PG_RETURN_DATUM(make_breaks_datum(fcinfo, n + 1, -1, recency, frequency, monetary));
}

/* Per-call-site cache of rfm_score: the parsed breaks and the result type. */
typedef struct ScoreCache
{
	CompositeCache parsed;		/* the rfm_breaks value breaks was parsed from */
	RfmBreaks	breaks;
	TupleDesc	result;
} ScoreCache;

/*
 * The parsed breaks of this call, reparsed only when the breaks value
 * differs from the last call's (it is usually the same for every customer).
 */
static ScoreCache *
score_cache(FunctionCallInfo fcinfo, HeapTupleHeader tuple)
{
	ScoreCache *cache = (ScoreCache *) fcinfo->flinfo->fn_extra;
	MemoryContext context = fcinfo->flinfo->fn_mcxt;
	MemoryContext old;
	TupleDesc	tupdesc;

	if (cache == NULL)
	{
		cache = (ScoreCache *) MemoryContextAllocZero(context, sizeof(ScoreCache));
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "rfm_score must return a composite type");
		old = MemoryContextSwitchTo(context);
		cache->result = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cp_composite_unchanged(&cache->parsed, tuple))
		return cache;

	if (cache->parsed.raw != NULL)
	{
		for (int k = 0; k < cache->breaks.bins - 1; k++)
			pfree(cache->breaks.monetary[k]);
		pfree(cache->parsed.raw);
		cache->parsed.raw = NULL;
	}
	memset(&cache->breaks, 0, sizeof(RfmBreaks));
	parse_breaks(tuple, &cache->breaks, context);
	cp_composite_remember(&cache->parsed, tuple, context);
	return cache;
}

/*
 * rfm_score(last_order, frequency, monetary, breaks): the three scores.
 */
Datum
rfm_score(PG_FUNCTION_ARGS)
{
	TimestampTz last_order = PG_GETARG_TIMESTAMPTZ(0);
	int64		frequency = PG_GETARG_INT64(1);
	Numeric		monetary = PG_GETARG_NUMERIC(2);
	ScoreCache *cache = score_cache(fcinfo, PG_GETARG_HEAPTUPLEHEADER(3));
	const RfmBreaks *breaks = &cache->breaks;
	int			r;
	int			f;
	int			m;
	Datum		values[4];
	bool		nulls[4] = {false};

	cp_check_finite_timestamp(last_order, "last_order");
	cp_check_finite_amount(monetary, "monetary");
	rfm_breaks_score(breaks, last_order, frequency, monetary, &r, &f, &m);
	values[0] = Int32GetDatum(r);
	values[1] = Int32GetDatum(f);
	values[2] = Int32GetDatum(m);
	values[3] = Int32GetDatum(breaks->bins);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->result, values, nulls)));
}

/*
 * Raise an error for values that have no place in an ordering of money,
 * counts or times: numeric and float NaN or infinity, infinite timestamps
 * and dates.
 */
static void
check_finite_datum(Oid type, Datum value, const char *what)
{
	switch (type)
	{
		case NUMERICOID:
			cp_check_finite_amount(DatumGetNumeric(value), what);
			break;
		case FLOAT8OID:
		case FLOAT4OID:
			{
				float8		f = type == FLOAT8OID ? DatumGetFloat8(value) : DatumGetFloat4(value);

				if (isnan(f) || isinf(f))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("%s must be a finite number", what)));
			}
			break;
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			cp_check_finite_timestamp(DatumGetTimestamp(value), what);
			break;
		case DATEOID:
			if (DATE_NOT_FINITE(DatumGetDateADT(value)))
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("%s must be a finite date", what)));
			break;
		default:
			break;
	}
}

/*
 * bin_score(value, breaks, higher_is_better): 1 + #{ k : value > b_k } for
 * any ordered type; with higher_is_better false, N - #{ k : value > b_k },
 * so a value at or below the first break scores best (recency in days).
 */
Datum
bin_score(PG_FUNCTION_ARGS)
{
	Datum		value = PG_GETARG_DATUM(0);
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(1);
	bool		higher_is_better = PG_GETARG_BOOL(2);
	Oid			type = ARR_ELEMTYPE(array);
	Oid			collation = PG_GET_COLLATION();
	TypeCacheEntry *entry = lookup_type_cache(type, TYPECACHE_CMP_PROC_FINFO);
	Datum	   *elems;
	int			n;
	int			above = 0;

	if (!OidIsValid(entry->cmp_proc_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify a comparison function for type %s",
						format_type_be(type))));
	n = break_array_elements(array, "bin_score", &elems);
	check_finite_datum(type, value, "value");
	for (int k = 0; k < n; k++)
	{
		check_finite_datum(type, elems[k], "a break point");
		if (k > 0)
			check_ascending(DatumGetInt32(FunctionCall2Coll(&entry->cmp_proc_finfo, collation,
															elems[k - 1], elems[k])),
							false, "bin_score", k);
		above += DatumGetInt32(FunctionCall2Coll(&entry->cmp_proc_finfo, collation,
												 value, elems[k])) > 0;
	}
	PG_RETURN_INT32(higher_is_better ? 1 + above : n + 1 - above);
}
