/*
 * xyz.c
 *		XYZ regularity: the per-customer aggregate xyz(ordered_at, amount,
 *		as_of [, period [, time_zone]]) and xyz_class().
 *
 * Definition (README, "XYZ"): periods are calendar weeks (Monday first),
 * months (default) or quarters in time_zone, or in the session's TimeZone
 * when time_zone is not given.  The span runs from
 * the period of the customer's first purchase to the period of as_of,
 * inclusive.  Revenue per period is the net amount of the rows in it (refunds
 * count where they happen); periods without rows count as 0.
 *		mean = sum of revenue / periods in the span
 *		cv	 = population standard deviation / mean
 * cv is NULL (class Z) with fewer than two periods with a purchase (one order
 * is sporadic by definition) or a mean <= 0.
 *
 * The state keeps an exact numeric sum per period with activity, in a small
 * hash table: memory grows with the customer's active periods (at most 12 a
 * year by month), not with orders.  The final function sums in period order,
 * so the result does not depend on the order of the input rows.
 */
#include "xyz.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(xyz_transfn);
PG_FUNCTION_INFO_V1(xyz_combinefn);
PG_FUNCTION_INFO_V1(xyz_serialfn);
PG_FUNCTION_INFO_V1(xyz_deserialfn);
PG_FUNCTION_INFO_V1(xyz_finalfn);
PG_FUNCTION_INFO_V1(xyz_class);

/*
 * Bump on any change of the serialized format: a leader and parallel workers
 * running different builds of the library must fail with "Unknown state
 * version" instead of misreading each other's bytes.
 * 2: the time zone's name follows the version byte.
 * 4: a period's purchase rows instead of a purchase flag.
 */
#define XYZ_STATE_VERSION 4
#define XYZ_MIN_CAPACITY 2

/* Argument positions of the transition function (0 is the state). */
#define ARG_ORDERED_AT 1
#define ARG_AMOUNT 2
#define ARG_AS_OF 3
#define ARG_PERIOD 4
#define ARG_TIME_ZONE 5

/*
 * Parse the period argument.
 */
PeriodKind
xyz_parse_period(const char *name)
{
	if (strcmp(name, "week") == 0)
		return PERIOD_WEEK;
	if (strcmp(name, "month") == 0)
		return PERIOD_MONTH;
	if (strcmp(name, "quarter") == 0)
		return PERIOD_QUARTER;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown XYZ period \"%s\"", name),
			 errhint("Use \"week\", \"month\" or \"quarter\".")));
	return PERIOD_UNSET;		/* keep the compiler quiet */
}

/* What one aggregate call site looks up once, kept in fn_extra. */
typedef struct XyzCallInfo
{
	TimeZoneCache zone;			/* the time_zone argument last resolved */
} XyzCallInfo;

/*
 * The time zone of the periods: the time_zone argument, or the session's
 * TimeZone for the forms without one.  The zone of the last name resolved is
 * kept in fn_extra, so a query resolves it once, not once per customer.
 */
static pg_tz *
xyz_time_zone(FunctionCallInfo fcinfo)
{
	XyzCallInfo *info = (XyzCallInfo *) fcinfo->flinfo->fn_extra;
	text	   *name;

	if (PG_NARGS() <= ARG_TIME_ZONE)
		return session_timezone;
	if (PG_ARGISNULL(ARG_TIME_ZONE))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("time_zone must not be null")));
	if (info == NULL)
	{
		info = (XyzCallInfo *) MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(XyzCallInfo));
		fcinfo->flinfo->fn_extra = info;
	}
	name = PG_GETARG_TEXT_PP(ARG_TIME_ZONE);
	return cp_time_zone_cached(&info->zone, name, fcinfo->flinfo->fn_mcxt);
}

/*
 * The index of the calendar period holding ts, in zone: consecutive periods
 * have consecutive indexes.  ts must be finite.
 */
int32
xyz_period_of(TimestampTz ts, PeriodKind kind, pg_tz *zone)
{
	int32		julian = cp_local_day(ts, zone).day;
	int			year;
	int			month;
	int			day;

	if (kind == PERIOD_WEEK)
	{
		/*
		 * Julian day POSTGRES_EPOCH_JDATE + 2 is Monday 2000-01-03; floor
		 * division for earlier days
		 */
		int32		days = julian - (POSTGRES_EPOCH_JDATE + 2);

		return days >= 0 ? days / 7 : -((6 - days) / 7);
	}
	j2date(julian, &year, &month, &day);
	if (kind == PERIOD_MONTH)
		return year * 12 + month - 1;
	return year * 4 + (month - 1) / 3;
}

/*
 * The local date that starts a period of xyz_period_of(): the inverse.
 */
