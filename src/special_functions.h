/*
 * special_functions.h
 *		Digamma and the Gauss hypergeometric function, for the likelihoods and
 *		closed forms of the customer-base models (BG/NBD, Gamma-Gamma).
 */
#ifndef SPECIAL_FUNCTIONS_H
#define SPECIAL_FUNCTIONS_H

#include "customer_priority.h"

extern double cp_digamma(double x);
extern double cp_hyp2f1(double a, double b, double c, double z);

#endif							/* SPECIAL_FUNCTIONS_H */
