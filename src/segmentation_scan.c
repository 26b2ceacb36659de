/*
 * segmentation_scan.c
 *		The per-customer pass of a segmentation in one scan of its order rows:
 *		segmentation_customers(lines, as_of, time_zone, xyz_period,
 *		discount_mapped) returns, for every customer, what GROUP BY with
 *		customer_profile(), xyz() and sum(margin) returns, and keeps the states
 *		for segmentation_cohorts(), which counts <name>_cohorts from them.
 *
 * Why not GROUP BY: PostgreSQL's hash aggregate keeps each group's states
 * behind its own bookkeeping, spills them to disk once the customers exceed
 * hash_mem (a million customers' profile and XYZ states are about 1 GB), and
 * under a parallel plan serialises every customer's states in each worker
 * for the leader to merge: at 10 M orders that was 10 of the 15 s of a
 * refresh's _customers query, and the cohorts read the orders a second time.
 * Here one hash table keyed by the (bigint) customer id holds both states
 * side by side, filled in prefetched batches, in memory bounded by
 * customer_priority.population_memory_limit.  The states are the
 * aggregates' own (src/profile_state.c, src/xyz.c), so the results are the
 * same by construction; sql/segmentation_scan.sql compares them.
 *
 * lines is a query (built by src/segmentation.sql from a validated
 * definition, run read-only with the caller's rights in the caller's
 * snapshot) returning, in this order:
 *		customer_id bigint, ordered_at timestamptz, amount numeric,
 *		order_id (any type with a hash function), returned_amount numeric,
 *		discount numeric, margin numeric
 * Rows without a customer id or ordered_at, or after as_of, are left out (the
 * WHERE of the GROUP BY query); a row with a NULL amount adds only its
 * margin, as in the aggregates.
 *
 * Memory per customer: a 16-byte hash slot, an 8-byte member pointer, the
 * ~340-byte ScanCustomer (profile and XYZ states, margin) and what the
 * states grow by: 64 to 128 bytes per distinct order id, 4 to 16 per
 * purchase day without one, a 56-byte slot per period (tables of 2, 4, 8,
 * ...): about 780 bytes measured on the benchmark's orders (docs/performance.md).
 */
#include "customer_priority.h"

#include "calendar.h"
#include "int64_sort.h"
#include "order_key.h"
#include "population.h"
#include "profile_state.h"
#include "xyz.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(segmentation_customers);
PG_FUNCTION_INFO_V1(segmentation_cohorts);

/* Columns of the lines query. */
enum
{
	LINE_CUSTOMER_ID,
	LINE_ORDERED_AT,
	LINE_AMOUNT,
	LINE_ORDER_ID,
	LINE_RETURNED,
	LINE_DISCOUNT,
	LINE_MARGIN,
	LINE_NATTS
};

/* One customer: everything its _customers row is computed from. */
/*
 * What the cohorts need beyond the profile and XYZ states, per period: the
 * returned amounts (as revenue), and the purchase rows without order id of a
 * customer whose other purchases have one (each such row is an order).
 * Allocated for a customer with such rows only.
 */
typedef struct CohortPeriods
{
	XyzState	returned;
	XyzState	loose;
} CohortPeriods;

/*
 * One customer: everything its _customers row is computed from.  What each
 * line updates comes first (the batch prefetches it), the rest after.
 */
typedef struct ScanCustomer
{
	int64		customer_id;
	ProfileState profile;
	XyzState	xyz;
	bool		has_margin;
	MoneySum	margin;
	CohortPeriods *cohort;		/* NULL until needed */
} ScanCustomer;

/* The bytes of a customer that a line updates, but for the margin. */
#define SCAN_HOT_BYTES offsetof(ScanCustomer, has_margin)

typedef struct ScanEntry
{
	int64		customer_id;
	ScanCustomer *customer;
	char		status;
} ScanEntry;

/* The hash of a customer id (spread: ids are often dense integers). */
static inline uint32
scan_hash_of(int64 customer_id)
{
	return (uint32) order_key_mix((uint64) customer_id);
}

#if defined(__GNUC__) || defined(__clang__)
#define prefetch(address) __builtin_prefetch(address)
#else
#define prefetch(address) ((void) 0)
#endif

#define SH_PREFIX scan_hash
#define SH_ELEMENT_TYPE ScanEntry
#define SH_KEY_TYPE int64
#define SH_KEY customer_id
#define SH_HASH_KEY(tb, key) scan_hash_of(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * Lines are added in batches of this many: the batch's hash slots, then its
 * customers, then the day and period each row updates are prefetched before
 * they are used, so that the cache misses of a million customers' states
 * overlap instead of queueing (as in src/population.c).
 */
