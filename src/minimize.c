/*
 * minimize.c
 *		BFGS with a backtracking (Armijo) line search.
 *
 * Why BFGS: the likelihoods are smooth and their gradients are cheap next to
 * a pass over the customers, so a method that uses them converges in tens of
 * evaluations where Nelder-Mead needs hundreds; and a fit must reach the
 * optimum, not stop where the parameters merely round right.  The callers
 * work in log-parameters, so any step is a valid point and steps are capped
 * at MAX_STEP (a factor e^5 on a parameter) to keep the search from jumping
 * into the flat far regions of the likelihood.  A box bounds the
 * log-parameters: on data whose optimum lies at infinity (a parameter that
 * grows without bound) the search stops at the box, with finite parameters
 * and converged = false, instead of overflowing.
 *
 * The line search stops halving once a step cannot show a decrease: when the
 * trial point rounds to theta itself, or when the decrease the slope predicts
 * is below one unit in the last place of f.  Near the optimum every "lower"
 * f past that point is rounding noise; chasing it cost up to 60 evaluations
 * an iteration (two thirds of a large BG/NBD fit's time) and moved the
 * parameters only in their last digits.
 */
#include "minimize.h"

#include "miscadmin.h"

#include <float.h>
#include <math.h>

#define MAX_STEP 5.0
#define ARMIJO 1e-4
#define MAX_HALVINGS 60
/* one unit in the last place of f, relative to |f|: less is beyond rounding */
#define ROUNDING_NOISE DBL_EPSILON
/* when the line search is stuck, a gradient this much above tolerance is still flat */
#define STUCK_TOLERANCE_FACTOR 100

static double
max_abs(const double *v, int n)
{
	double		m = 0;

	for (int i = 0; i < n; i++)
		m = Max(m, fabs(v[i]));
	return m;
}

static double
dot(const double *u, const double *v, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += u[i] * v[i];
	return s;
}

static bool
in_box(const double *theta, const double *lower, const double *upper, int n)
{
	for (int i = 0; i < n; i++)
		if (!(theta[i] >= lower[i] && theta[i] <= upper[i]))
			return false;
	return true;
}

static bool
same_point(const double *p, const double *q, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] != q[i])
			return false;
	return true;
}

static void
set_identity(double h[MINIMIZE_MAX_PARAMETERS][MINIMIZE_MAX_PARAMETERS], int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			h[i][j] = (i == j);
}

/*
 * The BFGS update of the inverse Hessian h from step s and gradient change
 * y: h = (I - rho s y') h (I - rho y s') + rho s s', with rho = 1 / (y's).
 * Skipped when y's is not clearly positive (the curvature condition fails).
 */
static void
bfgs_update(double h[MINIMIZE_MAX_PARAMETERS][MINIMIZE_MAX_PARAMETERS], int n,
			const double *s, const double *y)
{
	double		sy = dot(s, y, n);
	double		hy[MINIMIZE_MAX_PARAMETERS];
	double		yhy;
	double		rho;

	if (!(sy > 1e-12 * sqrt(dot(s, s, n) * dot(y, y, n))))
		return;
	rho = 1 / sy;
	for (int i = 0; i < n; i++)
	{
		hy[i] = 0;
		for (int j = 0; j < n; j++)
			hy[i] += h[i][j] * y[j];
	}
	yhy = dot(y, hy, n);
	/* h is symmetric: h - rho (s hy' + hy s') + (rho^2 yhy + rho) s s' */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			h[i][j] += -rho * (s[i] * hy[j] + hy[i] * s[j]) +
				(rho * rho * yhy + rho) * s[i] * s[j];
}

/*
 * Minimise objective from theta (n parameters, inside [lower, upper]), in
 * place.  Converged when the largest gradient component is below
 * gradient_tolerance, or when no step decreases f any more (rounding) and it
 * is below a hundred times that.  A point outside the box counts as one where
 * the objective is undefined.  An objective that is undefined at the start
 * means data at the edge of double precision: an error, naming the model.
 */
