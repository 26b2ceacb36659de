/*
 * pareto_nbd.c
 *		Customer potential with the Pareto/NBD model (Schmittlein, Morrison &
 *		Colombo 1987, "Counting your customers", Management Science 33(1);
 *		Fader & Hardie 2005, "A note on deriving the Pareto/NBD model and
 *		related expressions"): the maximum-likelihood fit as an aggregate over
 *		customers and the per-customer closed forms.
 *
 * Each customer is (x, t_x, T) as for BG/NBD (purchase_summary()).  While
 * alive, a customer buys at rate lambda ~ Gamma(r, alpha); they die after an
 * exponential lifetime of rate mu ~ Gamma(s, beta), at any time, not only
 * after a purchase.  Per customer, with a = r + x:
 *
 *   L = G(a)/G(r) alpha^r beta^s [ (alpha+T)^-a (beta+T)^-s + s I ],
 *   I = J(t_x) - J(T),  J(t) = int_t^inf (alpha+u)^-a (beta+u)^-(s+1) du
 *
 * (alive through T, or dead at some u in (t_x, T]).  J is Fader & Hardie's
 * A0 term: with P the larger of alpha and beta, Q the smaller, e = r + s + x
 * and q the exponent that goes with Q (s + 1 when alpha >= beta, else a),
 *
 *   J(t) = (P+t)^-e/e 2F1(q, e; e+1; z),  z = (P-Q)/(P+t) in [0, 1):
 *
 * the alpha >= beta and alpha < beta forms of the note.  It is summed in
 * Euler's form (point_terms()), a series of positive terms below z^k
 * without cancellation or overflow; its derivatives in every parameter are
 * series in the same powers of z, so one pass gives J and its gradient.
 *
 * The fit keeps the distinct cases (model_sample.c).  Per likelihood
 * evaluation, everything that depends on x alone (lgamma, the series'
 * coefficients) is computed once per distinct x, J once per distinct
 * (x, t) among the t_x and T values of that x, and each case then costs an
 * exp and a log.
 */
#include "pareto_nbd.h"

#include "minimize.h"
#include "model_sample.h"
#include "purchase_customer.h"
#include "special_functions.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include <float.h>
#include <math.h>

PG_FUNCTION_INFO_V1(pareto_nbd_fit_transfn);
PG_FUNCTION_INFO_V1(pareto_nbd_fit_deserialfn);
PG_FUNCTION_INFO_V1(pareto_nbd_fit_finalfn);
PG_FUNCTION_INFO_V1(pareto_nbd_p_alive);
PG_FUNCTION_INFO_V1(pareto_nbd_expected_purchases);
PG_FUNCTION_INFO_V1(pareto_nbd_p_purchase_within);
PG_FUNCTION_INFO_V1(pareto_nbd_next_purchase_median);
PG_FUNCTION_INFO_V1(pareto_nbd_bic);

#define PARETO_MAX_ITERATIONS 500
#define PARETO_GRADIENT_TOLERANCE 1e-8
/*
 * Times are scaled so that the median customer's T is this: the start (all
 * parameters 1) is then near the optimum in any unit, and one customer with
 * an outlying T does not push everyone else's times towards 0.
 */
#define PARETO_TIME_SCALE 10.0
/* relative size of the neglected tail of every series */
#define SERIES_EPSILON 1e-17

/*
 * Terms of J's series in the fit before the point counts as undefined (the
 * line search steps back): 100,000 sum z = 0.9995 at s = 1, and the
 * coefficients are kept per distinct x, 32 bytes a term.  An evaluation may
 * spend FIT_TERMS_PER_POINT per distinct (x, t) on average, plus
 * FIT_TERMS_EXTRA: the ordinary optimum needs 10 to 100 (z up to 0.95), and
 * the budget keeps a fit bounded in time where the series slow down (z near
 * 1: dropout rates nearly equal across customers, s and beta growing
 * without bound); it stops there with converged = false.
 */
#define FIT_MAX_TERMS 100000
#define FIT_TERMS_PER_POINT 100
#define FIT_TERMS_EXTRA 2000000
/* and in the per-customer functions, before error 22003 */
#define SCORE_MAX_TERMS 20000000
/* the next-purchase median is searched up to this horizon */
#define MEDIAN_MAX_HORIZON 1e300

/* Fields of pareto_nbd_model (src/pareto_nbd.sql). */
enum
{
	M_R,
	M_ALPHA,
	M_S,
	M_BETA,
	M_LOG_LIKELIHOOD,
	M_ITERATIONS,
	M_CUSTOMERS,
	M_CONVERGED,
	M_NATTS
};

/* Derivatives are kept in this order. */
enum
{
	D_R,
	D_ALPHA,
	D_S,
	D_BETA,
	D_N
};

void
pareto_nbd_check_customer(int32 x, double t_x, double t_cal)
{
	purchase_customer_check("Pareto/NBD", x, t_x, t_cal);
}

