/*
 * customer_priority.c
 *		Module magic and the small checks every concept shares.
 */
#include "customer_priority.h"

#include <math.h>

#include "population.h"

#include <limits.h>

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

/* PostgreSQL 18 records the library's name and version (pg_get_loaded_modules()). */
#if PG_VERSION_NUM >= 180000
PG_MODULE_MAGIC_EXT(.name = "customer_priority", .version = CP_EXTVERSION);
#else
PG_MODULE_MAGIC;
#endif

void		_PG_init(void);

/*
 * customer_priority.segmentation_scan: segmentations compute their customers
 * in one scan (src/segmentation_scan.c) where it applies; off, with GROUP BY
 * as in 0.2.0.  Read by the SQL that builds a segmentation's query.
 */
static bool cp_segmentation_scan = true;

/*
 * customer_priority.progress: create, refresh and backfill of a segmentation raise a
 * NOTICE per phase (src/progress.sql reads the setting; the C code does not).
 */
static bool cp_progress = false;

/*
 * Settings of the extension.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("customer_priority.population_memory_limit",
							"Memory one process may use for the customers of score_population().",
							"Exceeding it raises an error instead of risking the OOM killer.",
							&cp_population_memory_limit,
							cp_population_memory_limit,
							1024,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("customer_priority.segmentation_scan",
							 "Segmentations compute their customers in one scan of the orders where it applies.",
							 "Off: with GROUP BY and the composable aggregates (the same rows, slower).",
							 &cp_segmentation_scan,
							 cp_segmentation_scan,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("customer_priority.progress",
							 "Reports the progress of creating, refreshing and backfilling a segmentation.",
							 "When on, each phase raises a NOTICE with the rows written and the time elapsed.",
							 &cp_progress,
							 cp_progress,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("customer_priority");
#else
	EmitWarningsOnPlaceholders("customer_priority");
#endif
}

/*
 * Raise an error unless a number of scores (bins, or a map's scale) is in
 * CP_MIN_BINS..CP_MAX_BINS.
 */
void
cp_check_bins(int64 bins, const char *name)
{
	if (bins < CP_MIN_BINS || bins > CP_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, not " INT64_FORMAT,
						name, CP_MIN_BINS, CP_MAX_BINS, bins)));
}

/*
 * A horizon of the potential models (time units ahead): finite and not negative.
 */
void
cp_check_horizon(double t)
{
	if (!(t >= 0) || isinf(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon t must be finite and not negative, not %g", t)));
}

/*
 * Raise an error if a money amount is NaN or infinite: a sum, a quantile or a
 * score of such a value would be meaningless, and silently so.
 */
void
cp_check_finite_amount(Numeric value, const char *what)
{
	bool		not_finite = numeric_is_nan(value);

#if PG_VERSION_NUM >= 140000
	not_finite = not_finite || numeric_is_inf(value);
#endif
	if (not_finite)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite number", what),
				 errdetail("NaN and infinite amounts cannot be summed or ranked.")));
}

/*
 * Raise an error if a timestamp is -infinity or infinity: recency in days is
 * undefined for them.
 */
void
cp_check_finite_timestamp(TimestampTz value, const char *what)
{
	if (TIMESTAMP_NOT_FINITE(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", what),
				 errdetail("Recency in days is undefined for infinite timestamps.")));
}

/*
 * The as_of argument of a per-customer transition function, which must not be
 * NULL; what names what as_of is the reference time of, for the hint.
 */
TimestampTz
cp_as_of_argument(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be null"),
				 errhint("Pass the reference time of the %s, e.g. a fixed timestamp or now().",
						 what)));
	return PG_GETARG_TIMESTAMPTZ(argno);
}

/*
 * The returned_amount argument of a transition function: NULL when absent or
 * NULL, else finite and not negative.
 */
Numeric
cp_returned_amount_argument(FunctionCallInfo fcinfo, int argno)
{
	Numeric		value;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	value = PG_GETARG_NUMERIC(argno);
	cp_check_returned_amount(value);
	return value;
}

/*
 * A returned amount must be finite and not negative.
 */
void
cp_check_returned_amount(Numeric value)
{
	cp_check_finite_amount(value, "returned_amount");
	if (cp_numeric_sign(value) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("returned_amount must not be negative"),
				 errdetail("It is the part of the row's amount that was refunded.")));
}

/*
 * The memory context of the aggregate calling a transition or combine
 * function; an internal state may only live there.
 */
