/*
 * minimize.h
 *		Unconstrained minimisation of a smooth function of a few parameters
 *		(quasi-Newton, BFGS), for the maximum-likelihood fits of the
 *		customer-base models.
 */
#ifndef MINIMIZE_H
#define MINIMIZE_H

#include "customer_priority.h"

#define MINIMIZE_MAX_PARAMETERS 8

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

extern MinimizeResult cp_minimize(ObjectiveFunction objective, void *data, double *theta,
								  int n, int max_iterations, double gradient_tolerance);

#endif							/* MINIMIZE_H */
