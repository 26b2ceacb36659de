/*
 * customer_state.h
 *		The per-customer aggregate state: what one pass over a customer's order
 *		rows knows.  Fixed size, except for the set of distinct order ids when
 *		an order id is given.  Mergeable, so the aggregates run in parallel.
 */
#ifndef CUSTOMER_STATE_H
#define CUSTOMER_STATE_H

#include "customer_priority.h"

#include "money_sum.h"
#include "order_set.h"

typedef struct CustomerState
{
	TimestampTz as_of;			/* rows after it are not counted */
	bool		count_order_ids;	/* frequency counts distinct order ids */
	int64		rows;			/* rows counted: at or before as_of */
	int64		purchase_rows;	/* counted rows with a positive amount */
	int64		unkeyed_purchases;	/* purchase rows with a NULL order id */
	TimestampTz first_purchase; /* valid when purchase_rows > 0 */
	TimestampTz last_purchase;
	MoneySum	gross;			/* sum of positive amounts */
	MoneySum	returned;		/* minus negative amounts, plus returned amounts */
	OrderSet	orders;			/* keys of purchase rows' order ids */
} CustomerState;

/*
 * One order row, already checked; order_key is valid when has_order_key.
 * The amount is read as units when that is exact (amount is then NULL).
 */
typedef struct OrderRow
{
	TimestampTz ordered_at;
	Numeric		amount;			/* NULL: see amount_units */
	MoneyUnits	amount_units;
	Numeric		returned_amount;	/* NULL if none */
	bool		has_order_key;
	uint64		order_key;
} OrderRow;

extern CustomerState *customer_state_create(MemoryContext context, TimestampTz as_of,
											bool count_order_ids);
extern void customer_state_init(CustomerState *state, TimestampTz as_of, bool count_order_ids);
extern void customer_state_check_as_of(const CustomerState *state, TimestampTz as_of);
extern bool order_row_from_arguments(FunctionCallInfo fcinfo, int argno, int order_id_argno,
									 int returned_argno, OrderRow *row);
extern void customer_state_add(CustomerState *state, const OrderRow *row, MemoryContext context);
extern CustomerState *customer_state_copy(const CustomerState *src, MemoryContext context);
extern void customer_state_merge(CustomerState *state, const CustomerState *other,
								 MemoryContext context);
extern int64 customer_state_frequency(const CustomerState *state);
extern void customer_state_write(StringInfo buf, const CustomerState *state);
extern void customer_state_read(StringInfo buf, CustomerState *state, MemoryContext context);
extern bytea *customer_state_serialize(const CustomerState *state);
extern CustomerState *customer_state_deserialize(bytea *bytes, MemoryContext context);

#endif							/* CUSTOMER_STATE_H */
