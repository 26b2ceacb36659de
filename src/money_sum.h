/*
 * money_sum.h
 *		An exact sum of money amounts kept in an aggregate state without
 *		growing per row: int64 units while the amounts fit, numeric for the rest.
 */
#ifndef MONEY_SUM_H
#define MONEY_SUM_H

#include "customer_priority.h"

#include "lib/stringinfo.h"
#include "money_units.h"

/* All zeros is the empty sum (zero). */
typedef struct MoneySum
{
	bool		has_units;		/* an addend was read as units */
	int32		dscale;			/* largest display scale of those addends */
	int64		units;			/* their sum */
	Numeric		rest;			/* sum of the other addends; NULL: none */
	Size		capacity;		/* bytes allocated for rest */
} MoneySum;

extern void money_sum_add(MoneySum *sum, Numeric addend, MemoryContext context);
extern void money_sum_add_negated(MoneySum *sum, Numeric addend, MemoryContext context);
extern void money_sum_add_units(MoneySum *sum, const MoneyUnits *addend, MemoryContext context);
extern void money_sum_merge(MoneySum *sum, const MoneySum *other, MemoryContext context);
extern bool money_sum_is_empty(const MoneySum *sum);
extern Numeric money_sum_value(const MoneySum *sum);
extern bool money_sum_units(const MoneySum *sum, MoneyUnits *value);
extern double money_sum_to_double(const MoneySum *sum);
extern void money_sum_serialize(StringInfo buf, const MoneySum *sum);
extern void money_sum_deserialize(StringInfo buf, MoneySum *sum, MemoryContext context);

#endif							/* MONEY_SUM_H */
