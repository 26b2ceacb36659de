/*
 * bgnbd.c
 *		Customer potential with the BG/NBD model (Fader, Hardie & Lee 2005,
 *		"Counting your customers the easy way", Marketing Science 24(2)):
 *		the calibration summary of a customer, the maximum-likelihood fit as
 *		an aggregate over customers, and the per-customer closed forms
 *		(probability of being alive, expected purchases).
 *
 * Each customer is (x, t_x, T): x repeat purchases (purchase days after the
 * first), t_x the time from the first to the last purchase, T the time from
 * the first purchase to the end of calibration, in one time unit.  While
 * alive, a customer buys at rate lambda ~ Gamma(r, alpha); after each
 * purchase they drop out with probability p ~ Beta(a, b).
 *
 * The fit keeps the distinct (x, t_x, T) cases with counts (model_sample.c),
 * merged across parallel workers; the final function maximises the
 * log-likelihood with BFGS (minimize.c) over the log-parameters, with times
 * scaled so that the longest T is 10 (alpha near 1 at the start, whatever
 * the unit), and reports alpha and the log-likelihood in the caller's unit.
 */
#include "bgnbd.h"

#include "minimize.h"
#include "model_sample.h"
#include "purchase_customer.h"
#include "special_functions.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/typcache.h"
#include "utils/float.h"

#include <math.h>

PG_FUNCTION_INFO_V1(purchase_summary);
PG_FUNCTION_INFO_V1(bgnbd_fit_transfn);
PG_FUNCTION_INFO_V1(bgnbd_fit_deserialfn);
PG_FUNCTION_INFO_V1(bgnbd_fit_finalfn);
PG_FUNCTION_INFO_V1(bgnbd_p_alive);
PG_FUNCTION_INFO_V1(bgnbd_expected_purchases);
PG_FUNCTION_INFO_V1(bgnbd_expected_purchases_new);

#define BGNBD_MAX_ITERATIONS 500
#define BGNBD_GRADIENT_TOLERANCE 1e-8
/* times are scaled so that the longest T is this */
#define BGNBD_TIME_SCALE 10.0
/* a this close to 1 makes (a - 1) vanish in the closed forms: use the limit */
#define BGNBD_A_NEAR_ONE 1e-7

/* Fields of bgnbd_model (src/bgnbd.sql). */
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

/* Fields of purchase_summary. */
enum
{
	S_X,
	S_T_X,
	S_T_CAL,
	S_REPEAT_SPEND,
	S_NATTS
};

/*
 * Days per time unit.  A month is a twelfth of a Julian year.
 */
static double
unit_days(text *unit)
{
	char	   *name = text_to_cstring(unit);

	if (strcmp(name, "day") == 0)
		return 1;
	if (strcmp(name, "week") == 0)
		return 7;
	if (strcmp(name, "month") == 0)
		return 365.25 / 12;
	if (strcmp(name, "year") == 0)
		return 365.25;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown time unit \"%s\"", name),
			 errhint("Use day, week, month (365.25/12 days) or year (365.25 days).")));
	pg_unreachable();
}

/* The fields of customer_profile that purchase_summary reads. */
#define SUMMARY_FIELDS 4
static const char *const summary_fields[SUMMARY_FIELDS] = {"purchase_days", "recency_days",
	"tenure_days", "repeat_spend"};

/*
 * What purchase_summary looks up once per query rather than once per row
 * (in fn_extra): the profile's descriptor and the positions of the fields it
 * reads, and its own blessed result descriptor.
 */
typedef struct SummaryCache
{
	Oid			profile_type;
	int32		profile_typmod;
	TupleDesc	profile_desc;
	int			attnums[SUMMARY_FIELDS];
	TupleDesc	result_desc;
} SummaryCache;

