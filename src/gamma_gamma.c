/*
 * gamma_gamma.c
 *		Expected spend per purchase with the Gamma-Gamma model (Fader, Hardie
 *		& Lee 2005, "RFM and CLV: using iso-value curves for customer base
 *		analysis", following Colombo & Jiang 1999): the maximum-likelihood fit
 *		as an aggregate over the repeat customers, and each customer's
 *		expected spend.
 *
 * A customer's purchases are Gamma(p, nu) in value, nu ~ Gamma(q, v) across
 * customers; the mean m of a customer's x repeat purchases then has density
 *
 *   G(px+q) / (G(px) G(q)) v^q m^(px-1) x^px / (v + m x)^(px+q).
 *
 * Spend is scaled by the mean of m for the fit (v then starts near 1), and
 * v and the log-likelihood are reported in the caller's money.
 */
#include "gamma_gamma.h"

#include "minimize.h"
#include "model_sample.h"
#include "special_functions.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include <math.h>

PG_FUNCTION_INFO_V1(gamma_gamma_fit_transfn);
PG_FUNCTION_INFO_V1(gamma_gamma_fit_deserialfn);
PG_FUNCTION_INFO_V1(gamma_gamma_fit_finalfn);
PG_FUNCTION_INFO_V1(gamma_gamma_expected_spend);

#define GG_MAX_ITERATIONS 500
#define GG_GRADIENT_TOLERANCE 1e-8

/* Fields of gamma_gamma_model (src/bgnbd.sql). */
enum
{
	G_P,
	G_Q,
	G_V,
	G_LOG_LIKELIHOOD,
	G_ITERATIONS,
	G_CUSTOMERS,
	G_CONVERGED,
	G_NATTS
};

static const char *
gamma_gamma_case_problem(int32 x, double mean_spend)
{
	if (x < 1)
		return "x (repeat purchases) must be at least 1.";
	if (!(mean_spend > 0) || isinf(mean_spend))
		return "The mean spend of repeat purchases must be positive and finite.";
	return NULL;
}

static void
gamma_gamma_check_customer(int32 x, double mean_spend)
{
	const char *problem = gamma_gamma_case_problem(x, mean_spend);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Gamma-Gamma customer (x = %d, mean spend = %g)", x, mean_spend),
				 errdetail("%s", problem)));
}

static const char *
gamma_gamma_sample_case_problem(const ModelCase *c)
{
	if (c->w != 0)
		return "A customer case has a third value.";
	return gamma_gamma_case_problem(c->x, c->u);
}

/*
 * gamma_gamma_fit(x, mean_spend) transition: one customer.  Customers
 * without repeat purchases (x = 0) or with a NULL input are skipped: their
 * mean spend of repeat purchases is undefined.
 */
Datum
gamma_gamma_fit_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ModelSample *sample = PG_ARGISNULL(0) ? NULL : (ModelSample *) PG_GETARG_POINTER(0);

	if (sample == NULL)
		sample = MemoryContextAllocZero(context, sizeof(ModelSample));
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2) && PG_GETARG_INT32(1) != 0)
	{
		int32		x = PG_GETARG_INT32(1);
		double		spend = PG_GETARG_FLOAT8(2);

		gamma_gamma_check_customer(x, spend);
		model_sample_add(sample, x, spend, 0, 1, context);
	}
	PG_RETURN_POINTER(sample);
}

Datum
gamma_gamma_fit_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);

	PG_RETURN_POINTER(model_sample_deserialize(PG_GETARG_BYTEA_PP(0),
											   gamma_gamma_sample_case_problem, context));
}

/*
 * The sample the likelihood is evaluated on, spend multiplied by scale: in
 * long double, because one over a mean spend near the ends of double's range
 * (5e-324, 1e308) does not fit in a double.  Each case's scaled mean spend m
 * and ln m do not depend on the parameters and are computed once per fit.
 */
typedef struct GammaGammaFit
{
	const ModelSample *sample;
	long double scale;
	double	   *spend;			/* per case: m = mean spend * scale */
	double	   *log_spend;		/* per case: ln m */
} GammaGammaFit;

