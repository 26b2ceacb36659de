/*
 * profile_state.c
 *		Building, merging, summarising and (de)serialising profile states.
 *
 * Definitions (see docs/typology.md):
 *	- a row counts when ordered_at <= as_of; a purchase is a counted row with
 *	  amount > 0, a refund one with amount < 0 (it adds -amount to returned);
 *	- an order is an order id's purchase lines, or a purchase row without
 *	  order id; its basket is the sum of its purchase lines, its time the
 *	  earliest of them, and it is discounted when a line had a discount > 0;
 *	- purchase days are the distinct local days of the orders' times; the
 *	  gaps are the days between consecutive purchase days.
 *
 * Order independence: baskets are summed as integers (micro-units) and their
 * sums of squares in 128 bits, so the statistics are exact whatever the order
 * of rows and of parallel merges; the purchase days are sorted before the gaps
 * are computed.  The state grows only with the customer's distinct orders (an
 * order's lines must be grouped before its basket is known) and distinct
 * purchase days (gaps need the sequence of days): 64 to 128 bytes per order
 * (the order map's slots are at most half full and double when full), plus
 * 4 to 16 bytes per purchase day of rows without order id; see docs/typology.md.
 */
#include "profile_state.h"

#include "money_units.h"

#include "common/int.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"

#include <math.h>

/*
 * Bump on any change of the serialized format: a leader and parallel workers
 * running different builds of the library must fail with "Unknown state
 * version" instead of misreading each other's bytes.
 */
#define PROFILE_STATE_VERSION 3

#define DAY_SET_MIN_CAPACITY 4

/* Basket amounts are rounded to micro-units, and must stay below this. */
#define BASKET_MAX_WHOLE 9000000000000
#define BASKET_MAX_AMOUNT CppAsString2(BASKET_MAX_WHOLE)
/* BASKET_MAX_AMOUNT in money units */
#define BASKET_MAX_UNITS ((int64) BASKET_MAX_WHOLE * MONEY_UNITS_PER_ONE)

/*
 * a += b for 128-bit integers.
 */
static void
int128_add_int128(INT128 *a, INT128 b)
{
#if USE_NATIVE_INT128
	*a += b;
#else
	int128_add_uint64(a, b.lo);
	a->hi += b.hi;
#endif
}

/*
 * The nearest long double of a 128-bit integer: only the statistics' last
 * step is floating point, the sums themselves are exact.
 */
static long double
int128_to_long_double(INT128 value)
{
#if USE_NATIVE_INT128
	return (long double) value;
#else
	return (long double) value.hi * 18446744073709551616.0L + (long double) value.lo;
#endif
}

static void
int128_send(StringInfo buf, INT128 value)
{
#if USE_NATIVE_INT128
	pq_sendint64(buf, (int64) (value >> 64));
	pq_sendint64(buf, (int64) (uint64) value);
#else
	pq_sendint64(buf, value.hi);
	pq_sendint64(buf, (int64) value.lo);
#endif
}

static INT128
int128_recv(StringInfo buf)
{
	int64		hi = pq_getmsgint64(buf);
	uint64		lo = (uint64) pq_getmsgint64(buf);
	INT128		value;

#if USE_NATIVE_INT128
	/* shift unsigned: a left shift of a negative value is undefined */
	value = (INT128) (((uint128) (uint64) hi << 64) | lo);
#else
	value = int64_to_int128(hi);
	value.lo = lo;
#endif
	return value;
}

/*
 * amount in micro-units, rounded half away from zero.  Amounts beyond 9e12
 * are refused: an order's total must fit 64 bits.
 */
static int64
basket_micro_units(Numeric amount)
{
	static Numeric million = NULL;
	static Numeric max_amount = NULL;
	MoneyUnits	units;

	/*
	 * Nearly every amount has at most 4 decimals: exact in money units, and
	 * a micro-unit is a hundredth of a unit, so no numeric arithmetic.
	 */
	if (money_units_from_numeric(amount, &units) &&
		units.units <= BASKET_MAX_UNITS && units.units >= -BASKET_MAX_UNITS)
		return units.units * (BASKET_MICROS_PER_UNIT / MONEY_UNITS_PER_ONE);

	if (million == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		million = int64_to_numeric(BASKET_MICROS_PER_UNIT);
		max_amount = DatumGetNumeric(DirectFunctionCall3(numeric_in,
														 CStringGetDatum(BASKET_MAX_AMOUNT),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1)));
		MemoryContextSwitchTo(old);
	}
	if (cp_numeric_cmp(amount, max_amount) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount %s out of range for basket statistics",
						DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(amount)))),
				 errdetail("Order line amounts must be at most %s.", BASKET_MAX_AMOUNT)));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8,
											 NumericGetDatum(numeric_mul_opt_error(amount, million, NULL))));
}

