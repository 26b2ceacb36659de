/*
 * order_set.h
 *		The set of distinct order ids of one customer, for counting orders in
 *		order-line tables.
 */
#ifndef ORDER_SET_H
#define ORDER_SET_H

#include "customer_priority.h"

#include "lib/stringinfo.h"

typedef struct OrderSet
{
	uint64	   *slots;			/* open addressing; 0 marks an empty slot */
	uint32		capacity;		/* number of slots, a power of two or 0 */
	uint32		used;			/* non-zero keys stored in slots */
	bool		has_zero;		/* key 0 cannot live in a slot */
} OrderSet;

extern void order_set_add(OrderSet *set, uint64 key, MemoryContext context);
extern void order_set_merge(OrderSet *set, const OrderSet *other, MemoryContext context);
extern void order_set_copy(OrderSet *dst, const OrderSet *src, MemoryContext context);
extern int64 order_set_count(const OrderSet *set);
extern void order_set_serialize(StringInfo buf, const OrderSet *set);
extern void order_set_deserialize(StringInfo buf, OrderSet *set, MemoryContext context);

#endif							/* ORDER_SET_H */
