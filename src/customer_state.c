/*
 * customer_state.c
 *		Building, merging and (de)serialising the per-customer state.
 *
 * Definitions (the RFM contract, see README):
 *	- a row counts when ordered_at <= as_of;
 *	- a purchase is a counted row with amount > 0; frequency counts purchases,
 *	  or the distinct order ids of purchases when order ids are given (a
 *	  purchase row with a NULL order id is an order of its own);
 *	- a counted row with amount < 0 is a refund: it adds -amount to returned;
 *	- returned_amount, when given, adds to returned;
 *	- monetary = gross - returned.
 */
#include "customer_state.h"

#include "order_key.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"

/*
 * Bump on any change of the serialized format: a leader and parallel workers
 * running different builds of the library must fail with "Unknown state
 * version" instead of misreading each other's bytes.
 */
#define CUSTOMER_STATE_VERSION 2

/*
 * A new empty state in the aggregate context.
 */
CustomerState *
customer_state_create(MemoryContext context, TimestampTz as_of, bool count_order_ids)
{
	CustomerState *state = (CustomerState *) MemoryContextAlloc(context, sizeof(CustomerState));

	customer_state_init(state, as_of, count_order_ids);
	return state;
}

/*
 * Make *state an empty state (for states embedded in a larger structure).
 */
void
customer_state_init(CustomerState *state, TimestampTz as_of, bool count_order_ids)
{
	memset(state, 0, sizeof(CustomerState));
	state->as_of = as_of;
	state->count_order_ids = count_order_ids;
}

/*
 * as_of must be the same for every row of a customer, or "as of" means nothing.
 */
void
customer_state_check_as_of(const CustomerState *state, TimestampTz as_of)
{
	if (state->as_of != as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for all rows of a customer"),
				 errhint("Pass a constant or a parameter as as_of.")));
}

/*
 * Read an order row from a transition function's arguments: ordered_at at
 * argno, amount at argno + 1, the order id at order_id_argno and the
 * returned amount at returned_argno (-1: no such argument).  False when
 * ordered_at or amount is NULL: the row is skipped.  The key info of the
 * order id's type is looked up once per call site and kept in fn_extra.
 */
bool
order_row_from_arguments(FunctionCallInfo fcinfo, int argno, int order_id_argno,
						 int returned_argno, OrderRow *row)
{
	if (PG_ARGISNULL(argno) || PG_ARGISNULL(argno + 1))
		return false;
	row->ordered_at = PG_GETARG_TIMESTAMPTZ(argno);
	cp_check_finite_timestamp(row->ordered_at, "ordered_at");
	row->amount = NULL;
	if (!money_units_from_datum(PG_GETARG_DATUM(argno + 1), &row->amount_units))
	{
		row->amount = PG_GETARG_NUMERIC(argno + 1);
		cp_check_finite_amount(row->amount, "amount");
	}
	row->returned_amount = returned_argno < 0 ? NULL
		: cp_returned_amount_argument(fcinfo, returned_argno);
	row->has_order_key = order_id_argno >= 0 && !PG_ARGISNULL(order_id_argno);
	row->order_key = 0;
	if (row->has_order_key)
	{
		if (fcinfo->flinfo->fn_extra == NULL)
			fcinfo->flinfo->fn_extra = order_key_info_create(fcinfo, order_id_argno);
		row->order_key = order_key((OrderKeyInfo *) fcinfo->flinfo->fn_extra,
								   PG_GETARG_DATUM(order_id_argno), PG_GET_COLLATION());
	}
	return true;
}

/*
 * sum += the row's amount, or -amount when negate.
 */
static void
add_amount(MoneySum *sum, const OrderRow *row, bool negate, MemoryContext context)
{
	MoneyUnits	units = row->amount_units;

	if (row->amount != NULL)
	{
		if (negate)
			money_sum_add_negated(sum, row->amount, context);
		else
			money_sum_add(sum, row->amount, context);
		return;
	}
	/* units are never INT64_MIN (money_units.c), so negating is safe */
	if (negate)
		units.units = -units.units;
	money_sum_add_units(sum, &units, context);
}

/*
 * Record a purchase at ordered_at.
 */
static void
customer_state_add_purchase(CustomerState *state, const OrderRow *row, MemoryContext context)
{
	if (state->purchase_rows == 0 || row->ordered_at < state->first_purchase)
		state->first_purchase = row->ordered_at;
	if (state->purchase_rows == 0 || row->ordered_at > state->last_purchase)
		state->last_purchase = row->ordered_at;
	state->purchase_rows++;
	add_amount(&state->gross, row, false, context);
	if (!state->count_order_ids)
		return;
	if (row->has_order_key)
		order_set_add(&state->orders, row->order_key, context);
	else
		state->unkeyed_purchases++;
}

/*
 * Add one order row to the state.
 */
void
customer_state_add(CustomerState *state, const OrderRow *row, MemoryContext context)
{
	int			sign;

	if (row->ordered_at > state->as_of)
		return;
	state->rows++;

	if (row->returned_amount != NULL)
		money_sum_add(&state->returned, row->returned_amount, context);

	if (row->amount == NULL)
		sign = (row->amount_units.units > 0) - (row->amount_units.units < 0);
	else
		sign = cp_numeric_sign(row->amount);
	if (sign > 0)
		customer_state_add_purchase(state, row, context);
	else if (sign < 0)
		add_amount(&state->returned, row, true, context);
}

