/*
 * score_population.c
 *		The whole-table path: the aggregate score_population(customer_id,
 *		ordered_at, amount, as_of, bins, abc_a, abc_b [, order_id]) scores every
 *		customer of an orders table in one pass, and population_scores(bytea)
 *		returns one row per customer.
 *
 * Why: GROUP BY customer_id makes PostgreSQL keep a tuple, a hash entry and
 * an aggregate state per customer, then the break points and ABC cut-offs
 * need the customer rows again.  Here the aggregate keeps every customer's
 * CustomerState (the rfm() aggregate's own state, so the two agree by
 * construction) in one hash table, parallel workers' tables are merged by
 * the combine function, and the final function, which sees the whole
 * population, picks the break points and cut-offs with the code of
 * rfm_breaks()/abc_cutoffs() and scores every customer with the code of
 * rfm_score()/abc_class().  Its bytea result is decoded by
 * population_scores(); score_customers() (SQL) wraps both.
 *
 * NULL handling: rows with a NULL customer_id, ordered_at or amount are
 * skipped; a NULL order_id makes the row an order of its own; NULL as_of,
 * bins, abc_a or abc_b is an error.  Customers without a counted row are not
 * returned; customers without a purchase (only refunds) are returned with
 * NULL scores and class C, as rfm_score() and abc_class() would give.
 */
#include "customer_priority.h"

#include "abc.h"
#include "breaks.h"
#include "calendar.h"
#include "population.h"

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(score_population_transfn);
PG_FUNCTION_INFO_V1(score_population_combinefn);
PG_FUNCTION_INFO_V1(score_population_serialfn);
PG_FUNCTION_INFO_V1(score_population_deserialfn);
PG_FUNCTION_INFO_V1(score_population_finalfn);
PG_FUNCTION_INFO_V1(population_scores);

/*
 * Bump on any change of a serialized format (the state, or the scored
 * population returned by the final function).
 */
#define SCORE_STATE_VERSION 1
#define SCORED_VERSION 1

/* Argument positions of the transition function (0 is the state). */
#define ARG_CUSTOMER_ID 1
#define ARG_ORDERED_AT 2
#define ARG_AMOUNT 3
#define ARG_AS_OF 4
#define ARG_BINS 5
#define ARG_ABC_A 6
#define ARG_ABC_B 7
#define ARG_ORDER_ID 8

/* Columns of population_scores(). */
enum
{
	S_CUSTOMER_ID,
	S_FIRST_ORDER_AT,
	S_LAST_ORDER_AT,
	S_RECENCY_DAYS,
	S_FREQUENCY,
	S_MONETARY,
	S_R_SCORE,
	S_F_SCORE,
	S_M_SCORE,
	S_ABC_CLASS,
	S_NATTS
};

typedef struct ScoreState
{
	Population *population;
	int32		bins;
	Numeric		abc_a;			/* copies in the aggregate context */
	Numeric		abc_b;
} ScoreState;

/*
 * Raise an error for a NULL scoring parameter.
 */
static void
check_parameter_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/*
 * The first row's parameters, checked, in a new state.
 */
static ScoreState *
score_state_create(FunctionCallInfo fcinfo, MemoryContext context, bool with_order_id)
{
	ScoreState *state = (ScoreState *) MemoryContextAllocZero(context, sizeof(ScoreState));
	TimestampTz as_of = cp_as_of_argument(fcinfo, ARG_AS_OF, "scores");
	Numeric		a = PG_GETARG_NUMERIC(ARG_ABC_A);
	Numeric		b = PG_GETARG_NUMERIC(ARG_ABC_B);

	cp_check_finite_timestamp(as_of, "as_of");
	cp_check_bins(PG_GETARG_INT32(ARG_BINS), "bins");
	abc_check_thresholds(a, b);
	state->population = population_create(context, as_of, with_order_id);
	state->bins = PG_GETARG_INT32(ARG_BINS);
	state->abc_a = cp_numeric_copy(a, context);
	state->abc_b = cp_numeric_copy(b, context);
	return state;
}

