/*
 * purchase_customer.h
 *		The customers of the purchase models (BG/NBD, MBG/NBD, Pareto/NBD): a
 *		calibration summary (x, t_x, T), checked the same way for every model,
 *		and the fits' transition and deserial steps over such customers.
 */
#ifndef PURCHASE_CUSTOMER_H
#define PURCHASE_CUSTOMER_H

#include "customer_priority.h"

#include "model_sample.h"

extern const char *purchase_customer_problem(int32 x, double t_x, double t_cal);
extern void purchase_customer_check(const char *model, int32 x, double t_x, double t_cal);
extern ModelSample *purchase_fit_add(FunctionCallInfo fcinfo, const char *model);
extern ModelSample *purchase_fit_deserialize(FunctionCallInfo fcinfo);

#endif							/* PURCHASE_CUSTOMER_H */
