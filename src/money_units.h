/*
 * money_units.h
 *		Money amounts as exact int64 counts of 1/10000 (a "unit"): what the
 *		aggregates add per row instead of numeric, when an amount fits.
 */
#ifndef MONEY_UNITS_H
#define MONEY_UNITS_H

#include "customer_priority.h"

/* Units per 1 of currency, and its power of ten. */
#define MONEY_UNITS_SCALE 4
#define MONEY_UNITS_PER_ONE INT64CONST(10000)

/* An amount read as units: exact, with the display scale of the numeric. */
typedef struct MoneyUnits
{
	int64		units;
	int			dscale;
} MoneyUnits;

extern bool money_units_from_datum(Datum value, MoneyUnits *amount);
extern bool money_units_from_numeric(Numeric value, MoneyUnits *amount);
extern Numeric money_units_to_numeric(int64 units, int dscale);

#endif							/* MONEY_UNITS_H */