/*
 * Fold one complete order into basket statistics.
 */
static void
basket_stats_add(BasketStats *stats, int64 basket, bool weekend, bool discounted)
{
	if (stats->orders == 0 || basket < stats->min)
		stats->min = basket;
	if (stats->orders == 0 || basket > stats->max)
		stats->max = basket;
	stats->orders++;
	stats->weekend_orders += weekend;
	stats->discounted_orders += discounted;
	int128_add_int64(&stats->sum, basket);
	int128_add_int64_mul_int64(&stats->sum_squares, basket, basket);
}

/*
 * stats += other.
 */
static void
basket_stats_merge(BasketStats *stats, const BasketStats *other)
{
	if (other->orders == 0)
		return;
	if (stats->orders == 0 || other->min < stats->min)
		stats->min = other->min;
	if (stats->orders == 0 || other->max > stats->max)
		stats->max = other->max;
	stats->orders += other->orders;
	stats->weekend_orders += other->weekend_orders;
	stats->discounted_orders += other->discounted_orders;
	int128_add_int128(&stats->sum, other->sum);
	int128_add_int128(&stats->sum_squares, other->sum_squares);
}

/*
 * Coefficient of variation of the baskets (population standard deviation
 * over mean); NaN when undefined.  Equal baskets give exactly 0.
 */
static double
basket_stats_cv(const BasketStats *stats)
{
	long double n = (long double) stats->orders;
	long double mean;
	long double variance;

	if (stats->orders < 2 || stats->max <= 0)
		return get_float8_nan();
	if (stats->min == stats->max)
		return 0.0;
	mean = int128_to_long_double(stats->sum) / n;
	variance = int128_to_long_double(stats->sum_squares) / n - mean * mean;
	if (variance < 0)
		variance = 0;
	return (double) (sqrtl(variance) / mean);
}

static int
day_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * Sort the days and drop repeats.
 */
static void
day_set_compact(DaySet *set)
{
	uint32		kept = 0;

	if (set->count < 2)
		return;
	qsort(set->days, set->count, sizeof(int32), day_cmp);
	for (uint32 i = 0; i < set->count; i++)
		if (kept == 0 || set->days[kept - 1] != set->days[i])
			set->days[kept++] = set->days[i];
	set->count = kept;
}

/*
 * Add a day; when the list is full, compact it first and grow it only if it
 * is still more than half full, so memory follows the distinct days.
 */
static void
day_set_add(DaySet *set, int32 day, MemoryContext context)
{
	if (set->count > 0 && set->days[set->count - 1] == day)
		return;
	if (set->count == set->capacity)
	{
		day_set_compact(set);
		if (set->count * 2 > set->capacity || set->capacity == 0)
		{
			uint32		capacity = Max(set->capacity * 2, DAY_SET_MIN_CAPACITY);

			if ((Size) capacity * sizeof(int32) > MaxAllocSize)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many purchase days for one customer")));
			if (set->days == NULL)
				set->days = (int32 *) MemoryContextAlloc(context, capacity * sizeof(int32));
			else
				set->days = (int32 *) repalloc(set->days, capacity * sizeof(int32));
			set->capacity = capacity;
		}
	}
	set->days[set->count++] = day;
}

/*
 * A new empty state in the aggregate context.
 */
ProfileState *
profile_state_create(MemoryContext context, TimestampTz as_of, pg_tz *zone,
					 bool discount_mapped)
{
	ProfileState *state = (ProfileState *) MemoryContextAlloc(context, sizeof(ProfileState));

	profile_state_init(state, as_of, zone, discount_mapped);
	return state;
}

/*
 * An empty state in place (the segmentation scan keeps states in arrays).
 */
void
profile_state_init(ProfileState *state, TimestampTz as_of, pg_tz *zone, bool discount_mapped)
{
	memset(state, 0, sizeof(ProfileState));
	state->as_of = as_of;
	state->zone = zone;
	state->discount_mapped = discount_mapped;
}

