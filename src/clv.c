/*
 * clv.c
 *		Customer lifetime value over a horizon: BG/NBD's expected purchases
 *		per time unit, times Gamma-Gamma's expected spend, discounted.
 *
 *   clv = spend * sum over i = 1 .. ceil(H) of
 *             (E[Y(t_i)] - E[Y(t_(i-1))]) / (1 + d)^t_i,   t_i = min(i, H)
 *
 * where E[Y(t)] is the customer's expected purchases in the next t time
 * units and d the discount rate per unit: purchases of the i-th unit are
 * discounted at its end, as the lifetimes package does.  The cost is one
 * hypergeometric series per unit of horizon; with d = 0 the sum is
 * E[Y(H)], one series.
 */
#include "bgnbd.h"
#include "gamma_gamma.h"

#include "miscadmin.h"

#include <math.h>

PG_FUNCTION_INFO_V1(customer_clv);

/* one series per step: a horizon of ten thousand units is plenty */
#define CLV_MAX_STEPS 10000

/* Both models' parameters, read once per query (fn_extra). */
typedef struct ClvCache
{
	BgnbdModelCache bgnbd;
	GammaGammaModelCache gamma_gamma;
} ClvCache;

/*
 * customer_clv(bgnbd_model, gamma_gamma_model, x, t_x, T, mean_spend,
 *              horizon, discount_rate).  NULL mean_spend (no repeat
 * purchase) values the purchases at the population's mean spend.
 */
Datum
customer_clv(PG_FUNCTION_ARGS)
{
	BgnbdParameters bgnbd;
	GammaGammaParameters gg;
	int32		x;
	double		t_x;
	double		t_cal;
	double		horizon;
	double		rate;
	double		spend;
	double		value = 0;
	double		previous = 0;
	int64		steps;
	ClvCache   *cache;

	for (int i = 0; i < 8; i++)
		if (i != 5 && PG_ARGISNULL(i))
			PG_RETURN_NULL();
	x = PG_GETARG_INT32(2);
	t_x = PG_GETARG_FLOAT8(3);
	t_cal = PG_GETARG_FLOAT8(4);
	horizon = PG_GETARG_FLOAT8(6);
	rate = PG_GETARG_FLOAT8(7);
	cache = model_call_cache(fcinfo, sizeof(ClvCache));
	bgnbd_parameters_of_argument(fcinfo, 0, &cache->bgnbd, &bgnbd);
	gamma_gamma_parameters_of_argument(fcinfo, 1, &cache->gamma_gamma, &gg);
	bgnbd_check_customer(x, t_x, t_cal);
	if (!(horizon >= 0 && horizon <= CLV_MAX_STEPS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 0 and %d time units, not %g", CLV_MAX_STEPS, horizon)));
	if (!(rate >= 0) || isinf(rate))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("discount rate must be finite and not negative, not %g", rate),
				 errhint("It is the rate per time unit of the summary, e.g. 0.01 per month.")));
	spend = gamma_gamma_expected_spend_of(&gg, x, PG_ARGISNULL(5) ? 0 : PG_GETARG_FLOAT8(5),
										  !PG_ARGISNULL(5));

	/*
	 * Undiscounted, the sum telescopes to E[Y(H)]: one series instead of one
	 * per unit (the value a segmentation computes by default).
	 */
	if (rate == 0)
		PG_RETURN_FLOAT8(spend * bgnbd_conditional_expected(&bgnbd, horizon, x, t_x, t_cal));
	steps = (int64) ceil(horizon);
	for (int64 i = 1; i <= steps; i++)
	{
		double		t = Min((double) i, horizon);
		double		expected = bgnbd_conditional_expected(&bgnbd, t, x, t_x, t_cal);

		CHECK_FOR_INTERRUPTS();
		value += (expected - previous) / pow(1 + rate, t);
		previous = expected;
	}
	PG_RETURN_FLOAT8(spend * value);
}
