/*
 * calendar.h
 *		Calendar days and weekdays of timestamps in a chosen time zone.
 */
#ifndef CALENDAR_H
#define CALENDAR_H

#include "customer_priority.h"

#include "pgtime.h"
#include "utils/date.h"

/* A timestamp seen on the local calendar of one time zone. */
typedef struct LocalDay
{
	int32		day;			/* Julian day number of the local date */
	bool		weekend;		/* local Saturday or Sunday */
} LocalDay;

/*
 * The last time_zone argument a function resolved, kept in its fn_extra so
 * that a constant argument is looked up once per query.
 */
typedef struct TimeZoneCache
{
	text	   *name;			/* NULL until the first lookup */
	pg_tz	   *zone;
} TimeZoneCache;

extern pg_tz *cp_time_zone(const char *name);
extern pg_tz *cp_time_zone_cached(TimeZoneCache *cache, text *name, MemoryContext context);
extern const char *cp_time_zone_name(pg_tz *zone);
extern bool cp_time_zone_equal(pg_tz *a, pg_tz *b);
extern LocalDay cp_local_day(TimestampTz ts, pg_tz *zone);
extern DateADT cp_session_date(TimestampTz ts);

#endif							/* CALENDAR_H */