/*
 * A deep copy of src in context.
 */
CustomerState *
customer_state_copy(const CustomerState *src, MemoryContext context)
{
	CustomerState *dst = customer_state_create(context, src->as_of, src->count_order_ids);

	dst->rows = src->rows;
	dst->purchase_rows = src->purchase_rows;
	dst->unkeyed_purchases = src->unkeyed_purchases;
	dst->first_purchase = src->first_purchase;
	dst->last_purchase = src->last_purchase;
	money_sum_merge(&dst->gross, &src->gross, context);
	money_sum_merge(&dst->returned, &src->returned, context);
	order_set_copy(&dst->orders, &src->orders, context);
	return dst;
}

/*
 * state += other.  Both come from the same aggregate call, so they agree on
 * as_of and on whether order ids are counted.
 */
void
customer_state_merge(CustomerState *state, const CustomerState *other, MemoryContext context)
{
	customer_state_check_as_of(state, other->as_of);
	if (state->count_order_ids != other->count_order_ids)
		elog(ERROR, "cannot merge customer states with and without order ids");

	if (other->purchase_rows > 0)
	{
		if (state->purchase_rows == 0 || other->first_purchase < state->first_purchase)
			state->first_purchase = other->first_purchase;
		if (state->purchase_rows == 0 || other->last_purchase > state->last_purchase)
			state->last_purchase = other->last_purchase;
	}
	state->rows += other->rows;
	state->purchase_rows += other->purchase_rows;
	state->unkeyed_purchases += other->unkeyed_purchases;
	money_sum_merge(&state->gross, &other->gross, context);
	money_sum_merge(&state->returned, &other->returned, context);
	order_set_merge(&state->orders, &other->orders, context);
}

/*
 * Number of purchases (orders) of the customer.
 */
int64
customer_state_frequency(const CustomerState *state)
{
	if (!state->count_order_ids)
		return state->purchase_rows;
	return order_set_count(&state->orders) + state->unkeyed_purchases;
}

/*
 * Append the counters, sums and order keys of a state to buf (not as_of and
 * the order id flag, which a caller serialising many states writes once).
 */
void
customer_state_write(StringInfo buf, const CustomerState *state)
{
	pq_sendint64(buf, state->rows);
	pq_sendint64(buf, state->purchase_rows);
	pq_sendint64(buf, state->unkeyed_purchases);
	pq_sendint64(buf, state->first_purchase);
	pq_sendint64(buf, state->last_purchase);
	money_sum_serialize(buf, &state->gross);
	money_sum_serialize(buf, &state->returned);
	order_set_serialize(buf, &state->orders);
}

/*
 * Read what customer_state_write wrote into an initialised empty state.
 * Every length is checked by pq_getmsg*, and the counters are checked for
 * consistency, so corrupted bytes raise an error instead of yielding a wrong
 * answer.
 */
void
customer_state_read(StringInfo buf, CustomerState *state, MemoryContext context)
{
	state->rows = pq_getmsgint64(buf);
	state->purchase_rows = pq_getmsgint64(buf);
	state->unkeyed_purchases = pq_getmsgint64(buf);
	state->first_purchase = pq_getmsgint64(buf);
	state->last_purchase = pq_getmsgint64(buf);
	money_sum_deserialize(buf, &state->gross, context);
	money_sum_deserialize(buf, &state->returned, context);
	order_set_deserialize(buf, &state->orders, context);

	if (TIMESTAMP_NOT_FINITE(state->as_of) ||
		state->rows < 0 || state->purchase_rows < 0 || state->unkeyed_purchases < 0 ||
		state->purchase_rows > state->rows ||
		state->unkeyed_purchases > state->purchase_rows ||
		customer_state_frequency(state) > state->purchase_rows ||
		(state->purchase_rows > 0 &&
		 (state->first_purchase > state->last_purchase ||
		  state->last_purchase > state->as_of)))
		cp_state_corrupted("The counters or timestamps are inconsistent.");
}

/*
 * The state as bytea: a version byte, then the fields in network order.
 */
bytea *
customer_state_serialize(const CustomerState *state)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, CUSTOMER_STATE_VERSION);
	pq_sendbyte(&buf, state->count_order_ids);
	pq_sendint64(&buf, state->as_of);
	customer_state_write(&buf, state);
	return pq_endtypsend(&buf);
}

/*
 * Read a state written by customer_state_serialize.
 */
CustomerState *
customer_state_deserialize(bytea *bytes, MemoryContext context)
{
	StringInfoData buf;
	CustomerState *state;
	int			version;
	int			count_order_ids;

	cp_state_reader(&buf, bytes);

	version = pq_getmsgbyte(&buf);
	if (version != CUSTOMER_STATE_VERSION)
		cp_state_corrupted("Unknown state version.");
	count_order_ids = pq_getmsgbyte(&buf);
	if (count_order_ids > 1)
		cp_state_corrupted("Bad order id flag.");

	state = customer_state_create(context, pq_getmsgint64(&buf), count_order_ids == 1);
	customer_state_read(&buf, state, context);
	pq_getmsgend(&buf);
	return state;
}