#define SCAN_BATCH_SIZE 32

/* A line waiting in the batch: checked, its numerics copied into the batch. */
typedef struct PendingLine
{
	int64		customer_id;
	uint32		hash;
	ScanCustomer *customer;
	Numeric		margin;			/* NULL if none */
	bool		has_amount;		/* else the line adds only its margin */
	int32		period;			/* XYZ period of the row, when has_amount */
	ProfileRow	row;
} PendingLine;

/* Customers are allocated this many at a time, so they never move. */
#define SCAN_CHUNK_SIZE 4096

/* Check the memory limit every this many new customers. */
#define MEMORY_CHECK_INTERVAL 1024

/* The scan: its parameters, its customers, and the receiver of the rows. */
typedef struct CustomerScan
{
	DestReceiver receiver;		/* first: the executor sees a DestReceiver */
	TimestampTz as_of;
	pg_tz	   *zone;
	PeriodKind	period;
	bool		discount_mapped;
	bool		cohorts;		/* keep what segmentation_cohorts() needs too */
	char	   *lines;			/* the query it ran */
	SubTransactionId subtransaction;	/* where it was kept */
	MemoryContext context;		/* of the scan, its customers and their states */
	MemoryContext row_context;	/* reset after each row */
	scan_hash_hash *customers;
	ScanCustomer **members;		/* in order of first sight */
	uint32		member_count;
	uint32		member_capacity;
	ScanCustomer *chunk;		/* the chunk being filled */
	uint32		chunk_used;
	OrderKeyInfo *order_key;
	Oid			order_id_collation;
	int64		rows;
	MemoryContext batch_context;	/* the pending lines' numerics */
	int			pending_count;
	PendingLine pending[SCAN_BATCH_SIZE];
} CustomerScan;

/*
 * The memory limit of score_population() holds for the scan too.
 */
static void
scan_check_memory(CustomerScan *scan)
{
	population_memory_check(scan->context, scan->member_count, "the segmentation",
							"Raise customer_priority.population_memory_limit.");
}

/*
 * The customer of an id, created empty on first sight.
 */
static ScanCustomer *
scan_customer(CustomerScan *scan, int64 customer_id, uint32 hash)
{
	bool		found;
	ScanCustomer *customer;
#if PG_VERSION_NUM >= 140000
	ScanEntry  *entry = scan_hash_insert_hash(scan->customers, customer_id, hash, &found);
#else
	ScanEntry  *entry = scan_hash_insert(scan->customers, customer_id, &found);

	(void) hash;
#endif

	if (found)
		return entry->customer;
	if (scan->chunk == NULL || scan->chunk_used == SCAN_CHUNK_SIZE)
	{
		scan->chunk = MemoryContextAllocHuge(scan->context, sizeof(ScanCustomer) * SCAN_CHUNK_SIZE);
		scan->chunk_used = 0;
	}
	if (scan->member_count == scan->member_capacity)
	{
		scan->member_capacity = Max(scan->member_capacity * 2, 1024);
		scan->members = scan->members == NULL
			? MemoryContextAllocHuge(scan->context, sizeof(ScanCustomer *) * scan->member_capacity)
			: repalloc_huge(scan->members, sizeof(ScanCustomer *) * scan->member_capacity);
	}
	customer = &scan->chunk[scan->chunk_used++];
	customer->customer_id = customer_id;
	customer->has_margin = false;
	memset(&customer->margin, 0, sizeof(MoneySum));
	profile_state_init(&customer->profile, scan->as_of, scan->zone, scan->discount_mapped);
	xyz_state_init(&customer->xyz, scan->as_of, scan->period, scan->zone);
	customer->cohort = NULL;
	scan->members[scan->member_count++] = customer;
	entry->customer = customer;
	if (scan->member_count % MEMORY_CHECK_INTERVAL == 0)
		scan_check_memory(scan);
	return customer;
}

/*
 * The lines query must return the columns this file reads, with these types.
 */