/*
 * as_of and the time zone must be the same for every row of a customer.
 */
void
profile_state_check_call(const ProfileState *state, TimestampTz as_of, pg_tz *zone)
{
	if (state->as_of != as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for all rows of a customer"),
				 errhint("Pass a constant or a parameter as as_of.")));
	if (!cp_time_zone_equal(state->zone, zone))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_zone must be the same for all rows of a customer"),
				 errhint("Pass a constant or a parameter as time_zone.")));
}

/*
 * total += basket, or an error: a day's total must fit 64 bits of micro-units.
 */
static void
first_day_total_add(int64 *total, int64 basket)
{
	if (pg_add_s64_overflow(*total, basket, total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total of the first purchase day out of range for basket statistics"),
				 errdetail("The orders of one day must total at most %s.", BASKET_MAX_AMOUNT)));
}

/*
 * Keep the total of the unkeyed orders (rows) of the earliest local day seen,
 * whose orders are the first purchase when the customer buys again: the
 * spend of repeat purchases is the gross without them.  Called before the
 * row is counted in state->unkeyed.
 */
static void
unkeyed_first_day_add(ProfileState *state, int32 day, int64 basket)
{
	if (state->unkeyed.orders == 0 || day < state->unkeyed_first_day)
	{
		state->unkeyed_first_day = day;
		state->unkeyed_first_day_baskets = basket;
	}
	else if (day == state->unkeyed_first_day)
		first_day_total_add(&state->unkeyed_first_day_baskets, basket);
}

/*
 * Record a purchase row.
 */
static void
profile_state_add_purchase(ProfileState *state, const ProfileRow *row, MemoryContext context)
{
	int64		basket = basket_micro_units(row->amount);

	if (state->purchase_rows == 0 || row->ordered_at < state->first_purchase)
		state->first_purchase = row->ordered_at;
	if (state->purchase_rows == 0 || row->ordered_at > state->last_purchase)
		state->last_purchase = row->ordered_at;
	state->purchase_rows++;
	money_sum_add(&state->gross, row->amount, context);

	if (row->has_order_key)
		order_map_add(&state->orders, row->order_key, basket, row->ordered_at,
					  row->discounted, context);
	else
	{
		LocalDay	local = cp_local_day(row->ordered_at, state->zone);

		unkeyed_first_day_add(state, local.day, basket);
		basket_stats_add(&state->unkeyed, basket, local.weekend, row->discounted);
		day_set_add(&state->unkeyed_days, local.day, context);
	}
}

/*
 * Add one order row to the state.
 */
void
profile_state_add(ProfileState *state, const ProfileRow *row, MemoryContext context)
{
	int			sign;

	if (row->ordered_at > state->as_of)
		return;
	state->rows++;

	if (row->returned_amount != NULL)
		money_sum_add(&state->returned, row->returned_amount, context);

	sign = cp_numeric_sign(row->amount);
	if (sign > 0)
		profile_state_add_purchase(state, row, context);
	else if (sign < 0)
		money_sum_add_negated(&state->returned, row->amount, context);
}

/*
 * state += other.  Both come from the same aggregate call.
 */
void
profile_state_merge(ProfileState *state, const ProfileState *other, MemoryContext context)
{
	profile_state_check_call(state, other->as_of, other->zone);
	if (state->discount_mapped != other->discount_mapped)
		elog(ERROR, "cannot merge profile states with and without discounts");

	if (other->purchase_rows > 0)
	{
		if (state->purchase_rows == 0 || other->first_purchase < state->first_purchase)
			state->first_purchase = other->first_purchase;
		if (state->purchase_rows == 0 || other->last_purchase > state->last_purchase)
			state->last_purchase = other->last_purchase;
	}
	state->rows += other->rows;
	state->purchase_rows += other->purchase_rows;
	money_sum_merge(&state->gross, &other->gross, context);
	money_sum_merge(&state->returned, &other->returned, context);
	if (other->unkeyed.orders > 0)
	{
		if (state->unkeyed.orders == 0 || other->unkeyed_first_day < state->unkeyed_first_day)
		{
			state->unkeyed_first_day = other->unkeyed_first_day;
			state->unkeyed_first_day_baskets = other->unkeyed_first_day_baskets;
		}
		else if (other->unkeyed_first_day == state->unkeyed_first_day)
			first_day_total_add(&state->unkeyed_first_day_baskets,
								other->unkeyed_first_day_baskets);
	}
	basket_stats_merge(&state->unkeyed, &other->unkeyed);
	for (uint32 i = 0; i < other->unkeyed_days.count; i++)
		day_set_add(&state->unkeyed_days, other->unkeyed_days.days[i], context);
	order_map_merge(&state->orders, &other->orders, context);
}

