/*
 * xyz.h
 *		The per-customer state of the xyz() aggregate (revenue per calendar
 *		period), shared with the segmentation scan (src/segmentation_scan.c).
 */
#ifndef XYZ_H
#define XYZ_H

#include "customer_priority.h"

#include "calendar.h"
#include "money_sum.h"

typedef enum PeriodKind
{
	PERIOD_UNSET = 0,
	PERIOD_WEEK = 1,
	PERIOD_MONTH = 2,
	PERIOD_QUARTER = 3
} PeriodKind;

typedef struct PeriodEntry
{
	int32		period;
	bool		used;
	int64		purchase_rows;	/* rows with a positive amount in it */
	MoneySum	revenue;
} PeriodEntry;

typedef struct XyzState
{
	TimestampTz as_of;
	PeriodKind	kind;
	pg_tz	   *zone;			/* calendar of the periods */
	int64		rows;			/* rows at or before as_of */
	bool		has_purchase;
	int32		first_period;	/* of the first purchase, valid if has_purchase */
	PeriodEntry *entries;		/* open addressing on period */
	uint32		capacity;		/* a power of two, or 0 */
	uint32		used;
} XyzState;

extern PeriodKind xyz_parse_period(const char *name);
extern int32 xyz_period_of(TimestampTz ts, PeriodKind kind, pg_tz *zone);
extern DateADT xyz_period_start(int32 period, PeriodKind kind);
extern XyzState *xyz_state_create(MemoryContext context, TimestampTz as_of, PeriodKind kind,
								  pg_tz *zone);
extern void xyz_state_init(XyzState *state, TimestampTz as_of, PeriodKind kind, pg_tz *zone);
extern void xyz_state_add(XyzState *state, TimestampTz ordered_at, Numeric amount,
						  MemoryContext context);
extern void xyz_state_add_in_period(XyzState *state, int32 period, Numeric amount,
									MemoryContext context);
extern void xyz_state_count_purchases(XyzState *state, int32 period, int64 rows,
									  MemoryContext context);
extern const void *xyz_state_slot(const XyzState *state, int32 period);
extern Datum xyz_state_datum(const XyzState *state, TupleDesc tupdesc);

#endif							/* XYZ_H */
