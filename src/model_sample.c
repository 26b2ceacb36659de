/*
 * model_sample.c
 *		A growable array of distinct model cases in an aggregate's memory
 *		context: 32 bytes per distinct case.  When the array is full it is
 *		sorted and equal cases are merged first; it grows only if that leaves
 *		it more than half full, so memory follows the distinct cases.
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

static int
model_case_cmp(const void *a, const void *b)
{
	const ModelCase *p = (const ModelCase *) a;
	const ModelCase *q = (const ModelCase *) b;

	if (p->x != q->x)
		return (p->x > q->x) - (p->x < q->x);
	if (p->u != q->u)
		return (p->u > q->u) - (p->u < q->u);
	return (p->w > q->w) - (p->w < q->w);
}

/*
 * Sort the cases and merge equal ones, adding their counts.
 */
void
model_sample_compact(ModelSample *sample)
{
	int64		kept = 0;

	if (sample->count < 2)
		return;
	qsort(sample->cases, sample->count, sizeof(ModelCase), model_case_cmp);
	for (int64 i = 0; i < sample->count; i++)
	{
		if (kept > 0 && model_case_cmp(&sample->cases[kept - 1], &sample->cases[i]) == 0)
			sample->cases[kept - 1].count += sample->cases[i].count;
		else
			sample->cases[kept++] = sample->cases[i];
	}
	sample->count = kept;
}

/*
 * Room for one more case: compact a full array, grow it if still crowded.
 */
static void
model_sample_reserve(ModelSample *sample, MemoryContext context)
{
	int64		capacity;

	if (sample->count < sample->capacity)
		return;
	model_sample_compact(sample);
	if (sample->count * 2 <= sample->capacity && sample->capacity > 0)
		return;
	capacity = Max(sample->capacity * 2, MODEL_SAMPLE_MIN_CAPACITY);
	if ((Size) capacity * sizeof(ModelCase) > MaxAllocHugeSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct customers for a model fit")));
	if (sample->cases == NULL)
		sample->cases = MemoryContextAllocHuge(context, sizeof(ModelCase) * capacity);
	else
		sample->cases = repalloc_huge(sample->cases, sizeof(ModelCase) * capacity);
	sample->capacity = capacity;
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

void
model_sample_merge(ModelSample *sample, const ModelSample *other, MemoryContext context)
{
	for (int64 i = 0; i < other->count; i++)
	{
		const ModelCase *c = &other->cases[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		model_sample_add(sample, c->x, c->u, c->w, c->count, context);
	}
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
		model_sample_add(sample, c.x, c.u, c.w, c.count, context);
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
	PG_RETURN_BYTEA_P(model_sample_serialize((ModelSample *) PG_GETARG_POINTER(0)));
}