static SummaryCache *
summary_cache(FunctionCallInfo fcinfo, HeapTupleHeader profile)
{
	SummaryCache *cache = fcinfo->flinfo->fn_extra;
	Oid			type = HeapTupleHeaderGetTypeId(profile);
	int32		typmod = HeapTupleHeaderGetTypMod(profile);
	MemoryContext old;
	TupleDesc	result;

	if (cache != NULL && cache->profile_type == type && cache->profile_typmod == typmod)
		return cache;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (cache == NULL)
		cache = palloc0(sizeof(SummaryCache));
	else
		FreeTupleDesc(cache->profile_desc);
	cache->profile_desc = lookup_rowtype_tupdesc_copy(type, typmod);
	cache->profile_type = type;
	cache->profile_typmod = typmod;
	for (int f = 0; f < SUMMARY_FIELDS; f++)
	{
		cache->attnums[f] = InvalidAttrNumber;
		for (int i = 0; i < cache->profile_desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(cache->profile_desc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), summary_fields[f]) == 0)
				cache->attnums[f] = att->attnum;
		}
		if (cache->attnums[f] == InvalidAttrNumber)
			elog(ERROR, "attribute \"%s\" does not exist", summary_fields[f]);
	}
	if (cache->result_desc == NULL)
	{
		if (get_call_result_type(fcinfo, NULL, &result) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "purchase_summary must return a composite type");
		cache->result_desc = BlessTupleDesc(CreateTupleDescCopy(result));
	}
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

/*
 * purchase_summary(profile customer_profile, unit text): the (x, t_x, T,
 * repeat spend) of a customer from their profile, so the model's input comes
 * from the same pass over the orders as everything else.  NULL when the
 * profile has no purchase.
 */
Datum
purchase_summary(PG_FUNCTION_ARGS)
{
	HeapTupleHeader profile = PG_GETARG_HEAPTUPLEHEADER(0);
	double		days = unit_days(PG_GETARG_TEXT_PP(1));
	SummaryCache *cache = summary_cache(fcinfo, profile);
	HeapTupleData tuple;
	Datum		fields[SUMMARY_FIELDS];
	bool		isnull[SUMMARY_FIELDS];
	Datum		values[S_NATTS];
	bool		nulls[S_NATTS] = {false};
	int32		purchase_days;
	int32		recency;
	int32		tenure;

	tuple.t_len = HeapTupleHeaderGetDatumLength(profile);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = profile;
	for (int f = 0; f < SUMMARY_FIELDS; f++)
		fields[f] = heap_getattr(&tuple, cache->attnums[f], cache->profile_desc, &isnull[f]);
	if (isnull[0] || isnull[1] || isnull[2])
		PG_RETURN_NULL();
	purchase_days = DatumGetInt32(fields[0]);
	recency = DatumGetInt32(fields[1]);
	tenure = DatumGetInt32(fields[2]);
	if (purchase_days < 1)
		PG_RETURN_NULL();

	values[S_X] = Int32GetDatum(purchase_days - 1);
	/* the first purchase was tenure days ago, the last recency days ago */
	values[S_T_X] = Float8GetDatum(purchase_days > 1 ? (tenure - recency) / days : 0.0);
	values[S_T_CAL] = Float8GetDatum(tenure / days);
	values[S_REPEAT_SPEND] = fields[3];
	nulls[S_REPEAT_SPEND] = isnull[3];
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->result_desc, values, nulls)));
}

void
bgnbd_check_customer(int32 x, double t_x, double t_cal)
{
	purchase_customer_check("BG/NBD", x, t_x, t_cal);
}

/*
 * bgnbd_fit(x, t_x, T) transition: one customer (purchase_customer.c).
 */
Datum
bgnbd_fit_transfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(purchase_fit_add(fcinfo, "BG/NBD"));
}

Datum
bgnbd_fit_deserialfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(purchase_fit_deserialize(fcinfo));
}

/*
 * The sample the likelihood is evaluated on, times multiplied by scale.  The
 * times are indexed (model_sample_index_values): alpha + t and ln(alpha + t)
 * are computed once per distinct time per evaluation, into alpha_time and
 * log_time.
 */
typedef struct BgnbdFit
{
	const ModelSample *sample;
	double		scale;
	ModelSampleValues times;
	double	   *scaled_time;	/* per distinct time: t * scale */
	double	   *alpha_time;		/* per distinct time: alpha + t * scale */
	double	   *log_time;		/* per distinct time: ln(alpha + t * scale) */
	/* the cases as the likelihood reads them: 16 bytes a case, not 32 */
	double	   *counts;			/* per case: its count */
	int64		groups;			/* distinct x */
	int32	   *group_x;		/* per distinct x: x */
	int64	   *group_end;		/* per distinct x: one past its last case */
} BgnbdFit;

