/*
 * numeric_list.h
 *		A growable list of numeric values for population aggregates that need
 *		every customer's value (exact quantiles, Pareto cut-offs).
 */
#ifndef NUMERIC_LIST_H
#define NUMERIC_LIST_H

#include "customer_priority.h"

#include "lib/stringinfo.h"

typedef struct NumericList
{
	int64		count;
	int64		capacity;
	Numeric    *items;			/* point into the arena blocks */
	char	   *arena;			/* current block for copies of the values */
	Size		arena_used;
	Size		arena_size;
} NumericList;

extern void numeric_list_append(NumericList *list, Numeric value, MemoryContext context);
extern void numeric_list_append_all(NumericList *list, const NumericList *other,
									MemoryContext context);
extern void numeric_list_sort(NumericList *list);
extern void numeric_list_serialize(StringInfo buf, const NumericList *list);
extern void numeric_list_deserialize(StringInfo buf, NumericList *list, MemoryContext context);

#endif							/* NUMERIC_LIST_H */
