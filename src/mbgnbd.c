/*
 * mbgnbd.c
 *		Customer potential with the MBG/NBD model (Batislam, Denizel &
 *		Filiztekin 2007, "Empirical validation and comparison of models for
 *		customer base analysis", IJRM 24(3); the conditional expectation as
 *		corrected by Wagner & Hoppe 2008, IJRM 25(3)): the maximum-likelihood
 *		fit as an aggregate over customers and the per-customer closed forms
 *		(probability of being alive, expected purchases, the next purchase).
 *
 * As in BG/NBD (bgnbd.c), a customer (x, t_x, T) buys at rate
 * lambda ~ Gamma(r, alpha) while alive and drops out just after each purchase
 * with probability p ~ Beta(a, b); in MBG/NBD they may also drop out at time
 * 0, just after the first purchase, so a one-time buyer is not surely alive.
 * Given (lambda, p), alive at T has probability (1-p)^(x+1) lambda^x
 * e^(-lambda T), gone after the last purchase p (1-p)^x lambda^x
 * e^(-lambda t_x) (for every x, x = 0 included).  Integrating over the priors:
 *
 *   L = B(a, b+x+1)/B(a, b) G(r+x) alpha^r / G(r)
 *       [ (alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x) ]
 *
 *   P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))
 *
 * since E[p (1-p)^x] / E[(1-p)^(x+1)] = B(a+1, b+x)/B(a, b+x+1) = a/(b+x).
 * Alive at T, the customer's p is Beta(a, b+x+1) and their lambda
 * Gamma(r+x, alpha+T), and from T on they behave as a BG/NBD customer, so
 * the BG/NBD expectation with b+x+1 for b applies.  docs/potential.md,
 * "MBG/NBD".
 *
 * The fit keeps the distinct (x, t_x, T) cases with counts (model_sample.c)
 * and shares bgnbd_fit's combine and serial functions; the final function
 * maximises the log-likelihood with BFGS (minimize.c) over the
 * log-parameters, times scaled so that the longest T is 10.
 */
#include "mbgnbd.h"

#include "minimize.h"
#include "model_sample.h"
#include "purchase_customer.h"
#include "next_purchase.h"
#include "special_functions.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include <math.h>

PG_FUNCTION_INFO_V1(mbgnbd_fit_transfn);
PG_FUNCTION_INFO_V1(mbgnbd_fit_deserialfn);
PG_FUNCTION_INFO_V1(mbgnbd_fit_finalfn);
PG_FUNCTION_INFO_V1(mbgnbd_p_alive);
PG_FUNCTION_INFO_V1(mbgnbd_expected_purchases);
PG_FUNCTION_INFO_V1(mbgnbd_expected_purchases_new);
PG_FUNCTION_INFO_V1(mbgnbd_p_purchase_within);
PG_FUNCTION_INFO_V1(mbgnbd_next_purchase_median);

#define MBGNBD_MAX_ITERATIONS 500
#define MBGNBD_GRADIENT_TOLERANCE 1e-8
/* times are scaled so that the longest T is this */
#define MBGNBD_TIME_SCALE 10.0
/* a this close to 1 makes (a - 1) vanish in the closed forms: use the limit */
#define MBGNBD_A_NEAR_ONE 1e-7

/* Fields of mbgnbd_model (src/mbgnbd.sql). */
enum
{
	M_R,
	M_ALPHA,
	M_A,
	M_B,
	M_LOG_LIKELIHOOD,
	M_ITERATIONS,
	M_CUSTOMERS,
	M_CONVERGED,
	M_NATTS
};

void
mbgnbd_check_customer(int32 x, double t_x, double t_cal)
{
	purchase_customer_check("MBG/NBD", x, t_x, t_cal);
}

/*
 * mbgnbd_fit(x, t_x, T) transition: one customer (purchase_customer.c).
 */
Datum
mbgnbd_fit_transfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(purchase_fit_add(fcinfo, "MBG/NBD"));
}

Datum
mbgnbd_fit_deserialfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(purchase_fit_deserialize(fcinfo));
}

/*
 * The sample the likelihood is evaluated on, times multiplied by scale; the
 * objective is returned minus offset (its value at the start).
 */
typedef struct MbgnbdFit
{
	const ModelSample *sample;
	double		scale;
	double		offset;
} MbgnbdFit;