static void
scan_check_columns(CustomerScan *scan, TupleDesc desc)
{
	static const Oid types[LINE_NATTS] = {INT8OID, TIMESTAMPTZOID, NUMERICOID, InvalidOid,
	NUMERICOID, NUMERICOID, NUMERICOID};

	if (desc->natts != LINE_NATTS)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the lines query of segmentation_customers() must return %d columns, not %d",
						LINE_NATTS, desc->natts)));
	for (int i = 0; i < LINE_NATTS; i++)
		if (OidIsValid(types[i]) && TupleDescAttr(desc, i)->atttypid != types[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %d of the lines query of segmentation_customers() must be of type %s, not %s",
							i + 1, format_type_be(types[i]),
							format_type_be(TupleDescAttr(desc, i)->atttypid))));
	scan->order_id_collation = TupleDescAttr(desc, LINE_ORDER_ID)->attcollation;
	if (TupleDescAttr(desc, LINE_ORDER_ID)->atttypid != UNKNOWNOID)
		scan->order_key = order_key_info_for_type(TupleDescAttr(desc, LINE_ORDER_ID)->atttypid,
												  scan->context);
}

/*
 * A numeric of the line, copied into the batch's memory.
 */
static Numeric
batch_numeric(Datum value)
{
	return (Numeric) PG_DETOAST_DATUM_COPY(value);
}

/*
 * Check a line as the aggregates do and put it in the batch.
 */
static void
scan_queue_line(CustomerScan *scan, Datum *values, bool *nulls)
{
	PendingLine *line;
	ProfileRow *row;
	MemoryContext old;

	/* the rows GROUP BY's WHERE leaves out */
	if (nulls[LINE_CUSTOMER_ID] || nulls[LINE_ORDERED_AT] ||
		DatumGetTimestampTz(values[LINE_ORDERED_AT]) > scan->as_of)
		return;
	old = MemoryContextSwitchTo(scan->batch_context);
	line = &scan->pending[scan->pending_count++];
	row = &line->row;
	line->customer_id = DatumGetInt64(values[LINE_CUSTOMER_ID]);
	line->margin = NULL;
	if (!nulls[LINE_MARGIN])
	{
		line->margin = batch_numeric(values[LINE_MARGIN]);
		cp_check_finite_amount(line->margin, "margin");
	}
	line->has_amount = !nulls[LINE_AMOUNT];
	if (line->has_amount)
	{
		row->ordered_at = DatumGetTimestampTz(values[LINE_ORDERED_AT]);
		cp_check_finite_timestamp(row->ordered_at, "ordered_at");
		row->amount = batch_numeric(values[LINE_AMOUNT]);
		cp_check_finite_amount(row->amount, "amount");
		row->returned_amount = NULL;
		if (!nulls[LINE_RETURNED])
		{
			row->returned_amount = batch_numeric(values[LINE_RETURNED]);
			cp_check_returned_amount(row->returned_amount);
		}
		row->discounted = false;
		if (!nulls[LINE_DISCOUNT])
		{
			Numeric		discount = DatumGetNumeric(values[LINE_DISCOUNT]);

			cp_check_finite_amount(discount, "discount");
			row->discounted = cp_numeric_sign(discount) > 0;
		}
		row->has_order_key = !nulls[LINE_ORDER_ID] && scan->order_key != NULL;
		row->order_key = row->has_order_key
			? order_key(scan->order_key, values[LINE_ORDER_ID], scan->order_id_collation)
			: 0;
	}
	MemoryContextSwitchTo(old);
}

/*
 * What segmentation_cohorts() needs beyond the profile and XYZ states: the
 * returned amounts by period, and the purchase rows without order id by
 * period when other rows have one (each is an order of its own).
 */
static CohortPeriods *
scan_cohort_periods(CustomerScan *scan, ScanCustomer *customer)
{
	if (customer->cohort == NULL)
	{
		customer->cohort = MemoryContextAlloc(scan->context, sizeof(CohortPeriods));
		xyz_state_init(&customer->cohort->returned, scan->as_of, scan->period, scan->zone);
		xyz_state_init(&customer->cohort->loose, scan->as_of, scan->period, scan->zone);
	}
	return customer->cohort;
}

/*
 * Called before the line is added to the profile and XYZ states.  Until a
 * customer's first purchase line with an order id, its purchase rows (all
 * without one) are the XYZ state's; from then on, those without an id are
 * counted apart: the first keyed line copies the counts so far.
 */