/*
 * Minus the mean log-likelihood at theta = log(p, q, v), and its gradient.
 * Per customer:
 *
 *   ln L = ln G(px+q) - ln G(px) - ln G(q) + q ln v + (px-1) ln m + px ln x
 *          - (px+q) ln(v + m x)
 *
 * The gamma and digamma functions depend on x alone and are evaluated once
 * per distinct x (the cases are sorted by x), ln m once per fit: each case
 * costs one log.  Every value is computed with the same operations, in the
 * same order, as when each case computed all of its terms, so the fit is
 * the same to the last bit.
 */
static double
gamma_gamma_objective(const double *theta, double *gradient, void *data)
{
	const GammaGammaFit *fit = (const GammaGammaFit *) data;
	const ModelSample *sample = fit->sample;
	double		p = exp(theta[0]);
	double		q = exp(theta[1]);
	double		v = exp(theta[2]);
	double		lg_q = lgamma(q);
	double		psi_q = cp_digamma(q);
	double		log_v = log(v);
	double		ll = 0;
	double		g[3] = {0, 0, 0};

	for (int64 i = 0; i < sample->count;)
	{
		int32		x = sample->cases[i].x;
		double		px = p * x;
		double		log_x = log(x);
		double		psi_pxq = cp_digamma(px + q);
		/* the leading terms of the per-case sums below */
		double		ll_x = lgamma(px + q) - lgamma(px) - lg_q + q * log_v;
		double		g0_x = psi_pxq - cp_digamma(px);
		double		g1_x = psi_pxq - psi_q + log_v;
		double		g2_x = q / v;

		for (; i < sample->count && sample->cases[i].x == x; i++)
		{
			double		n = (double) sample->cases[i].count;
			double		m = fit->spend[i];
			double		log_m = fit->log_spend[i];
			double		log_vmx = log(v + m * x);

			ll += n * (ll_x + (px - 1) * log_m + px * log_x - (px + q) * log_vmx);
			g[0] += n * x * (g0_x + log_m + log_x - log_vmx);
			g[1] += n * (g1_x - log_vmx);
			g[2] += n * (g2_x - (px + q) / (v + m * x));
		}
	}
	gradient[0] = -g[0] * p / sample->customers;
	gradient[1] = -g[1] * q / sample->customers;
	gradient[2] = -g[2] * v / sample->customers;
	return -ll / sample->customers;
}

/*
 * Maximum-likelihood (p, q, v); NULL without a repeat customer.
 */
Datum
gamma_gamma_fit_finalfn(PG_FUNCTION_ARGS)
{
	ModelSample *sample;
	GammaGammaFit fit;
	double		theta[3] = {0, 0, 0};
	double		lower[3];
	double		upper[3];
	double		log_scale;
	long double total = 0;
	MinimizeResult result;
	TupleDesc	tupdesc;
	Datum		values[G_NATTS];
	bool		nulls[G_NATTS] = {false};

	sample = model_fit_final_sample(fcinfo);
	if (sample == NULL)
		PG_RETURN_NULL();
	for (int64 i = 0; i < sample->count; i++)
		total += (long double) sample->cases[i].u * sample->cases[i].count;

	fit.sample = sample;
	fit.scale = sample->customers / total;
	fit.spend = palloc_extended(sizeof(double) * sample->count, MCXT_ALLOC_HUGE);
	fit.log_spend = palloc_extended(sizeof(double) * sample->count, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < sample->count; i++)
	{
		fit.spend[i] = (double) (sample->cases[i].u * fit.scale);
		fit.log_spend[i] = log(fit.spend[i]);
	}
	log_scale = (double) logl(fit.scale);
	/* p, q, and v both as fitted and in the caller's money, finite */
	for (int i = 0; i < 3; i++)
	{
		lower[i] = -MINIMIZE_MAX_LOG_PARAMETER;
		upper[i] = MINIMIZE_MAX_LOG_PARAMETER;
	}
	lower[2] = Max(lower[2], log_scale - MINIMIZE_MAX_LOG_PARAMETER);
	upper[2] = Min(upper[2], log_scale + MINIMIZE_MAX_LOG_PARAMETER);
	result = cp_minimize(gamma_gamma_objective, &fit, theta, 3, lower, upper, GG_MAX_ITERATIONS,
						 GG_GRADIENT_TOLERANCE, "Gamma-Gamma");
	pfree(fit.spend);
	pfree(fit.log_spend);
	if (!result.converged)
		ereport(WARNING,
				(errmsg("the Gamma-Gamma fit did not converge"),
				 errdetail("After %d iterations over %lld customers; the parameters returned are the last iterate.",
						   result.iterations, (long long) sample->customers)));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "gamma_gamma_fit must return a composite type");
	values[G_P] = Float8GetDatum(exp(theta[0]));
	values[G_Q] = Float8GetDatum(exp(theta[1]));
	values[G_V] = Float8GetDatum(exp(theta[2] - log_scale));
	/* the density of m gains a factor scale when m is multiplied by it */
	values[G_LOG_LIKELIHOOD] = Float8GetDatum(-result.value * sample->customers +
											  log_scale * sample->customers);
	values[G_ITERATIONS] = Int32GetDatum(result.iterations);
	values[G_CUSTOMERS] = Int64GetDatum(sample->customers);
	values[G_CONVERGED] = BoolGetDatum(result.converged);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