/*
 * A deep copy of src in context.
 */
ProfileState *
profile_state_copy(const ProfileState *src, MemoryContext context)
{
	ProfileState *dst = profile_state_create(context, src->as_of, src->zone,
											 src->discount_mapped);

	profile_state_merge(dst, src, context);
	return dst;
}

/*
 * Orders, baskets and purchase-day gaps of a state, for the final function.
 * Works on copies: the state itself is left as it was.
 */
void
profile_state_summarize(const ProfileState *state, ProfileSummary *summary)
{
	const OrderMap *orders = &state->orders;
	int32	   *days;
	uint32		count = 0;
	double		squares = 0;
	int32		keyed_first_day = PG_INT32_MAX;
	int64		keyed_first_day_baskets = 0;

	memset(summary, 0, sizeof(ProfileSummary));
	summary->baskets = state->unkeyed;
	summary->as_of_day = cp_local_day(state->as_of, state->zone).day;
	summary->mean_gap = get_float8_nan();
	summary->gap_cv = get_float8_nan();
	summary->basket_cv = get_float8_nan();

	days = (int32 *) palloc(sizeof(int32) * ((Size) state->unkeyed_days.count + orders->used + 1));
	for (uint32 i = 0; i < state->unkeyed_days.count; i++)
		days[count++] = state->unkeyed_days.days[i];
	for (uint32 i = 0; i < orders->capacity; i++)
	{
		const OrderEntry *entry = &orders->slots[i];
		LocalDay	local;

		if (!entry->used)
			continue;
		local = cp_local_day(entry->first_at, state->zone);
		basket_stats_add(&summary->baskets, entry->basket, local.weekend, entry->discounted);
		days[count++] = local.day;
		if (local.day < keyed_first_day)
		{
			keyed_first_day = local.day;
			keyed_first_day_baskets = entry->basket;
		}
		else if (local.day == keyed_first_day)
			first_day_total_add(&keyed_first_day_baskets, entry->basket);
	}
	summary->basket_cv = basket_stats_cv(&summary->baskets);
	if (count == 0)
		return;

	{
		DaySet		sorted = {days, count, count};

		day_set_compact(&sorted);
		count = sorted.count;
	}
	summary->purchase_days = (int32) count;
	summary->first_day = days[0];
	summary->last_day = days[count - 1];
	if (state->unkeyed.orders > 0 && state->unkeyed_first_day == summary->first_day)
		summary->first_day_baskets = state->unkeyed_first_day_baskets;
	if (keyed_first_day == summary->first_day)
		first_day_total_add(&summary->first_day_baskets, keyed_first_day_baskets);
	if (count < 2)
		return;
	summary->mean_gap = (double) (days[count - 1] - days[0]) / (count - 1);
	if (count < 3)
		return;
	for (uint32 i = 1; i < count; i++)
	{
		double		deviation = (days[i] - days[i - 1]) - summary->mean_gap;

		squares += deviation * deviation;
	}
	summary->gap_cv = sqrt(squares / (count - 1)) / summary->mean_gap;
}

static void
basket_stats_serialize(StringInfo buf, const BasketStats *stats)
{
	pq_sendint64(buf, stats->orders);
	pq_sendint64(buf, stats->weekend_orders);
	pq_sendint64(buf, stats->discounted_orders);
	int128_send(buf, stats->sum);
	int128_send(buf, stats->sum_squares);
	pq_sendint64(buf, stats->min);
	pq_sendint64(buf, stats->max);
}

static void
basket_stats_deserialize(StringInfo buf, BasketStats *stats)
{
	stats->orders = pq_getmsgint64(buf);
	stats->weekend_orders = pq_getmsgint64(buf);
	stats->discounted_orders = pq_getmsgint64(buf);
	stats->sum = int128_recv(buf);
	stats->sum_squares = int128_recv(buf);
	stats->min = pq_getmsgint64(buf);
	stats->max = pq_getmsgint64(buf);
	if (stats->orders < 0 ||
		stats->weekend_orders < 0 || stats->weekend_orders > stats->orders ||
		stats->discounted_orders < 0 || stats->discounted_orders > stats->orders ||
		(stats->orders > 0 && (stats->min < 0 || stats->min > stats->max)))
		cp_state_corrupted("The basket statistics are inconsistent.");
}

