/*
 * order_set.c
 *		A small open-addressing hash set of 64-bit order keys.
 *
 * Order lines of one order share an order id; frequency counts the distinct
 * ids.  Integer ids are their own key (exact); other types are hashed to 64
 * bits by the caller.  Keys are spread with a bijective mixer, so distinct
 * integer keys stay distinct.  Memory is about 8 to 16 bytes per distinct order
 * of the customer, in the aggregate's context.
 */
#include "order_set.h"

#include "order_key.h"

#include "libpq/pqformat.h"
#include "utils/memutils.h"

#define ORDER_SET_MIN_CAPACITY 8

/*
 * Insert an already mixed, non-zero key into slots; the table has room.
 */
static void
order_set_insert_mixed(uint64 *slots, uint32 capacity, uint32 *used, uint64 mixed)
{
	uint32		mask = capacity - 1;
	uint32		i = (uint32) mixed & mask;

	while (slots[i] != 0)
	{
		if (slots[i] == mixed)
			return;
		i = (i + 1) & mask;
	}
	slots[i] = mixed;
	(*used)++;
}

/*
 * Double the table (or create it) and rehash.
 */
static void
order_set_grow(OrderSet *set, MemoryContext context)
{
	uint32		capacity = set->capacity == 0 ? ORDER_SET_MIN_CAPACITY : set->capacity * 2;
	uint64	   *slots;
	uint32		used = 0;

	if ((Size) capacity * sizeof(uint64) > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct orders for one customer")));
	slots = (uint64 *) MemoryContextAllocZero(context, sizeof(uint64) * capacity);
	for (uint32 i = 0; i < set->capacity; i++)
		if (set->slots[i] != 0)
			order_set_insert_mixed(slots, capacity, &used, set->slots[i]);
	if (set->slots != NULL)
		pfree(set->slots);
	set->slots = slots;
	set->capacity = capacity;
	set->used = used;
}

/*
 * Add a mixed key, growing the table above a load factor of 3/4.
 */
static void
order_set_add_mixed(OrderSet *set, uint64 mixed, MemoryContext context)
{
	if (mixed == 0)
	{
		set->has_zero = true;
		return;
	}
	if ((uint64) (set->used + 1) * 4 > (uint64) set->capacity * 3)
		order_set_grow(set, context);
	order_set_insert_mixed(set->slots, set->capacity, &set->used, mixed);
}

/*
 * Add one order key.
 */
void
order_set_add(OrderSet *set, uint64 key, MemoryContext context)
{
	order_set_add_mixed(set, order_key_mix(key), context);
}

/*
 * set := set UNION other.
 */
void
order_set_merge(OrderSet *set, const OrderSet *other, MemoryContext context)
{
	if (other->has_zero)
		set->has_zero = true;
	for (uint32 i = 0; i < other->capacity; i++)
	{
		if (other->slots[i] != 0)
			order_set_add_mixed(set, other->slots[i], context);
		cp_check_interrupts(i);
	}
}

/*
 * dst := a copy of src in context.
 */
void
order_set_copy(OrderSet *dst, const OrderSet *src, MemoryContext context)
{
	*dst = *src;
	if (src->capacity == 0)
		return;
	dst->slots = (uint64 *) MemoryContextAlloc(context, sizeof(uint64) * src->capacity);
	memcpy(dst->slots, src->slots, sizeof(uint64) * src->capacity);
}

/*
 * Number of distinct keys.
 */
int64
order_set_count(const OrderSet *set)
{
	return (int64) set->used + (set->has_zero ? 1 : 0);
}

/*
 * Append the set: a zero flag, a count, then the stored (mixed) keys.
 */
void
order_set_serialize(StringInfo buf, const OrderSet *set)
{
	pq_sendbyte(buf, set->has_zero);
	pq_sendint32(buf, set->used);
	for (uint32 i = 0; i < set->capacity; i++)
		if (set->slots[i] != 0)
			pq_sendint64(buf, set->slots[i]);
}

/*
 * Read a set written by order_set_serialize, checking the count against the
 * bytes present before allocating anything.
 */
void
order_set_deserialize(StringInfo buf, OrderSet *set, MemoryContext context)
{
	int			has_zero = pq_getmsgbyte(buf);
	uint32		count = pq_getmsgint(buf, 4);

	memset(set, 0, sizeof(OrderSet));
	if (has_zero > 1 || (uint64) count * sizeof(uint64) > (uint64) (buf->len - buf->cursor))
		cp_state_corrupted("The order id set is truncated or corrupted.");
	set->has_zero = has_zero == 1;
	for (uint32 i = 0; i < count; i++)
	{
		uint64		mixed = (uint64) pq_getmsgint64(buf);

		if (mixed == 0)
			cp_state_corrupted("The order id set holds an empty slot marker.");
		order_set_add_mixed(set, mixed, context);
		cp_check_interrupts(i);
	}
}