DateADT
xyz_period_start(int32 period, PeriodKind kind)
{
	int64		months;
	int64		year;

	if (kind == PERIOD_WEEK)
		return (DateADT) (2 + (int64) period * 7);	/* 2000-01-03, a Monday, is 2 */
	months = kind == PERIOD_MONTH ? period : (int64) period * 3;
	year = months >= 0 ? months / 12 : -((11 - months) / 12);	/* floor */
	return (DateADT) (date2j((int) year, (int) (months - year * 12) + 1, 1) - POSTGRES_EPOCH_JDATE);
}

/*
 * Find the entry of a period, adding an empty one if needed.
 */
static PeriodEntry *
xyz_entry(XyzState *state, int32 period, MemoryContext context)
{
	uint32		mask;
	uint32		i;

	if ((uint64) (state->used + 1) * 4 > (uint64) state->capacity * 3)
	{
		uint32		old_capacity = state->capacity;
		PeriodEntry *old = state->entries;

		state->capacity = old_capacity == 0 ? XYZ_MIN_CAPACITY : old_capacity * 2;
		state->entries = MemoryContextAllocZero(context, sizeof(PeriodEntry) * state->capacity);
		state->used = 0;
		for (uint32 j = 0; j < old_capacity; j++)
			if (old[j].used)
				*xyz_entry(state, old[j].period, context) = old[j];
		if (old != NULL)
			pfree(old);
	}
	mask = state->capacity - 1;
	i = ((uint32) period * 2654435761U) & mask;
	while (state->entries[i].used && state->entries[i].period != period)
		i = (i + 1) & mask;
	if (!state->entries[i].used)
	{
		state->entries[i].used = true;
		state->entries[i].period = period;
		state->used++;
	}
	return &state->entries[i];
}

/*
 * Note a purchase in the entry's period.
 */
static void
xyz_mark_purchase(XyzState *state, PeriodEntry *entry, int64 rows)
{
	entry->purchase_rows += rows;
	if (!state->has_purchase || entry->period < state->first_period)
		state->first_period = entry->period;
	state->has_purchase = true;
}

/*
 * as_of, the period kind and the time zone must be the same for all rows of
 * a customer.
 */
static void
xyz_check_parameters(const XyzState *state, TimestampTz as_of, PeriodKind kind, pg_tz *zone)
{
	if (state->as_of != as_of || state->kind != kind || !cp_time_zone_equal(state->zone, zone))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of, period and time_zone must be the same for all rows of a customer"),
				 errhint("Pass constants or parameters.")));
}

XyzState *
xyz_state_create(MemoryContext context, TimestampTz as_of, PeriodKind kind, pg_tz *zone)
{
	XyzState   *state = MemoryContextAlloc(context, sizeof(XyzState));

	xyz_state_init(state, as_of, kind, zone);
	return state;
}

/*
 * An empty state in place (the segmentation scan keeps states in arrays).
 */
void
xyz_state_init(XyzState *state, TimestampTz as_of, PeriodKind kind, pg_tz *zone)
{
	memset(state, 0, sizeof(XyzState));
	state->as_of = as_of;
	state->kind = kind;
	state->zone = zone;
}

/*
 * Add a row (finite ordered_at and amount, checked by the caller): rows after
 * as_of are not counted.
 */
void
xyz_state_add(XyzState *state, TimestampTz ordered_at, Numeric amount, MemoryContext context)
{
	if (ordered_at <= state->as_of)
		xyz_state_add_in_period(state, xyz_period_of(ordered_at, state->kind, state->zone),
								amount, context);
}

/*
 * The hash slot where a period's entry is, or would be put first: for a
 * caller that prefetches it.  NULL while the table is empty.
 */
const void *
xyz_state_slot(const XyzState *state, int32 period)
{
	if (state->capacity == 0)
		return NULL;
	return &state->entries[((uint32) period * 2654435761U) & (state->capacity - 1)];
}

/*
 * Count purchase rows in a period without revenue: for a state that only
 * counts (src/segmentation_scan.c), never finalised or serialised.
 */
void
xyz_state_count_purchases(XyzState *state, int32 period, int64 rows, MemoryContext context)
{
	xyz_mark_purchase(state, xyz_entry(state, period, context), rows);
}

/*
 * xyz_state_add() of a row at or before as_of whose period is known.
 */
void
xyz_state_add_in_period(XyzState *state, int32 period, Numeric amount, MemoryContext context)
{
	int			sign;

	state->rows++;
	sign = cp_numeric_sign(amount);
	if (sign != 0)
	{
		PeriodEntry *entry = xyz_entry(state, period, context);

		money_sum_add(&entry->revenue, amount, context);
		if (sign > 0)
			xyz_mark_purchase(state, entry, 1);
	}
}

/*
 * xyz(ordered_at, amount, as_of [, period [, time_zone]]) transition: rows
 * with a NULL ordered_at or amount are skipped, rows after as_of are not
 * counted.
 */
