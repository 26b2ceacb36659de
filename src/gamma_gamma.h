/*
 * gamma_gamma.h
 *		The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee
 *		2005, "RFM and CLV"): parameters and the expected spend.
 */
#ifndef GAMMA_GAMMA_H
#define GAMMA_GAMMA_H

#include "customer_priority.h"
#include "model_sample.h"

typedef struct GammaGammaParameters
{
	double		p;
	double		q;
	double		v;
} GammaGammaParameters;

/* A model argument's parameters, read once per distinct model (model_sample.h). */
typedef struct GammaGammaModelCache
{
	ModelDatumCache datum;
	GammaGammaParameters params;
} GammaGammaModelCache;

extern void gamma_gamma_parameters_from_model(HeapTupleHeader model, GammaGammaParameters *params);
extern void gamma_gamma_parameters_of_argument(FunctionCallInfo fcinfo, int argno,
											   GammaGammaModelCache *cache,
											   GammaGammaParameters *params);
extern double gamma_gamma_expected_spend_of(const GammaGammaParameters *params, int32 x,
											double mean_spend, bool spend_known);

#endif							/* GAMMA_GAMMA_H */
