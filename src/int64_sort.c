/*
 * int64_sort.c
 *		LSD radix sort of int64 values.
 *
 * Why not qsort: the whole-table path sorts three or four arrays of a million
 * or more values per call; qsort's indirect comparisons cost ~100 ms per
 * million, a radix sort a few ms per pass.  Each pass distributes on one
 * byte; a pass where every value has the same byte is skipped, which is most
 * of the high bytes of timestamps, counts and amounts.  Small arrays go to
 * qsort, whose constant is lower.
 */
#include "int64_sort.h"

#include "miscadmin.h"

#define RADIX_BITS 8
#define RADIX_SIZE (1 << RADIX_BITS)
#define RADIX_PASSES (64 / RADIX_BITS)
#define RADIX_MIN_COUNT 4096

/*
 * Flip the sign bit: unsigned order of the keys is signed order of the values.
 */
static inline uint64
sort_key(int64 value)
{
	return (uint64) value ^ (UINT64CONST(1) << 63);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * Sort values[0..count-1] ascending.
 */
void
int64_sort(int64 *values, int64 count)
{
	int64	   *buffer;
	int64	   *from = values;
	int64	   *to;
	int64		(*histogram)[RADIX_SIZE];

	if (count < RADIX_MIN_COUNT)
	{
		qsort(values, count, sizeof(int64), cmp_int64);
		return;
	}
	buffer = palloc_extended(sizeof(int64) * count, MCXT_ALLOC_HUGE);
	to = buffer;

	/* one pass over the values counts the bytes of every position */
	histogram = palloc0(sizeof(int64) * RADIX_SIZE * RADIX_PASSES);
	for (int64 i = 0; i < count; i++)
	{
		uint64		key = sort_key(values[i]);

		for (int pass = 0; pass < RADIX_PASSES; pass++)
			histogram[pass][(key >> (pass * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
	}

	for (int pass = 0; pass < RADIX_PASSES; pass++)
	{
		int64	   *counts = histogram[pass];
		int			shift = pass * RADIX_BITS;
		int64		offset = 0;
		int64	   *swap;

		/* all values share this byte: the pass would not move anything */
		if (counts[(sort_key(from[0]) >> shift) & (RADIX_SIZE - 1)] == count)
			continue;
		for (int digit = 0; digit < RADIX_SIZE; digit++)
		{
			int64		n = counts[digit];

			counts[digit] = offset;
			offset += n;
		}
		for (int64 i = 0; i < count; i++)
			to[counts[(sort_key(from[i]) >> shift) & (RADIX_SIZE - 1)]++] = from[i];
		swap = from;
		from = to;
		to = swap;
		CHECK_FOR_INTERRUPTS();
	}
	if (from != values)
		memcpy(values, from, sizeof(int64) * count);
	pfree(buffer);
	pfree(histogram);
}
