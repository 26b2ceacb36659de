/*
 * calendar.c
 *		Calendar days and weekdays of timestamps in a chosen time zone.
 *
 * A Saturday-night order in Berlin is a Sunday morning in Tokyo, so weekdays
 * and calendar days depend on the time zone the shop's week is defined in.
 * The profile aggregate takes that zone as an option; the default is the
 * session's TimeZone, which itself defaults to the database's setting.
 */
#include "calendar.h"

#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"

/*
 * The zone called name (as in pg_timezone_names, or a POSIX zone spec), or
 * an error.  pg_tzset caches zones for the life of the backend, so the
 * pointer stays valid and equal names give equal pointers.
 */
pg_tz *
cp_time_zone(const char *name)
{
	pg_tz	   *zone = pg_tzset(name);

	if (zone == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", name),
				 errhint("Use a name from pg_timezone_names, e.g. 'Europe/Berlin'.")));
	return zone;
}

/*
 * The zone called name, looked up again only when name differs from the
 * cache's; the copy of the name lives in context (the function's fn_mcxt).
 */
pg_tz *
cp_time_zone_cached(TimeZoneCache *cache, text *name, MemoryContext context)
{
	if (cache->name == NULL ||
		VARSIZE_ANY_EXHDR(name) != VARSIZE_ANY_EXHDR(cache->name) ||
		memcmp(VARDATA_ANY(name), VARDATA_ANY(cache->name), VARSIZE_ANY_EXHDR(name)) != 0)
	{
		pg_tz	   *zone = cp_time_zone(text_to_cstring(name));

		if (cache->name != NULL)
			pfree(cache->name);
		cache->name = (text *) MemoryContextAlloc(context, VARSIZE_ANY(name));
		memcpy(cache->name, name, VARSIZE_ANY(name));
		cache->zone = zone;
	}
	return cache->zone;
}

/*
 * The name a zone was loaded by, to serialize it for parallel workers.
 */
const char *
cp_time_zone_name(pg_tz *zone)
{
	return pg_get_timezone_name(zone);
}

/*
 * Are a and b the same zone?  pg_tzset returns one cached entry per name, but
 * a zone reached another way (the session's, set by offset) may be a second
 * entry with the same name.
 */
bool
cp_time_zone_equal(pg_tz *a, pg_tz *b)
{
	return a == b || strcmp(pg_get_timezone_name(a), pg_get_timezone_name(b)) == 0;
}

/*
 * The local date and weekday of ts in zone.  ts must be finite.
 */
LocalDay
cp_local_day(TimestampTz ts, pg_tz *zone)
{
	/* the zone last asked about, and its offset if it never changes */
	static const pg_tz *last_zone = NULL;
	static bool last_fixed = false;
	static long int last_offset = 0;
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	LocalDay	local;

	/*
	 * A zone without daylight saving or history (UTC, Etc/GMT-2, ...) has one
	 * offset: the local day is a division, with none of timestamp2tm's
	 * calendar work.  Called for each order row, so this matters.
	 */
	if (zone != last_zone)
	{
		last_fixed = pg_get_timezone_offset(zone, &last_offset);
		last_zone = zone;
	}
	if (last_fixed && ts >= MIN_TIMESTAMP && ts < END_TIMESTAMP)
	{
		TimestampTz local_ts = ts + (TimestampTz) last_offset * USECS_PER_SEC;
		int64		days = local_ts / USECS_PER_DAY;

		if (local_ts % USECS_PER_DAY < 0)
			days--;				/* floor for times before 2000-01-01 */
		local.day = (int32) (days + POSTGRES_EPOCH_JDATE);
		local.weekend = (j2day(local.day) % 6) == 0;
		return local;
	}

	if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, zone) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	local.day = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
	/* j2day: 0 is Sunday, 6 is Saturday */
	local.weekend = (j2day(local.day) % 6) == 0;
	return local;
}

/*
 * The date of ts in the session's TimeZone.  Recency and tenure are the
 * differences of such dates: an order yesterday is 1 day ago whatever its
 * hour, and a daylight-saving change does not lose a day.
 */
DateADT
cp_session_date(TimestampTz ts)
{
	return DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(ts)));
}