#define GG_MODEL_HINT "Pass the result of gamma_gamma_fit(), or ROW(p, q, v, NULL, NULL, NULL, NULL)::gamma_gamma_model."

void
gamma_gamma_parameters_from_model(HeapTupleHeader model, GammaGammaParameters *params)
{
	params->p = model_positive_parameter(model, G_P + 1, "Gamma-Gamma", "p",
										  GG_MODEL_HINT);
	params->q = model_positive_parameter(model, G_Q + 1, "Gamma-Gamma", "q",
										  GG_MODEL_HINT);
	params->v = model_positive_parameter(model, G_V + 1, "Gamma-Gamma", "v",
										  GG_MODEL_HINT);
}

/*
 * The parameters of the model in argument argno, read only when it differs
 * from the last one cache saw (cache lives in fn_extra).
 */
void
gamma_gamma_parameters_of_argument(FunctionCallInfo fcinfo, int argno, GammaGammaModelCache *cache,
								   GammaGammaParameters *params)
{
	Datum		value = PG_GETARG_DATUM(argno);

	if (!model_datum_unchanged(&cache->datum, value))
	{
		gamma_gamma_parameters_from_model(DatumGetHeapTupleHeader(value), &cache->params);
		model_datum_remember(&cache->datum, value, fcinfo->flinfo->fn_mcxt);
	}
	*params = cache->params;
}

/*
 * E[M | x, m] = (p (v + x m)) / (p x + q - 1): a weighted mean of the
 * population's mean spend p v / (q - 1) and the customer's own m.  Without
 * a known mean (x = 0) it is the population mean.  Both need q > 1.
 */
double
gamma_gamma_expected_spend_of(const GammaGammaParameters *params, int32 x,
							  double mean_spend, bool spend_known)
{
	if (!(params->q > 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("expected spend is undefined for q <= 1 (q = %g)", params->q),
				 errdetail("The population's mean spend p v / (q - 1) is infinite.")));
	if (!spend_known || x == 0)
		return params->p * params->v / (params->q - 1);
	gamma_gamma_check_customer(x, mean_spend);
	return params->p * (params->v + x * mean_spend) / (params->p * x + params->q - 1);
}

/*
 * gamma_gamma_expected_spend(model, x, mean_spend): NULL mean_spend or x = 0
 * give the population mean.  Not STRICT in the spend for that reason.
 */
Datum
gamma_gamma_expected_spend(PG_FUNCTION_ARGS)
{
	GammaGammaParameters params;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	gamma_gamma_parameters_of_argument(fcinfo, 0,
									   model_call_cache(fcinfo, sizeof(GammaGammaModelCache)),
									   &params);
	PG_RETURN_FLOAT8(gamma_gamma_expected_spend_of(&params, PG_GETARG_INT32(1),
												   PG_ARGISNULL(2) ? 0 : PG_GETARG_FLOAT8(2),
												   !PG_ARGISNULL(2)));
}
