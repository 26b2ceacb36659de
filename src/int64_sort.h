/*
 * int64_sort.h
 *		Sorting large int64 arrays (timestamps, counts, money units) in linear
 *		time, for the break points and cut-offs of a whole population.
 */
#ifndef INT64_SORT_H
#define INT64_SORT_H

#include "customer_priority.h"

extern void int64_sort(int64 *values, int64 count);

#endif							/* INT64_SORT_H */