/*
 * pareto_nbd_fit(x, t_x, T) transition: one customer (purchase_customer.c).
 */
Datum
pareto_nbd_fit_transfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(purchase_fit_add(fcinfo, "Pareto/NBD"));
}

Datum
pareto_nbd_fit_deserialfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(purchase_fit_deserialize(fcinfo));
}

/* ------------------------------------------------------------------------
 * The likelihood
 * ------------------------------------------------------------------------ */

/* J, its logarithm's gradient, and the rest of what a case needs at one t. */
typedef struct PointTerms
{
	double		lf;				/* ln[(alpha+t)^-a (beta+t)^-s] */
	double		rho;			/* s J(t) / exp(lf): in (0, 1] */
	double		dlf[D_N];		/* gradient of lf */
	double		dlj[D_N];		/* gradient of ln J(t) */
	double		lj;				/* ln J(t) */
} PointTerms;

/* The customers of one x: cases [case_begin, case_end), distinct t's [point_begin, point_end). */
typedef struct XGroup
{
	int32		x;
	int64		customers;
	int64		case_begin;
	int64		case_end;
	int64		point_begin;
	int64		point_end;
} XGroup;

/*
 * The coefficients of the four series of J at one (m, e), in powers of z:
 * F_k = (m)_k/(e+1)_k, F_k Hm_k, F_k He_k and (k+1) F_(k+1), with
 * Hm_k = sum_{j<k} 1/(m+j) and He_k = sum_{j<k} 1/(e+1+j) (the derivatives
 * of ln F_k in m and e).  Computed as far as a point needs them, once per
 * distinct x and evaluation.
 */
typedef struct SeriesCoefficients
{
	double		m;
	double		e1;				/* e + 1 */
	int64		count;			/* computed so far */
	int64		capacity;
	double		f;				/* F_count, the next one's start */
	double		hm;				/* Hm_count */
	double		he;				/* He_count */
	double	   *f0;
	double	   *fm;
	double	   *fe;
	double	   *fk;
} SeriesCoefficients;

typedef struct ParetoFit
{
	const ModelSample *sample;
	double		scale;
	XGroup	   *groups;
	int64		group_count;
	double	   *points;			/* distinct scaled t per group, ascending */
	int64		point_count;
	int64	   *case_u;			/* point of each case's t_x */
	int64	   *case_w;			/* point of each case's T */
	PointTerms *terms;			/* per point, per evaluation */
	SeriesCoefficients coef;
	int64		terms_left;		/* of this evaluation's budget */
} ParetoFit;

static void
coefficients_reset(SeriesCoefficients *coef, double m, double e)
{
	coef->m = m;
	coef->e1 = e + 1;
	coef->count = 0;
	coef->f = 1;
	coef->hm = 0;
	coef->he = 0;
}

/*
 * At least n coefficients; false if that is more than FIT_MAX_TERMS.
 */
static bool
coefficients_extend(SeriesCoefficients *coef, int64 n)
{
	if (n <= coef->count)
		return true;
	if (n > FIT_MAX_TERMS)
		return false;
	if (n > coef->capacity)
	{
		int64		capacity = Min(Max(n, coef->capacity * 2), (int64) FIT_MAX_TERMS);

		if (coef->f0 == NULL)
		{
			coef->f0 = palloc(sizeof(double) * capacity);
			coef->fm = palloc(sizeof(double) * capacity);
			coef->fe = palloc(sizeof(double) * capacity);
			coef->fk = palloc(sizeof(double) * capacity);
		}
		else
		{
			coef->f0 = repalloc(coef->f0, sizeof(double) * capacity);
			coef->fm = repalloc(coef->fm, sizeof(double) * capacity);
			coef->fe = repalloc(coef->fe, sizeof(double) * capacity);
			coef->fk = repalloc(coef->fk, sizeof(double) * capacity);
		}
		coef->capacity = capacity;
	}
	for (int64 k = coef->count; k < n; k++)
	{
		double		next = coef->f * (coef->m + k) / (coef->e1 + k);

		coef->f0[k] = coef->f;
		coef->fm[k] = coef->f * coef->hm;
		coef->fe[k] = coef->f * coef->he;
		coef->fk[k] = (k + 1) * next;
		coef->hm += 1 / (coef->m + k);
		coef->he += 1 / (coef->e1 + k);
		coef->f = next;
	}
	coef->count = n;
	return true;
}

/*
 * Whether a series of F's kind may stop after its term k (power z^k): the
 * ratio of F's terms, (m+k)/(e+1+k) z, is below z, and that of the
 * derivative series below (k+2)/(k+1) z; once that is at most (1 + z)/2 the
 * tail is below term * 2/(1 - z).
 */
static inline bool
series_tail_small(double z, int64 k, double term, double sum)
{
	return (k + 2) * z <= (k + 1) * (1 + z) / 2 &&
		term * 2 < sum * SERIES_EPSILON * (1 - z);
}

