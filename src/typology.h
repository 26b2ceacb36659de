/*
 * typology.h
 *		What the typology model aggregate (typology_model.c) and the label
 *		function (typology.c) share: the fields of a profile they read
 *		(typology_inputs.c), and the fields of the model.
 */
#ifndef TYPOLOGY_H
#define TYPOLOGY_H

#include "customer_priority.h"

#include "typology_options.h"

/* The profile fields the typology reads; NaN or NULL when undefined. */
typedef struct ProfileFields
{
	int64		orders;
	int32		recency_days;	/* valid when orders > 0 */
	int32		tenure_days;
	Numeric		net_revenue;
	Numeric		revenue_per_year;	/* NULL when no purchase */
	double		revenue_per_year_f;
	double		mean_gap_days;
	double		gap_cv;
	double		basket_cv;
	double		weekend_share;
	double		discount_share;
	double		return_rate;
} ProfileFields;

/* Fields of the typology_model composite type, in order (src/typology.sql). */
enum
{
	M_CUSTOMERS,
	M_ROYAL_MIN_REVENUE,
	M_MEAN_REVENUE,
	M_MEDIAN_GAP_CV,
	M_SERVICE_CUSTOMERS,
	M_SERVICE_MIN_INTENSITY,
	M_OPTIONS,
	M_NATTS
};

/* src/typology_inputs.c */
extern double typology_float_field(Datum *values, bool *nulls, int field);
extern void profile_fields_read(HeapTupleHeader tuple, ProfileFields *fields);
extern void service_contacts_check(Numeric contacts);
extern double service_intensity(Numeric contacts, Numeric net_revenue);

#endif							/* TYPOLOGY_H */
