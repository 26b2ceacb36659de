/*
 * abc.h
 *		ABC cut-offs of a population and the class of a value, shared by the
 *		abc_cutoffs()/abc_class() functions and the whole-table path.
 */
#ifndef ABC_H
#define ABC_H

#include "customer_priority.h"

#include "numeric_list.h"

typedef enum AbcMethod
{
	ABC_UNSET = 0,
	ABC_PARETO = 1,
	ABC_SHARE = 2
} AbcMethod;

/* What the cut-off walk finds; a_min/b_min are NULL when the class is empty. */
typedef struct AbcCutoffs
{
	Numeric		total;
	Numeric		a_min;
	Numeric		b_min;
	int64		a_customers;
	int64		b_customers;
} AbcCutoffs;

extern void abc_check_thresholds(Numeric a, Numeric b);
extern void abc_find_cutoffs(NumericList *values, AbcMethod method, Numeric a, Numeric b,
							 int64 customers, AbcCutoffs *cut);
extern char abc_class_of(AbcMethod method, Numeric a_min, Numeric b_min, Numeric value);

#endif							/* ABC_H */