/*
 * The four sums at z, from coef: false if they need more than
 * FIT_MAX_TERMS terms or the rest of the evaluation's budget.
 */
static bool
series_sums(SeriesCoefficients *coef, double z, double sums[4], int64 *terms_left)
{
	double		zk = 1;

	sums[0] = sums[1] = sums[2] = sums[3] = 0;
	for (int64 k = 0;; k++)
	{
		if (k >= coef->count && !coefficients_extend(coef, Max(2 * coef->count, 64)))
			return false;
		if (--*terms_left < 0)
			return false;
		sums[0] += coef->f0[k] * zk;
		sums[1] += coef->fm[k] * zk;
		sums[2] += coef->fe[k] * zk;
		sums[3] += coef->fk[k] * zk;
		if (z == 0)
			return true;
		/* the tail test every 8 terms: it costs more than the terms */
		if ((k & 7) == 7 &&
			series_tail_small(z, k, coef->f0[k] * zk, sums[0]) &&
			series_tail_small(z, k, coef->fk[k] * zk, sums[3]))
			return true;
		zk *= z;
	}
}

/*
 * ln J(t) and what a case needs at t, for the group's x; false where J's
 * series does not converge in FIT_MAX_TERMS.  J in Euler's form:
 *
 *   J(t) = (P+t)^-e / e ((Q+t)/(P+t))^(1-q) F(z),  F = 2F1(1, m; e+1; z),
 *
 * m = e + 1 - q: positive terms below z^k, whatever x (the plain series'
 * terms grow like (1-z)^-q before they fall, and overflow for a heavy
 * buyer).
 */
static bool
point_terms(SeriesCoefficients *coef, const ParetoNbdParameters *p, int32 x, double t,
			PointTerms *out, int64 *terms_left)
{
	bool		alpha_larger = p->alpha >= p->beta;
	double		a = p->r + x;
	double		e = coef->e1 - 1;
	double		q = e + 1 - coef->m;
	double		big = alpha_larger ? p->alpha : p->beta;
	double		small = alpha_larger ? p->beta : p->alpha;
	double		big_t = big + t;
	double		small_t = small + t;
	double		z = (big - small) / big_t;
	double		log_alpha_t = log(p->alpha + t);
	double		log_beta_t = log(p->beta + t);
	double		log_big_t = alpha_larger ? log_alpha_t : log_beta_t;
	double		log_small_t = alpha_larger ? log_beta_t : log_alpha_t;
	double		sums[4];
	double		d_e;
	double		d_q;
	double		d_m;
	double		d_big;
	double		d_small;

	if (!(z < 1) || !series_sums(coef, z, sums, terms_left))
		return false;
	out->lf = -a * log_alpha_t - p->s * log_beta_t;
	out->dlf[D_R] = -log_alpha_t;
	out->dlf[D_ALPHA] = -a / (p->alpha + t);
	out->dlf[D_S] = -log_beta_t;
	out->dlf[D_BETA] = -p->s / (p->beta + t);

	out->lj = -e * log_big_t - log(e) + (1 - q) * (log_small_t - log_big_t) + log(sums[0]);
	out->rho = p->s * exp(out->lj - out->lf);
	d_e = -log_big_t - 1 / e - sums[2] / sums[0];
	d_q = log_big_t - log_small_t;
	d_m = sums[1] / sums[0];
	d_big = -(e + 1 - q) / big_t + sums[3] / sums[0] * small_t / (big_t * big_t);
	d_small = (1 - q) / small_t - sums[3] / sums[0] / big_t;
	/* e = r + s + x; q = s + 1, m = r + x with alpha the larger, else q = r + x, m = s + 1 */
	out->dlj[D_R] = d_e + (alpha_larger ? d_m : d_q);
	out->dlj[D_S] = d_e + (alpha_larger ? d_q : d_m);
	out->dlj[D_ALPHA] = alpha_larger ? d_big : d_small;
	out->dlj[D_BETA] = alpha_larger ? d_small : d_big;
	return true;
}

/*
 * Whether the series of every point fit in the evaluation's budget, from an
 * estimate that costs one log a point: the terms fall at least like z^k, so
 * -ln(1e-17)/-ln(z) of them suffice.  A point that cannot be afforded would
 * otherwise spend the whole budget before the line search hears of it.
 */
static bool
within_budget(const ParetoFit *fit, const ParetoNbdParameters *p)
{
	double		big = Max(p->alpha, p->beta);
	double		small = Min(p->alpha, p->beta);
	double		needed = 0;

	for (int64 i = 0; i < fit->point_count; i++)
	{
		double		rest = (small + fit->points[i]) / (big + fit->points[i]);	/* 1 - z */

		if (rest < 1)
			needed += 39.2 / -log1p(-rest) + 8;
		else
			needed += 1;
		if (!(needed <= fit->terms_left))
			return false;
	}
	return true;
}

