/*
 * money_sum.h
 *		An exact numeric sum kept in an aggregate state without growing per row.
 */
#ifndef MONEY_SUM_H
#define MONEY_SUM_H

#include "customer_priority.h"

#include "lib/stringinfo.h"

typedef struct MoneySum
{
	Numeric		value;			/* NULL means zero */
	Size		capacity;		/* bytes allocated for value */
} MoneySum;

extern void money_sum_add(MoneySum *sum, Numeric addend, MemoryContext context);
extern void money_sum_merge(MoneySum *sum, const MoneySum *other, MemoryContext context);
extern Numeric money_sum_value(const MoneySum *sum);
extern void money_sum_serialize(StringInfo buf, const MoneySum *sum);
extern void money_sum_deserialize(StringInfo buf, MoneySum *sum, MemoryContext context);

#endif							/* MONEY_SUM_H */
