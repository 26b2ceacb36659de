/*
 * population.c
 *		The hash table of every customer's state, its memory limit, merging
 *		(for parallel workers) and serialisation.
 *
 * Memory per customer: a 16-byte hash slot in a table kept at most 90% full
 * (and at least half full after growing), a 152-byte PopulationMember (id
 * and CustomerState, whose exact sums hold int64 units; a numeric part is
 * allocated only for amounts that do not fit) and, when order ids are
 * counted, 8 to 16 bytes per distinct order: ~185 bytes measured.  The table
 * grows by doubling, so a population briefly needs the old and the new
 * arrays at once.  customer_priority.population_memory_limit bounds the
 * total; exceeding it raises an error instead of inviting the OOM killer.
 */
#include "population.h"

#include "order_key.h"

#include "libpq/pqformat.h"
#include "utils/memutils.h"

/* The hash of a customer id (spread: ids are often dense integers). */
static inline uint32
population_hash_of(int64 customer_id)
{
	return (uint32) order_key_mix((uint64) customer_id);
}

#if defined(__GNUC__) || defined(__clang__)
#define prefetch(address) __builtin_prefetch(address)
#else
#define prefetch(address) ((void) 0)
#endif

#define SH_PREFIX population_hash
#define SH_ELEMENT_TYPE PopulationEntry
#define SH_KEY_TYPE int64
#define SH_KEY customer_id
#define SH_HASH_KEY(tb, key) population_hash_of(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE extern
#define SH_DEFINE
#include "lib/simplehash.h"

/* Check the memory limit every this many new customers. */
#define MEMORY_CHECK_INTERVAL 1024

/* customer_priority.population_memory_limit, in kB (GUC_UNIT_KB). */
int			cp_population_memory_limit = 4 * 1024 * 1024;

/*
 * An empty population whose hash table and states live in context.
 */
Population *
population_create(MemoryContext context, TimestampTz as_of, bool count_order_ids)
{
	Population *population = (Population *) MemoryContextAllocZero(context, sizeof(Population));

	population->as_of = as_of;
	population->count_order_ids = count_order_ids;
	population->context = context;
	population->customers = population_hash_create(context, 1024, NULL);
	population->next_memory_check = MEMORY_CHECK_INTERVAL;
	return population;
}

/*
 * Raise 54000 once a context holding customers' states (of whom, for the
 * message: "score_population()", "the segmentation") holds more than
 * customer_priority.population_memory_limit, before the kernel's OOM killer
 * would step in.  hint may be NULL.
 */
void
population_memory_check(MemoryContext context, uint32 customers, const char *whose,
						const char *hint)
{
	Size		used = MemoryContextMemAllocated(context, true);

	if (used / 1024 > (Size) cp_population_memory_limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the customers of %s need more than customer_priority.population_memory_limit (%d kB)",
						whose, cp_population_memory_limit),
				 errdetail("%u customers so far use %zu kB in this process.",
						   customers, used / 1024),
				 hint ? errhint("%s", hint) : 0));
}

/*
 * Raise an error once the population's context holds more than the limit.
 */
static void
population_check_memory(Population *population)
{
	population_memory_check(population->context, population->customers->members,
							"score_population()",
							"Raise customer_priority.population_memory_limit, or group by customer with the rfm() aggregate, which PostgreSQL spills to disk.");
	population->next_memory_check = population->customers->members + MEMORY_CHECK_INTERVAL;
}

/*
 * Number of customers.
 */
uint32
population_size(const Population *population)
{
	return population->customers->members;
}

/*
 * The member at index (as stored in a hash table slot), 0 <= index < size.
 */
PopulationMember *
population_member(const Population *population, uint32 index)
{
	return &population->chunks[index >> POPULATION_CHUNK_BITS][index & (POPULATION_CHUNK_SIZE - 1)];
}

/*
 * A new member with an empty state at the next index.
 */
static uint32
population_new_member(Population *population, int64 customer_id)
{
	uint32		index = population->customers->members - 1;	/* already inserted */
	uint32		chunk = index >> POPULATION_CHUNK_BITS;
	PopulationMember *member;

	if (chunk >= population->chunk_count)
	{
		if (population->chunk_count == population->chunk_capacity)
		{
			population->chunk_capacity = Max(population->chunk_capacity * 2, 16);
			population->chunks = population->chunks == NULL
				? MemoryContextAlloc(population->context,
									 sizeof(PopulationMember *) * population->chunk_capacity)
				: repalloc(population->chunks, sizeof(PopulationMember *) * population->chunk_capacity);
		}
		population->chunks[population->chunk_count++] =
			MemoryContextAllocHuge(population->context, sizeof(PopulationMember) * POPULATION_CHUNK_SIZE);
	}
	member = population_member(population, index);
	member->customer_id = customer_id;
	customer_state_init(&member->state, population->as_of, population->count_order_ids);
	return index;
}