/*
 * Minus the mean log-likelihood at theta = log(r, alpha, s, beta) and its
 * gradient in theta.  Per case, with everything at T scaled by exp(lf(T)):
 *
 *   ln L = ln G(r+x) - ln G(r) + r ln alpha + s ln beta
 *          + lf(T) + ln[1 + rho(T) (exp(D) - 1)],   D = ln J(t_x) - ln J(T) >= 0
 *
 * written as D + ln[q + rho (1 - q)] with q = exp(-D), so that neither a
 * huge D (a heavy buyer long silent) overflows nor a tiny one (t_x near T)
 * cancels.
 */
static double
pareto_objective(const double *theta, double *gradient, void *data)
{
	ParetoFit  *fit = (ParetoFit *) data;
	ParetoNbdParameters p;
	double		ll = 0;
	double		g[D_N] = {0, 0, 0, 0};
	double		lg_r;
	double		psi_r;
	double		log_alpha = theta[1];
	double		log_beta = theta[3];

	p.r = exp(theta[0]);
	p.alpha = exp(theta[1]);
	p.s = exp(theta[2]);
	p.beta = exp(theta[3]);
	lg_r = lgamma(p.r);
	fit->terms_left = FIT_TERMS_EXTRA + FIT_TERMS_PER_POINT * fit->point_count;
	if (!within_budget(fit, &p))
		return NAN;
	psi_r = cp_digamma(p.r);

	for (int64 gi = 0; gi < fit->group_count; gi++)
	{
		const XGroup *group = &fit->groups[gi];
		double		a = p.r + group->x;
		double		n = (double) group->customers;

		CHECK_FOR_INTERRUPTS();
		/* the part of x alone */
		ll += n * (lgamma(a) - lg_r + p.r * log_alpha + p.s * log_beta);
		g[D_R] += n * (cp_digamma(a) - psi_r + log_alpha);
		g[D_ALPHA] += n * p.r / p.alpha;
		g[D_S] += n * log_beta;
		g[D_BETA] += n * p.s / p.beta;

		coefficients_reset(&fit->coef, p.alpha >= p.beta ? a : p.s + 1,
						   p.r + p.s + group->x);
		for (int64 i = group->point_begin; i < group->point_end; i++)
			if (!point_terms(&fit->coef, &p, group->x, fit->points[i], &fit->terms[i],
							 &fit->terms_left))
				return NAN;

		for (int64 i = group->case_begin; i < group->case_end; i++)
		{
			const PointTerms *u = &fit->terms[fit->case_u[i]];
			const PointTerms *w = &fit->terms[fit->case_w[i]];
			double		count = (double) fit->sample->cases[i].count;
			double		d = Max(u->lj - w->lj, 0.0);
			double		one_minus_q = -expm1(-d);
			double		q = d < 0.5 ? 1 - one_minus_q : exp(-d);
			double		den = q + w->rho * one_minus_q;
			double		wf = q / den;
			double		wx = w->rho / den;
			double		wt = w->rho * q / den;

			ll += count * (w->lf + d + log(den));
			for (int k = 0; k < D_N; k++)
				g[k] += count * (wf * w->dlf[k] + wx * u->dlj[k] - wt * w->dlj[k]);
			/* d(s I)/ds has I itself */
			g[D_S] += count * (wx - wt) / p.s;
		}
	}
	gradient[0] = -g[D_R] * p.r / fit->sample->customers;
	gradient[1] = -g[D_ALPHA] * p.alpha / fit->sample->customers;
	gradient[2] = -g[D_S] * p.s / fit->sample->customers;
	gradient[3] = -g[D_BETA] * p.beta / fit->sample->customers;
	return -ll / fit->sample->customers;
}

static int
double_cmp(const void *a, const void *b)
{
	double		p = *(const double *) a;
	double		q = *(const double *) b;

	return (p > q) - (p < q);
}

/* Index of t in the ascending distinct points[begin, end), which hold it. */
static int64
point_index(const double *points, int64 begin, int64 end, double t)
{
	while (end - begin > 1)
	{
		int64		mid = begin + (end - begin) / 2;

		if (points[mid] <= t)
			begin = mid;
		else
			end = mid;
	}
	Assert(points[begin] == t);
	return begin;
}

/*
 * The groups of x, their distinct scaled t's, and each case's two points,
 * from the compacted sample (sorted by x).
 */
