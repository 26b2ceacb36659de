/*
 * model_sample.c
 *		A growable array of distinct model cases in an aggregate's memory
 *		context: 32 bytes per distinct case.  When the array is full it is
 *		sorted and equal cases are merged first; it grows only if that leaves
 *		it more than half full, so memory follows the distinct cases.  Each
 *		compaction sorts only the cases added since the last one and merges
 *		them with the sorted rest; samples from parallel workers arrive
 *		sorted and are merged in one pass, so the final function's compaction
 *		has nothing left to do.
 */
#include "model_sample.h"

#include "executor/executor.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include <math.h>

#define MODEL_SAMPLE_VERSION 1
#define MODEL_SAMPLE_MIN_CAPACITY 1024

PG_FUNCTION_INFO_V1(model_fit_combinefn);
PG_FUNCTION_INFO_V1(model_fit_serialfn);

static inline int
model_case_cmp(const ModelCase *p, const ModelCase *q)
{
	if (p->x != q->x)
		return (p->x > q->x) - (p->x < q->x);
	if (p->u != q->u)
		return (p->u > q->u) - (p->u < q->u);
	return (p->w > q->w) - (p->w < q->w);
}

/*
 * model_case_sort(cases, n): PostgreSQL's quicksort with the comparison
 * inlined (lib/sort_template.h, from PostgreSQL 14 on), about twice as fast
 * as qsort() calling it per pair; qsort() before.
 */
#if PG_VERSION_NUM >= 140000
#define ST_SORT model_case_sort
#define ST_ELEMENT_TYPE ModelCase
#define ST_COMPARE(a, b) model_case_cmp(a, b)
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"
#else
static int
model_case_qsort_cmp(const void *a, const void *b)
{
	return model_case_cmp((const ModelCase *) a, (const ModelCase *) b);
}

static void
model_case_sort(ModelCase *cases, size_t n)
{
	qsort(cases, n, sizeof(ModelCase), model_case_qsort_cmp);
}
#endif

/*
 * Write case c after the out cases of sample->cases, merging it into the
 * last one when equal; returns the new out.
 */
static inline int64
model_sample_put(ModelSample *sample, int64 out, const ModelCase *c)
{
	if (out > 0 && model_case_cmp(&sample->cases[out - 1], c) == 0)
		sample->cases[out - 1].count += c->count;
	else
		sample->cases[out++] = *c;
	return out;
}

/*
 * Sort the cases and merge equal ones, adding their counts.  The first
 * sample->sorted cases are sorted and distinct already (the last compaction,
 * or a merged sample): only the cases after them are sorted, then merged
 * with them in one pass.  The merge copies the sorted part aside (32 bytes
 * per case, freed at once); it writes each case at or before the position it
 * is read from, so the rest needs no copy.
 */
void
model_sample_compact(ModelSample *sample)
{
	int64		sorted = sample->sorted;
	int64		out = 0;
	ModelCase  *head;
	int64		i = 0;
	int64		j = sorted;

	if (sorted >= sample->count)
		return;
	model_case_sort(sample->cases + sorted, sample->count - sorted);
	head = sorted > 0 ? MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ModelCase) * sorted) : NULL;
	if (sorted > 0)
		memcpy(head, sample->cases, sizeof(ModelCase) * sorted);
	/* which run the next case comes from is a coin toss: select, don't branch */
	while (i < sorted && j < sample->count)
	{
		int			from_head = model_case_cmp(&head[i], &sample->cases[j]) <= 0;
		ModelCase	c = *(from_head ? &head[i] : &sample->cases[j]);

		cp_check_interrupts(i + j);
		i += from_head;
		j += 1 - from_head;
		out = model_sample_put(sample, out, &c);
	}
	while (i < sorted)
		out = model_sample_put(sample, out, &head[i++]);
	while (j < sample->count)
	{
		ModelCase	c = sample->cases[j++];

		out = model_sample_put(sample, out, &c);
	}
	if (head != NULL)
		pfree(head);
	sample->count = out;
	sample->sorted = out;
}