/*
 * The state as bytea: a version byte, then the fields in network order.
 */
bytea *
profile_state_serialize(const ProfileState *state)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, PROFILE_STATE_VERSION);
	pq_sendstring(&buf, cp_time_zone_name(state->zone));
	pq_sendbyte(&buf, state->discount_mapped);
	pq_sendint64(&buf, state->as_of);
	pq_sendint64(&buf, state->rows);
	pq_sendint64(&buf, state->purchase_rows);
	pq_sendint64(&buf, state->first_purchase);
	pq_sendint64(&buf, state->last_purchase);
	money_sum_serialize(&buf, &state->gross);
	money_sum_serialize(&buf, &state->returned);
	basket_stats_serialize(&buf, &state->unkeyed);
	pq_sendint32(&buf, state->unkeyed_first_day);
	pq_sendint64(&buf, state->unkeyed_first_day_baskets);
	pq_sendint32(&buf, state->unkeyed_days.count);
	for (uint32 i = 0; i < state->unkeyed_days.count; i++)
		pq_sendint32(&buf, state->unkeyed_days.days[i]);
	order_map_serialize(&buf, &state->orders);
	return pq_endtypsend(&buf);
}

/*
 * Read a state written by profile_state_serialize, checking lengths and
 * counters so that corrupted bytes raise an error, not a wrong answer.
 */
ProfileState *
profile_state_deserialize(bytea *bytes, MemoryContext context)
{
	StringInfoData buf;
	ProfileState *state;
	const char *zone_name;
	pg_tz	   *zone;
	int			discount_mapped;
	uint32		days;

	cp_state_reader(&buf, bytes);
	if (pq_getmsgbyte(&buf) != PROFILE_STATE_VERSION)
		cp_state_corrupted("Unknown state version.");
	zone_name = cp_state_recv_string(&buf, "The time zone name is not terminated.");
	zone = pg_tzset(zone_name);
	if (zone == NULL)
		cp_state_corrupted("Unknown time zone.");
	discount_mapped = pq_getmsgbyte(&buf);
	if (discount_mapped > 1)
		cp_state_corrupted("Bad discount flag.");

	state = profile_state_create(context, 0, zone, discount_mapped == 1);
	state->as_of = pq_getmsgint64(&buf);
	state->rows = pq_getmsgint64(&buf);
	state->purchase_rows = pq_getmsgint64(&buf);
	state->first_purchase = pq_getmsgint64(&buf);
	state->last_purchase = pq_getmsgint64(&buf);
	money_sum_deserialize(&buf, &state->gross, context);
	money_sum_deserialize(&buf, &state->returned, context);
	basket_stats_deserialize(&buf, &state->unkeyed);
	state->unkeyed_first_day = (int32) pq_getmsgint(&buf, 4);
	state->unkeyed_first_day_baskets = pq_getmsgint64(&buf);
	days = pq_getmsgint(&buf, 4);
	if ((uint64) days * sizeof(int32) > (uint64) (buf.len - buf.cursor))
		cp_state_corrupted("The purchase days are truncated.");
	for (uint32 i = 0; i < days; i++)
		day_set_add(&state->unkeyed_days, pq_getmsgint(&buf, 4), context);
	order_map_deserialize(&buf, &state->orders, context);
	pq_getmsgend(&buf);

	if (TIMESTAMP_NOT_FINITE(state->as_of) ||
		state->rows < 0 || state->purchase_rows < 0 ||
		state->purchase_rows > state->rows ||
		/* unkeyed.orders + orders.used > purchase_rows, without overflow */
		state->unkeyed.orders > state->purchase_rows - (int64) state->orders.used ||
		(state->unkeyed.orders > 0 &&
		 (state->unkeyed_first_day_baskets < state->unkeyed.min ||
		  int128_compare(state->unkeyed.sum, int64_to_int128(state->unkeyed_first_day_baskets)) < 0)) ||
		(state->purchase_rows > 0 &&
		 (state->first_purchase > state->last_purchase ||
		  state->last_purchase > state->as_of)))
		cp_state_corrupted("The counters or timestamps are inconsistent.");
	return state;
}
