/*
 * numeric_list.c
 *		Numeric values copied into 64 kB arena blocks (one palloc per block,
 *		not per customer) with a growable array of pointers to them.
 */
#include "numeric_list.h"

#include "libpq/pqformat.h"
#include "money_units.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"

#define ARENA_BLOCK_SIZE (64 * 1024)

/*
 * Copy a value into the arena.
 */
static Numeric
numeric_list_copy(NumericList *list, Numeric value, MemoryContext context)
{
	Size		size = VARSIZE(value);
	Numeric		copy;

	if (list->arena == NULL || list->arena_used + MAXALIGN(size) > list->arena_size)
	{
		list->arena_size = Max(ARENA_BLOCK_SIZE, MAXALIGN(size));
		list->arena = MemoryContextAlloc(context, list->arena_size);
		list->arena_used = 0;
	}
	copy = (Numeric) (list->arena + list->arena_used);
	memcpy(copy, value, size);
	list->arena_used += MAXALIGN(size);
	return copy;
}

/*
 * Make room for extra more values.
 */
static void
numeric_list_reserve(NumericList *list, int64 extra, MemoryContext context)
{
	int64		capacity;

	if (list->count + extra <= list->capacity)
		return;
	capacity = Max(Max(list->capacity * 2, 1024), list->count + extra);
	if (list->items == NULL)
		list->items = MemoryContextAllocHuge(context, sizeof(Numeric) * capacity);
	else
		list->items = repalloc_huge(list->items, sizeof(Numeric) * capacity);
	list->capacity = capacity;
}

/*
 * Append a copy of value.
 */
void
numeric_list_append(NumericList *list, Numeric value, MemoryContext context)
{
	numeric_list_reserve(list, 1, context);
	list->items[list->count++] = numeric_list_copy(list, value, context);
}

/*
 * Append copies of all of other's values (other may live in a short-lived
 * context, as a deserialized partial state does).
 */
void
numeric_list_append_all(NumericList *list, const NumericList *other, MemoryContext context)
{
	numeric_list_reserve(list, other->count, context);
	for (int64 i = 0; i < other->count; i++)
	{
		list->items[list->count++] = numeric_list_copy(list, other->items[i], context);
		cp_check_interrupts(i);
	}
}

/* A value and its nearest float8, for sorting. */
typedef struct KeyedNumeric
{
	double		key;
	Numeric		value;
} KeyedNumeric;

/*
 * numeric -> float8 is correctly rounded, hence monotonic: a smaller key
 * means a smaller value, and only equal keys need the exact comparison.
 */
static int
cmp_keyed_numeric(const void *a, const void *b)
{
	const KeyedNumeric *x = (const KeyedNumeric *) a;
	const KeyedNumeric *y = (const KeyedNumeric *) b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return cp_numeric_cmp(x->value, y->value);
}

/* A value and its units, for sorting values that are all exact in units. */
typedef struct UnitKeyedNumeric
{
	int64		units;
	Numeric		value;
} UnitKeyedNumeric;

static int
cmp_unit_keyed_numeric(const void *a, const void *b)
{
	int64		x = ((const UnitKeyedNumeric *) a)->units;
	int64		y = ((const UnitKeyedNumeric *) b)->units;

	return (x > y) - (x < y);
}

/*
 * Sort by units when every value is exact in units (money amounts nearly
 * always are): equal units are equal values.  False, with the list
 * untouched, otherwise.
 */
static bool
numeric_list_sort_units(NumericList *list)
{
	UnitKeyedNumeric *keyed = palloc_extended(sizeof(UnitKeyedNumeric) * list->count, MCXT_ALLOC_HUGE);

	for (int64 i = 0; i < list->count; i++)
	{
		MoneyUnits	units;

		if (!money_units_from_numeric(list->items[i], &units))
		{
			pfree(keyed);
			return false;
		}
		keyed[i].units = units.units;
		keyed[i].value = list->items[i];
		cp_check_interrupts(i);
	}
	CHECK_FOR_INTERRUPTS();
	qsort(keyed, list->count, sizeof(UnitKeyedNumeric), cmp_unit_keyed_numeric);
	for (int64 i = 0; i < list->count; i++)
		list->items[i] = keyed[i].value;
	pfree(keyed);
	return true;
}

/* A numeric constant from its text. */
static Numeric
numeric_constant(const char *text)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(text),
											   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/*
 * Sort ascending.  Comparing float8 keys first makes sorting a million
 * values several times faster than comparing numerics throughout.
 */
void
numeric_list_sort(NumericList *list)
{
	KeyedNumeric *keyed;
	Numeric		high;
	Numeric		low;
	Numeric		tiny;
	Numeric		minus_tiny;

	if (list->count <= 1 || numeric_list_sort_units(list))
		return;

	/*
	 * Beyond +-1e300 the keys are clamped, and within +-1e-300 they are 0:
	 * numeric_float8 would overflow or underflow (an error), and the keys
	 * stay monotonic.
	 */
	high = numeric_constant("1e300");
	low = numeric_constant("-1e300");
	tiny = numeric_constant("1e-300");
	minus_tiny = numeric_constant("-1e-300");
	keyed = palloc_extended(sizeof(KeyedNumeric) * list->count, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < list->count; i++)
	{
		Numeric		value = list->items[i];

		keyed[i].value = value;
		if (cp_numeric_cmp(value, high) > 0)
			keyed[i].key = 1e300;
		else if (cp_numeric_cmp(value, low) < 0)
			keyed[i].key = -1e300;
		else if (cp_numeric_cmp(value, tiny) < 0 && cp_numeric_cmp(value, minus_tiny) > 0)
			keyed[i].key = 0;
		else
			keyed[i].key = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
															   NumericGetDatum(value)));
		cp_check_interrupts(i);
	}
	qsort(keyed, list->count, sizeof(KeyedNumeric), cmp_keyed_numeric);
	for (int64 i = 0; i < list->count; i++)
		list->items[i] = keyed[i].value;
	pfree(keyed);
}

/*
 * Append the list: a count, then the values in numeric's send format.
 */
void
numeric_list_serialize(StringInfo buf, const NumericList *list)
{
	pq_sendint64(buf, list->count);
	for (int64 i = 0; i < list->count; i++)
		cp_state_send_numeric(buf, list->items[i]);
}

/*
 * Read a list written by numeric_list_serialize.  The count is checked
 * against the bytes present (a value takes at least 8) before allocating.
 */
void
numeric_list_deserialize(StringInfo buf, NumericList *list, MemoryContext context)
{
	int64		count = pq_getmsgint64(buf);

	memset(list, 0, sizeof(NumericList));
	if (count < 0 || count > (buf->len - buf->cursor) / 8)
		cp_state_corrupted("The value count does not match the length.");
	numeric_list_reserve(list, count, context);
	for (int64 i = 0; i < count; i++)
	{
		numeric_list_append(list, cp_state_recv_numeric(buf, "a serialized value"), context);
		cp_check_interrupts(i);
	}
}