/*
 * A sum of many terms with its rounding error carried along (Neumaier's
 * compensated summation).  Near the optimum the line search compares values
 * of the mean log-likelihood that differ by 1e-13 and less; a plain running
 * sum over hundreds of thousands of cases is noisier than that, and each
 * iteration would then halve its step twenty times in vain.
 */
typedef struct CompensatedSum
{
	double		sum;
	double		error;
} CompensatedSum;

static inline void
compensated_add(CompensatedSum *s, double value)
{
	double		t = s->sum + value;

	if (fabs(s->sum) >= fabs(value))
		s->error += (s->sum - t) + value;
	else
		s->error += (value - t) + s->sum;
	s->sum = t;
}

/*
 * The part of ln L and of its gradient in (r, alpha, a, b) that depends on x
 * alone: ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x+1) - ln B(a, b),
 * with ln(b+x) for the bracket.
 */
typedef struct MbgnbdHead
{
	double		value;
	double		gradient[4];
	double		log_b_x;
} MbgnbdHead;

/* The digamma and log-gamma values of the parameters, once per evaluation. */
typedef struct MbgnbdConstants
{
	double		r,
				alpha,
				a,
				b;
	double		log_alpha;
	double		lg_r,
				lg_b,
				lg_ab;
	double		psi_r,
				psi_b,
				psi_ab;
} MbgnbdConstants;

static void
mbgnbd_head(const MbgnbdConstants *k, int32 x, MbgnbdHead *head)
{
	double		psi_abx1 = cp_digamma(k->a + k->b + x + 1);

	head->value = lgamma(k->r + x) - k->lg_r + k->r * k->log_alpha +
		lgamma(k->b + x + 1) - k->lg_b + k->lg_ab - lgamma(k->a + k->b + x + 1);
	head->gradient[0] = cp_digamma(k->r + x) - k->psi_r + k->log_alpha;
	head->gradient[1] = k->r / k->alpha;
	head->gradient[2] = k->psi_ab - psi_abx1;
	head->gradient[3] = cp_digamma(k->b + x + 1) - k->psi_b + k->psi_ab - psi_abx1;
	head->log_b_x = log(k->b + x);
}

/*
 * Minus the mean log-likelihood at theta = log(r, alpha, a, b), less
 * fit->offset (added to the sum first, so that the small differences near
 * the optimum keep their digits), and its gradient in theta.  Per customer
 * ln L = head(x) + ln[e^l3 + e^l4] with
 *
 *   l3 = -(r+x) ln(alpha+T),   l4 = ln a - ln(b+x) - (r+x) ln(alpha+t_x);
 *
 * the head is computed once per distinct x (the cases are sorted by x), the
 * bracket as the larger term plus log1p of the other's ratio, so that one
 * exp and one log1p per case give the bracket and both weights.
 */
static double
mbgnbd_objective(const double *theta, double *gradient, void *data)
{
	const MbgnbdFit *fit = (const MbgnbdFit *) data;
	const ModelSample *sample = fit->sample;
	MbgnbdConstants k;
	MbgnbdHead	head = {0};
	double		log_a = theta[2];
	CompensatedSum ll = {fit->offset * sample->customers, 0};
	double		g[4] = {0, 0, 0, 0};
	int32		x = -1;

	k.r = exp(theta[0]);
	k.alpha = exp(theta[1]);
	k.a = exp(theta[2]);
	k.b = exp(theta[3]);
	k.log_alpha = theta[1];
	k.lg_r = lgamma(k.r);
	k.lg_b = lgamma(k.b);
	k.lg_ab = lgamma(k.a + k.b);
	k.psi_r = cp_digamma(k.r);
	k.psi_b = cp_digamma(k.b);
	k.psi_ab = cp_digamma(k.a + k.b);

	for (int64 i = 0; i < sample->count; i++)
	{
		const ModelCase *c = &sample->cases[i];
		double		n = (double) c->count;
		double		rx;
		double		alpha_t = k.alpha + c->w * fit->scale;
		double		alpha_tx = k.alpha + c->u * fit->scale;
		double		log_t = log(alpha_t);
		double		log_tx = c->u == 0 ? k.log_alpha : log(alpha_tx);
		double		l3;
		double		l4;
		double		ratio;
		double		w3;
		double		w4;

		if (c->x != x)
		{
			x = c->x;
			mbgnbd_head(&k, x, &head);
		}
		rx = k.r + x;
		l3 = -rx * log_t;
		l4 = log_a - head.log_b_x - rx * log_tx;
		/* w3, w4: the shares of the two terms in the bracket */
		if (l3 >= l4)
		{
			ratio = exp(l4 - l3);
			compensated_add(&ll, n * (head.value + l3 + log1p(ratio)));
			w4 = ratio / (1 + ratio);
			w3 = 1 - w4;
		}
		else
		{
			ratio = exp(l3 - l4);
			compensated_add(&ll, n * (head.value + l4 + log1p(ratio)));
			w3 = ratio / (1 + ratio);
			w4 = 1 - w3;
		}
		g[0] += n * (head.gradient[0] - (w3 * log_t + w4 * log_tx));
		g[1] += n * (head.gradient[1] - rx * (w3 / alpha_t + w4 / alpha_tx));
		g[2] += n * (head.gradient[2] + w4 / k.a);
		g[3] += n * (head.gradient[3] - w4 / (k.b + x));
	}
	/* d/d log p = p d/dp; minimise minus the mean */
	gradient[0] = -g[0] * k.r / sample->customers;
	gradient[1] = -g[1] * k.alpha / sample->customers;
	gradient[2] = -g[2] * k.a / sample->customers;
	gradient[3] = -g[3] * k.b / sample->customers;
	return -(ll.sum + ll.error) / sample->customers;
}

