/*
 * order_map.c
 *		An open-addressing hash map from order key to the order's totals.
 *
 * Lines of one order arrive in any order and, in parallel plans, in different
 * workers, so an order's basket is only known once every line was seen: the
 * map is what makes the basket statistics of order-line tables exact.  It
 * costs 32 bytes per slot, at most two slots per distinct order of the
 * customer, in the aggregate's memory context.  Keys are mixed with
 * order_key_mix, a bijection, so distinct integer ids stay distinct.
 */
#include "order_map.h"

#include "common/int.h"
#include "order_key.h"

#include "libpq/pqformat.h"
#include "utils/memutils.h"

#define ORDER_MAP_MIN_CAPACITY 4

/*
 * basket += add, or an error if an order total leaves the int64 range.
 */
static int64
order_map_add_basket(int64 basket, int64 add)
{
	int64		sum;

	if (pg_add_s64_overflow(basket, add, &sum))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("order total out of range for basket statistics"),
				 errdetail("An order's total must stay within 9.2 trillion.")));
	return sum;
}

/*
 * The slot of mixed key in slots: its entry, or the empty slot to put it in.
 */
static OrderEntry *
order_map_slot(OrderEntry *slots, uint32 capacity, uint64 mixed)
{
	uint32		mask = capacity - 1;
	uint32		i = (uint32) mixed & mask;

	while (slots[i].used && slots[i].key != mixed)
		i = (i + 1) & mask;
	return &slots[i];
}

/*
 * Double the table (or create it) and rehash.
 */
static void
order_map_grow(OrderMap *map, MemoryContext context)
{
	uint32		capacity = map->capacity == 0 ? ORDER_MAP_MIN_CAPACITY : map->capacity * 2;
	OrderEntry *slots;

	if ((Size) capacity * sizeof(OrderEntry) > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct orders for one customer")));
	slots = (OrderEntry *) MemoryContextAllocZero(context, sizeof(OrderEntry) * capacity);
	for (uint32 i = 0; i < map->capacity; i++)
		if (map->slots[i].used)
			*order_map_slot(slots, capacity, map->slots[i].key) = map->slots[i];
	if (map->slots != NULL)
		pfree(map->slots);
	map->slots = slots;
	map->capacity = capacity;
}

/*
 * Fold an entry with an already mixed key into the map.
 */
static void
order_map_add_entry(OrderMap *map, const OrderEntry *entry, MemoryContext context)
{
	OrderEntry *slot;

	if ((uint64) (map->used + 1) * 2 > (uint64) map->capacity)
		order_map_grow(map, context);
	slot = order_map_slot(map->slots, map->capacity, entry->key);
	if (!slot->used)
	{
		*slot = *entry;
		slot->used = true;
		map->used++;
		return;
	}
	slot->basket = order_map_add_basket(slot->basket, entry->basket);
	slot->first_at = Min(slot->first_at, entry->first_at);
	slot->discounted = slot->discounted || entry->discounted;
}

/*
 * Add one purchase line of order key: basket micro-units at time at.
 */
void
order_map_add(OrderMap *map, uint64 key, int64 basket, TimestampTz at, bool discounted,
			  MemoryContext context)
{
	OrderEntry	entry;

	entry.key = order_key_mix(key);
	entry.basket = basket;
	entry.first_at = at;
	entry.used = true;
	entry.discounted = discounted;
	order_map_add_entry(map, &entry, context);
}

/*
 * map += other, order by order.
 */
void
order_map_merge(OrderMap *map, const OrderMap *other, MemoryContext context)
{
	for (uint32 i = 0; i < other->capacity; i++)
	{
		if (other->slots[i].used)
			order_map_add_entry(map, &other->slots[i], context);
		cp_check_interrupts(i);
	}
}

/*
 * dst := a copy of src in context.
 */
void
order_map_copy(OrderMap *dst, const OrderMap *src, MemoryContext context)
{
	*dst = *src;
	if (src->capacity == 0)
		return;
	dst->slots = (OrderEntry *) MemoryContextAlloc(context, sizeof(OrderEntry) * src->capacity);
	memcpy(dst->slots, src->slots, sizeof(OrderEntry) * src->capacity);
}

/*
 * Append the map: a count, then each order's fields.
 */
void
order_map_serialize(StringInfo buf, const OrderMap *map)
{
	pq_sendint32(buf, map->used);
	for (uint32 i = 0; i < map->capacity; i++)
	{
		const OrderEntry *entry = &map->slots[i];

		if (!entry->used)
			continue;
		pq_sendint64(buf, entry->key);
		pq_sendint64(buf, entry->basket);
		pq_sendint64(buf, entry->first_at);
		pq_sendbyte(buf, entry->discounted);
	}
}

/* Bytes of one serialized entry. */
#define ORDER_MAP_ENTRY_BYTES (3 * sizeof(int64) + 1)

/*
 * Read a map written by order_map_serialize, checking the count against the
 * bytes present before allocating anything.
 */
void
order_map_deserialize(StringInfo buf, OrderMap *map, MemoryContext context)
{
	uint32		count = pq_getmsgint(buf, 4);

	memset(map, 0, sizeof(OrderMap));
	if ((uint64) count * ORDER_MAP_ENTRY_BYTES > (uint64) (buf->len - buf->cursor))
		cp_state_corrupted("The order map is truncated or corrupted.");
	for (uint32 i = 0; i < count; i++)
	{
		OrderEntry	entry;
		int			discounted;

		entry.key = (uint64) pq_getmsgint64(buf);
		entry.basket = pq_getmsgint64(buf);
		entry.first_at = pq_getmsgint64(buf);
		discounted = pq_getmsgbyte(buf);
		if (entry.basket < 0 || discounted > 1 || TIMESTAMP_NOT_FINITE(entry.first_at))
			cp_state_corrupted("An order of the order map is inconsistent.");
		entry.used = true;
		entry.discounted = discounted == 1;
		order_map_add_entry(map, &entry, context);
		cp_check_interrupts(i);
	}
	if (map->used != count)
		cp_state_corrupted("The order map repeats an order.");
}