Datum
xyz_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	XyzState   *state = PG_ARGISNULL(0) ? NULL : (XyzState *) PG_GETARG_POINTER(0);
	PeriodKind	kind = PERIOD_MONTH;
	pg_tz	   *zone;
	TimestampTz as_of;
	TimestampTz ordered_at;
	Numeric		amount;

	if (PG_ARGISNULL(ARG_AS_OF))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be null")));
	if (PG_NARGS() > ARG_PERIOD)
	{
		if (PG_ARGISNULL(ARG_PERIOD))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("period must not be null")));
		kind = xyz_parse_period(text_to_cstring(PG_GETARG_TEXT_PP(ARG_PERIOD)));
	}
	zone = xyz_time_zone(fcinfo);
	as_of = PG_GETARG_TIMESTAMPTZ(ARG_AS_OF);
	if (state == NULL)
	{
		cp_check_finite_timestamp(as_of, "as_of");
		state = xyz_state_create(context, as_of, kind, zone);
	}
	else
		xyz_check_parameters(state, as_of, kind, zone);

	if (PG_ARGISNULL(ARG_ORDERED_AT) || PG_ARGISNULL(ARG_AMOUNT))
		PG_RETURN_POINTER(state);
	ordered_at = PG_GETARG_TIMESTAMPTZ(ARG_ORDERED_AT);
	cp_check_finite_timestamp(ordered_at, "ordered_at");
	amount = PG_GETARG_NUMERIC(ARG_AMOUNT);
	cp_check_finite_amount(amount, "amount");
	xyz_state_add(state, ordered_at, amount, context);
	PG_RETURN_POINTER(state);
}

/*
 * state += other.
 */
static void
xyz_merge(XyzState *state, const XyzState *other, MemoryContext context)
{
	xyz_check_parameters(state, other->as_of, other->kind, other->zone);
	state->rows += other->rows;
	for (uint32 i = 0; i < other->capacity; i++)
	{
		const PeriodEntry *from = &other->entries[i];
		PeriodEntry *to;

		if (!from->used)
			continue;
		to = xyz_entry(state, from->period, context);
		money_sum_merge(&to->revenue, &from->revenue, context);
		if (from->purchase_rows > 0)
			xyz_mark_purchase(state, to, from->purchase_rows);
	}
}

/*
 * Combine two partial states; the result lives in the aggregate context.
 */
Datum
xyz_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	XyzState   *state = PG_ARGISNULL(0) ? NULL : (XyzState *) PG_GETARG_POINTER(0);
	XyzState   *other = PG_ARGISNULL(1) ? NULL : (XyzState *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = xyz_state_create(context, other->as_of, other->kind, other->zone);
	xyz_merge(state, other, context);
	PG_RETURN_POINTER(state);
}

/*
 * State to bytea.
 */
