/*
 * next_purchase.h
 *		The timing of a customer's next purchase: the probability of at least
 *		one purchase within t, and the median time to the next purchase, for
 *		models in which a customer alive at T buys at a rate
 *		lambda ~ Gamma(shape, rate) and cannot drop out before buying again
 *		(BG/NBD, MBG/NBD).
 */
#ifndef NEXT_PURCHASE_H
#define NEXT_PURCHASE_H

#include "customer_priority.h"

extern double next_purchase_probability(double p_alive, double shape, double rate, double t);
extern bool next_purchase_median(double p_alive, double shape, double rate, double *median);

#endif							/* NEXT_PURCHASE_H */
