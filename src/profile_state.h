/*
 * profile_state.h
 *		The per-customer state of the customer_profile aggregate: what one pass
 *		over a customer's order rows must remember to describe their buying
 *		behaviour.  Mergeable, so the aggregate runs in parallel.
 */
#ifndef PROFILE_STATE_H
#define PROFILE_STATE_H

#include "customer_priority.h"

#include "calendar.h"
#include "common/int128.h"
#include "money_sum.h"
#include "order_map.h"

/* Baskets are kept in micro-units: exact for amounts with up to 6 decimals. */
#define BASKET_MICROS_PER_UNIT INT64CONST(1000000)

/* Statistics of complete orders: counts and exact sums of their baskets. */
typedef struct BasketStats
{
	int64		orders;
	int64		weekend_orders;
	int64		discounted_orders;
	INT128		sum;			/* of baskets, in micro-units */
	INT128		sum_squares;
	int64		min;			/* smallest and largest basket, when orders > 0 */
	int64		max;
} BasketStats;

/* Distinct local days, kept as a list compacted (sorted, unique) when full. */
typedef struct DaySet
{
	int32	   *days;
	uint32		count;
	uint32		capacity;
} DaySet;

typedef struct ProfileState
{
	TimestampTz as_of;			/* rows after it are not counted */
	pg_tz	   *zone;			/* calendar of days and weekdays */
	bool		discount_mapped;	/* a discount argument was given */
	int64		rows;			/* rows counted: at or before as_of */
	int64		purchase_rows;	/* counted rows with a positive amount */
	TimestampTz first_purchase; /* valid when purchase_rows > 0 */
	TimestampTz last_purchase;
	MoneySum	gross;			/* sum of positive amounts */
	MoneySum	returned;		/* minus negative amounts, plus returned amounts */
	BasketStats unkeyed;		/* purchase rows without order id: whole orders */
	DaySet		unkeyed_days;	/* their local days */
	int32		unkeyed_first_day;	/* the earliest of them, when unkeyed.orders > 0 */
	int64		unkeyed_first_day_baskets;	/* its rows' total, in micro-units */
	OrderMap	orders;			/* purchase lines with an order id, by order */
} ProfileState;

/* One order row, already checked. */
typedef struct ProfileRow
{
	TimestampTz ordered_at;
	Numeric		amount;
	Numeric		returned_amount;	/* NULL if none */
	bool		discounted;		/* its discount is > 0 */
	bool		has_order_key;
	uint64		order_key;
} ProfileRow;

/* What the final function reports about orders and purchase days. */
typedef struct ProfileSummary
{
	BasketStats baskets;		/* of every order */
	int32		purchase_days;	/* distinct local days with a purchase */
	int32		first_day;		/* local days of the first and last order */
	int32		last_day;
	int32		as_of_day;
	int64		first_day_baskets;	/* total of the orders of first_day, in micro-units */
	double		mean_gap;		/* between consecutive purchase days */
	double		gap_cv;			/* NaN when fewer than two gaps */
	double		basket_cv;		/* NaN when fewer than two orders */
} ProfileSummary;

/* Fields of the customer_profile composite type, in order (src/profile.sql). */
enum
{
	P_AS_OF,
	P_TIME_ZONE,
	P_FIRST_ORDER,
	P_LAST_ORDER,
	P_ORDERS,
	P_PURCHASE_DAYS,
	P_RECENCY_DAYS,
	P_TENURE_DAYS,
	P_GROSS,
	P_RETURNED,
	P_NET_REVENUE,
	P_REVENUE_PER_YEAR,
	P_AVERAGE_BASKET,
	P_BASKET_CV,
	P_MEAN_GAP_DAYS,
	P_GAP_CV,
	P_WEEKEND_ORDERS,
	P_WEEKEND_SHARE,
	P_DISCOUNTED_ORDERS,
	P_DISCOUNT_SHARE,
	P_RETURN_RATE,
	P_REPEAT_SPEND,
	P_NATTS
};

extern ProfileState *profile_state_create(MemoryContext context, TimestampTz as_of,
										  pg_tz *zone, bool discount_mapped);
extern void profile_state_init(ProfileState *state, TimestampTz as_of, pg_tz *zone,
							   bool discount_mapped);
extern void profile_state_check_call(const ProfileState *state, TimestampTz as_of, pg_tz *zone);
extern void profile_state_add(ProfileState *state, const ProfileRow *row, MemoryContext context);
extern ProfileState *profile_state_copy(const ProfileState *src, MemoryContext context);
extern void profile_state_merge(ProfileState *state, const ProfileState *other,
								MemoryContext context);
extern void profile_state_summarize(const ProfileState *state, ProfileSummary *summary);
extern bytea *profile_state_serialize(const ProfileState *state);
extern Datum profile_state_datum(const ProfileState *state, TupleDesc tupdesc);
extern ProfileState *profile_state_deserialize(bytea *bytes, MemoryContext context);

#endif							/* PROFILE_STATE_H */