Datum
xyz_serialfn(PG_FUNCTION_ARGS)
{
	XyzState   *state = (XyzState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, XYZ_STATE_VERSION);
	pq_sendstring(&buf, cp_time_zone_name(state->zone));
	pq_sendbyte(&buf, (int) state->kind);
	pq_sendint64(&buf, state->as_of);
	pq_sendint64(&buf, state->rows);
	pq_sendint32(&buf, state->used);
	for (uint32 i = 0; i < state->capacity; i++)
	{
		const PeriodEntry *entry = &state->entries[i];

		if (!entry->used)
			continue;
		pq_sendint32(&buf, entry->period);
		pq_sendint64(&buf, entry->purchase_rows);
		money_sum_serialize(&buf, &entry->revenue);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * bytea to state; has_purchase and first_period are derived again from the
 * entries rather than trusted.
 */
Datum
xyz_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	StringInfoData buf;
	XyzState   *state;
	pg_tz	   *zone;
	int			kind;
	TimestampTz as_of;
	uint32		count;

	cp_state_reader(&buf, PG_GETARG_BYTEA_PP(0));
	if (pq_getmsgbyte(&buf) != XYZ_STATE_VERSION)
		cp_state_corrupted("Unknown state version.");
	zone = pg_tzset(cp_state_recv_string(&buf, "The time zone name is not terminated."));
	if (zone == NULL)
		cp_state_corrupted("Unknown time zone.");
	kind = pq_getmsgbyte(&buf);
	if (kind < PERIOD_WEEK || kind > PERIOD_QUARTER)
		cp_state_corrupted("Unknown period kind.");
	as_of = pq_getmsgint64(&buf);
	if (TIMESTAMP_NOT_FINITE(as_of))
		cp_state_corrupted("as_of is not finite.");
	state = xyz_state_create(context, as_of, (PeriodKind) kind, zone);
	state->rows = pq_getmsgint64(&buf);
	count = pq_getmsgint(&buf, 4);
	/* an entry takes at least 13 bytes */
	if (state->rows < 0 || (uint64) count * 13 > (uint64) (buf.len - buf.cursor))
		cp_state_corrupted("The period count does not match the length.");
	for (uint32 i = 0; i < count; i++)
	{
		int32		period = pq_getmsgint(&buf, 4);
		int64		purchase_rows = pq_getmsgint64(&buf);
		PeriodEntry *entry = xyz_entry(state, period, context);

		if (purchase_rows < 0 || purchase_rows > state->rows ||
			!money_sum_is_empty(&entry->revenue))
			cp_state_corrupted("Bad purchase count or a period twice.");
		money_sum_deserialize(&buf, &entry->revenue, context);
		if (money_sum_is_empty(&entry->revenue))
			cp_state_corrupted("A period without revenue.");
		if (purchase_rows > 0)
			xyz_mark_purchase(state, entry, purchase_rows);
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

static int
cmp_period_entry(const void *a, const void *b)
{
	int32		x = ((const PeriodEntry *) a)->period;
	int32		y = ((const PeriodEntry *) b)->period;

	return (x > y) - (x < y);
}

/*
 * The xyz_metrics of a state that counted a row, as a composite of tupdesc
 * (blessed).
 */
Datum
xyz_state_datum(const XyzState *state, TupleDesc tupdesc)
{
	Datum		values[4];
	bool		nulls[4] = {false};
	PeriodEntry *span;
	float8	   *revenue;
	int			nspan = 0;
	int			active = 0;
	int64		periods;
	float8		sum = 0;
	float8		mean;
	float8		squares = 0;

	if (!state->has_purchase)
	{
		nulls[0] = nulls[2] = nulls[3] = true;
		values[1] = Int32GetDatum(0);
		return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
	}

	/* the entries inside the span, in period order */
	periods = (int64) xyz_period_of(state->as_of, state->kind, state->zone) - state->first_period + 1;
	if (periods < 1)
		cp_state_corrupted("A purchase lies after as_of.");
	span = palloc(sizeof(PeriodEntry) * Max(state->used, 1));
	for (uint32 i = 0; i < state->capacity; i++)
		if (state->entries[i].used && state->entries[i].period >= state->first_period)
			span[nspan++] = state->entries[i];
	qsort(span, nspan, sizeof(PeriodEntry), cmp_period_entry);

	revenue = palloc(sizeof(float8) * Max(nspan, 1));
	for (int i = 0; i < nspan; i++)
	{
		revenue[i] = money_sum_to_double(&span[i].revenue);
		sum += revenue[i];
		active += span[i].purchase_rows > 0;
	}
	mean = sum / periods;
	for (int i = 0; i < nspan; i++)
		squares += (revenue[i] - mean) * (revenue[i] - mean);
	/* the empty periods of the span, each (0 - mean)^2 */
	squares += (float8) (periods - nspan) * mean * mean;

	values[0] = Int32GetDatum((int32) periods);
	values[1] = Int32GetDatum(active);
	values[2] = Float8GetDatum(mean);
	if (active >= 2 && mean > 0)
		values[3] = Float8GetDatum(sqrt(squares / periods) / mean);
	else
		nulls[3] = true;
	pfree(span);
	pfree(revenue);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * The xyz_metrics of a state; NULL when no row was counted.
 */
Datum
xyz_finalfn(PG_FUNCTION_ARGS)
{
	XyzState   *state;
	TupleDesc	tupdesc;

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (XyzState *) PG_GETARG_POINTER(0);
	if (state->rows == 0)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "xyz_finalfn must return a composite type");
	PG_RETURN_DATUM(xyz_state_datum(state, BlessTupleDesc(tupdesc)));
}

/*
 * xyz_class(cv, x_max, y_max): X if cv <= x_max, Y if cv <= y_max, else Z;
 * a NULL cv (too little history) is Z.
 */
Datum
xyz_class(PG_FUNCTION_ARGS)
{
	float8		x_max;
	float8		y_max;
	float8		cv;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("XYZ thresholds must not be null")));
	x_max = PG_GETARG_FLOAT8(1);
	y_max = PG_GETARG_FLOAT8(2);
	if (isnan(x_max) || isnan(y_max) || isinf(y_max) || x_max < 0 || x_max >= y_max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("XYZ thresholds must satisfy 0 <= x_max < y_max, finite"),
				 errhint("The defaults are x_max = 0.5 and y_max = 1.0.")));
	if (PG_ARGISNULL(0))
		PG_RETURN_TEXT_P(cstring_to_text("Z"));
	cv = PG_GETARG_FLOAT8(0);
	if (isnan(cv) || cv < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cv must be a non-negative number")));
	PG_RETURN_TEXT_P(cstring_to_text(cv <= x_max ? "X" : cv <= y_max ? "Y" : "Z"));
}
