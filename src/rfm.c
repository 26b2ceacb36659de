/*
 * rfm.c
 *		The per-customer RFM aggregate rfm(ordered_at, amount, as_of
 *		[, order_id [, returned_amount]]) and its support functions.
 *
 * NULL handling: a row with a NULL ordered_at or amount is skipped; a NULL
 * order_id makes the row an order of its own; a NULL returned_amount is 0;
 * a NULL as_of is an error.  A customer with no counted row yields NULL.
 */
#include "customer_priority.h"

#include "calendar.h"
#include "customer_state.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"

PG_FUNCTION_INFO_V1(rfm_transfn);
PG_FUNCTION_INFO_V1(rfm_transfn_order);
PG_FUNCTION_INFO_V1(rfm_transfn_order_returned);
PG_FUNCTION_INFO_V1(rfm_combinefn);
PG_FUNCTION_INFO_V1(rfm_serialfn);
PG_FUNCTION_INFO_V1(rfm_deserialfn);
PG_FUNCTION_INFO_V1(rfm_finalfn);

/* Argument positions of the transition functions (0 is the state). */
#define ARG_ORDERED_AT 1
#define ARG_AMOUNT 2
#define ARG_AS_OF 3
#define ARG_ORDER_ID 4
#define ARG_RETURNED 5

/*
 * The shared body of the three transition functions.
 */
static Datum
rfm_accumulate(FunctionCallInfo fcinfo, bool with_order_id, bool with_returned)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	CustomerState *state = PG_ARGISNULL(0) ? NULL : (CustomerState *) PG_GETARG_POINTER(0);
	TimestampTz as_of;
	OrderRow	row;

	as_of = cp_as_of_argument(fcinfo, ARG_AS_OF, "scores");
	if (state == NULL)
	{
		cp_check_finite_timestamp(as_of, "as_of");
		state = customer_state_create(context, as_of, with_order_id);
	}
	else
		customer_state_check_as_of(state, as_of);

	if (order_row_from_arguments(fcinfo, ARG_ORDERED_AT, with_order_id ? ARG_ORDER_ID : -1,
								 with_returned ? ARG_RETURNED : -1, &row))
		customer_state_add(state, &row, context);
	PG_RETURN_POINTER(state);
}

/*
 * rfm(ordered_at, amount, as_of): one row per order.
 */
Datum
rfm_transfn(PG_FUNCTION_ARGS)
{
	return rfm_accumulate(fcinfo, false, false);
}

/*
 * rfm(ordered_at, amount, as_of, order_id): order lines.
 */
Datum
rfm_transfn_order(PG_FUNCTION_ARGS)
{
	return rfm_accumulate(fcinfo, true, false);
}

/*
 * rfm(ordered_at, amount, as_of, order_id, returned_amount).
 */
Datum
rfm_transfn_order_returned(PG_FUNCTION_ARGS)
{
	return rfm_accumulate(fcinfo, true, true);
}

/*
 * Combine two partial states; the result lives in the aggregate context.
 */
Datum
rfm_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	CustomerState *state = PG_ARGISNULL(0) ? NULL : (CustomerState *) PG_GETARG_POINTER(0);
	CustomerState *other = PG_ARGISNULL(1) ? NULL : (CustomerState *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		PG_RETURN_POINTER(customer_state_copy(other, context));
	customer_state_merge(state, other, context);
	PG_RETURN_POINTER(state);
}

/*
 * State to bytea, for parallel aggregation.
 */
Datum
rfm_serialfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(customer_state_serialize((CustomerState *) PG_GETARG_POINTER(0)));
}

/*
 * bytea to state, validated.
 */
Datum
rfm_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);

	PG_RETURN_POINTER(customer_state_deserialize(PG_GETARG_BYTEA_PP(0), context));
}

/*
 * The rfm_metrics composite of a state; NULL when no row was counted.
 */
Datum
rfm_finalfn(PG_FUNCTION_ARGS)
{
	CustomerState *state;
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10] = {false};
	int64		frequency;
	Numeric		gross;
	Numeric		returned;
	Numeric		monetary;

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (CustomerState *) PG_GETARG_POINTER(0);
	if (state->rows == 0)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rfm_finalfn must return a composite type");

	frequency = customer_state_frequency(state);
	gross = money_sum_value(&state->gross);
	returned = money_sum_value(&state->returned);
	monetary = numeric_sub_opt_error(gross, returned, NULL);

	if (state->purchase_rows > 0)
	{
		values[0] = TimestampTzGetDatum(state->first_purchase);
		values[1] = TimestampTzGetDatum(state->last_purchase);
		values[2] = Int32GetDatum(cp_session_date(state->as_of) - cp_session_date(state->last_purchase));
		values[9] = Int32GetDatum(cp_session_date(state->as_of) - cp_session_date(state->first_purchase));
	}
	else
		nulls[0] = nulls[1] = nulls[2] = nulls[9] = true;
	values[3] = Int64GetDatum(frequency);
	values[4] = NumericGetDatum(monetary);
	if (frequency > 0)
		values[5] = NumericGetDatum(numeric_div_opt_error(monetary, int64_to_numeric(frequency), NULL));
	else
		nulls[5] = true;
	values[6] = NumericGetDatum(gross);
	values[7] = NumericGetDatum(returned);
	values[8] = TimestampTzGetDatum(state->as_of);

	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
