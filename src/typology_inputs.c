/*
 * typology_inputs.c
 *		What the typology model aggregate (typology_model.c) and the labels
 *		(typology.c) both read from a customer: the fields of its profile and
 *		its service contacts.  Neither file depends on the other.
 */
#include "customer_priority.h"

#include "profile_state.h"
#include "typology.h"

#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/typcache.h"

/*
 * A float8 field of a deformed composite, NaN when NULL (undefined).
 */
double
typology_float_field(Datum *values, bool *nulls, int field)
{
	return nulls[field] ? get_float8_nan() : DatumGetFloat8(values[field]);
}

/*
 * Read the fields the typology needs from a customer_profile value.
 */
void
profile_fields_read(HeapTupleHeader tuple, ProfileFields *fields)
{
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(tuple),
												 HeapTupleHeaderGetTypMod(tuple));
	HeapTupleData tmptup;
	Datum		values[P_NATTS];
	bool		nulls[P_NATTS];

	if (tupdesc->natts != P_NATTS)
		elog(ERROR, "customer_profile has %d attributes, expected %d", tupdesc->natts, P_NATTS);
	tmptup.t_len = HeapTupleHeaderGetDatumLength(tuple);
	tmptup.t_data = tuple;
	heap_deform_tuple(&tmptup, tupdesc, values, nulls);
	ReleaseTupleDesc(tupdesc);

	if (nulls[P_ORDERS] || nulls[P_NET_REVENUE])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("customer_profile must have orders and net_revenue"),
				 errhint("Build profiles with the customer_profile() aggregate.")));
	fields->orders = DatumGetInt64(values[P_ORDERS]);
	fields->net_revenue = DatumGetNumeric(values[P_NET_REVENUE]);
	cp_check_finite_amount(fields->net_revenue, "net_revenue");
	if (fields->orders > 0 &&
		(nulls[P_RECENCY_DAYS] || nulls[P_TENURE_DAYS] || nulls[P_REVENUE_PER_YEAR]))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("customer_profile with orders must have recency_days, tenure_days and revenue_per_year"),
				 errhint("Build profiles with the customer_profile() aggregate.")));
	fields->recency_days = nulls[P_RECENCY_DAYS] ? 0 : DatumGetInt32(values[P_RECENCY_DAYS]);
	fields->tenure_days = nulls[P_TENURE_DAYS] ? 0 : DatumGetInt32(values[P_TENURE_DAYS]);
	fields->revenue_per_year = NULL;
	fields->revenue_per_year_f = get_float8_nan();
	if (fields->orders > 0)
	{
		fields->revenue_per_year = DatumGetNumeric(values[P_REVENUE_PER_YEAR]);
		cp_check_finite_amount(fields->revenue_per_year, "revenue_per_year");
		fields->revenue_per_year_f =
			DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											   NumericGetDatum(fields->revenue_per_year)));
	}
	fields->mean_gap_days = typology_float_field(values, nulls, P_MEAN_GAP_DAYS);
	fields->gap_cv = typology_float_field(values, nulls, P_GAP_CV);
	fields->basket_cv = typology_float_field(values, nulls, P_BASKET_CV);
	fields->weekend_share = typology_float_field(values, nulls, P_WEEKEND_SHARE);
	fields->discount_share = typology_float_field(values, nulls, P_DISCOUNT_SHARE);
	fields->return_rate = typology_float_field(values, nulls, P_RETURN_RATE);
}

/*
 * A service_contacts argument must be finite and not negative.
 */
void
service_contacts_check(Numeric contacts)
{
	cp_check_finite_amount(contacts, "service_contacts");
	if (cp_numeric_sign(contacts) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("service_contacts must not be negative")));
}

/*
 * Contacts per unit of net revenue: +Infinity for contacts without positive
 * revenue (any service is out of proportion to no revenue), 0 without
 * contacts.
 */
double
service_intensity(Numeric contacts, Numeric net_revenue)
{
	double		c = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(contacts)));
	double		revenue;

	if (c <= 0)
		return 0;
	revenue = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(net_revenue)));
	if (revenue <= 0)
		return get_float8_infinity();
	return c / revenue;
}