static void
scan_add_cohort_line(CustomerScan *scan, ScanCustomer *customer, const PendingLine *line)
{
	const XyzState *xyz = &customer->xyz;
	bool		keyed = customer->profile.orders.used > 0;

	if (line->row.returned_amount != NULL)
		xyz_state_add_in_period(&scan_cohort_periods(scan, customer)->returned, line->period,
								line->row.returned_amount, scan->context);
	if (cp_numeric_sign(line->row.amount) <= 0)
		return;
	if (line->row.has_order_key && !keyed && xyz->has_purchase)
	{
		CohortPeriods *cohort = scan_cohort_periods(scan, customer);

		for (uint32 i = 0; i < xyz->capacity; i++)
			if (xyz->entries[i].used && xyz->entries[i].purchase_rows > 0)
				xyz_state_count_purchases(&cohort->loose, xyz->entries[i].period,
										  xyz->entries[i].purchase_rows, scan->context);
	}
	else if (!line->row.has_order_key && keyed)
		xyz_state_count_purchases(&scan_cohort_periods(scan, customer)->loose, line->period, 1,
								  scan->context);
}

/*
 * Add the pending lines to their customers, in passes over the batch:
 * prefetch the hash slots; find the customers, prefetching them; prefetch
 * the last purchase day and the period entry each line will touch; add.
 */
static void
scan_flush(CustomerScan *scan)
{
	scan_hash_hash *customers = scan->customers;
	int			count = scan->pending_count;

	for (int i = 0; i < count; i++)
	{
		PendingLine *line = &scan->pending[i];

		line->hash = scan_hash_of(line->customer_id);
		prefetch(&customers->data[line->hash & customers->sizemask]);
	}
	for (int i = 0; i < count; i++)
	{
		PendingLine *line = &scan->pending[i];

		line->customer = scan_customer(scan, line->customer_id, line->hash);
		for (Size offset = 0; offset < SCAN_HOT_BYTES; offset += 64)
			prefetch((char *) line->customer + offset);
	}
	for (int i = 0; i < count; i++)
	{
		PendingLine *line = &scan->pending[i];
		const DaySet *days = &line->customer->profile.unkeyed_days;
		const void *slot;

		if (!line->has_amount)
			continue;
		if (days->count > 0)
			prefetch(&days->days[days->count - 1]);
		line->period = xyz_period_of(line->row.ordered_at, scan->period, scan->zone);
		slot = xyz_state_slot(&line->customer->xyz, line->period);
		if (slot != NULL)
			prefetch(slot);
	}
	for (int i = 0; i < count; i++)
	{
		PendingLine *line = &scan->pending[i];
		ScanCustomer *customer = line->customer;

		if (line->margin != NULL)
		{
			money_sum_add(&customer->margin, line->margin, scan->context);
			customer->has_margin = true;
		}
		if (!line->has_amount)
			continue;
		if (scan->cohorts)
			scan_add_cohort_line(scan, customer, line);
		profile_state_add(&customer->profile, &line->row, scan->context);
		/* at or before as_of: scan_queue_line() left the others out */
		xyz_state_add_in_period(&customer->xyz, line->period, line->row.amount, scan->context);
	}
	scan->pending_count = 0;
	MemoryContextReset(scan->batch_context);
}

/*
 * After each line: let a cancel in now and then, and check the memory limit
 * as the known customers' states grow too (new customers check it as well).
 */
static void
scan_count_row(CustomerScan *scan)
{
	scan->rows++;
	if ((scan->rows & 0xFFFF) == 0)
	{
		CHECK_FOR_INTERRUPTS();
		scan_check_memory(scan);
	}
}

/*
 * The receiver's callbacks: each row of the lines query goes straight into
 * the states, without a copy into a tuple table.
 */
static bool
scan_receive(TupleTableSlot *slot, DestReceiver *self)
{
	CustomerScan *scan = (CustomerScan *) self;

	slot_getallattrs(slot);
	scan_queue_line(scan, slot->tts_values, slot->tts_isnull);
	if (scan->pending_count == SCAN_BATCH_SIZE)
		scan_flush(scan);
	scan_count_row(scan);
	return true;
}

static void
scan_startup(DestReceiver *self, int operation, TupleDesc desc)
{
	scan_check_columns((CustomerScan *) self, desc);
}

static void
scan_shutdown(DestReceiver *self)
{
}

static void
scan_destroy(DestReceiver *self)
{
}

/*
 * Run the lines query, every row into the scan.
 */