/*
 * Minus the mean log-likelihood at theta = log(r, alpha, a, b), and its
 * gradient in theta.  Per customer:
 *
 *   ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
 *          + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]
 *
 * The first line, its derivatives and ln(a/(b+x-1)) depend on x alone and
 * are computed once per distinct x (the cases are sorted by x); alpha + t
 * and ln(alpha + t) once per distinct time.  The bracket is summed in log
 * space.  Each case then costs three exp and one log (x > 0) or none
 * (x = 0), where computing everything per case took nine.
 *
 * Every value is computed with the same operations, in the same order, as
 * when each case computed all of its terms itself: the fit is the same to
 * the last bit, so its iterations and its answer on degenerate data (one
 * customer, where the optimum lies at infinity and the path is at the mercy
 * of rounding) are too.  For that, the one term of the bracket that is its
 * maximum is exp(0) = 1 without calling exp, and the shares w3, w4 of the
 * two terms are exp(l - ln bracket), not 1/(1 + e).
 */
static double
bgnbd_objective(const double *theta, double *gradient, void *data)
{
	const BgnbdFit *fit = (const BgnbdFit *) data;
	const ModelSample *sample = fit->sample;
	const int32 *u_index = fit->times.u_index;
	const int32 *w_index = fit->times.w_index;
	const double *alpha_time = fit->alpha_time;
	const double *log_time = fit->log_time;
	const double *counts = fit->counts;
	double		r = exp(theta[0]);
	double		alpha = exp(theta[1]);
	double		a = exp(theta[2]);
	double		b = exp(theta[3]);
	double		ll = 0;
	double		g[4] = {0, 0, 0, 0};
	double		psi_r = cp_digamma(r);
	double		psi_ab = cp_digamma(a + b);
	double		psi_b = cp_digamma(b);
	double		lg_r = lgamma(r);
	double		lg_ab = lgamma(a + b);
	double		lg_b = lgamma(b);
	double		log_alpha = log(alpha);

	for (int64 k = 0; k < fit->times.count; k++)
	{
		fit->alpha_time[k] = alpha + fit->scaled_time[k];
		fit->log_time[k] = log(fit->alpha_time[k]);
	}

	for (int64 group = 0, i = 0; group < fit->groups; group++)
	{
		int32		x = fit->group_x[group];
		int64		end = fit->group_end[group];
		double		rx = r + x;
		double		head;
		double		head_g[4];
		double		log_odds = log(a) - log(b + x - 1);	/* ln(a / (b + x - 1)) */
		double		b_x_1 = b + x - 1;

		head = lgamma(rx) - lg_r + r * log_alpha +
			lg_ab + lgamma(b + x) - lg_b - lgamma(a + b + x);
		head_g[0] = cp_digamma(rx) - psi_r + log_alpha;
		head_g[1] = r / alpha;
		head_g[2] = psi_ab - cp_digamma(a + b + x);
		head_g[3] = psi_ab + cp_digamma(b + x) - psi_b - cp_digamma(a + b + x);

		for (; i < end; i++)
		{
			double		n = counts[i];
			double		log_t = log_time[w_index[i]];

			ll += n * head;
			for (int k = 0; k < 4; k++)
				g[k] += n * head_g[k];
			if (x == 0)
			{
				ll -= n * rx * log_t;
				g[0] -= n * log_t;
				g[1] -= n * rx / alpha_time[w_index[i]];
			}
			else
			{
				double		log_tx = log_time[u_index[i]];
				double		l3 = -rx * log_t;
				double		l4 = log_odds - rx * log_tx;
				double		top = Max(l3, l4);
				double		sum;
				double		bracket;
				double		w3;
				double		w4;

				if (isfinite(top))
					sum = 1 + exp((l3 > l4 ? l4 : l3) - top);
				else
					sum = exp(l3 - top) + exp(l4 - top);
				bracket = top + log(sum);
				w3 = exp(l3 - bracket);
				w4 = exp(l4 - bracket);
				ll += n * bracket;
				g[0] -= n * (w3 * log_t + w4 * log_tx);
				g[1] -= n * rx * (w3 / alpha_time[w_index[i]] + w4 / alpha_time[u_index[i]]);
				g[2] += n * w4 / a;
				g[3] -= n * w4 / b_x_1;
			}
		}
	}
	/* d/d log p = p d/dp; minimise minus the mean */
	gradient[0] = -g[0] * r / sample->customers;
	gradient[1] = -g[1] * alpha / sample->customers;
	gradient[2] = -g[2] * a / sample->customers;
	gradient[3] = -g[3] * b / sample->customers;
	return -ll / sample->customers;
}

