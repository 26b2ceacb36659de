/*
 * customer_priority.h
 *		Declarations shared by the C files of the customer_priority extension.
 */
#ifndef CUSTOMER_PRIORITY_H
#define CUSTOMER_PRIORITY_H

#include "postgres.h"

#if PG_VERSION_NUM < 130000
#error "customer_priority needs PostgreSQL 13 or later"
#endif

/* The extension's version, from the Makefile (EXTVERSION). */
#ifndef CP_EXTVERSION
#define CP_EXTVERSION "unknown"
#endif

#include "access/htup_details.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

/*
 * int64_to_numeric() is exported from PostgreSQL 14 on; before, the same
 * through the SQL-callable int8_numeric (one palloc more).
 */
#if PG_VERSION_NUM < 140000
#include "utils/fmgrprotos.h"

static inline Numeric
cp_int64_to_numeric(int64 value)
{
	return DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(value)));
}
#define int64_to_numeric(value) cp_int64_to_numeric(value)
#endif

/* Number of scores per metric: N = bins, 1 is worst, N is best. */
#define CP_MIN_BINS 2
#define CP_MAX_BINS 10
#define CP_MAX_BREAKS (CP_MAX_BINS - 1)

/*
 * Called with the index of each iteration of a loop over customers, orders or
 * hash slots: every 65536th lets a cancel or statement_timeout in, so that
 * no such loop runs for seconds deaf to them.
 */
static inline void
cp_check_interrupts(int64 i)
{
	if ((i & 0xFFFF) == 0)
		CHECK_FOR_INTERRUPTS();
}

extern void cp_check_bins(int64 bins, const char *name);
extern void cp_check_horizon(double t);
extern void cp_check_finite_amount(Numeric value, const char *what);
extern void cp_check_finite_timestamp(TimestampTz value, const char *what);
extern MemoryContext cp_aggregate_context(FunctionCallInfo fcinfo);
extern void cp_init_materialized_srf(FunctionCallInfo fcinfo);
extern TimestampTz cp_as_of_argument(FunctionCallInfo fcinfo, int argno, const char *what);
extern Numeric cp_returned_amount_argument(FunctionCallInfo fcinfo, int argno);
extern void cp_check_returned_amount(Numeric value);
extern int	cp_numeric_cmp(Numeric a, Numeric b);
extern Numeric cp_numeric_copy(Numeric value, MemoryContext context);
extern Numeric cp_numeric_zero(void);
extern int	cp_numeric_sign(Numeric value);
/*
 * The bytes of the last composite argument a function parsed, so that a
 * per-row function (scoring against one population model) parses the model
 * once per query instead of once per row.
 */
typedef struct CompositeCache
{
	char	   *raw;			/* NULL until something was parsed */
	Size		len;
} CompositeCache;

extern bool cp_composite_unchanged(const CompositeCache *cache, HeapTupleHeader tuple);
extern void cp_composite_remember(CompositeCache *cache, HeapTupleHeader tuple,
								  MemoryContext context);
extern void cp_state_reader(StringInfo buf, bytea *bytes);
extern void cp_state_send_numeric(StringInfo buf, Numeric value);
extern Numeric cp_state_recv_numeric(StringInfo buf, const char *what);
extern const char *cp_state_recv_string(StringInfo buf, const char *what);
/* pg_attribute_noreturn() became the prefix pg_noreturn in PostgreSQL 18. */
#if PG_VERSION_NUM >= 180000
pg_noreturn extern void cp_state_corrupted(const char *detail);
#else
extern void cp_state_corrupted(const char *detail) pg_attribute_noreturn();
#endif

#endif							/* CUSTOMER_PRIORITY_H */
