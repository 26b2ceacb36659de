/*
 * money_sum.c
 *		Exact sums of money amounts for aggregate states.
 *
 * Money stays numeric: float8 would round cents away on large sums.  Each
 * addition computes the new sum in the caller's short-lived memory context
 * (the aggregate's per-tuple context) and copies it into a buffer owned by the
 * state, reusing the buffer while the sum fits, so the aggregate context does
 * not grow per row.  Overflow raises numeric's own "value overflows numeric
 * format" error.
 */
#include "money_sum.h"

#include "libpq/pqformat.h"

/*
 * Store value as the sum, in the state's buffer (grown when too small).
 */
static void
money_sum_store(MoneySum *sum, Numeric value, MemoryContext context)
{
	Size		size = VARSIZE(value);

	if (sum->value == NULL || sum->capacity < size)
	{
		Size		capacity = Max(size, 32);

		if (sum->value != NULL)
			pfree(sum->value);
		sum->value = (Numeric) MemoryContextAlloc(context, capacity);
		sum->capacity = capacity;
	}
	memmove(sum->value, value, size);
}

/*
 * sum += addend.
 */
void
money_sum_add(MoneySum *sum, Numeric addend, MemoryContext context)
{
	if (sum->value == NULL)
		money_sum_store(sum, addend, context);
	else
		money_sum_store(sum, numeric_add_opt_error(sum->value, addend, NULL), context);
}

/*
 * sum += other.
 */
void
money_sum_merge(MoneySum *sum, const MoneySum *other, MemoryContext context)
{
	if (other->value != NULL)
		money_sum_add(sum, other->value, context);
}

/*
 * The sum as a numeric in the current memory context (zero if nothing added).
 */
Numeric
money_sum_value(const MoneySum *sum)
{
	if (sum->value == NULL)
		return cp_numeric_zero();
	return cp_numeric_copy(sum->value, CurrentMemoryContext);
}

/*
 * Append the sum in numeric's binary send format, preceded by a presence byte.
 */
void
money_sum_serialize(StringInfo buf, const MoneySum *sum)
{
	pq_sendbyte(buf, sum->value != NULL);
	if (sum->value != NULL)
		cp_state_send_numeric(buf, sum->value);
}

/*
 * Read a sum written by money_sum_serialize.
 */
void
money_sum_deserialize(StringInfo buf, MoneySum *sum, MemoryContext context)
{
	int			present = pq_getmsgbyte(buf);
	Numeric		value;

	sum->value = NULL;
	sum->capacity = 0;
	if (present == 0)
		return;
	if (present != 1)
		cp_state_corrupted("Bad presence flag for a money sum.");
	value = cp_state_recv_numeric(buf, "a serialized money sum");
	money_sum_store(sum, value, context);
}