static void
pareto_fit_prepare(ParetoFit *fit)
{
	const ModelSample *sample = fit->sample;
	int64		groups = 0;

	for (int64 i = 0; i < sample->count; i++)
		if (i == 0 || sample->cases[i].x != sample->cases[i - 1].x)
			groups++;
	fit->groups = palloc0(sizeof(XGroup) * groups);
	fit->points = palloc_extended(sizeof(double) * 2 * sample->count, MCXT_ALLOC_HUGE);
	fit->case_u = palloc_extended(sizeof(int64) * sample->count, MCXT_ALLOC_HUGE);
	fit->case_w = palloc_extended(sizeof(int64) * sample->count, MCXT_ALLOC_HUGE);
	fit->group_count = 0;
	fit->point_count = 0;
	for (int64 begin = 0, end; begin < sample->count; begin = end)
	{
		XGroup	   *group = &fit->groups[fit->group_count++];
		int64		first = fit->point_count;
		int64		n = 0;

		group->x = sample->cases[begin].x;
		for (end = begin; end < sample->count && sample->cases[end].x == group->x; end++)
		{
			fit->points[first + n++] = sample->cases[end].u * fit->scale;
			fit->points[first + n++] = sample->cases[end].w * fit->scale;
			group->customers += sample->cases[end].count;
		}
		qsort(&fit->points[first], n, sizeof(double), double_cmp);
		fit->point_count = first + 1;
		for (int64 k = first + 1; k < first + n; k++)
			if (fit->points[k] != fit->points[fit->point_count - 1])
				fit->points[fit->point_count++] = fit->points[k];
		group->case_begin = begin;
		group->case_end = end;
		group->point_begin = first;
		group->point_end = fit->point_count;
		for (int64 i = begin; i < end; i++)
		{
			fit->case_u[i] = point_index(fit->points, first, fit->point_count,
										 sample->cases[i].u * fit->scale);
			fit->case_w[i] = point_index(fit->points, first, fit->point_count,
										 sample->cases[i].w * fit->scale);
		}
		CHECK_FOR_INTERRUPTS();
	}
	fit->terms = palloc_extended(sizeof(PointTerms) * fit->point_count, MCXT_ALLOC_HUGE);
	memset(&fit->coef, 0, sizeof(fit->coef));
}

/* Orders cases by T. */
static int
case_t_cmp(const void *a, const void *b)
{
	double		p = ((const ModelCase *) a)->w;
	double		q = ((const ModelCase *) b)->w;

	return (p > q) - (p < q);
}

/*
 * The median T over the customers (the cases weighted by their counts); the
 * largest T if that is 0 (most customers new at as_of).
 */
static double
median_t(const ModelSample *sample)
{
	ModelCase  *sorted = palloc_extended(sizeof(ModelCase) * sample->count, MCXT_ALLOC_HUGE);
	int64		seen = 0;
	double		median = 0;

	memcpy(sorted, sample->cases, sizeof(ModelCase) * sample->count);
	qsort(sorted, sample->count, sizeof(ModelCase), case_t_cmp);
	for (int64 i = 0; i < sample->count; i++)
	{
		seen += sorted[i].count;
		if (seen * 2 >= sample->customers)
		{
			median = sorted[i].w;
			break;
		}
	}
	if (median == 0)
		median = sorted[sample->count - 1].w;
	pfree(sorted);
	return median;
}

/*
 * Maximum-likelihood (r, alpha, s, beta), with the log-likelihood,
 * iterations, customers and whether the optimiser converged.  NULL without
 * customers; an error when nobody bought twice or every T is 0 (the model
 * then has no optimum).
 */
Datum
pareto_nbd_fit_finalfn(PG_FUNCTION_ARGS)
{
	ModelSample *sample;
	ParetoFit	fit;
	double		theta[4] = {0, 0, 0, 0};
	double		lower[4];
	double		upper[4];
	double		max_t = 0;
	MinimizeResult result;
	MemoryContext fit_context;
	MemoryContext old_context;
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
				 errmsg("cannot fit the Pareto/NBD model: no customer made a repeat purchase"),
				 errdetail("%lld customers, all with x = 0: the likelihood grows without bound as the purchase rate goes to 0.",
						   (long long) sample->customers),
				 errhint("Use a longer calibration period.")));
	if (max_t == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot fit the Pareto/NBD model: every customer has T = 0"),
				 errdetail("Nothing is known about dropout before any time has passed."),
				 errhint("Use an as_of after the first purchases.")));

	/* the fit's arrays are temporaries: in a context of their own */
	fit_context = AllocSetContextCreate(CurrentMemoryContext, "Pareto/NBD fit",
										ALLOCSET_DEFAULT_SIZES);
	old_context = MemoryContextSwitchTo(fit_context);
	fit.sample = sample;
	fit.scale = PARETO_TIME_SCALE / median_t(sample);
	pareto_fit_prepare(&fit);
	/* r, s, and alpha, beta both as fitted and in the caller's unit, finite */
	for (int i = 0; i < 4; i++)
	{
		lower[i] = -MINIMIZE_MAX_LOG_PARAMETER;
		upper[i] = MINIMIZE_MAX_LOG_PARAMETER;
	}
	for (int i = 1; i < 4; i += 2)
	{
		lower[i] = Max(lower[i], log(fit.scale) - MINIMIZE_MAX_LOG_PARAMETER);
		upper[i] = Min(upper[i], log(fit.scale) + MINIMIZE_MAX_LOG_PARAMETER);
	}
	result = cp_minimize(pareto_objective, &fit, theta, 4, lower, upper, PARETO_MAX_ITERATIONS,
						 PARETO_GRADIENT_TOLERANCE, "Pareto/NBD");
	MemoryContextSwitchTo(old_context);
	MemoryContextDelete(fit_context);
	if (!result.converged)
		ereport(WARNING,
				(errmsg("the Pareto/NBD fit did not converge"),
				 errdetail("After %d iterations over %lld customers; the parameters returned are the last iterate.",
						   result.iterations, (long long) sample->customers)));
	else if (fabs(theta[0]) > MODEL_MAX_LOG_SHAPE || fabs(theta[2]) > MODEL_MAX_LOG_SHAPE)
	{
		/* a gradient that vanishes on the way to a limit is no optimum */
		result.converged = false;
		ereport(WARNING,
				(errmsg("the Pareto/NBD fit has no finite optimum"),
				 errdetail("The likelihood grows towards a shape of 0 or infinity (r = %g, s = %g over %lld customers); the parameters returned are the last iterate.",
						   exp(theta[0]), exp(theta[2]), (long long) sample->customers)));
	}

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pareto_nbd_fit must return a composite type");
	values[M_R] = Float8GetDatum(exp(theta[0]));
	values[M_ALPHA] = Float8GetDatum(exp(theta[1]) / fit.scale);
	values[M_S] = Float8GetDatum(exp(theta[2]));
	values[M_BETA] = Float8GetDatum(exp(theta[3]) / fit.scale);

	/*
	 * Back to the caller's unit: each customer's likelihood gains a factor
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

/* ------------------------------------------------------------------------
 * Per-customer closed forms
 * ------------------------------------------------------------------------ */