/*
 * The cases' counts as doubles and the bounds of each x's cases (the
 * sample is compacted: sorted by x), for bgnbd_objective.
 */
static void
bgnbd_group_cases(BgnbdFit *fit)
{
	const ModelSample *sample = fit->sample;

	int64		groups = 0;

	for (int64 i = 0; i < sample->count; i++)
		groups += i == 0 || sample->cases[i].x != sample->cases[i - 1].x;
	fit->counts = palloc_extended(sizeof(double) * sample->count, MCXT_ALLOC_HUGE);
	fit->group_x = palloc_extended(sizeof(int32) * groups, MCXT_ALLOC_HUGE);
	fit->group_end = palloc_extended(sizeof(int64) * groups, MCXT_ALLOC_HUGE);
	fit->groups = 0;
	for (int64 i = 0; i < sample->count; i++)
	{
		fit->counts[i] = (double) sample->cases[i].count;
		if (i == 0 || sample->cases[i].x != sample->cases[i - 1].x)
			fit->group_x[fit->groups++] = sample->cases[i].x;
		fit->group_end[fit->groups - 1] = i + 1;
	}
}

/*
 * Maximum-likelihood (r, alpha, a, b), with the log-likelihood at the
 * optimum, iterations, customers and whether the optimiser converged.  NULL
 * without customers; an error when nobody bought twice (the model then has
 * no optimum: every dropout rate fits).
 */
Datum
bgnbd_fit_finalfn(PG_FUNCTION_ARGS)
{
	ModelSample *sample;
	BgnbdFit	fit;
	double		theta[4] = {0, 0, 0, 0};
	double		lower[4];
	double		upper[4];
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
				 errmsg("cannot fit the BG/NBD model: no customer made a repeat purchase"),
				 errdetail("%lld customers, all with x = 0.", (long long) sample->customers),
				 errhint("Use a longer calibration period.")));
	Assert(max_t > 0);			/* x > 0 implies T >= t_x > 0 or T > 0 */

	fit.sample = sample;
	fit.scale = BGNBD_TIME_SCALE / max_t;
	model_sample_index_values(sample, &fit.times);
	fit.scaled_time = palloc_extended(sizeof(double) * fit.times.count, MCXT_ALLOC_HUGE);
	fit.log_time = palloc_extended(sizeof(double) * fit.times.count, MCXT_ALLOC_HUGE);
	fit.alpha_time = palloc_extended(sizeof(double) * fit.times.count, MCXT_ALLOC_HUGE);
	for (int64 k = 0; k < fit.times.count; k++)
		fit.scaled_time[k] = fit.times.values[k] * fit.scale;
	bgnbd_group_cases(&fit);
	/* r, a, b, and alpha both as fitted and in the caller's unit, finite */
	for (int i = 0; i < 4; i++)
	{
		lower[i] = -MINIMIZE_MAX_LOG_PARAMETER;
		upper[i] = MINIMIZE_MAX_LOG_PARAMETER;
	}
	lower[1] = Max(lower[1], log(fit.scale) - MINIMIZE_MAX_LOG_PARAMETER);
	upper[1] = Min(upper[1], log(fit.scale) + MINIMIZE_MAX_LOG_PARAMETER);
	result = cp_minimize(bgnbd_objective, &fit, theta, 4, lower, upper, BGNBD_MAX_ITERATIONS,
						 BGNBD_GRADIENT_TOLERANCE, "BG/NBD");
	model_sample_free_values(&fit.times);
	pfree(fit.scaled_time);
	pfree(fit.log_time);
	pfree(fit.alpha_time);
	pfree(fit.counts);
	pfree(fit.group_x);
	pfree(fit.group_end);
	if (!result.converged)
		ereport(WARNING,
				(errmsg("the BG/NBD fit did not converge"),
				 errdetail("After %d iterations over %lld customers; the parameters returned are the last iterate.",
						   result.iterations, (long long) sample->customers)));
	else if (fabs(theta[0]) > MODEL_MAX_LOG_SHAPE || fabs(theta[2]) > MODEL_MAX_LOG_SHAPE ||
			 fabs(theta[3]) > MODEL_MAX_LOG_SHAPE)
	{
		/* a gradient that vanishes on the way to a limit is no optimum */
		result.converged = false;
		ereport(WARNING,
				(errmsg("the BG/NBD fit has no finite optimum"),
				 errdetail("The likelihood grows towards a shape of 0 or infinity (r = %g, a = %g, b = %g over %lld customers); the parameters returned are the last iterate.",
						   exp(theta[0]), exp(theta[2]), exp(theta[3]), (long long) sample->customers)));
	}

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "bgnbd_fit must return a composite type");
	values[M_R] = Float8GetDatum(exp(theta[0]));
	values[M_ALPHA] = Float8GetDatum(exp(theta[1]) / fit.scale);
	values[M_A] = Float8GetDatum(exp(theta[2]));
	values[M_B] = Float8GetDatum(exp(theta[3]));

	/*
	 * Back to the caller's unit: alpha^r (alpha + T)^-(r+x) gains a factor
	 * scale^x when times are multiplied by scale.
	 */
	values[M_LOG_LIKELIHOOD] = Float8GetDatum(-result.value * sample->customers +
											  log(fit.scale) * model_sample_sum_x(sample));
	values[M_ITERATIONS] = Int32GetDatum(result.iterations);
	values[M_CUSTOMERS] = Int64GetDatum(sample->customers);
	values[M_CONVERGED] = BoolGetDatum(result.converged);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

