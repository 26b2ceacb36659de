/*
 * purchase_customer.c
 *		The customers of the purchase models (BG/NBD, MBG/NBD, Pareto/NBD):
 *		x repeat purchases, the last at t_x, observed for T (purchase_summary()).
 *		The three models share this domain, so its check, the fits' transition
 *		step (one customer into the sample of distinct cases, model_sample.c)
 *		and the validation of a sample received from a parallel worker are
 *		written once, here.
 */
#include "purchase_customer.h"

#include <math.h>

/*
 * Why (x, t_x, T) is not a customer of the purchase models, or NULL.
 */
const char *
purchase_customer_problem(int32 x, double t_x, double t_cal)
{
	if (x < 0)
		return "x (repeat purchases) must not be negative.";
	if (!isfinite(t_x) || !isfinite(t_cal))
		return "t_x and T must be finite.";
	if (t_x < 0 || t_x > t_cal)
		return "t_x must be between 0 and T.";
	if (x == 0 && t_x != 0)
		return "t_x must be 0 when x is 0 (no repeat purchase).";
	return NULL;
}

/*
 * Error 22023 naming the model ("BG/NBD", ...) unless (x, t_x, T) is a customer.
 */
void
purchase_customer_check(const char *model, int32 x, double t_x, double t_cal)
{
	const char *problem = purchase_customer_problem(x, t_x, t_cal);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s customer (x = %d, t_x = %g, T = %g)", model, x, t_x, t_cal),
				 errdetail("%s", problem)));
}

static const char *
sample_case_problem(const ModelCase *c)
{
	return purchase_customer_problem(c->x, c->u, c->w);
}

/*
 * The transition of a purchase model's fit(x, t_x, T): one customer added to
 * the sample (arguments 1..3, checked); a row with a NULL input is skipped
 * (no purchase: nothing to learn from).
 */
ModelSample *
purchase_fit_add(FunctionCallInfo fcinfo, const char *model)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ModelSample *sample = PG_ARGISNULL(0) ? NULL : (ModelSample *) PG_GETARG_POINTER(0);

	if (sample == NULL)
		sample = MemoryContextAllocZero(context, sizeof(ModelSample));
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2) && !PG_ARGISNULL(3))
	{
		int32		x = PG_GETARG_INT32(1);
		double		t_x = PG_GETARG_FLOAT8(2);
		double		t_cal = PG_GETARG_FLOAT8(3);

		purchase_customer_check(model, x, t_x, t_cal);
		model_sample_add(sample, x, t_x, t_cal, 1, context);
	}
	return sample;
}

/*
 * The deserial step of a purchase model's fit: every case received is checked
 * as a customer (the bytes may come from anywhere a bytea can).
 */
ModelSample *
purchase_fit_deserialize(FunctionCallInfo fcinfo)
{
	return model_sample_deserialize(PG_GETARG_BYTEA_PP(0), sample_case_problem,
									cp_aggregate_context(fcinfo));
}