/*
 * The sample a fit's final function works on, compacted; NULL when there is
 * none or it holds no customer (the fit is then NULL).  Checks that it is
 * called as an aggregate's final function.
 */
ModelSample *
model_fit_final_sample(FunctionCallInfo fcinfo)
{
	ModelSample *sample;

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		return NULL;
	sample = (ModelSample *) PG_GETARG_POINTER(0);
	if (sample->customers == 0)
		return NULL;
	model_sample_compact(sample);
	return sample;
}

/*
 * Room for n more cases, growing the array to twice its size or more.
 */
static void
model_sample_grow(ModelSample *sample, int64 n, MemoryContext context)
{
	int64		capacity = Max(sample->capacity, MODEL_SAMPLE_MIN_CAPACITY / 2);

	if (sample->count + n <= sample->capacity)
		return;
	while (capacity < sample->count + n)
	{
		capacity *= 2;
		if ((Size) capacity * sizeof(ModelCase) > MaxAllocHugeSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct customers for a model fit")));
	}
	if (sample->cases == NULL)
		sample->cases = MemoryContextAllocHuge(context, sizeof(ModelCase) * capacity);
	else
		sample->cases = repalloc_huge(sample->cases, sizeof(ModelCase) * capacity);
	sample->capacity = capacity;
}

/*
 * Room for one more case: compact a full array, grow it if still crowded.
 */
static void
model_sample_reserve(ModelSample *sample, MemoryContext context)
{
	if (sample->count < sample->capacity)
		return;
	model_sample_compact(sample);
	if (sample->count * 2 <= sample->capacity && sample->capacity > 0)
		return;
	model_sample_grow(sample, 1, context);
}

void
model_sample_add(ModelSample *sample, int32 x, double u, double w, int64 count,
				 MemoryContext context)
{
	ModelCase  *c;

	model_sample_reserve(sample, context);
	c = &sample->cases[sample->count++];
	c->x = x;
	c->u = u;
	c->w = w;
	c->count = count;
	sample->customers += count;
}

/*
 * Add the cases of other to sample, and compact: both are compacted first,
 * so this is one merge of two sorted runs (a worker's sample arrives sorted,
 * see model_fit_serialfn).
 */
void
model_sample_merge(ModelSample *sample, const ModelSample *other, MemoryContext context)
{
	model_sample_compact(sample);
	if (other->count == 0)
		return;
	model_sample_grow(sample, other->count, context);
	memcpy(sample->cases + sample->count, other->cases, sizeof(ModelCase) * other->count);
	sample->count += other->count;
	sample->customers += other->customers;
	model_sample_compact(sample);
}

/*
 * Sum of x over the customers (the repeat purchases of the sample).
 */
int64
model_sample_sum_x(const ModelSample *sample)
{
	int64		sum = 0;

	for (int64 i = 0; i < sample->count; i++)
		sum += sample->cases[i].x * sample->cases[i].count;
	return sum;
}

/*
 * A hash of a double's bits (splitmix64's finaliser): equal values, equal
 * hashes, once -0 is folded into 0.
 */
static inline uint64
value_hash(double value)
{
	uint64		h;

	memcpy(&h, &value, sizeof(h));
	h ^= h >> 30;
	h *= UINT64CONST(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64CONST(0x94d049bb133111eb);
	h ^= h >> 31;
	return h;
}

/* Open addressing over the distinct values: slots hold index + 1, 0 is empty. */
typedef struct ValueTable
{
	int32	   *slots;
	uint64		mask;
	ModelSampleValues *index;
} ValueTable;

static void
value_table_init(ValueTable *table, int64 slots, ModelSampleValues *index)
{
	table->slots = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * slots);
	memset(table->slots, 0, sizeof(int32) * slots);
	table->mask = slots - 1;
	table->index = index;
}

static void
value_table_put(ValueTable *table, int32 position)
{
	uint64		h = value_hash(table->index->values[position]) & table->mask;

	while (table->slots[h] != 0)
		h = (h + 1) & table->mask;
	table->slots[h] = position + 1;
}

/* Double the table (kept at most half full), re-inserting every value. */
static void
value_table_grow(ValueTable *table)
{
	int64		slots = (int64) (table->mask + 1) * 2;

	pfree(table->slots);
	value_table_init(table, slots, table->index);
	for (int64 i = 0; i < table->index->count; i++)
		value_table_put(table, (int32) i);
}

/*
 * The position of value among the distinct values, added when new.
 */
static int32
value_table_find(ValueTable *table, double value)
{
	ModelSampleValues *index = table->index;
	uint64		h;

	if (value == 0)
		value = 0;				/* -0 and 0 are one value */
	h = value_hash(value) & table->mask;
	for (;;)
	{
		int32		slot = table->slots[h];

		if (slot == 0)
			break;
		if (index->values[slot - 1] == value)
			return slot - 1;
		h = (h + 1) & table->mask;
	}
	if (index->count >= PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct customers for a model fit")));
	index->values[index->count] = value;
	table->slots[h] = (int32) index->count + 1;
	index->count++;
	if ((uint64) index->count * 2 > table->mask)
		value_table_grow(table);
	return (int32) index->count - 1;
}

/*
 * Index the distinct u and w values of the sample's cases (see
 * ModelSampleValues), in CurrentMemoryContext: 8 bytes per case for the two
 * positions and 8 per distinct value; while it is built, 16 bytes per case
 * for the values and a hash table of at most 16 bytes per distinct value.
 */
void
model_sample_index_values(const ModelSample *sample, ModelSampleValues *index)
{
	ValueTable	table;
	Size		cases = Max(sample->count, 1);

	index->count = 0;
	index->values = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * 2 * cases);
	index->u_index = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * cases);
	index->w_index = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * cases);
	value_table_init(&table, 1024, index);
	for (int64 i = 0; i < sample->count; i++)
	{
		cp_check_interrupts(i);
		index->u_index[i] = value_table_find(&table, sample->cases[i].u);
		index->w_index[i] = value_table_find(&table, sample->cases[i].w);
	}
	pfree(table.slots);
	/* room was made for every value distinct */
	index->values = repalloc_huge(index->values, sizeof(double) * Max(index->count, 1));
}

