/*
 * breaks.h
 *		RFM break points of a population and the scores against them, shared by
 *		the rfm_breaks()/rfm_score() functions and the whole-table path.
 */
#ifndef BREAKS_H
#define BREAKS_H

#include "customer_priority.h"

#include "numeric_list.h"

/* Break points of the three metrics, ascending. */
typedef struct RfmBreaks
{
	int			bins;
	TimestampTz recency[CP_MAX_BREAKS];
	int64		frequency[CP_MAX_BREAKS];
	Numeric		monetary[CP_MAX_BREAKS];
} RfmBreaks;

extern int64 rfm_quantile_index(int k, int bins, int64 count);
extern void rfm_breaks_pick_recency_frequency(TimestampTz *last_order, int64 *frequency,
											  int64 count, int bins, RfmBreaks *breaks);
extern void rfm_breaks_pick(TimestampTz *last_order, int64 *frequency, NumericList *monetary,
							int64 count, int bins, RfmBreaks *breaks);
extern void rfm_breaks_score(const RfmBreaks *breaks, TimestampTz last_order, int64 frequency,
							 Numeric monetary, int *r, int *f, int *m);

#endif							/* BREAKS_H */