/*
 * Is value the same number as expected?  Identical bytes are (a constant
 * arrives with the same bytes in every row), so the numeric comparison runs
 * only for another representation of the number, e.g. 0.80 for 0.8.
 */
static bool
same_number(Numeric value, Numeric expected)
{
	return (VARSIZE(value) == VARSIZE(expected) &&
			memcmp(value, expected, VARSIZE(value)) == 0) ||
		cp_numeric_cmp(value, expected) == 0;
}

/*
 * as_of, bins and the ABC thresholds must be the same in every row.
 */
static void
score_state_check_parameters(FunctionCallInfo fcinfo, ScoreState *state)
{
	if (cp_as_of_argument(fcinfo, ARG_AS_OF, "scores") != state->population->as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for all rows of score_population"),
				 errhint("Pass a constant or a parameter as as_of.")));
	if (PG_GETARG_INT32(ARG_BINS) != state->bins ||
		!same_number(PG_GETARG_NUMERIC(ARG_ABC_A), state->abc_a) ||
		!same_number(PG_GETARG_NUMERIC(ARG_ABC_B), state->abc_b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins, abc_a and abc_b must be the same for all rows of score_population"),
				 errhint("Pass constants or parameters.")));
}

/*
 * Transition: add the row to its customer's state.
 */
Datum
score_population_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ScoreState *state = PG_ARGISNULL(0) ? NULL : (ScoreState *) PG_GETARG_POINTER(0);
	bool		with_order_id = PG_NARGS() > ARG_ORDER_ID;
	OrderRow	row;

	check_parameter_not_null(fcinfo, ARG_BINS, "bins");
	check_parameter_not_null(fcinfo, ARG_ABC_A, "abc_a");
	check_parameter_not_null(fcinfo, ARG_ABC_B, "abc_b");
	if (state == NULL)
		state = score_state_create(fcinfo, context, with_order_id);
	else
		score_state_check_parameters(fcinfo, state);

	if (!PG_ARGISNULL(ARG_CUSTOMER_ID) &&
		order_row_from_arguments(fcinfo, ARG_ORDERED_AT, with_order_id ? ARG_ORDER_ID : -1, -1, &row))
		customer_state_add(population_customer(state->population, PG_GETARG_INT64(ARG_CUSTOMER_ID)),
						   &row, context);
	PG_RETURN_POINTER(state);
}

/*
 * Combine: merge the other population into this one (copied, since the other
 * may live in a short-lived context).
 */
Datum
score_population_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	ScoreState *state = PG_ARGISNULL(0) ? NULL : (ScoreState *) PG_GETARG_POINTER(0);
	ScoreState *other = PG_ARGISNULL(1) ? NULL : (ScoreState *) PG_GETARG_POINTER(1);

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
	{
		state = (ScoreState *) MemoryContextAllocZero(context, sizeof(ScoreState));
		state->population = population_create(context, other->population->as_of,
											  other->population->count_order_ids);
		state->bins = other->bins;
		state->abc_a = cp_numeric_copy(other->abc_a, context);
		state->abc_b = cp_numeric_copy(other->abc_b, context);
	}
	else if (state->bins != other->bins ||
			 cp_numeric_cmp(state->abc_a, other->abc_a) != 0 ||
			 cp_numeric_cmp(state->abc_b, other->abc_b) != 0)
		elog(ERROR, "cannot combine score_population states of different parameters");
	population_merge(state->population, other->population);
	PG_RETURN_POINTER(state);
}

/*
 * State to bytea: version, parameters, the population.
 */