void
model_sample_free_values(ModelSampleValues *index)
{
	pfree(index->values);
	pfree(index->u_index);
	pfree(index->w_index);
}

/*
 * Whether value has the bytes cache holds.  A compressed or out-of-line
 * value is never taken for unchanged (it is read, detoasted, every time).
 */
bool
model_datum_unchanged(const ModelDatumCache *cache, Datum value)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);

	if (cache->bytes == NULL || VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return false;
	return VARSIZE_ANY_EXHDR(v) == cache->len &&
		memcmp(VARDATA_ANY(v), cache->bytes, cache->len) == 0;
}

/*
 * Remember value's bytes, after its parameters were read successfully (a
 * model that raised an error is read, and raises it, again next time).
 */
void
model_datum_remember(ModelDatumCache *cache, Datum value, MemoryContext context)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return;
	if (cache->bytes != NULL)
		pfree(cache->bytes);
	cache->len = VARSIZE_ANY_EXHDR(v);
	cache->bytes = MemoryContextAlloc(context, Max(cache->len, 1));
	memcpy(cache->bytes, VARDATA_ANY(v), cache->len);
}

/*
 * The function's fn_extra, size zeroed bytes in its fn_mcxt on the first call.
 */
void *
model_call_cache(FunctionCallInfo fcinfo, Size size)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, size);
	return fcinfo->flinfo->fn_extra;
}

/*
 * Field attno of a fitted model composite (bgnbd_model, gamma_gamma_model),
 * which must be a positive, finite parameter; hint says how to make one.
 */
