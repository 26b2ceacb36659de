/*
 * minimize.h
 *		Minimisation of a smooth function of a few parameters in a box
 *		(quasi-Newton, BFGS), for the maximum-likelihood fits of the
 *		customer-base models.
 */
#ifndef MINIMIZE_H
#define MINIMIZE_H

#include "customer_priority.h"

#define MINIMIZE_MAX_PARAMETERS 8

/*
 * The fits work in log-parameters: |theta| <= this keeps exp(theta) finite
 * and positive in double precision (e^700 ~ 1e304) with room for a scale
 * factor.
 */
#define MINIMIZE_MAX_LOG_PARAMETER 700.0

/*
 * The function to minimise: its value at theta, and its gradient written to
 * gradient.  A point where it is undefined returns NaN or infinity; the line
 * search then steps back.
 */
typedef double (*ObjectiveFunction) (const double *theta, double *gradient, void *data);

typedef struct MinimizeResult
{
	double		value;			/* at the returned theta */
	int			iterations;
	bool		converged;		/* the gradient vanished, not the budget */
} MinimizeResult;

/*
 * Minimise objective from theta, which must lie in [lower, upper] (per
 * parameter), in place; theta never leaves the box.  what names the model
 * in the error raised when the objective is undefined at the start.
 */
extern MinimizeResult cp_minimize(ObjectiveFunction objective, void *data, double *theta,
								  int n, const double *lower, const double *upper,
								  int max_iterations, double gradient_tolerance,
								  const char *what);

#endif							/* MINIMIZE_H */
