/*
 * float_list.c
 *		A growable array of float8 values (8 bytes per customer) in an
 *		aggregate's memory context, with the two rank statistics the typology
 *		model needs.
 */
#include "float_list.h"

#include "libpq/pqformat.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include <math.h>

/*
 * Make room for extra more values.
 */
static void
float_list_reserve(FloatList *list, int64 extra, MemoryContext context)
{
	int64		capacity;

	if (list->count + extra <= list->capacity)
		return;
	capacity = Max(Max(list->capacity * 2, 1024), list->count + extra);
	if (list->items == NULL)
		list->items = MemoryContextAllocHuge(context, sizeof(double) * capacity);
	else
		list->items = repalloc_huge(list->items, sizeof(double) * capacity);
	list->capacity = capacity;
}

void
float_list_append(FloatList *list, double value, MemoryContext context)
{
	float_list_reserve(list, 1, context);
	list->items[list->count++] = value;
}

void
float_list_append_all(FloatList *list, const FloatList *other, MemoryContext context)
{
	if (other->count == 0)
		return;
	float_list_reserve(list, other->count, context);
	memcpy(list->items + list->count, other->items, sizeof(double) * other->count);
	list->count += other->count;
}

static int
float_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * Sort ascending.  The values never hold NaN (callers skip undefined ones).
 */
void
float_list_sort(FloatList *list)
{
	if (list->count > 1)
		qsort(list->items, list->count, sizeof(double), float_cmp);
}

/*
 * The smallest value of the top share of a sorted list, such that the values
 * at or above it are at most floor(share * count) customers: customers tied
 * at the boundary are left out together rather than letting the top grow
 * beyond its share.  NaN when no value qualifies.
 */
double
float_list_top_share_min(const FloatList *list, double share)
{
	int64		cap = (int64) floor(share * (double) list->count);
	int64		first;

	if (cap <= 0)
		return get_float8_nan();
	if (cap >= list->count)
		return list->items[0];
	/* items[first] is the smallest value of the top cap; step over ties */
	first = list->count - cap;
	while (first < list->count && list->items[first] == list->items[first - 1])
		first++;
	if (first == list->count)
		return get_float8_nan();
	return list->items[first];
}

/*
 * The lower median of a sorted list (percentile_disc(0.5)); NaN if empty.
 */
double
float_list_lower_median(const FloatList *list)
{
	if (list->count == 0)
		return get_float8_nan();
	return list->items[(list->count + 1) / 2 - 1];
}

void
float_list_serialize(StringInfo buf, const FloatList *list)
{
	pq_sendint64(buf, list->count);
	for (int64 i = 0; i < list->count; i++)
		pq_sendfloat8(buf, list->items[i]);
}

/*
 * Read a list written by float_list_serialize, checking the count against
 * the bytes present before allocating.
 */
void
float_list_deserialize(StringInfo buf, FloatList *list, MemoryContext context)
{
	int64		count = pq_getmsgint64(buf);

	memset(list, 0, sizeof(FloatList));
	/* divide, not multiply: count * 8 of a corrupted count can wrap around */
	if (count < 0 || count > (buf->len - buf->cursor) / (int64) sizeof(double))
		cp_state_corrupted("A value list is truncated or corrupted.");
	float_list_reserve(list, count, context);
	for (int64 i = 0; i < count; i++)
	{
		double		value = pq_getmsgfloat8(buf);

		if (isnan(value))
			cp_state_corrupted("A value list holds NaN.");
		list->items[list->count++] = value;
		cp_check_interrupts(i);
	}
}
