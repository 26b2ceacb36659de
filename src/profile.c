/*
 * profile.c
 *		The behavioural profile aggregate customer_profile(ordered_at, amount,
 *		as_of [, order_id [, returned_amount [, discount [, time_zone]]]]).
 *
 * NULL handling: a row with a NULL ordered_at or amount is skipped; a NULL
 * order_id makes the row an order of its own; a NULL returned_amount or
 * discount is 0; a NULL as_of is an error; a NULL time_zone is the session's
 * TimeZone.  Passing the constant NULL as discount means "no discount data":
 * the discount fields are then NULL rather than 0.  A customer with no
 * counted row yields NULL.
 */
#include "customer_priority.h"

#include "calendar.h"
#include "order_key.h"
#include "profile_state.h"

#include "funcapi.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include <math.h>

PG_FUNCTION_INFO_V1(profile_transfn);
PG_FUNCTION_INFO_V1(profile_combinefn);
PG_FUNCTION_INFO_V1(profile_serialfn);
PG_FUNCTION_INFO_V1(profile_deserialfn);
PG_FUNCTION_INFO_V1(profile_finalfn);

/* Argument positions of the transition function (0 is the state). */
#define ARG_ORDERED_AT 1
#define ARG_AMOUNT 2
#define ARG_AS_OF 3
#define ARG_ORDER_ID 4
#define ARG_RETURNED 5
#define ARG_DISCOUNT 6
#define ARG_TIME_ZONE 7

/* Revenue is annualised over at least this many days of tenure. */
#define TENURE_FLOOR_DAYS 365

/* What one aggregate call site looks up once, kept in fn_extra. */
typedef struct ProfileCallInfo
{
	OrderKeyInfo *order_key;	/* NULL until an order id was seen */
	bool		discount_mapped;
	TimeZoneCache zone;			/* the time_zone argument last resolved */
} ProfileCallInfo;

/*
 * Is the aggregate's discount argument given, and not the constant NULL?
 */
static bool
discount_argument_mapped(FunctionCallInfo fcinfo)
{
	Aggref	   *aggref = AggGetAggref(fcinfo);
	TargetEntry *entry;

	if (PG_NARGS() <= ARG_DISCOUNT)
		return false;
	if (aggref == NULL || list_length(aggref->args) < ARG_DISCOUNT)
		return true;
	entry = (TargetEntry *) list_nth(aggref->args, ARG_DISCOUNT - 1);
	return !(IsA(entry->expr, Const) && ((Const *) entry->expr)->constisnull);
}

static ProfileCallInfo *
profile_call_info(FunctionCallInfo fcinfo)
{
	ProfileCallInfo *info = (ProfileCallInfo *) fcinfo->flinfo->fn_extra;

	if (info == NULL)
	{
		info = (ProfileCallInfo *) MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(ProfileCallInfo));
		info->discount_mapped = discount_argument_mapped(fcinfo);
		fcinfo->flinfo->fn_extra = info;
	}
	return info;
}

/*
 * The time zone of this row: the time_zone argument, or the session's.
 */
static pg_tz *
row_time_zone(FunctionCallInfo fcinfo, ProfileCallInfo *info)
{
	text	   *name;

	if (PG_NARGS() <= ARG_TIME_ZONE || PG_ARGISNULL(ARG_TIME_ZONE))
		return session_timezone;
	name = PG_GETARG_TEXT_PP(ARG_TIME_ZONE);
	return cp_time_zone_cached(&info->zone, name, fcinfo->flinfo->fn_mcxt);
}

/*
 * The transition function of every form of customer_profile().
 */
