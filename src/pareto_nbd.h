/*
 * pareto_nbd.h
 *		The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison &
 *		Colombo 1987; Fader & Hardie 2005's note on implementing it):
 *		parameters and the closed forms other files may use.
 */
#ifndef PARETO_NBD_H
#define PARETO_NBD_H

#include "customer_priority.h"

typedef struct ParetoNbdParameters
{
	double		r;				/* purchase rate lambda ~ Gamma(r, alpha) */
	double		alpha;
	double		s;				/* dropout rate mu ~ Gamma(s, beta) */
	double		beta;
} ParetoNbdParameters;

extern void pareto_nbd_parameters_from_model(HeapTupleHeader model, ParetoNbdParameters *params);
extern void pareto_nbd_check_customer(int32 x, double t_x, double t_cal);
extern double pareto_nbd_p_alive_of(const ParetoNbdParameters *params, int32 x, double t_x,
									double t_cal);
extern double pareto_nbd_conditional_expected(const ParetoNbdParameters *params, double t,
											  int32 x, double t_x, double t_cal);
extern double pareto_nbd_p_purchase_within_of(const ParetoNbdParameters *params, double t,
											  int32 x, double t_x, double t_cal);

#endif							/* PARETO_NBD_H */
