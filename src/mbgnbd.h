/*
 * mbgnbd.h
 *		The MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin
 *		2007): parameters and the closed forms other files use.
 */
#ifndef MBGNBD_H
#define MBGNBD_H

#include "customer_priority.h"

typedef struct MbgnbdParameters
{
	double		r;
	double		alpha;
	double		a;
	double		b;
} MbgnbdParameters;

extern void mbgnbd_parameters_from_model(HeapTupleHeader model, MbgnbdParameters *params);
extern void mbgnbd_check_customer(int32 x, double t_x, double t_cal);
extern double mbgnbd_alive_probability(const MbgnbdParameters *params, int32 x,
									   double t_x, double t_cal);
extern double mbgnbd_conditional_expected(const MbgnbdParameters *params, double t, int32 x,
										  double t_x, double t_cal);

#endif							/* MBGNBD_H */
