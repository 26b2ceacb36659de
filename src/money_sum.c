/*
 * money_sum.c
 *		Exact sums of money amounts for aggregate states.
 *
 * Money stays exact: float8 would round cents away on large sums.  Amounts
 * that are exact in int64 units of 1/10000 (money_units.c: nearly every real
 * amount) are added as int64, with overflow checks; the others, and whatever
 * would overflow, go to a numeric part.  That part is computed in the
 * caller's short-lived memory context (the aggregate's per-tuple context)
 * and copied into a buffer owned by the state, reused while the sum fits, so
 * the aggregate context does not grow per row.  The value is the same number
 * with the same display scale as numeric's own sum() (whose scale is the
 * largest of the addends').
 */
#include "money_sum.h"

#include "common/int.h"
#include "libpq/pqformat.h"
#include "utils/fmgrprotos.h"

/*
 * Store value as the numeric part, in the state's buffer (grown when too small).
 */
static void
money_sum_store_rest(MoneySum *sum, Numeric value, MemoryContext context)
{
	Size		size = VARSIZE(value);

	if (sum->rest == NULL || sum->capacity < size)
	{
		Size		capacity = Max(size, 32);

		if (sum->rest != NULL)
			pfree(sum->rest);
		sum->rest = (Numeric) MemoryContextAlloc(context, capacity);
		sum->capacity = capacity;
	}
	memmove(sum->rest, value, size);
}

/*
 * numeric part += addend.
 */
static void
money_sum_add_rest(MoneySum *sum, Numeric addend, MemoryContext context)
{
	if (sum->rest == NULL)
		money_sum_store_rest(sum, addend, context);
	else
		money_sum_store_rest(sum, numeric_add_opt_error(sum->rest, addend, NULL), context);
}

/*
 * sum += addend, read as units.
 */
void
money_sum_add_units(MoneySum *sum, const MoneyUnits *addend, MemoryContext context)
{
	int64		units;

	if (pg_add_s64_overflow(sum->units, addend->units, &units))
	{
		money_sum_add_rest(sum, money_units_to_numeric(addend->units, addend->dscale), context);
		return;
	}
	sum->units = units;
	if (!sum->has_units || addend->dscale > sum->dscale)
		sum->dscale = addend->dscale;
	sum->has_units = true;
}

/*
 * sum += addend.
 */
void
money_sum_add(MoneySum *sum, Numeric addend, MemoryContext context)
{
	MoneyUnits	units;

	if (money_units_from_numeric(addend, &units))
		money_sum_add_units(sum, &units, context);
	else
		money_sum_add_rest(sum, addend, context);
}

/*
 * sum -= addend (a refund adds -amount to the returned sum).  Units are
 * never INT64_MIN (money_units.c), so negating them is safe.
 */
void
money_sum_add_negated(MoneySum *sum, Numeric addend, MemoryContext context)
{
	MoneyUnits	units;

	if (money_units_from_numeric(addend, &units))
	{
		units.units = -units.units;
		money_sum_add_units(sum, &units, context);
	}
	else
		money_sum_add_rest(sum, DatumGetNumeric(DirectFunctionCall1(numeric_uminus,
																	NumericGetDatum(addend))),
						   context);
}

/*
 * sum += other.
 */
void
money_sum_merge(MoneySum *sum, const MoneySum *other, MemoryContext context)
{
	if (other->has_units)
	{
		MoneyUnits	units = {other->units, other->dscale};

		money_sum_add_units(sum, &units, context);
	}
	if (other->rest != NULL)
		money_sum_add_rest(sum, other->rest, context);
}

/*
 * Was nothing added?
 */
bool
money_sum_is_empty(const MoneySum *sum)
{
	return !sum->has_units && sum->rest == NULL;
}

/*
 * The sum as units, when every addend was (false otherwise).  Zero, of
 * display scale 0, when nothing was added.
 */
bool
money_sum_units(const MoneySum *sum, MoneyUnits *value)
{
	if (sum->rest != NULL)
		return false;
	value->units = sum->units;
	value->dscale = sum->has_units ? sum->dscale : 0;
	return true;
}

/*
 * The sum as a numeric in the current memory context (zero if nothing added).
 */
Numeric
money_sum_value(const MoneySum *sum)
{
	Numeric		units;

	if (!sum->has_units)
		return sum->rest == NULL ? cp_numeric_zero() : cp_numeric_copy(sum->rest, CurrentMemoryContext);
	units = money_units_to_numeric(sum->units, sum->dscale);
	if (sum->rest == NULL)
		return units;
	return numeric_add_opt_error(units, sum->rest, NULL);
}

/*
 * Append the sum: a presence byte, units and scale; a presence byte, the
 * numeric part in numeric's binary send format.
 */
void
money_sum_serialize(StringInfo buf, const MoneySum *sum)
{
	pq_sendbyte(buf, sum->has_units);
	if (sum->has_units)
	{
		pq_sendint64(buf, sum->units);
		pq_sendint32(buf, sum->dscale);
	}
	pq_sendbyte(buf, sum->rest != NULL);
	if (sum->rest != NULL)
		cp_state_send_numeric(buf, sum->rest);
}

/*
 * Read a presence byte.
 */
static bool
read_presence(StringInfo buf)
{
	int			present = pq_getmsgbyte(buf);

	if (present > 1)
		cp_state_corrupted("Bad presence flag for a money sum.");
	return present == 1;
}

/*
 * Read a sum written by money_sum_serialize.
 */
void
money_sum_deserialize(StringInfo buf, MoneySum *sum, MemoryContext context)
{
	memset(sum, 0, sizeof(MoneySum));
	sum->has_units = read_presence(buf);
	if (sum->has_units)
	{
		sum->units = pq_getmsgint64(buf);
		sum->dscale = pq_getmsgint(buf, 4);
		if (sum->dscale < 0 || sum->dscale > 0x3FFF)
			cp_state_corrupted("Bad scale of a money sum.");
	}
	if (read_presence(buf))
		money_sum_store_rest(sum, cp_state_recv_numeric(buf, "a serialized money sum"), context);
}

/*
 * The sum as the nearest float8, as numeric_float8 of money_sum_value()
 * gives it.  Units below 2^53 are exact in a double, and one correctly
 * rounded division by 10^4 is then the nearest double to units / 10^4, the
 * very number numeric_float8 rounds, without its trip through text.
 */
double
money_sum_to_double(const MoneySum *sum)
{
	MoneyUnits	value;

	if (money_sum_units(sum, &value) &&
		value.units < (INT64CONST(1) << 53) && value.units > -(INT64CONST(1) << 53))
		return (double) value.units / (double) MONEY_UNITS_PER_ONE;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(money_sum_value(sum))));
}
