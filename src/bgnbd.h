/*
 * bgnbd.h
 *		The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005):
 *		parameters and the closed forms other files use.
 */
#ifndef BGNBD_H
#define BGNBD_H

#include "customer_priority.h"
#include "model_sample.h"

typedef struct BgnbdParameters
{
	double		r;
	double		alpha;
	double		a;
	double		b;
} BgnbdParameters;

/* A model argument's parameters, read once per distinct model (model_sample.h). */
typedef struct BgnbdModelCache
{
	ModelDatumCache datum;
	BgnbdParameters params;
} BgnbdModelCache;

extern void bgnbd_parameters_from_model(HeapTupleHeader model, BgnbdParameters *params);
extern void bgnbd_parameters_of_argument(FunctionCallInfo fcinfo, int argno, BgnbdModelCache *cache,
										 BgnbdParameters *params);
extern double bgnbd_conditional_expected(const BgnbdParameters *params, double t, int32 x,
										 double t_x, double t_cal);
extern void bgnbd_check_customer(int32 x, double t_x, double t_cal);
extern double bgnbd_alive_probability(const BgnbdParameters *params, int32 x,
									  double t_x, double t_cal);

#endif							/* BGNBD_H */