#define BGNBD_MODEL_HINT "Pass the result of bgnbd_fit(), or ROW(r, alpha, a, b, NULL, NULL, NULL, NULL)::bgnbd_model."

void
bgnbd_parameters_from_model(HeapTupleHeader model, BgnbdParameters *params)
{
	params->r = model_positive_parameter(model, M_R + 1, "BG/NBD", "r",
										  BGNBD_MODEL_HINT);
	params->alpha = model_positive_parameter(model, M_ALPHA + 1, "BG/NBD", "alpha",
										  BGNBD_MODEL_HINT);
	params->a = model_positive_parameter(model, M_A + 1, "BG/NBD", "a",
										  BGNBD_MODEL_HINT);
	params->b = model_positive_parameter(model, M_B + 1, "BG/NBD", "b",
										  BGNBD_MODEL_HINT);
}

/*
 * The parameters of the model in argument argno, read only when it differs
 * from the last one cache saw (cache lives in fn_extra).
 */
void
bgnbd_parameters_of_argument(FunctionCallInfo fcinfo, int argno, BgnbdModelCache *cache,
							 BgnbdParameters *params)
{
	Datum		value = PG_GETARG_DATUM(argno);

	if (!model_datum_unchanged(&cache->datum, value))
	{
		bgnbd_parameters_from_model(DatumGetHeapTupleHeader(value), &cache->params);
		model_datum_remember(&cache->datum, value, fcinfo->flinfo->fn_mcxt);
	}
	*params = cache->params;
}

/*
 * ln of a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x): the odds that a customer
 * with x > 0 has dropped out, against being alive.
 */
static double
log_dropout_odds(const BgnbdParameters *p, int32 x, double t_x, double t_cal)
{
	return log(p->a) - log(p->b + x - 1) +
		(p->r + x) * (log(p->alpha + t_cal) - log(p->alpha + t_x));
}

/*
 * P(alive | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).
 */
static double
p_alive(const BgnbdParameters *p, int32 x, double t_x, double t_cal)
{
	if (x == 0)
		return 1;
	return 1 / (1 + exp(log_dropout_odds(p, x, t_x, t_cal)));
}

double
bgnbd_alive_probability(const BgnbdParameters *params, int32 x, double t_x, double t_cal)
{
	return p_alive(params, x, t_x, t_cal);
}

/*
 * (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]:
 * expected purchases in (T, T+t] of a customer known to be alive at T.  With
 * x = 0 and T = 0 it is E[X(t)] of a new customer (FHL 2005, eq. 9).
 */
