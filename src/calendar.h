/*
 * calendar.h
 *		Calendar days and weekdays of timestamps in a chosen time zone.
 */
#ifndef CALENDAR_H
#define CALENDAR_H

#include "customer_priority.h"

#include "pgtime.h"

/* A timestamp seen on the local calendar of one time zone. */
typedef struct LocalDay
{
	int32		day;			/* Julian day number of the local date */
	bool		weekend;		/* local Saturday or Sunday */
} LocalDay;

extern pg_tz *cp_time_zone(const char *name);
extern const char *cp_time_zone_name(pg_tz *zone);
extern bool cp_time_zone_equal(pg_tz *a, pg_tz *b);
extern LocalDay cp_local_day(TimestampTz ts, pg_tz *zone);

#endif							/* CALENDAR_H */