static void
scan_run(CustomerScan *scan)
{
	SPIPlanPtr	plan;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(scan->lines, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the lines query of segmentation_customers() must be a SELECT")));
#if PG_VERSION_NUM >= 140000
	{
		SPIExecuteOptions options = {0};

		/* in the caller's snapshot: the functions are STABLE */
		options.read_only = true;
		options.dest = &scan->receiver;
		if (SPI_execute_plan_extended(plan, &options) < 0)
			elog(ERROR, "SPI_execute_plan_extended failed");
	}
#else
	{
		/* PostgreSQL 13 has no receiver for SPI: fetch in batches */
		Portal		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);

		scan_check_columns(scan, portal->tupDesc);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 10000);
			if (SPI_processed == 0)
				break;
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				Datum		values[LINE_NATTS];
				bool		nulls[LINE_NATTS];

				heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
				scan_queue_line(scan, values, nulls);
				if (scan->pending_count == SCAN_BATCH_SIZE)
					scan_flush(scan);
				scan_count_row(scan);
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
	}
#endif
	scan_flush(scan);
	SPI_finish();
}

/*
 * The row type of a composite result column.
 */
static TupleDesc
column_row_type(TupleDesc desc, int column)
{
	TupleDesc	type = lookup_rowtype_tupdesc_copy(TupleDescAttr(desc, column)->atttypid, -1);

	return BlessTupleDesc(type);
}

/*
 * A scan of the rows of a lines query at or before as_of, their calendar the
 * time zone's and their XYZ periods of the given kind, in a context of its
 * own under parent.
 */
static CustomerScan *
scan_create(const char *lines, TimestampTz as_of, text *time_zone, text *period,
			MemoryContext parent)
{
	MemoryContext context = AllocSetContextCreate(parent, "segmentation scan",
												  ALLOCSET_DEFAULT_SIZES);
	CustomerScan *scan = MemoryContextAllocZero(context, sizeof(CustomerScan));

	scan->context = context;
	scan->receiver.receiveSlot = scan_receive;
	scan->receiver.rStartup = scan_startup;
	scan->receiver.rShutdown = scan_shutdown;
	scan->receiver.rDestroy = scan_destroy;
	/* a tag SPI reads: DestNone would mean that the rows are discarded */
	scan->receiver.mydest = DestTuplestore;
	cp_check_finite_timestamp(as_of, "as_of");
	scan->as_of = as_of;
	scan->zone = cp_time_zone(text_to_cstring(time_zone));
	scan->period = xyz_parse_period(text_to_cstring(period));
	scan->lines = MemoryContextStrdup(context, lines);
	scan->row_context = AllocSetContextCreate(context, "segmentation row", ALLOCSET_SMALL_SIZES);
	scan->batch_context = AllocSetContextCreate(context, "segmentation batch", ALLOCSET_SMALL_SIZES);
	scan->customers = scan_hash_create(context, 1024, NULL);
	return scan;
}

static void
scan_free(CustomerScan *scan)
{
	MemoryContextDelete(scan->context);
}

/*
 * The scan of the last segmentation_customers() call of this transaction,
 * kept for a segmentation_cohorts() call with the same lines query: a
 * refresh fills _customers, then _cohorts, from one pass over the orders (and
 * so from one snapshot of them).  One at a time, moved to CurTransactionContext:
 * gone at the end of the (sub)transaction, or when the next pass starts.
 */
static CustomerScan *kept_scan = NULL;

static void
kept_scan_forget(void)
{
	if (kept_scan != NULL)
		scan_free(kept_scan);
	kept_scan = NULL;
}

/* Its memory goes with the transaction's: only the pointer is cleared. */
static void
kept_scan_at_transaction_end(XactEvent event, void *arg)
{
	kept_scan = NULL;
}

static void
kept_scan_at_subtransaction_end(SubXactEvent event, SubTransactionId subtransaction,
								SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && kept_scan != NULL &&
		kept_scan->subtransaction == subtransaction)
		kept_scan = NULL;
	else if (event == SUBXACT_EVENT_COMMIT_SUB && kept_scan != NULL &&
			 kept_scan->subtransaction == subtransaction)
		kept_scan->subtransaction = parent;
}

static void
kept_scan_keep(CustomerScan *scan)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(kept_scan_at_transaction_end, NULL);
		RegisterSubXactCallback(kept_scan_at_subtransaction_end, NULL);
		registered = true;
	}
	MemoryContextSetParent(scan->context, CurTransactionContext);
	scan->subtransaction = GetCurrentSubTransactionId();
	kept_scan = scan;
}

/*
 * The kept scan if it ran this lines query with these parameters (it is then
 * no longer kept), else NULL.
 */
static CustomerScan *
kept_scan_take(const char *lines, TimestampTz as_of, text *time_zone, text *period)
{
	CustomerScan *scan = kept_scan;

	if (scan == NULL || strcmp(scan->lines, lines) != 0 || scan->as_of != as_of ||
		!cp_time_zone_equal(scan->zone, cp_time_zone(text_to_cstring(time_zone))) ||
		scan->period != xyz_parse_period(text_to_cstring(period)))
		return NULL;
	kept_scan = NULL;
	return scan;
}

