/*
 * order_map.h
 *		Per-order totals of one customer, keyed by order id, for profiles of
 *		order-line tables: the basket of an order is the sum of its lines.
 */
#ifndef ORDER_MAP_H
#define ORDER_MAP_H

#include "customer_priority.h"

#include "lib/stringinfo.h"

/* What the profile needs to know about one order. */
typedef struct OrderEntry
{
	uint64		key;			/* mixed order key */
	int64		basket;			/* sum of its purchase lines, in micro-units */
	TimestampTz first_at;		/* its earliest purchase line */
	bool		used;			/* slot holds an order */
	bool		discounted;		/* some purchase line had a discount > 0 */
} OrderEntry;

typedef struct OrderMap
{
	OrderEntry *slots;			/* open addressing, linear probing */
	uint32		capacity;		/* a power of two, or 0 */
	uint32		used;
} OrderMap;

extern void order_map_add(OrderMap *map, uint64 key, int64 basket, TimestampTz at,
						  bool discounted, MemoryContext context);
extern void order_map_merge(OrderMap *map, const OrderMap *other, MemoryContext context);
extern void order_map_copy(OrderMap *dst, const OrderMap *src, MemoryContext context);
extern void order_map_serialize(StringInfo buf, const OrderMap *map);
extern void order_map_deserialize(StringInfo buf, OrderMap *map, MemoryContext context);

#endif							/* ORDER_MAP_H */