Datum
profile_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ProfileState *state = PG_ARGISNULL(0) ? NULL : (ProfileState *) PG_GETARG_POINTER(0);
	ProfileCallInfo *info = profile_call_info(fcinfo);
	TimestampTz as_of;
	pg_tz	   *zone;
	ProfileRow	row;

	as_of = cp_as_of_argument(fcinfo, ARG_AS_OF, "profile");
	zone = row_time_zone(fcinfo, info);
	if (state == NULL)
	{
		cp_check_finite_timestamp(as_of, "as_of");
		state = profile_state_create(context, as_of, zone, info->discount_mapped);
	}
	else
		profile_state_check_call(state, as_of, zone);

	if (PG_ARGISNULL(ARG_ORDERED_AT) || PG_ARGISNULL(ARG_AMOUNT))
		PG_RETURN_POINTER(state);

	row.ordered_at = PG_GETARG_TIMESTAMPTZ(ARG_ORDERED_AT);
	cp_check_finite_timestamp(row.ordered_at, "ordered_at");
	row.amount = PG_GETARG_NUMERIC(ARG_AMOUNT);
	cp_check_finite_amount(row.amount, "amount");
	row.returned_amount = cp_returned_amount_argument(fcinfo, ARG_RETURNED);
	row.discounted = false;
	if (PG_NARGS() > ARG_DISCOUNT && !PG_ARGISNULL(ARG_DISCOUNT))
	{
		Numeric		discount = PG_GETARG_NUMERIC(ARG_DISCOUNT);

		cp_check_finite_amount(discount, "discount");
		row.discounted = cp_numeric_sign(discount) > 0;
	}

	row.has_order_key = PG_NARGS() > ARG_ORDER_ID && !PG_ARGISNULL(ARG_ORDER_ID);
	row.order_key = 0;
	if (row.has_order_key)
	{
		if (info->order_key == NULL)
			info->order_key = order_key_info_create(fcinfo, ARG_ORDER_ID);
		row.order_key = order_key(info->order_key, PG_GETARG_DATUM(ARG_ORDER_ID),
								  PG_GET_COLLATION());
	}

	profile_state_add(state, &row, context);
	PG_RETURN_POINTER(state);
}

/*
 * Combine two partial states; the result lives in the aggregate context.
 */
Datum
profile_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ProfileState *state = PG_ARGISNULL(0) ? NULL : (ProfileState *) PG_GETARG_POINTER(0);
	ProfileState *other = PG_ARGISNULL(1) ? NULL : (ProfileState *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		PG_RETURN_POINTER(profile_state_copy(other, context));
	profile_state_merge(state, other, context);
	PG_RETURN_POINTER(state);
}

/*
 * State to bytea, for parallel aggregation.
 */
Datum
profile_serialfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(profile_state_serialize((ProfileState *) PG_GETARG_POINTER(0)));
}

/*
 * bytea to state, validated.
 */
Datum
profile_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);

	PG_RETURN_POINTER(profile_state_deserialize(PG_GETARG_BYTEA_PP(0), context));
}

/*
 * A float8 field, NULL when NaN (undefined).
 */
static void
set_float(Datum *values, bool *nulls, int field, double value)
{
	if (isnan(value))
		nulls[field] = true;
	else
		values[field] = Float8GetDatum(value);
}

/*
 * Net revenue per customer-year: net * 365 / max(tenure_days, 365), so a
 * customer of one week is not annualised fifty-two times over.
 */
static Numeric
revenue_per_year(Numeric net, int32 tenure_days)
{
	Numeric		year = int64_to_numeric(365);
	Numeric		tenure = int64_to_numeric(Max(tenure_days, TENURE_FLOOR_DAYS));

	return numeric_div_opt_error(numeric_mul_opt_error(net, year, NULL), tenure, NULL);
}

/*
 * Mean spend of the repeat purchase days: the gross without the orders of the
 * first purchase day, over the purchase days after it.  NULL (false) below
 * two purchase days.  Refunds are not subtracted: they belong to no day.
 */
static bool
repeat_spend(Numeric gross, const ProfileSummary *summary, Numeric *spend)
{
	Numeric		first_day;

	if (summary->purchase_days < 2)
		return false;
	first_day = numeric_div_opt_error(int64_to_numeric(summary->first_day_baskets),
									  int64_to_numeric(BASKET_MICROS_PER_UNIT), NULL);
	*spend = numeric_div_opt_error(numeric_sub_opt_error(gross, first_day, NULL),
								   int64_to_numeric(summary->purchase_days - 1), NULL);
	return true;
}

/*
 * The customer_profile composite (tupdesc, blessed) of a state that counted a
 * row.
 */