/*
 * Whether the gradient vanished only because the iterate ran off towards a
 * limit of the parameter space, where the likelihood flattens out without a
 * maximum: one customer, identical customers, or rates without heterogeneity
 * (r and alpha to infinity together).  theta holds the log-parameters.
 * alpha, a scale of time, is not judged: customers of very different T
 * (1e9 and 38) rightly put it far from the scaled unit.
 */
static bool
optimum_at_a_limit(const double *theta)
{
	return fabs(theta[0]) > MODEL_MAX_LOG_SHAPE ||
		fabs(theta[2]) > MODEL_MAX_LOG_SHAPE ||
		fabs(theta[3]) > MODEL_MAX_LOG_SHAPE;
}

/*
 * Maximum-likelihood (r, alpha, a, b), with the log-likelihood at the
 * optimum, iterations, customers and whether the optimiser converged.  NULL
 * without customers; an error when nobody bought twice (the likelihood then
 * grows towards "everybody dropped out at once" or "nobody buys" without an
 * optimum) or when every T is 0.
 */
Datum
mbgnbd_fit_finalfn(PG_FUNCTION_ARGS)
{
	ModelSample *sample;
	MbgnbdFit	fit;
	double		theta[4] = {0, 0, 0, 0};
	double		lower[4];
	double		upper[4];
	double		gradient[4];
	double		max_t = 0;
	MinimizeResult result;
	TupleDesc	tupdesc;
	Datum		values[M_NATTS];
	bool		nulls[M_NATTS] = {false};

	sample = model_fit_final_sample(fcinfo);
	if (sample == NULL)
		PG_RETURN_NULL();
	for (int64 i = 0; i < sample->count; i++)
		max_t = Max(max_t, sample->cases[i].w);
	if (model_sample_sum_x(sample) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot fit the MBG/NBD model: no customer made a repeat purchase"),
				 errdetail("%lld customers, all with x = 0.", (long long) sample->customers),
				 errhint("Use a longer calibration period.")));
	if (!(max_t > 0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot fit the MBG/NBD model: every customer has T = 0"),
				 errdetail("Repeat purchases at no time after the first have no finite purchase rate."),
				 errhint("Summarise the customers at a later as_of.")));

	fit.sample = sample;
	fit.scale = MBGNBD_TIME_SCALE / max_t;
	/* r, a, b, and alpha both as fitted and in the caller's unit, finite */
	for (int i = 0; i < 4; i++)
	{
		lower[i] = -MINIMIZE_MAX_LOG_PARAMETER;
		upper[i] = MINIMIZE_MAX_LOG_PARAMETER;
	}
	lower[1] = Max(lower[1], log(fit.scale) - MINIMIZE_MAX_LOG_PARAMETER);
	upper[1] = Min(upper[1], log(fit.scale) + MINIMIZE_MAX_LOG_PARAMETER);
	fit.offset = 0;
	fit.offset = mbgnbd_objective(theta, gradient, &fit);
	if (!isfinite(fit.offset))
		fit.offset = 0;			/* cp_minimize reports it */
	result = cp_minimize(mbgnbd_objective, &fit, theta, 4, lower, upper, MBGNBD_MAX_ITERATIONS,
						 MBGNBD_GRADIENT_TOLERANCE, "MBG/NBD");
	if (!result.converged)
		ereport(WARNING,
				(errmsg("the MBG/NBD fit did not converge"),
				 errdetail("After %d iterations over %lld customers; the parameters returned are the last iterate.",
						   result.iterations, (long long) sample->customers)));
	else if (optimum_at_a_limit(theta))
	{
		result.converged = false;
		ereport(WARNING,
				(errmsg("the MBG/NBD fit has no finite optimum"),
				 errdetail("The likelihood grows towards a parameter of 0 or infinity (r = %g, alpha = %g, a = %g, b = %g over %lld customers); the parameters returned are the last iterate.",
						   exp(theta[0]), exp(theta[1]) / fit.scale, exp(theta[2]), exp(theta[3]),
						   (long long) sample->customers)));
	}

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "mbgnbd_fit must return a composite type");
	values[M_R] = Float8GetDatum(exp(theta[0]));
	values[M_ALPHA] = Float8GetDatum(exp(theta[1]) / fit.scale);
	values[M_A] = Float8GetDatum(exp(theta[2]));
	values[M_B] = Float8GetDatum(exp(theta[3]));

	/*
	 * Back to the caller's unit: both terms of L gain a factor scale^-x when
	 * times are multiplied by scale.
	 */
	values[M_LOG_LIKELIHOOD] = Float8GetDatum(-(result.value + fit.offset) * sample->customers +
											  log(fit.scale) * model_sample_sum_x(sample));
	values[M_ITERATIONS] = Int32GetDatum(result.iterations);
	values[M_CUSTOMERS] = Int64GetDatum(sample->customers);
	values[M_CONVERGED] = BoolGetDatum(result.converged);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