/* A customer and its id side by side: sorting reads no customer. */
typedef struct SortedCustomer
{
	int64		customer_id;
	ScanCustomer *customer;
} SortedCustomer;

static int
compare_customer_ids(const void *a, const void *b)
{
	int64		x = ((const SortedCustomer *) a)->customer_id;
	int64		y = ((const SortedCustomer *) b)->customer_id;

	return (x > y) - (x < y);
}

/*
 * Put the members in customer id order: the generation table's unique index
 * on it then grows at its right edge as the rows are inserted.
 */
static void
scan_sort_members(CustomerScan *scan)
{
	SortedCustomer *sorted;

	if (scan->member_count < 2)
		return;
	sorted = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(SortedCustomer) * scan->member_count);
	for (uint32 i = 0; i < scan->member_count; i++)
	{
		sorted[i].customer_id = scan->members[i]->customer_id;
		sorted[i].customer = scan->members[i];
	}
	qsort(sorted, scan->member_count, sizeof(SortedCustomer), compare_customer_ids);
	for (uint32 i = 0; i < scan->member_count; i++)
		scan->members[i] = sorted[i].customer;
	pfree(sorted);
}

/* segmentation_customers() between its calls: one row per call. */
typedef struct CustomerRows
{
	CustomerScan *scan;
	uint32		next;			/* the next member to return */
	TupleDesc	result;
	TupleDesc	profile_type;
	TupleDesc	xyz_type;
} CustomerRows;

static CustomerRows *
customer_rows_start(FunctionCallInfo fcinfo, MemoryContext context)
{
	CustomerRows *rows = MemoryContextAllocZero(context, sizeof(CustomerRows));
	MemoryContext old = MemoryContextSwitchTo(context);
	CustomerScan *scan;

	if (get_call_result_type(fcinfo, NULL, &rows->result) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "segmentation_customers must return a composite type");
	rows->result = BlessTupleDesc(rows->result);
	rows->profile_type = column_row_type(rows->result, 1);
	rows->xyz_type = column_row_type(rows->result, 2);
	MemoryContextSwitchTo(old);

	/*
	 * The scan lives in the calls' context, so that it goes with the query
	 * if that ends before the last row (a LIMIT, an error); it moves to the
	 * transaction's when kept.
	 */
	kept_scan_forget();
	scan = scan_create(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_TIMESTAMPTZ(1),
					   PG_GETARG_TEXT_PP(2), PG_GETARG_TEXT_PP(3), context);
	rows->scan = scan;
	scan->discount_mapped = PG_GETARG_BOOL(4);
	scan->cohorts = true;
	scan_run(scan);
	scan_sort_members(scan);
	return rows;
}

/*
 * The next customer's row, or NULL after the last (customers without a
 * counted row have none: GROUP BY's customer_profile() is NULL for them).
 */
static HeapTuple
customer_rows_next(CustomerRows *rows)
{
	CustomerScan *scan = rows->scan;

	while (rows->next < scan->member_count)
	{
		ScanCustomer *customer = scan->members[rows->next++];
		Datum		values[4];
		bool		nulls[4] = {false};

		if (customer->profile.rows == 0)
			continue;
		values[0] = Int64GetDatum(customer->customer_id);
		values[1] = profile_state_datum(&customer->profile, rows->profile_type);
		values[2] = xyz_state_datum(&customer->xyz, rows->xyz_type);
		if (customer->has_margin)
			values[3] = NumericGetDatum(money_sum_value(&customer->margin));
		else
			nulls[3] = true;
		return heap_form_tuple(rows->result, values, nulls);
	}
	return NULL;
}

/*
 * segmentation_customers(lines text, as_of timestamptz, time_zone text,
 * xyz_period text, discount_mapped boolean): one row per customer with a
 * counted row, in customer id order: customer_id, profile, xyz, profit (sum
 * of margins, NULL without one).  A row per call, so that nothing is stored
 * twice when it is called in a select list; the scan is kept (for
 * segmentation_cohorts()) once the last row is returned.
 */