MinimizeResult
cp_minimize(ObjectiveFunction objective, void *data, double *theta, int n,
			const double *lower, const double *upper,
			int max_iterations, double gradient_tolerance, const char *what)
{
	double		h[MINIMIZE_MAX_PARAMETERS][MINIMIZE_MAX_PARAMETERS];
	double		g[MINIMIZE_MAX_PARAMETERS];
	double		d[MINIMIZE_MAX_PARAMETERS];
	double		trial[MINIMIZE_MAX_PARAMETERS];
	double		trial_g[MINIMIZE_MAX_PARAMETERS];
	double		s[MINIMIZE_MAX_PARAMETERS];
	double		y[MINIMIZE_MAX_PARAMETERS];
	MinimizeResult result = {0, 0, false};
	double		f;

	Assert(n > 0 && n <= MINIMIZE_MAX_PARAMETERS);
	Assert(in_box(theta, lower, upper, n));
	f = objective(theta, g, data);
	if (!isfinite(f) || !isfinite(max_abs(g, n)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("cannot fit the %s model to these customers", what),
				 errdetail("The likelihood is not finite at the starting point: the values are too large or too small for double precision."),
				 errhint("Use a time unit or a money unit closer to the data.")));
	set_identity(h, n);

	while (result.iterations < max_iterations)
	{
		double		slope;
		double		step;
		double		trial_f = 0;
		bool		accepted = false;

		CHECK_FOR_INTERRUPTS();
		if (max_abs(g, n) < gradient_tolerance)
		{
			result.converged = true;
			break;
		}
		result.iterations++;

		for (int i = 0; i < n; i++)
		{
			d[i] = 0;
			for (int j = 0; j < n; j++)
				d[i] -= h[i][j] * g[j];
		}
		slope = dot(g, d, n);
		if (!(slope < 0))
		{
			/* not a descent direction: forget the curvature learnt so far */
			set_identity(h, n);
			for (int i = 0; i < n; i++)
				d[i] = -g[i];
			slope = -dot(g, g, n);
		}

		step = Min(1.0, MAX_STEP / max_abs(d, n));
		for (int k = 0; k < MAX_HALVINGS && !accepted; k++, step /= 2)
		{
			for (int i = 0; i < n; i++)
				trial[i] = theta[i] + step * d[i];
			/*
			 * A step that rounds away entirely gives theta again, and every
			 * shorter one too: f(theta) is not below f, so stop trying.
			 */
			if (same_point(trial, theta, n))
				break;
			/*
			 * Nor can f show a decrease smaller than its own rounding: past
			 * that, a lower f is noise, and chasing it only costs evaluations.
			 */
			if (step * -slope <= ROUNDING_NOISE * fabs(f))
				break;
			if (!in_box(trial, lower, upper, n))
				continue;
			trial_f = objective(trial, trial_g, data);
			/* a step too small to lower f in floating point is no progress */
			accepted = isfinite(trial_f) && isfinite(max_abs(trial_g, n)) &&
				trial_f < f && trial_f <= f + ARMIJO * step * slope;
		}
		if (!accepted)
		{
			/*
			 * No decrease along a descent direction: at the optimum as far as
			 * rounding lets f show it, if the gradient is nearly flat.
			 */
			result.converged = max_abs(g, n) < STUCK_TOLERANCE_FACTOR * gradient_tolerance;
			break;
		}

		for (int i = 0; i < n; i++)
		{
			s[i] = trial[i] - theta[i];
			y[i] = trial_g[i] - g[i];
			theta[i] = trial[i];
			g[i] = trial_g[i];
		}
		f = trial_f;
		bfgs_update(h, n, s, y);
	}
	if (max_abs(g, n) < gradient_tolerance)
		result.converged = true;
	result.value = f;
	return result;
}