#define PARETO_MODEL_HINT "Pass the result of pareto_nbd_fit(), or ROW(r, alpha, s, beta, NULL, NULL, NULL, NULL)::pareto_nbd_model."

void
pareto_nbd_parameters_from_model(HeapTupleHeader model, ParetoNbdParameters *params)
{
	params->r = model_positive_parameter(model, M_R + 1, "Pareto/NBD", "r", PARETO_MODEL_HINT);
	params->alpha = model_positive_parameter(model, M_ALPHA + 1, "Pareto/NBD", "alpha",
											 PARETO_MODEL_HINT);
	params->s = model_positive_parameter(model, M_S + 1, "Pareto/NBD", "s", PARETO_MODEL_HINT);
	params->beta = model_positive_parameter(model, M_BETA + 1, "Pareto/NBD", "beta",
											PARETO_MODEL_HINT);
}

/* The parameters of the model parsed last by a per-customer function. */
typedef struct ParameterCache
{
	CompositeCache parsed;
	ParetoNbdParameters params;
} ParameterCache;

/*
 * The model argument's parameters, parsed once per query rather than per
 * customer (the model is usually the same for every row).
 */
static const ParetoNbdParameters *
model_argument(FunctionCallInfo fcinfo)
{
	HeapTupleHeader model = PG_GETARG_HEAPTUPLEHEADER(0);
	ParameterCache *cache = (ParameterCache *) fcinfo->flinfo->fn_extra;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ParameterCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	if (!cp_composite_unchanged(&cache->parsed, model))
	{
		pareto_nbd_parameters_from_model(model, &cache->params);
		cp_composite_remember(&cache->parsed, model, fcinfo->flinfo->fn_mcxt);
	}
	return &cache->params;
}

static void
series_not_converged(const char *what, const ParetoNbdParameters *p, double t)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("the Pareto/NBD %s cannot be evaluated at alpha = %g, beta = %g, t = %g",
					what, p->alpha, p->beta, t),
			 errdetail("Its hypergeometric series converges too slowly when alpha or beta is many times the other plus the customer's time."),
			 errhint("Refit the model, or use a finer time unit.")));
}

/*
 * ln J(t) for one customer: the fit's series in Euler's form, coefficients
 * made on the way.
 */
static double
log_j(const ParetoNbdParameters *p, int32 x, double t)
{
	bool		alpha_larger = p->alpha >= p->beta;
	double		big = alpha_larger ? p->alpha : p->beta;
	double		small = alpha_larger ? p->beta : p->alpha;
	double		e = p->r + p->s + x;
	double		q = alpha_larger ? p->s + 1 : p->r + x;
	double		m = e + 1 - q;
	double		z = (big - small) / (big + t);
	double		log_big_t = log(big + t);
	double		term = 1;
	double		sum = 1;

	if (!(z < 1))
		series_not_converged("P(alive)", p, t);
	for (int64 k = 0; k < SCORE_MAX_TERMS; k++)
	{
		if (term * z < sum * SERIES_EPSILON * (1 - z))
			return -e * log_big_t - log(e) + (1 - q) * (log(small + t) - log_big_t) + log(sum);
		term *= (m + k) / (e + 1 + k) * z;
		sum += term;
		cp_check_interrupts(k + 1);
	}
	series_not_converged("P(alive)", p, t);
	pg_unreachable();
}

/*
 * P(alive at T | x, t_x, T) = 1 / (1 + s I / exp(lf(T))), computed as the
 * fit's q / (q + rho (1 - q)).
 */