/*
 * The index of customer_id's state, created empty on first sight; hash is
 * population_hash_of(customer_id).
 */
static uint32
population_index(Population *population, int64 customer_id, uint32 hash)
{
	bool		found;
	PopulationEntry *entry;

#if PG_VERSION_NUM >= 140000
	entry = population_hash_insert_hash(population->customers, customer_id, hash, &found);
#else
	entry = population_hash_insert(population->customers, customer_id, &found);
#endif
	if (!found)
	{
		entry->index = population_new_member(population, customer_id);
		if (population->customers->members >= population->next_memory_check)
			population_check_memory(population);
	}
	return entry->index;
}

/*
 * The state of customer_id, created empty on first sight.
 */
CustomerState *
population_customer(Population *population, int64 customer_id)
{
	return &population_member(population,
							  population_index(population, customer_id,
											   population_hash_of(customer_id)))->state;
}

/*
 * Add the pending rows to their customers' states, in three passes over the
 * batch: prefetch the hash slots, find the states (prefetching them), add.
 */
void
population_flush(Population *population)
{
	population_hash_hash *customers = population->customers;
	uint32		hashes[POPULATION_BATCH_SIZE];
	CustomerState *states[POPULATION_BATCH_SIZE];
	int			count = population->pending_count;

	for (int i = 0; i < count; i++)
	{
		hashes[i] = population_hash_of(population->pending[i].customer_id);
		prefetch(&customers->data[hashes[i] & customers->sizemask]);
	}
	for (int i = 0; i < count; i++)
	{
		states[i] = &population_member(population,
									   population_index(population,
														population->pending[i].customer_id,
														hashes[i]))->state;
		prefetch(states[i]);
		prefetch((char *) states[i] + sizeof(CustomerState) - 1);
	}
	for (int i = 0; i < count; i++)
		customer_state_add(states[i], &population->pending[i].row, population->context);
	population->pending_count = 0;
}

/*
 * Add an order row to customer_id's state: through the batch when the row
 * holds no pointer into memory that is freed after the call (its amount is
 * in units, no returned amount), at once otherwise.  The states are the
 * same either way: adding rows commutes.
 */
void
population_add_row(Population *population, int64 customer_id, const OrderRow *row)
{
	PendingRow *pending;

	if (row->amount != NULL || row->returned_amount != NULL)
	{
		customer_state_add(population_customer(population, customer_id), row, population->context);
		return;
	}
	pending = &population->pending[population->pending_count++];
	pending->customer_id = customer_id;
	pending->row = *row;
	if (population->pending_count == POPULATION_BATCH_SIZE)
		population_flush(population);
}

/*
 * population += other: customers of other are added or merged.
 */
void
population_merge(Population *population, Population *other)
{
	if (population->as_of != other->as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for all rows"),
				 errhint("Pass a constant or a parameter as as_of.")));
	if (population->count_order_ids != other->count_order_ids)
		elog(ERROR, "cannot merge populations of different calls");
	population_flush(population);
	population_flush(other);
	for (uint32 i = 0; i < population_size(other); i++)
	{
		PopulationMember *member = population_member(other, i);

		customer_state_merge(population_customer(population, member->customer_id),
							 &member->state, population->context);
		cp_check_interrupts(i);
	}
}

/*
 * Append the population to buf: as_of, the order id flag, the number of
 * customers, then each customer's id and state.  Pending rows are added
 * first.
 */
void
population_write(StringInfo buf, Population *population)
{
	population_flush(population);
	pq_sendint64(buf, population->as_of);
	pq_sendbyte(buf, population->count_order_ids);
	pq_sendint64(buf, population->customers->members);
	for (uint32 i = 0; i < population_size(population); i++)
	{
		PopulationMember *member = population_member(population, i);

		pq_sendint64(buf, member->customer_id);
		customer_state_write(buf, &member->state);
		cp_check_interrupts(i);
	}
}

/*
 * Read what population_write wrote; a repeated customer id or a count that
 * does not match the bytes means corruption.
 */
Population *
population_read(StringInfo buf, MemoryContext context)
{
	TimestampTz as_of = pq_getmsgint64(buf);
	int			count_order_ids = pq_getmsgbyte(buf);
	int64		count = pq_getmsgint64(buf);
	Population *population;

	if (count_order_ids > 1)
		cp_state_corrupted("Bad order id flag.");
	/* each customer takes at least 8 + 5 * 8 bytes */
	if (count < 0 || count > (buf->len - buf->cursor) / 48)
		cp_state_corrupted("The customer count does not match the bytes.");
	population = population_create(context, as_of, count_order_ids == 1);
	for (int64 i = 0; i < count; i++)
	{
		int64		customer_id = pq_getmsgint64(buf);
		uint32		before = population->customers->members;
		CustomerState *state = population_customer(population, customer_id);

		if (population->customers->members == before)
			cp_state_corrupted("A customer appears twice.");
		customer_state_read(buf, state, context);
		cp_check_interrupts(i);
	}
	return population;
}
