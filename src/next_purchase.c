/*
 * next_purchase.c
 *		When does a customer buy again?  P(at least one purchase in (T, T+t])
 *		and the median of the time to the next purchase, for the models whose
 *		customers drop out only just after a purchase (BG/NBD; MBG/NBD, which
 *		also lets them drop out at time 0).
 *
 * In those models a customer alive at T cannot drop out before their next
 * purchase, and given the history (x, t_x, T) and being alive their rate is
 * lambda ~ Gamma(r + x, alpha + T) (shape, rate).  So
 *
 *   P(purchase in (T, T+t]) = P(alive) (1 - E[exp(-lambda t)])
 *                           = P(alive) (1 - ((alpha+T) / (alpha+T+t))^(r+x)),
 *
 * increasing in t towards P(alive).  The median time to the next purchase is
 * the t where it is 1/2; it exists only when P(alive) > 1/2:
 *
 *   t = (alpha+T) ((1 - 1/(2 P(alive)))^(-1/(r+x)) - 1).
 *
 * docs/potential.md, "The next purchase".
 */
#include "next_purchase.h"

#include "bgnbd.h"

#include <math.h>

PG_FUNCTION_INFO_V1(bgnbd_p_purchase_within);
PG_FUNCTION_INFO_V1(bgnbd_next_purchase_median);

/*
 * P(alive) (1 - (rate / (rate + t))^shape), with the power as
 * exp(-shape log1p(t / rate)) so that a short t next to the rate loses no
 * digits.
 */
double
next_purchase_probability(double p_alive, double shape, double rate, double t)
{
	return p_alive * -expm1(-shape * log1p(t / rate));
}

/*
 * The t > 0 where next_purchase_probability() is 1/2, into *median; false
 * when there is none (P(alive) <= 1/2: the probability stays below 1/2 for
 * every t).  The result may be +Infinity when the median lies beyond what a
 * double holds (a customer alive just above even odds with a tiny rate).
 */
bool
next_purchase_median(double p_alive, double shape, double rate, double *median)
{
	double		never;			/* P(no purchase ever | alive) at the median */

	if (!(p_alive > 0.5))
		return false;
	never = 1 - 0.5 / p_alive;
	*median = rate * expm1(-log(never) / shape);
	return true;
}

/*
 * bgnbd_p_purchase_within(model, t, x, t_x, T)
 */
Datum
bgnbd_p_purchase_within(PG_FUNCTION_ARGS)
{
	BgnbdParameters params;
	double		t = PG_GETARG_FLOAT8(1);
	int32		x = PG_GETARG_INT32(2);
	double		t_x = PG_GETARG_FLOAT8(3);
	double		t_cal = PG_GETARG_FLOAT8(4);

	bgnbd_parameters_from_model(PG_GETARG_HEAPTUPLEHEADER(0), &params);
	cp_check_horizon(t);
	bgnbd_check_customer(x, t_x, t_cal);
	PG_RETURN_FLOAT8(next_purchase_probability(bgnbd_alive_probability(&params, x, t_x, t_cal),
											   params.r + x, params.alpha + t_cal, t));
}

/*
 * bgnbd_next_purchase_median(model, x, t_x, T): NULL when never reached.
 */
Datum
bgnbd_next_purchase_median(PG_FUNCTION_ARGS)
{
	BgnbdParameters params;
	int32		x = PG_GETARG_INT32(1);
	double		t_x = PG_GETARG_FLOAT8(2);
	double		t_cal = PG_GETARG_FLOAT8(3);
	double		median;

	bgnbd_parameters_from_model(PG_GETARG_HEAPTUPLEHEADER(0), &params);
	bgnbd_check_customer(x, t_x, t_cal);
	if (!next_purchase_median(bgnbd_alive_probability(&params, x, t_x, t_cal),
							  params.r + x, params.alpha + t_cal, &median))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(median);
}