#define MBGNBD_MODEL_HINT "Pass the result of mbgnbd_fit(), or ROW(r, alpha, a, b, NULL, NULL, NULL, NULL)::mbgnbd_model."

void
mbgnbd_parameters_from_model(HeapTupleHeader model, MbgnbdParameters *params)
{
	params->r = model_positive_parameter(model, M_R + 1, "MBG/NBD", "r", MBGNBD_MODEL_HINT);
	params->alpha = model_positive_parameter(model, M_ALPHA + 1, "MBG/NBD", "alpha",
											 MBGNBD_MODEL_HINT);
	params->a = model_positive_parameter(model, M_A + 1, "MBG/NBD", "a", MBGNBD_MODEL_HINT);
	params->b = model_positive_parameter(model, M_B + 1, "MBG/NBD", "b", MBGNBD_MODEL_HINT);
}

/*
 * P(alive | x, t_x, T) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), the
 * odds in log space (a long silence makes the power overflow: P(alive) 0).
 */
double
mbgnbd_alive_probability(const MbgnbdParameters *p, int32 x, double t_x, double t_cal)
{
	double		log_odds = log(p->a) - log(p->b + x) +
		(p->r + x) * (log(p->alpha + t_cal) - log(p->alpha + t_x));

	return 1 / (1 + exp(log_odds));
}

/*
 * (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))]:
 * expected purchases in (T, T+t] of a customer known to be alive at T (the
 * BG/NBD form with b+x+1 for b+x: alive at T, p ~ Beta(a, b+x+1)).
 */
static double
expected_if_alive(const MbgnbdParameters *p, double a, double t, int32 x, double t_cal)
{
	double		c = a + p->b + x;
	double		base = p->alpha + t_cal;
	double		z = t / (base + t);

	/* t so long next to alpha + T that z rounds to 1: 2F1 diverges there */
	if (!(z < 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("expected purchases over a horizon of %g are out of range", t),
				 errdetail("The horizon is %g times alpha + T (%g).", t / base, base),
				 errhint("Use a shorter horizon or a coarser time unit.")));
	/*
	 * The power as exp(-(r+x) log1p(t / base)): with r + x large the bracket
	 * is a small difference, which the rounding of log(base) - log(base + t)
	 * would swamp.
	 */
	return c / (a - 1) *
		(1 - exp(-(p->r + x) * log1p(t / base)) *
		 cp_hyp2f1(p->r + x, p->b + x + 1, c, z));
}

/*
 * The same, continuous at a = 1 where both factors vanish: the mean of the
 * values just above and below.
 */