MemoryContext
cp_aggregate_context(FunctionCallInfo fcinfo)
{
	MemoryContext context;

	if (!AggCheckCallContext(fcinfo, &context))
		elog(ERROR, "aggregate support function called in non-aggregate context");
	return context;
}

/*
 * Three-way comparison of two numerics, with numeric's own ordering.
 */
int
cp_numeric_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/*
 * A copy of a numeric value allocated in the given context.
 */
Numeric
cp_numeric_copy(Numeric value, MemoryContext context)
{
	Size		size = VARSIZE(value);
	Numeric		copy = (Numeric) MemoryContextAlloc(context, size);

	memcpy(copy, value, size);
	return copy;
}

/*
 * A freshly allocated numeric zero.
 */
Numeric
cp_numeric_zero(void)
{
	return int64_to_numeric(0);
}

/*
 * -1, 0 or 1 as value is negative, zero or positive (value is not NaN).
 */
int
cp_numeric_sign(Numeric value)
{
	static Numeric zero = NULL;

	if (zero == NULL)
		zero = cp_numeric_copy(cp_numeric_zero(), TopMemoryContext);
	return cp_numeric_cmp(value, zero);
}

/*
 * Point a read-only StringInfo at the bytes of a serialized aggregate state,
 * for the pq_getmsg* functions, which check every read against the length.
 */
void
cp_state_reader(StringInfo buf, bytea *bytes)
{
	buf->data = VARDATA_ANY(bytes);
	buf->len = VARSIZE_ANY_EXHDR(bytes);
	buf->maxlen = buf->len;
	buf->cursor = 0;
}

/*
 * Raise the error for a serialized aggregate state that fails a consistency
 * check: corrupted bytes must never turn into a wrong answer.
 */
void
cp_state_corrupted(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid customer_priority aggregate state"),
			 errdetail("%s", detail)));
}

/*
 * Read a NUL-terminated string of a serialized state.  pq_getmsgstring runs
 * strlen from the cursor, trusting the NUL that a StringInfo always has past
 * its end; a bytea has none, so a state cut before the NUL would be read
 * past its end.  Look for the NUL within the bytes first.
 */
const char *
cp_state_recv_string(StringInfo buf, const char *what)
{
	if (buf->cursor >= buf->len ||
		memchr(buf->data + buf->cursor, '\0', buf->len - buf->cursor) == NULL)
		cp_state_corrupted(what);
	return pq_getmsgstring(buf);
}

/*
 * Append a finite numeric to a serialized state in numeric's binary send
 * format.
 */
void
cp_state_send_numeric(StringInfo buf, Numeric value)
{
	bytea	   *bytes = DatumGetByteaPP(DirectFunctionCall1(numeric_send, NumericGetDatum(value)));

	pq_sendbytes(buf, VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
	pfree(bytes);
}

/*
 * Read a numeric written by cp_state_send_numeric.  numeric_recv checks the
 * length, sign and every digit, so corrupted bytes raise an error instead of
 * becoming a bad value; infinities and NaN never belong in a state.
 */
Numeric
cp_state_recv_numeric(StringInfo buf, const char *what)
{
	Numeric		value = DatumGetNumeric(DirectFunctionCall3(numeric_recv,
															PointerGetDatum(buf),
															ObjectIdGetDatum(InvalidOid),
															Int32GetDatum(-1)));

	cp_check_finite_amount(value, what);
	return value;
}

/*
 * Does tuple have the same bytes as the composite last remembered?
 */
bool
cp_composite_unchanged(const CompositeCache *cache, HeapTupleHeader tuple)
{
	Size		len = HeapTupleHeaderGetDatumLength(tuple);

	return cache->raw != NULL && cache->len == len && memcmp(cache->raw, tuple, len) == 0;
}

/*
 * Remember tuple's bytes, after it was parsed successfully.
 */
void
cp_composite_remember(CompositeCache *cache, HeapTupleHeader tuple, MemoryContext context)
{
	Size		len = HeapTupleHeaderGetDatumLength(tuple);

	if (cache->raw != NULL)
		pfree(cache->raw);
	cache->raw = MemoryContextAlloc(context, len);
	memcpy(cache->raw, tuple, len);
	cache->len = len;
}

/*
 * A materialize-mode set-returning function's tuplestore and descriptor.
 */
void
cp_init_materialized_srf(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
#endif
}