static double
expected_if_alive(const BgnbdParameters *p, double a, double t, int32 x, double t_cal)
{
	double		c = a + p->b + x - 1;
	double		base = p->alpha + t_cal;
	double		z = t / (base + t);

	if (!(c > 0))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("expected purchases are undefined for a + b + x <= 1 (a = %g, b = %g, x = %d)",
						a, p->b, x)));
	/* t so long next to alpha + T that z rounds to 1: 2F1 diverges there */
	if (!(z < 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("expected purchases over a horizon of %g are out of range", t),
				 errdetail("The horizon is %g times alpha + T (%g).", t / base, base),
				 errhint("Use a shorter horizon or a coarser time unit.")));
	return c / (a - 1) *
		(1 - exp((p->r + x) * (log(base) - log(base + t))) *
		 cp_hyp2f1(p->r + x, p->b + x, c, z));
}

/*
 * The same, continuous at a = 1 where both factors vanish: the mean of the
 * values just above and below.
 */
static double
expected_if_alive_any_a(const BgnbdParameters *p, double t, int32 x, double t_cal)
{
	if (t == 0)
		return 0;
	if (fabs(p->a - 1) < BGNBD_A_NEAR_ONE)
		return (expected_if_alive(p, 1 + BGNBD_A_NEAR_ONE, t, x, t_cal) +
				expected_if_alive(p, 1 - BGNBD_A_NEAR_ONE, t, x, t_cal)) / 2;
	return expected_if_alive(p, p->a, t, x, t_cal);
}

/*
 * E[Y(t) | x, t_x, T] (FHL 2005, eq. 10): P(alive) times the purchases of a
 * customer alive at T.
 */
double
bgnbd_conditional_expected(const BgnbdParameters *params, double t, int32 x,
						   double t_x, double t_cal)
{
	/*
	 * The last value computed, with its arguments: a query that asks for a
	 * customer's expected purchases and CLV over the same horizon (CLV
	 * undiscounted is one such series) sums the series once.  A pure
	 * function's memo: a stale entry is still right.
	 */
	static struct
	{
		bool		valid;
		BgnbdParameters params;
		double		t;
		int32		x;
		double		t_x;
		double		t_cal;
		double		value;
	}			last;
	double		value;

	if (last.valid && last.x == x && last.t == t && last.t_x == t_x && last.t_cal == t_cal &&
		last.params.r == params->r && last.params.alpha == params->alpha &&
		last.params.a == params->a && last.params.b == params->b)
		return last.value;
	value = p_alive(params, x, t_x, t_cal) * expected_if_alive_any_a(params, t, x, t_cal);
	last.valid = true;
	last.params = *params;
	last.t = t;
	last.x = x;
	last.t_x = t_x;
	last.t_cal = t_cal;
	last.value = value;
	return value;
}

/*
 * bgnbd_p_alive(model, x, t_x, T)
 */
Datum
bgnbd_p_alive(PG_FUNCTION_ARGS)
{
	BgnbdParameters params;
	int32		x = PG_GETARG_INT32(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		t_cal = PG_GETARG_FLOAT8(3);

	bgnbd_parameters_of_argument(fcinfo, 0, model_call_cache(fcinfo, sizeof(BgnbdModelCache)),
								 &params);
	bgnbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(p_alive(&params, x, t_x, t_cal));
}

/*
 * bgnbd_expected_purchases(model, t, x, t_x, T): purchases in the next t.
 */
Datum
bgnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	BgnbdParameters params;
	double		t = PG_GETARG_FLOAT8(1);
	int32		x = PG_GETARG_INT32(2);
	double		t_x = PG_GETARG_FLOAT8(3);
	double		t_cal = PG_GETARG_FLOAT8(4);

	bgnbd_parameters_of_argument(fcinfo, 0, model_call_cache(fcinfo, sizeof(BgnbdModelCache)),
								 &params);
	cp_check_horizon(t);
	bgnbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(bgnbd_conditional_expected(&params, t, x, t_x, t_cal));
}

/*
 * bgnbd_expected_purchases(model, t): purchases of a new customer in their
 * first t (E[X(t)], FHL 2005 eq. 9).
 */
Datum
bgnbd_expected_purchases_new(PG_FUNCTION_ARGS)
{
	BgnbdParameters params;
	double		t = PG_GETARG_FLOAT8(1);

	bgnbd_parameters_of_argument(fcinfo, 0, model_call_cache(fcinfo, sizeof(BgnbdModelCache)),
								 &params);
	cp_check_horizon(t);
	PG_RETURN_FLOAT8(expected_if_alive_any_a(&params, t, 0, 0));
}