static double
expected_if_alive_any_a(const MbgnbdParameters *p, double t, int32 x, double t_cal)
{
	if (t == 0)
		return 0;
	if (fabs(p->a - 1) < MBGNBD_A_NEAR_ONE)
		return (expected_if_alive(p, 1 + MBGNBD_A_NEAR_ONE, t, x, t_cal) +
				expected_if_alive(p, 1 - MBGNBD_A_NEAR_ONE, t, x, t_cal)) / 2;
	return expected_if_alive(p, p->a, t, x, t_cal);
}

/*
 * E[Y(t) | x, t_x, T]: P(alive) times the purchases of a customer alive at T
 * (Wagner & Hoppe 2008's correction of Batislam et al. 2007).
 */
double
mbgnbd_conditional_expected(const MbgnbdParameters *params, double t, int32 x,
							double t_x, double t_cal)
{
	return mbgnbd_alive_probability(params, x, t_x, t_cal) *
		expected_if_alive_any_a(params, t, x, t_cal);
}

/*
 * mbgnbd_p_alive(model, x, t_x, T)
 */
Datum
mbgnbd_p_alive(PG_FUNCTION_ARGS)
{
	MbgnbdParameters params;
	int32		x = PG_GETARG_INT32(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		t_cal = PG_GETARG_FLOAT8(3);

	mbgnbd_parameters_from_model(PG_GETARG_HEAPTUPLEHEADER(0), &params);
	mbgnbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(mbgnbd_alive_probability(&params, x, t_x, t_cal));
}

/*
 * mbgnbd_expected_purchases(model, t, x, t_x, T): purchases in the next t.
 */
Datum
mbgnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	MbgnbdParameters params;
	double		t = PG_GETARG_FLOAT8(1);
	int32		x = PG_GETARG_INT32(2);
	double		t_x = PG_GETARG_FLOAT8(3);
	double		t_cal = PG_GETARG_FLOAT8(4);

	mbgnbd_parameters_from_model(PG_GETARG_HEAPTUPLEHEADER(0), &params);
	cp_check_horizon(t);
	mbgnbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(mbgnbd_conditional_expected(&params, t, x, t_x, t_cal));
}

/*
 * mbgnbd_expected_purchases(model, t): repeat purchases of a new customer in
 * their first t, E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b;
 * t/(alpha+t))]: surviving time 0 (probability b/(a+b)) times the purchases
 * of one alive at T = 0 with x = 0.
 */
Datum
mbgnbd_expected_purchases_new(PG_FUNCTION_ARGS)
{
	MbgnbdParameters params;
	double		t = PG_GETARG_FLOAT8(1);

	mbgnbd_parameters_from_model(PG_GETARG_HEAPTUPLEHEADER(0), &params);
	cp_check_horizon(t);
	PG_RETURN_FLOAT8(params.b / (params.a + params.b) *
					 expected_if_alive_any_a(&params, t, 0, 0));
}

/*
 * mbgnbd_p_purchase_within(model, t, x, t_x, T): as BG/NBD's
 * (next_purchase.c), with MBG/NBD's P(alive): a customer alive at T cannot
 * drop out before buying again, and their rate is Gamma(r+x, alpha+T).
 */
Datum
mbgnbd_p_purchase_within(PG_FUNCTION_ARGS)
{
	MbgnbdParameters params;
	double		t = PG_GETARG_FLOAT8(1);
	int32		x = PG_GETARG_INT32(2);
	double		t_x = PG_GETARG_FLOAT8(3);
	double		t_cal = PG_GETARG_FLOAT8(4);

	mbgnbd_parameters_from_model(PG_GETARG_HEAPTUPLEHEADER(0), &params);
	cp_check_horizon(t);
	mbgnbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(next_purchase_probability(mbgnbd_alive_probability(&params, x, t_x, t_cal),
											   params.r + x, params.alpha + t_cal, t));
}

/*
 * mbgnbd_next_purchase_median(model, x, t_x, T): NULL when never reached.
 */
Datum
mbgnbd_next_purchase_median(PG_FUNCTION_ARGS)
{
	MbgnbdParameters params;
	int32		x = PG_GETARG_INT32(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		t_cal = PG_GETARG_FLOAT8(3);
	double		median;

	mbgnbd_parameters_from_model(PG_GETARG_HEAPTUPLEHEADER(0), &params);
	mbgnbd_check_customer(x, t_x, t_cal);
	if (!next_purchase_median(mbgnbd_alive_probability(&params, x, t_x, t_cal),
							  params.r + x, params.alpha + t_cal, &median))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(median);
}