double
pareto_nbd_p_alive_of(const ParetoNbdParameters *p, int32 x, double t_x, double t_cal)
{
	double		lj_t = log_j(p, x, t_cal);
	double		d = t_x == t_cal ? 0 : Max(log_j(p, x, t_x) - lj_t, 0.0);
	double		lf = -(p->r + x) * log(p->alpha + t_cal) - p->s * log(p->beta + t_cal);
	double		rho = p->s * exp(lj_t - lf);
	double		one_minus_q = -expm1(-d);
	double		q = d < 0.5 ? 1 - one_minus_q : exp(-d);

	return q / (q + rho * one_minus_q);
}

/*
 * E[Y(t) | x, t_x, T] = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1))
 *                       [1 - ((beta+T)/(beta+T+t))^(s-1)],
 * the bracket over (s - 1) written with expm1, continuous at s = 1.
 */
double
pareto_nbd_conditional_expected(const ParetoNbdParameters *p, double t, int32 x,
								double t_x, double t_cal)
{
	double		h = log1p(t / (p->beta + t_cal));
	double		sm1 = p->s - 1;
	double		factor = sm1 == 0 ? h : -expm1(-sm1 * h) / sm1;

	if (t == 0)
		return 0;
	return pareto_nbd_p_alive_of(p, x, t_x, t_cal) *
		(p->r + x) / (p->alpha + t_cal) * (p->beta + t_cal) * factor;
}

/*
 * 2F1(1, b; c; z) for 0 < b <= c and 0 <= z < 1: the terms' ratio
 * (b+k)/(c+k) z is at most z, so the tail is below term z / (1 - z).
 */
static double
hyp2f1_one(double b, double c, double z, const char *what, const ParetoNbdParameters *p,
		   double t)
{
	double		term = 1;
	double		sum = 1;

	Assert(b > 0 && b <= c);
	if (!(z >= 0 && z < 1))
		series_not_converged(what, p, t);
	for (int64 k = 0; k < SCORE_MAX_TERMS; k++)
	{
		if (term * z < sum * SERIES_EPSILON * (1 - z))
			return sum;
		term *= (b + k) / (c + k) * z;
		sum += term;
		cp_check_interrupts(k + 1);
	}
	series_not_converged(what, p, t);
	pg_unreachable();
}

/*
 * E[lambda / (lambda + mu)] for lambda ~ Gamma(a, rate big_a) and
 * mu ~ Gamma(s, rate big_b) independent (the share of the purchase rate in
 * the total rate of events), from the Beta integral:
 *
 *   A >= B: B/A a/(a+s) 2F1(1, a+1; a+s+1; (A-B)/A)
 *   A < B:  1 - A/B s/(a+s) 2F1(1, s+1; a+s+1; (B-A)/B)
 */
static double
rate_share(double a, double big_a, double s, double big_b, const ParetoNbdParameters *p,
		   double t)
{
	if (big_a >= big_b)
		return big_b / big_a * a / (a + s) *
			hyp2f1_one(a + 1, a + s + 1, (big_a - big_b) / big_a, "purchase probability", p, t);
	return 1 - big_a / big_b * s / (a + s) *
		hyp2f1_one(s + 1, a + s + 1, (big_b - big_a) / big_b, "purchase probability", p, t);
}

/*
 * P(purchase in (T, T+t] | alive at T, lambda, mu) = lambda/(lambda+mu)
 * (1 - exp(-(lambda+mu) t)), averaged over the posterior lambda ~ Gamma(r+x,
 * alpha+T), mu ~ Gamma(s, beta+T): the exponential tilts both Gammas to the
 * rates A+t, B+t with weight (A/(A+t))^(r+x) (B/(B+t))^s, so
 *
 *   E = share(A, B) - (A/(A+t))^(r+x) (B/(B+t))^s share(A+t, B+t).
 *
 * Without t (infinite horizon): share(A, B), the limit.
 */
static double
purchase_if_alive(const ParetoNbdParameters *p, double t, bool infinite, int32 x, double t_cal)
{
	double		a = p->r + x;
	double		big_a = p->alpha + t_cal;
	double		big_b = p->beta + t_cal;
	double		limit = rate_share(a, big_a, p->s, big_b, p, t_cal);
	double		tilt;

	if (infinite)
		return limit;
	if (t == 0)
		return 0;
	tilt = exp(-a * log1p(t / big_a) - p->s * log1p(t / big_b));
	return Max(limit - tilt * rate_share(a, big_a + t, p->s, big_b + t, p, t_cal + t), 0.0);
}

double
pareto_nbd_p_purchase_within_of(const ParetoNbdParameters *p, double t, int32 x, double t_x,
								double t_cal)
{
	return pareto_nbd_p_alive_of(p, x, t_x, t_cal) * purchase_if_alive(p, t, false, x, t_cal);
}

