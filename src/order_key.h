/*
 * order_key.h
 *		64-bit keys of order ids of any type, for counting and grouping orders.
 */
#ifndef ORDER_KEY_H
#define ORDER_KEY_H

#include "customer_priority.h"

/* How order ids of one type become keys; looked up once per call site. */
typedef struct OrderKeyInfo
{
	Oid			type;
	bool		is_integer;		/* int2/int4/int8: the value is the key */
	FmgrInfo	hash;			/* otherwise: the type's extended hash */
} OrderKeyInfo;

/*
 * splitmix64's finalizer: a bijection on 64-bit integers that spreads
 * sequential ids over a hash table, so distinct integer ids stay distinct.
 */
static inline uint64
order_key_mix(uint64 key)
{
	key ^= key >> 30;
	key *= UINT64CONST(0xbf58476d1ce4e5b9);
	key ^= key >> 27;
	key *= UINT64CONST(0x94d049bb133111eb);
	key ^= key >> 31;
	return key;
}

extern OrderKeyInfo *order_key_info_create(FunctionCallInfo fcinfo, int argno);
extern OrderKeyInfo *order_key_info_for_type(Oid type, MemoryContext context);
extern uint64 order_key(OrderKeyInfo *info, Datum id, Oid collation);

#endif							/* ORDER_KEY_H */