double
model_positive_parameter(HeapTupleHeader model, int attno, const char *model_name,
						 const char *name, const char *hint)
{
	bool		isnull;
	double		value = DatumGetFloat8(GetAttributeByNum(model, attno, &isnull));

	if (isnull || !(value > 0) || isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s parameter %s must be positive and finite", model_name, name),
				 errhint("%s", hint)));
	return value;
}

/*
 * The sample as bytea: a version byte, the number of cases, then each case.
 */
bytea *
model_sample_serialize(const ModelSample *sample)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, MODEL_SAMPLE_VERSION);
	pq_sendint64(&buf, sample->count);
	for (int64 i = 0; i < sample->count; i++)
	{
		const ModelCase *c = &sample->cases[i];

		pq_sendint32(&buf, c->x);
		pq_sendfloat8(&buf, c->u);
		pq_sendfloat8(&buf, c->w);
		pq_sendint64(&buf, c->count);
	}
	return pq_endtypsend(&buf);
}

/*
 * Read a sample written by model_sample_serialize; every case must have a
 * positive count and pass check, so corrupted bytes raise an error.
 */
ModelSample *
model_sample_deserialize(bytea *bytes, ModelCaseCheck check, MemoryContext context)
{
	StringInfoData buf;
	ModelSample *sample = MemoryContextAllocZero(context, sizeof(ModelSample));
	int64		count;
	const Size	case_size = 4 + 8 + 8 + 8;

	cp_state_reader(&buf, bytes);
	if (pq_getmsgbyte(&buf) != MODEL_SAMPLE_VERSION)
		cp_state_corrupted("Unknown state version.");
	count = pq_getmsgint64(&buf);
	if (count < 0 || (uint64) count > (uint64) (buf.len - buf.cursor) / case_size)
		cp_state_corrupted("The customer cases are truncated.");
	if (count > 0)
		model_sample_grow(sample, count, context);
	for (int64 i = 0; i < count; i++)
	{
		ModelCase	c;
		const char *problem;

		c.x = (int32) pq_getmsgint(&buf, 4);
		c.u = pq_getmsgfloat8(&buf);
		c.w = pq_getmsgfloat8(&buf);
		c.count = pq_getmsgint64(&buf);
		if (c.count <= 0 || c.count > PG_INT64_MAX - sample->customers)
			cp_state_corrupted("A customer count is out of range.");
		problem = check(&c);
		if (problem != NULL)
			cp_state_corrupted(problem);
		/* a sorted run from model_fit_serialfn stays one: no sort to merge it */
		if (sample->sorted == i &&
			(i == 0 || model_case_cmp(&sample->cases[i - 1], &c) < 0))
			sample->sorted++;
		sample->cases[sample->count++] = c;
		sample->customers += c.count;
	}
	pq_getmsgend(&buf);
	return sample;
}

/*
 * Combine function of the model fits (bgnbd_fit, gamma_gamma_fit): the
 * union of two samples, in the aggregate context.
 */
Datum
model_fit_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ModelSample *sample = PG_ARGISNULL(0) ? NULL : (ModelSample *) PG_GETARG_POINTER(0);
	ModelSample *other = PG_ARGISNULL(1) ? NULL : (ModelSample *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (sample == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(sample);
	}
	if (sample == NULL)
		sample = MemoryContextAllocZero(context, sizeof(ModelSample));
	model_sample_merge(sample, other, context);
	PG_RETURN_POINTER(sample);
}

/*
 * Serial function of the model fits.  Their deserial functions differ: each
 * validates the cases for its own model.
 */
Datum
model_fit_serialfn(PG_FUNCTION_ARGS)
{
	ModelSample *sample = (ModelSample *) PG_GETARG_POINTER(0);

	/* compacted: fewer bytes, and the leader merges sorted runs (model_sample_merge) */
	model_sample_compact(sample);
	PG_RETURN_BYTEA_P(model_sample_serialize(sample));
}