Datum
profile_state_datum(const ProfileState *state, TupleDesc tupdesc)
{
	ProfileSummary summary;
	Datum		values[P_NATTS];
	bool		nulls[P_NATTS] = {false};
	Numeric		gross;
	Numeric		returned;
	Numeric		net;
	int64		orders;

	if (tupdesc->natts != P_NATTS)
		elog(ERROR, "customer_profile has %d attributes, expected %d", tupdesc->natts, P_NATTS);

	profile_state_summarize(state, &summary);
	orders = summary.baskets.orders;
	gross = money_sum_value(&state->gross);
	returned = money_sum_value(&state->returned);
	net = numeric_sub_opt_error(gross, returned, NULL);

	values[P_AS_OF] = TimestampTzGetDatum(state->as_of);
	values[P_TIME_ZONE] = CStringGetTextDatum(cp_time_zone_name(state->zone));
	values[P_ORDERS] = Int64GetDatum(orders);
	values[P_PURCHASE_DAYS] = Int32GetDatum(summary.purchase_days);
	values[P_GROSS] = NumericGetDatum(gross);
	values[P_RETURNED] = NumericGetDatum(returned);
	values[P_NET_REVENUE] = NumericGetDatum(net);
	if (orders > 0)
	{
		int32		tenure = summary.as_of_day - summary.first_day;

		values[P_FIRST_ORDER] = TimestampTzGetDatum(state->first_purchase);
		values[P_LAST_ORDER] = TimestampTzGetDatum(state->last_purchase);
		values[P_RECENCY_DAYS] =
			Int32GetDatum(summary.as_of_day - cp_local_day(state->last_purchase, state->zone).day);
		values[P_TENURE_DAYS] = Int32GetDatum(tenure);
		values[P_REVENUE_PER_YEAR] = NumericGetDatum(revenue_per_year(net, tenure));
		values[P_AVERAGE_BASKET] =
			NumericGetDatum(numeric_div_opt_error(gross, int64_to_numeric(orders), NULL));
		values[P_WEEKEND_ORDERS] = Int64GetDatum(summary.baskets.weekend_orders);
		values[P_WEEKEND_SHARE] = Float8GetDatum((double) summary.baskets.weekend_orders / orders);
		values[P_DISCOUNTED_ORDERS] = Int64GetDatum(summary.baskets.discounted_orders);
		values[P_DISCOUNT_SHARE] =
			Float8GetDatum((double) summary.baskets.discounted_orders / orders);
		values[P_RETURN_RATE] = Float8GetDatum(money_sum_to_double(&state->returned) /
											   money_sum_to_double(&state->gross));
	}
	else
		nulls[P_FIRST_ORDER] = nulls[P_LAST_ORDER] = nulls[P_RECENCY_DAYS] =
			nulls[P_TENURE_DAYS] = nulls[P_REVENUE_PER_YEAR] = nulls[P_AVERAGE_BASKET] =
			nulls[P_WEEKEND_ORDERS] = nulls[P_WEEKEND_SHARE] = nulls[P_DISCOUNTED_ORDERS] =
			nulls[P_DISCOUNT_SHARE] = nulls[P_RETURN_RATE] = true;
	if (!state->discount_mapped)
		nulls[P_DISCOUNTED_ORDERS] = nulls[P_DISCOUNT_SHARE] = true;
	{
		Numeric		spend;

		if (repeat_spend(gross, &summary, &spend))
			values[P_REPEAT_SPEND] = NumericGetDatum(spend);
		else
			nulls[P_REPEAT_SPEND] = true;
	}
	set_float(values, nulls, P_BASKET_CV, summary.basket_cv);
	set_float(values, nulls, P_MEAN_GAP_DAYS, summary.mean_gap);
	set_float(values, nulls, P_GAP_CV, summary.gap_cv);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * The customer_profile composite of a state; NULL when no row was counted.
 */
Datum
profile_finalfn(PG_FUNCTION_ARGS)
{
	ProfileState *state;
	TupleDesc	tupdesc;

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (ProfileState *) PG_GETARG_POINTER(0);
	if (state->rows == 0)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "profile_finalfn must return a composite type");
	PG_RETURN_DATUM(profile_state_datum(state, BlessTupleDesc(tupdesc)));
}