Datum
score_population_serialfn(PG_FUNCTION_ARGS)
{
	ScoreState *state = (ScoreState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, SCORE_STATE_VERSION);
	pq_sendint32(&buf, state->bins);
	cp_state_send_numeric(&buf, state->abc_a);
	cp_state_send_numeric(&buf, state->abc_b);
	population_write(&buf, state->population);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * bytea to state, validated.
 */
Datum
score_population_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext context = cp_aggregate_context(fcinfo);
	StringInfoData buf;
	ScoreState *state = (ScoreState *) MemoryContextAllocZero(context, sizeof(ScoreState));

	cp_state_reader(&buf, PG_GETARG_BYTEA_PP(0));
	if (pq_getmsgbyte(&buf) != SCORE_STATE_VERSION)
		cp_state_corrupted("Unknown state version.");
	state->bins = pq_getmsgint(&buf, 4);
	if (state->bins < CP_MIN_BINS || state->bins > CP_MAX_BINS)
		cp_state_corrupted("Bad bins.");
	state->abc_a = cp_numeric_copy(cp_state_recv_numeric(&buf, "abc_a"), context);
	state->abc_b = cp_numeric_copy(cp_state_recv_numeric(&buf, "abc_b"), context);
	state->population = population_read(&buf, context);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/* One customer on the way to being scored. */
typedef struct Scored
{
	int64		customer_id;
	const CustomerState *state;
	Numeric		monetary;		/* net revenue */
} Scored;

/*
 * The population's break points and ABC cut-offs, from the customers with
 * a counted row (scored[0..count-1]).
 */
static void
population_model(const ScoreState *state, const Scored *scored, int64 count,
				 RfmBreaks *breaks, bool *has_breaks, AbcCutoffs *cut)
{
	MemoryContext context = CurrentMemoryContext;
	TimestampTz *last_order = palloc_extended(sizeof(TimestampTz) * Max(count, 1), MCXT_ALLOC_HUGE);
	int64	   *frequency = palloc_extended(sizeof(int64) * Max(count, 1), MCXT_ALLOC_HUGE);
	NumericList monetary = {0};
	NumericList abc_values = {0};
	int64		purchasers = 0;

	for (int64 i = 0; i < count; i++)
	{
		const CustomerState *customer = scored[i].state;

		if (customer->purchase_rows > 0)
		{
			last_order[purchasers] = customer->last_purchase;
			frequency[purchasers] = customer_state_frequency(customer);
			numeric_list_append(&monetary, scored[i].monetary, context);
			purchasers++;
		}
		if (cp_numeric_sign(scored[i].monetary) > 0)
			numeric_list_append(&abc_values, scored[i].monetary, context);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	*has_breaks = purchasers > 0;
	if (purchasers > 0)
		rfm_breaks_pick(last_order, frequency, &monetary, purchasers, state->bins, breaks);
	abc_find_cutoffs(&abc_values, ABC_PARETO, state->abc_a, state->abc_b, count, cut);
}

/*
 * Append one scored customer to the result.
 */
static void
write_scored(StringInfo buf, const Scored *scored, const RfmBreaks *breaks, const AbcCutoffs *cut,
			 DateADT as_of_date)
{
	const CustomerState *customer = scored->state;
	int			r = 0;
	int			f = 0;
	int			m = 0;
	int64		frequency = customer_state_frequency(customer);

	pq_sendint64(buf, scored->customer_id);
	pq_sendbyte(buf, customer->purchase_rows > 0);
	if (customer->purchase_rows > 0)
	{
		rfm_breaks_score(breaks, customer->last_purchase, frequency, scored->monetary, &r, &f, &m);
		pq_sendint64(buf, customer->first_purchase);
		pq_sendint64(buf, customer->last_purchase);
		/* recency_days as rfm() counts it: dates in the session's TimeZone */
		pq_sendint32(buf, as_of_date - cp_session_date(customer->last_purchase));
	}
	pq_sendint64(buf, frequency);
	cp_state_send_numeric(buf, scored->monetary);
	pq_sendbyte(buf, r);
	pq_sendbyte(buf, f);
	pq_sendbyte(buf, m);
	pq_sendbyte(buf, abc_class_of(ABC_PARETO, cut->a_min, cut->b_min, scored->monetary));
}

/*
 * Final: the break points and cut-offs of the whole population, then every
 * customer's scores, as bytea for population_scores().  NULL when no row was
 * aggregated.
 */
Datum
score_population_finalfn(PG_FUNCTION_ARGS)
{
	ScoreState *state;
	population_hash_iterator it;
	PopulationEntry *entry;
	Scored	   *scored;
	int64		count = 0;
	RfmBreaks	breaks;
	bool		has_breaks;
	AbcCutoffs	cut;
	StringInfoData buf;
	DateADT		as_of_date;

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (ScoreState *) PG_GETARG_POINTER(0);

	scored = palloc_extended(sizeof(Scored) * Max(state->population->customers->members, 1),
							 MCXT_ALLOC_HUGE);
	population_hash_start_iterate(state->population->customers, &it);
	while ((entry = population_hash_iterate(state->population->customers, &it)) != NULL)
	{
		const CustomerState *customer = population_state(state->population, entry->index);

		if (customer->rows == 0)
			continue;
		scored[count].customer_id = entry->customer_id;
		scored[count].state = customer;
		scored[count].monetary = numeric_sub_opt_error(money_sum_value(&customer->gross),
													   money_sum_value(&customer->returned),
													   NULL);
		count++;
	}
	population_model(state, scored, count, &breaks, &has_breaks, &cut);
	as_of_date = cp_session_date(state->population->as_of);

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, SCORED_VERSION);
	pq_sendint64(&buf, count);
	for (int64 i = 0; i < count; i++)
	{
		write_scored(&buf, &scored[i], &breaks, &cut, as_of_date);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * A materialize-mode set-returning function's tuplestore and descriptor.
 */
static void
init_materialized_result(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
#endif
}

/*
 * population_scores(score_population(...)): one row per scored customer.
 */
Datum
population_scores(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StringInfoData buf;
	int64		count;
	MemoryContext row_context;
	MemoryContext old;

	init_materialized_result(fcinfo);
	cp_state_reader(&buf, PG_GETARG_BYTEA_PP(0));
	if (pq_getmsgbyte(&buf) != SCORED_VERSION)
		cp_state_corrupted("Unknown version of a scored population.");
	count = pq_getmsgint64(&buf);
	if (count < 0 || count > (buf.len - buf.cursor) / 18)
		cp_state_corrupted("The customer count does not match the bytes.");

	row_context = AllocSetContextCreate(CurrentMemoryContext, "population_scores row",
										ALLOCSET_DEFAULT_SIZES);
	for (int64 i = 0; i < count; i++)
	{
		Datum		values[S_NATTS];
		bool		nulls[S_NATTS] = {false};
		bool		purchased;
		int			scores[3];
		char		class;

		old = MemoryContextSwitchTo(row_context);
		values[S_CUSTOMER_ID] = Int64GetDatum(pq_getmsgint64(&buf));
		purchased = pq_getmsgbyte(&buf);
		if (purchased)
		{
			values[S_FIRST_ORDER_AT] = TimestampTzGetDatum(pq_getmsgint64(&buf));
			values[S_LAST_ORDER_AT] = TimestampTzGetDatum(pq_getmsgint64(&buf));
			values[S_RECENCY_DAYS] = Int32GetDatum(pq_getmsgint(&buf, 4));
		}
		else
			nulls[S_FIRST_ORDER_AT] = nulls[S_LAST_ORDER_AT] = nulls[S_RECENCY_DAYS] = true;
		values[S_FREQUENCY] = Int64GetDatum(pq_getmsgint64(&buf));
		values[S_MONETARY] = NumericGetDatum(cp_state_recv_numeric(&buf, "monetary"));
		for (int k = 0; k < 3; k++)
		{
			scores[k] = pq_getmsgbyte(&buf);
			if (scores[k] > CP_MAX_BINS || (scores[k] == 0) == purchased)
				cp_state_corrupted("Bad score.");
			values[S_R_SCORE + k] = Int32GetDatum(scores[k]);
			nulls[S_R_SCORE + k] = !purchased;
		}
		class = pq_getmsgbyte(&buf);
		if (class < 'A' || class > 'C')
			cp_state_corrupted("Bad ABC class.");
		values[S_ABC_CLASS] = PointerGetDatum(cstring_to_text_with_len(&class, 1));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_context);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pq_getmsgend(&buf);
	MemoryContextDelete(row_context);
	return (Datum) 0;
}
