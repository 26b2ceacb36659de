/*
 * model_sample.h
 *		The customers a model is fitted to, as distinct cases with counts:
 *		customers with the same (x, u, w) add nothing to the likelihood but a
 *		weight, so memory and the cost of each likelihood evaluation follow
 *		the distinct cases, not the customers.
 */
#ifndef MODEL_SAMPLE_H
#define MODEL_SAMPLE_H

#include "customer_priority.h"

#include "lib/stringinfo.h"

/* One distinct case: BG/NBD's (x, t_x, T), or Gamma-Gamma's (x, mean spend, 0). */
typedef struct ModelCase
{
	double		u;
	double		w;
	int64		count;			/* customers with these values */
	int32		x;
} ModelCase;

typedef struct ModelSample
{
	ModelCase  *cases;			/* sorted by (x, u, w) and distinct after model_sample_compact */
	int64		count;
	int64		capacity;
	int64		customers;		/* sum of the counts */
	/*
	 * The first this many cases are sorted and distinct (0 in a zeroed
	 * sample, count after model_sample_compact).  Code that writes cases
	 * itself instead of through model_sample_add or model_sample_merge must
	 * keep that true, or set it to 0.
	 */
	int64		sorted;
} ModelSample;

/*
 * The distinct values of the cases' u and w (BG/NBD's t_x and T), each case
 * pointing at its two: a likelihood whose terms depend on one time alone
 * (ln(alpha + t)) computes them once per distinct value per evaluation, not
 * twice per case.  Built by model_sample_index_values after the sample is
 * compacted; values are in order of first appearance in the (sorted) cases,
 * so the index is the same for the same sample, whatever the plan.
 */
typedef struct ModelSampleValues
{
	double	   *values;			/* the distinct values */
	int64		count;			/* how many */
	int32	   *u_index;		/* per case: values[u_index[i]] == cases[i].u */
	int32	   *w_index;		/* per case: values[w_index[i]] == cases[i].w */
} ModelSampleValues;

/*
 * The bytes of the last model composite (bgnbd_model, gamma_gamma_model) a
 * per-customer function read its parameters from, kept in fn_extra: scoring
 * every customer against one model then reads the model once per query, not
 * once per row (and skips detoasting it per row).
 */
typedef struct ModelDatumCache
{
	char	   *bytes;			/* the datum's payload; NULL until one was read */
	Size		len;
} ModelDatumCache;

/* Checks one case of a deserialised sample; NULL if valid, else why not. */
/*
 * A fitted shape parameter beyond e^+-this (about 1e6 and 1e-6) is a limit the
 * likelihood grows towards (one customer, identical customers, no heterogeneity),
 * not an optimum: a fit that ends there says converged = false, with a warning.
 * Scales (alpha, beta) are not judged: customers of very different T rightly put
 * them far from the scaled unit.
 */
#define MODEL_MAX_LOG_SHAPE 13.8

typedef const char *(*ModelCaseCheck) (const ModelCase *c);

extern void model_sample_add(ModelSample *sample, int32 x, double u, double w, int64 count,
							 MemoryContext context);
extern void model_sample_merge(ModelSample *sample, const ModelSample *other,
							   MemoryContext context);
extern void model_sample_compact(ModelSample *sample);
extern ModelSample *model_fit_final_sample(FunctionCallInfo fcinfo);
extern int64 model_sample_sum_x(const ModelSample *sample);
extern void model_sample_index_values(const ModelSample *sample, ModelSampleValues *index);
extern void model_sample_free_values(ModelSampleValues *index);
extern bool model_datum_unchanged(const ModelDatumCache *cache, Datum value);
extern void model_datum_remember(ModelDatumCache *cache, Datum value, MemoryContext context);
extern void *model_call_cache(FunctionCallInfo fcinfo, Size size);
extern double model_positive_parameter(HeapTupleHeader model, int attno, const char *model_name,
									   const char *name, const char *hint);
extern bytea *model_sample_serialize(const ModelSample *sample);
extern ModelSample *model_sample_deserialize(bytea *bytes, ModelCaseCheck check,
											 MemoryContext context);

#endif							/* MODEL_SAMPLE_H */
