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

/* States are allocated this many at a time, so that they never move. */
#define POPULATION_CHUNK_BITS 14
#define POPULATION_CHUNK_SIZE (1 << POPULATION_CHUNK_BITS)

#define SH_PREFIX population_hash
#define SH_ELEMENT_TYPE PopulationEntry
#define SH_KEY_TYPE int64
#define SH_SCOPE extern
#define SH_DECLARE
#include "lib/simplehash.h"

typedef struct Population
{
	TimestampTz as_of;			/* rows after it are not counted */
	bool		count_order_ids;	/* frequency counts distinct order ids */
	MemoryContext context;		/* of the hash table and every state */
	population_hash_hash *customers;
	CustomerState **chunks;		/* states by index: chunk, then position */
	uint32		chunk_count;
	uint32		chunk_capacity;
	int64		next_memory_check;	/* customer count of the next check */
} Population;

extern int	cp_population_memory_limit;

extern Population *population_create(MemoryContext context, TimestampTz as_of,
									 bool count_order_ids);
extern CustomerState *population_customer(Population *population, int64 customer_id);
extern CustomerState *population_state(const Population *population, uint32 index);
extern void population_merge(Population *population, const Population *other);
extern void population_write(StringInfo buf, const Population *population);
extern Population *population_read(StringInfo buf, MemoryContext context);

#endif							/* POPULATION_H */