Datum
segmentation_customers(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	CustomerRows *rows;
	HeapTuple	tuple;

	if (SRF_IS_FIRSTCALL())
	{
		funcctx = SRF_FIRSTCALL_INIT();
		funcctx->user_fctx = customer_rows_start(fcinfo, funcctx->multi_call_memory_ctx);
	}
	funcctx = SRF_PERCALL_SETUP();
	rows = (CustomerRows *) funcctx->user_fctx;
	tuple = customer_rows_next(rows);
	if (tuple != NULL)
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(tuple));
	kept_scan_keep(rows->scan);
	SRF_RETURN_DONE(funcctx);
}

/*
 * The cohorts: what <name>_cohorts counts per first-purchase cohort and period
 * (docs/segmentation.md, "<name>_cohorts"), from the same states.
 */
typedef struct CohortCell
{
	uint64		key;			/* cohort_cell_key(cohort period, period) */
	char		status;
	int64		active;			/* customers with a purchase row in the period */
	int64		regulars;		/* regular customers who reached regular_min then */
	bool		has_revenue;
	MoneySum	revenue;		/* net amount of the cohort's rows in the period */
} CohortCell;

#define SH_PREFIX cohort_cells
#define SH_ELEMENT_TYPE CohortCell
#define SH_KEY_TYPE uint64
#define SH_KEY key
#define SH_HASH_KEY(tb, key) ((uint32) order_key_mix(key))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * A cell's key: the cohort's period in the high half, the period in the low,
 * each with its sign bit flipped, so that keys sort as (cohort, period).
 */
static inline uint64
cohort_cell_key(int32 cohort, int32 period)
{
	return ((uint64) ((uint32) cohort ^ 0x80000000U) << 32) | ((uint32) period ^ 0x80000000U);
}

static inline int32
cohort_cell_cohort(uint64 key)
{
	return (int32) ((uint32) (key >> 32) ^ 0x80000000U);
}

static inline int32
cohort_cell_period(uint64 key)
{
	return (int32) ((uint32) key ^ 0x80000000U);
}

static CohortCell *
cohort_cell(cohort_cells_hash *cells, int32 cohort, int32 period)
{
	bool		found;
	uint64		key = cohort_cell_key(cohort, period);
	CohortCell *cell = cohort_cells_insert(cells, key, &found);

	if (!found)
	{
		cell->active = cell->regulars = 0;
		cell->has_revenue = false;
		memset(&cell->revenue, 0, sizeof(MoneySum));
	}
	return cell;
}

static int
compare_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * The period in which a customer's purchases (orders with an id counted once,
 * in the period of their first purchase line; purchase rows without one each)
 * reach regular_min, or false if they never do.
 */
static bool
regular_period(const ScanCustomer *customer, int64 regular_min, int32 *period)
{
	bool		keyed = customer->profile.orders.used > 0;
	const XyzState *rows = !keyed ? &customer->xyz
		: customer->cohort != NULL ? &customer->cohort->loose : NULL;
	const OrderMap *orders = &customer->profile.orders;
	int32	   *periods;
	int64		count = 0;
	int64		total = 0;

	for (uint32 i = 0; rows != NULL && i < rows->capacity; i++)
		if (rows->entries[i].used)
			total += rows->entries[i].purchase_rows;
	if (keyed)
		total += orders->used;
	if (total < regular_min)
		return false;
	/* every purchase's period, sorted; the regular_min-th is the answer */
	periods = palloc(sizeof(int32) * total);
	for (uint32 i = 0; rows != NULL && i < rows->capacity; i++)
		for (int64 k = 0; rows->entries[i].used && k < rows->entries[i].purchase_rows; k++)
			periods[count++] = rows->entries[i].period;
	for (uint32 i = 0; keyed && i < orders->capacity; i++)
		if (orders->slots[i].used)
			periods[count++] = xyz_period_of(orders->slots[i].first_at, customer->xyz.kind,
											 customer->xyz.zone);
	qsort(periods, count, sizeof(int32), compare_int32);
	*period = periods[regular_min - 1];
	pfree(periods);
	return true;
}

/*
 * Add one customer (with a purchase) to the cells of its cohort.
 */
