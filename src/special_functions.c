/*
 * special_functions.c
 *		Digamma (for the gradients of the model likelihoods) and the Gauss
 *		hypergeometric function 2F1 (for BG/NBD's expected purchases).
 *
 * Digamma is evaluated inside the likelihoods, where the optimiser may try
 * a point at which it overflows: it returns NaN or infinity there, and the
 * line search steps back.  2F1 raises 22003 outside its domain (an argument
 * that rounds to z = 1: a horizon too long for double precision).
 */
#include "special_functions.h"

#include "miscadmin.h"

#include <math.h>

/* Terms of the 2F1 series before giving up; z <= 0.9999 needs far fewer. */
#define HYP2F1_MAX_TERMS 2000000

/*
 * psi(x) for x > 0: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 6,
 * then the asymptotic series, accurate to about 1e-15 there.  NaN for x <= 0
 * or NaN, infinity for infinity.
 */
double
cp_digamma(double x)
{
	double		shift = 0;
	double		inv;
	double		inv2;

	if (!(x > 0))
		return NAN;
	if (isinf(x))
		return x;
	while (x < 6)
	{
		shift -= 1 / x;
		x += 1;
	}
	inv = 1 / x;
	inv2 = inv * inv;
	return shift + log(x) - 0.5 * inv -
		inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132)))));
}

/*
 * 2F1(a, b; c; z) for a, b, c > 0 and 0 <= z < 1, by its power series.
 *
 * All terms are positive, so the sum has no cancellation.  The ratio of
 * consecutive terms tends to z; once it is at most (1 + z) / 2 the tail is
 * below term * 2 / (1 - z), and the series ends when that is below 1e-16 of
 * the sum.  The
 * closed forms of BG/NBD call it with z = t / (alpha + T + t), which is near
 * 1 only when the horizon t dwarfs alpha + T; past HYP2F1_MAX_TERMS the
 * caller gets an error rather than a truncated sum.
 */
double
cp_hyp2f1(double a, double b, double c, double z)
{
	double		term = 1;
	double		sum = 1;

	if (!(a > 0 && b > 0 && c > 0) || !(z >= 0 && z < 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("hypergeometric 2F1(%g, %g; %g; %g) is outside its domain", a, b, c, z),
				 errdetail("It is evaluated for a, b, c > 0 and 0 <= z < 1."),
				 errhint("The horizon is too long for the time since the first purchase; use a shorter horizon or a coarser time unit.")));
	for (int64 j = 0; j < HYP2F1_MAX_TERMS; j++)
	{
		double		ratio = (a + j) * (b + j) / ((c + j) * (j + 1)) * z;

		term *= ratio;
		sum += term;
		if (ratio <= (1 + z) / 2 && term * 2 < sum * 1e-16 * (1 - z))
			return sum;
		if ((j & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("hypergeometric series 2F1(%g, %g; %g; %g) did not converge", a, b, c, z),
			 errhint("The horizon is too long for the time since the first purchase; use a shorter horizon or a coarser time unit.")));
	pg_unreachable();
}
