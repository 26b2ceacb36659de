/*
 * float_list.h
 *		A growable list of float8 values for population aggregates that rank
 *		every customer (top shares, medians).
 */
#ifndef FLOAT_LIST_H
#define FLOAT_LIST_H

#include "customer_priority.h"

#include "lib/stringinfo.h"

typedef struct FloatList
{
	int64		count;
	int64		capacity;
	double	   *items;
} FloatList;

extern void float_list_append(FloatList *list, double value, MemoryContext context);
extern void float_list_append_all(FloatList *list, const FloatList *other, MemoryContext context);
extern void float_list_sort(FloatList *list);
extern double float_list_top_share_min(const FloatList *list, double share);
extern double float_list_lower_median(const FloatList *list);
extern void float_list_serialize(StringInfo buf, const FloatList *list);
extern void float_list_deserialize(StringInfo buf, FloatList *list, MemoryContext context);

#endif							/* FLOAT_LIST_H */