static void
cohort_add_customer(cohort_cells_hash *cells, const ScanCustomer *customer, bool regular,
					int64 regular_min, MemoryContext context)
{
	int32		cohort = customer->xyz.first_period;
	int32		reached;

	for (uint32 i = 0; i < customer->xyz.capacity; i++)
	{
		const PeriodEntry *entry = &customer->xyz.entries[i];
		CohortCell *cell;

		if (!entry->used || entry->period < cohort)
			continue;
		cell = cohort_cell(cells, cohort, entry->period);
		cell->active += entry->purchase_rows > 0;
		money_sum_merge(&cell->revenue, &entry->revenue, context);
		cell->has_revenue = true;
	}
	for (uint32 i = 0; customer->cohort != NULL && i < customer->cohort->returned.capacity; i++)
	{
		const PeriodEntry *entry = &customer->cohort->returned.entries[i];
		CohortCell *cell;

		if (!entry->used || entry->period < cohort)
			continue;
		cell = cohort_cell(cells, cohort, entry->period);
		money_sum_add_negated(&cell->revenue, money_sum_value(&entry->revenue), context);
		cell->has_revenue = true;
	}
	if (regular && regular_period(customer, regular_min, &reached))
		cohort_cell(cells, cohort, reached)->regulars++;
}

static int
compare_cells(const void *a, const void *b)
{
	uint64		x = (*(CohortCell *const *) a)->key;
	uint64		y = (*(CohortCell *const *) b)->key;

	return (x > y) - (x < y);
}

/*
 * The customer ids of an array, sorted, NULLs left out.
 */
static int64 *
sorted_ids(ArrayType *array, int *count)
{
	Datum	   *values;
	bool	   *nulls;
	int			n;
	int64	   *ids;

	deconstruct_array(array, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &values, &nulls, &n);
	ids = palloc(sizeof(int64) * Max(n, 1));
	*count = 0;
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			ids[(*count)++] = DatumGetInt64(values[i]);
	int64_sort(ids, *count);
	return ids;
}

static bool
contains_id(const int64 *ids, int count, int64 id)
{
	int			low = 0;
	int			high = count - 1;

	while (low <= high)
	{
		int			middle = low + (high - low) / 2;

		if (ids[middle] == id)
			return true;
		if (ids[middle] < id)
			low = middle + 1;
		else
			high = middle - 1;
	}
	return false;
}

/*
 * segmentation_cohorts(lines text, as_of timestamptz, time_zone text,
 * xyz_period text, regulars bigint[], regular_min bigint): per cohort and
 * period with activity: cohort and period_start (local dates), the active
 * customers, the net revenue (NULL without rows) and how many of the
 * regulars (the customers regular at as_of) reached regular_min purchases
 * in that period.  Rows with a NULL amount are not counted, as in
 * customer_profile().
 */
Datum
segmentation_cohorts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CustomerScan *scan;
	const char *lines = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		regular_min = PG_GETARG_INT64(5);
	int64	   *regulars;
	int			regular_count;
	cohort_cells_hash *cells;
	cohort_cells_iterator iterator;
	CohortCell *cell;
	CohortCell **sorted;
	uint32		count = 0;

	if (regular_min < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("regular_min must be at least 1, not " INT64_FORMAT, regular_min)));
	cp_init_materialized_srf(fcinfo);
	scan = kept_scan_take(lines, PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_TEXT_PP(2),
						  PG_GETARG_TEXT_PP(3));
	if (scan == NULL)
	{
		scan = scan_create(lines, PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_TEXT_PP(2),
						   PG_GETARG_TEXT_PP(3), CurrentMemoryContext);
		scan->cohorts = true;
		scan_run(scan);
	}

	regulars = sorted_ids(PG_GETARG_ARRAYTYPE_P(4), &regular_count);
	cells = cohort_cells_create(scan->context, 256, NULL);
	for (uint32 i = 0; i < scan->member_count; i++)
	{
		const ScanCustomer *customer = scan->members[i];

		if (customer->xyz.has_purchase)
			cohort_add_customer(cells, customer,
								contains_id(regulars, regular_count, customer->customer_id),
								regular_min, scan->context);
		cp_check_interrupts(i);
	}

	sorted = palloc(sizeof(CohortCell *) * Max(cells->members, 1));
	cohort_cells_start_iterate(cells, &iterator);
	while ((cell = cohort_cells_iterate(cells, &iterator)) != NULL)
		sorted[count++] = cell;
	qsort(sorted, count, sizeof(CohortCell *), compare_cells);
	for (uint32 i = 0; i < count; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false};

		cell = sorted[i];
		values[0] = DateADTGetDatum(xyz_period_start(cohort_cell_cohort(cell->key), scan->period));
		values[1] = DateADTGetDatum(xyz_period_start(cohort_cell_period(cell->key), scan->period));
		values[2] = Int64GetDatum(cell->active);
		if (cell->has_revenue)
			values[3] = NumericGetDatum(money_sum_value(&cell->revenue));
		else
			nulls[3] = true;
		values[4] = Int64GetDatum(cell->regulars);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	scan_free(scan);
	return (Datum) 0;
}