static void
check_horizon(double t)
{
	if (!(t >= 0) || isinf(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon t must be finite and not negative, not %g", t)));
}

/*
 * The t > 0 where P(purchase in (T, T+t]) = 1/2, by bisection (the
 * probability grows with t), to the last bit of t; NULL (false) when the
 * limit for an infinite horizon is at most 1/2 or the root lies beyond
 * MEDIAN_MAX_HORIZON.
 */
static bool
next_purchase_median(const ParetoNbdParameters *p, int32 x, double t_x, double t_cal,
					 double *median)
{
	double		alive = pareto_nbd_p_alive_of(p, x, t_x, t_cal);
	double		lo = 0;
	double		hi;

	if (!(alive * purchase_if_alive(p, 0, true, x, t_cal) > 0.5))
		return false;
	/* from the mean time between purchases, doubled until past 1/2 */
	hi = (p->alpha + t_cal) / (p->r + x);
	while (!(alive * purchase_if_alive(p, hi, false, x, t_cal) >= 0.5))
	{
		lo = hi;
		hi *= 2;
		if (hi > MEDIAN_MAX_HORIZON)
			return false;
	}
	for (int i = 0; i < 2200; i++)
	{
		double		mid = lo > 0 && hi > 4 * lo ? sqrt(lo) * sqrt(hi) : lo + (hi - lo) / 2;

		if (!(mid > lo && mid < hi))
			break;				/* adjacent doubles */
		if (alive * purchase_if_alive(p, mid, false, x, t_cal) >= 0.5)
			hi = mid;
		else
			lo = mid;
	}
	*median = hi;
	return true;
}

/*
 * pareto_nbd_p_alive(model, x, t_x, T)
 */
Datum
pareto_nbd_p_alive(PG_FUNCTION_ARGS)
{
	const ParetoNbdParameters *params = model_argument(fcinfo);
	int32		x = PG_GETARG_INT32(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		t_cal = PG_GETARG_FLOAT8(3);

	pareto_nbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(pareto_nbd_p_alive_of(params, x, t_x, t_cal));
}

/*
 * pareto_nbd_expected_purchases(model, t, x, t_x, T): purchases in the next t.
 */
Datum
pareto_nbd_expected_purchases(PG_FUNCTION_ARGS)
{
	const ParetoNbdParameters *params = model_argument(fcinfo);
	double		t = PG_GETARG_FLOAT8(1);
	int32		x = PG_GETARG_INT32(2);
	double		t_x = PG_GETARG_FLOAT8(3);
	double		t_cal = PG_GETARG_FLOAT8(4);

	check_horizon(t);
	pareto_nbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(pareto_nbd_conditional_expected(params, t, x, t_x, t_cal));
}

/*
 * pareto_nbd_p_purchase_within(model, t, x, t_x, T): P(a purchase in (T, T+t]).
 */
Datum
pareto_nbd_p_purchase_within(PG_FUNCTION_ARGS)
{
	const ParetoNbdParameters *params = model_argument(fcinfo);
	double		t = PG_GETARG_FLOAT8(1);
	int32		x = PG_GETARG_INT32(2);
	double		t_x = PG_GETARG_FLOAT8(3);
	double		t_cal = PG_GETARG_FLOAT8(4);

	check_horizon(t);
	pareto_nbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(pareto_nbd_p_purchase_within_of(params, t, x, t_x, t_cal));
}

/*
 * pareto_nbd_next_purchase_median(model, x, t_x, T): the horizon with even
 * odds of a purchase, NULL when they are never even.
 */
Datum
pareto_nbd_next_purchase_median(PG_FUNCTION_ARGS)
{
	const ParetoNbdParameters *params = model_argument(fcinfo);
	int32		x = PG_GETARG_INT32(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		t_cal = PG_GETARG_FLOAT8(3);
	double		median;

	pareto_nbd_check_customer(x, t_x, t_cal);
	if (!next_purchase_median(params, x, t_x, t_cal, &median))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(median);
}

/*
 * pareto_nbd_bic(model) = 4 ln(customers) - 2 log_likelihood; NULL when the
 * model has no log-likelihood or customers (a model written by hand).
 */
Datum
pareto_nbd_bic(PG_FUNCTION_ARGS)
{
	HeapTupleHeader model = PG_GETARG_HEAPTUPLEHEADER(0);
	bool		ll_null;
	bool		customers_null;
	double		ll = DatumGetFloat8(GetAttributeByNum(model, M_LOG_LIKELIHOOD + 1, &ll_null));
	int64		customers = DatumGetInt64(GetAttributeByNum(model, M_CUSTOMERS + 1,
															&customers_null));

	if (ll_null || customers_null)
		PG_RETURN_NULL();
	if (customers < 1 || !isfinite(ll))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Pareto/NBD model has no BIC with %lld customers and log-likelihood %g",
						(long long) customers, ll),
				 errhint("Pass the result of pareto_nbd_fit().")));
	PG_RETURN_FLOAT8(4 * log((double) customers) - 2 * ll);
}
