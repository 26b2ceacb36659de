/*
 * population.h
 *		Every customer's state in one hash table keyed by customer id: the
 *		state of the whole-table aggregate score_population(), which groups the
 *		order rows itself instead of leaving a GROUP BY to PostgreSQL.
 */
#ifndef POPULATION_H
#define POPULATION_H

#include "customer_priority.h"

#include "customer_state.h"

/*
 * A hash table slot: a customer id and where its state is.  Kept small (16
 * bytes) because the table is probed once per order row and its slots are
 * moved on insertion; the states themselves stay put in chunks.
 */
typedef struct PopulationEntry
{
	int64		customer_id;
	uint32		index;			/* into the population's states */
	char		status;			/* simplehash's slot status */
} PopulationEntry;

/*
 * A customer: its id and state.  Members are allocated this many at a time,
 * so that they never move, and numbered in order of first sight, so that
 * walking them all reads memory in order (walking the hash table would visit
 * the states in random order).
 */
typedef struct PopulationMember
{
	int64		customer_id;
	CustomerState state;
} PopulationMember;

#define POPULATION_CHUNK_BITS 14
#define POPULATION_CHUNK_SIZE (1 << POPULATION_CHUNK_BITS)

#define SH_PREFIX population_hash
#define SH_ELEMENT_TYPE PopulationEntry
#define SH_KEY_TYPE int64
#define SH_SCOPE extern
#define SH_DECLARE
#include "lib/simplehash.h"

/*
 * Rows are added in batches of this many: the batch's hash slots, then its
 * states, are prefetched before they are used, so that the cache misses of
 * a table much larger than the CPU caches overlap instead of queueing.
 */
#define POPULATION_BATCH_SIZE 32

/* An order row waiting in the batch (its amount is in units: no pointers). */
typedef struct PendingRow
{
	int64		customer_id;
	OrderRow	row;
} PendingRow;

typedef struct Population
{
	TimestampTz as_of;			/* rows after it are not counted */
	bool		count_order_ids;	/* frequency counts distinct order ids */
	MemoryContext context;		/* of the hash table and every state */
	population_hash_hash *customers;
	PopulationMember **chunks;	/* members by index: chunk, then position */
	uint32		chunk_count;
	uint32		chunk_capacity;
	int64		next_memory_check;	/* customer count of the next check */
	int			pending_count;	/* rows in pending, not yet added */
	PendingRow	pending[POPULATION_BATCH_SIZE];
} Population;

extern int	cp_population_memory_limit;

extern void population_memory_check(MemoryContext context, uint32 customers, const char *whose,
									const char *hint);

extern Population *population_create(MemoryContext context, TimestampTz as_of,
									 bool count_order_ids);
extern CustomerState *population_customer(Population *population, int64 customer_id);
extern void population_add_row(Population *population, int64 customer_id, const OrderRow *row);
extern void population_flush(Population *population);
extern uint32 population_size(const Population *population);
extern PopulationMember *population_member(const Population *population, uint32 index);
extern void population_merge(Population *population, Population *other);
extern void population_write(StringInfo buf, Population *population);
extern Population *population_read(StringInfo buf, MemoryContext context);

#endif							/* POPULATION_H */
