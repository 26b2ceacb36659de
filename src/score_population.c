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
 * population, picks the break points and cut-offs and scores every customer:
 * in int64 when every net revenue is exact in money units (nearly always),
 * else with the numeric code of rfm_breaks()/abc_cutoffs() and
 * rfm_score()/abc_class(); the tests hold both paths to the composable
 * aggregates' results.  Its bytea result is decoded by
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
#include "int64_sort.h"
#include "population.h"

#include "common/int.h"
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
#define SCORE_STATE_VERSION 2
#define SCORED_VERSION 2

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
		population_add_row(state->population, PG_GETARG_INT64(ARG_CUSTOMER_ID), &row);
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
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins, abc_a and abc_b must be the same for all rows of score_population"),
				 errhint("Pass constants or parameters.")));
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
	Numeric		monetary;		/* net revenue; NULL: see monetary_units */
	MoneyUnits	monetary_units;
} Scored;

/*
 * The population's model when every net revenue is exact in units: break
 * points and cut-offs compared as int64, no numeric in sight.
 */
typedef struct UnitModel
{
	RfmBreaks	breaks;			/* recency and frequency; monetary unused */
	int64		monetary[CP_MAX_BREAKS];
	bool		has_a;			/* class A is not empty */
	bool		has_b;
	int64		a_min;
	int64		b_min;
} UnitModel;

/*
 * The customer's net revenue as units, if gross, returned and their
 * difference are exact in units; else as a numeric.  True for units.
 */
static bool
scored_set_monetary(Scored *scored)
{
	const CustomerState *customer = scored->state;
	MoneyUnits	gross;
	MoneyUnits	returned;

	if (money_sum_units(&customer->gross, &gross) &&
		money_sum_units(&customer->returned, &returned) &&
		!pg_sub_s64_overflow(gross.units, returned.units, &scored->monetary_units.units))
	{
		scored->monetary_units.dscale = Max(gross.dscale, returned.dscale);
		scored->monetary = NULL;
		return true;
	}
	scored->monetary = numeric_sub_opt_error(money_sum_value(&customer->gross),
											 money_sum_value(&customer->returned), NULL);
	return false;
}

/*
 * The smallest integer >= factor * units.  factor is an ABC threshold, in
 * (0, 1], and units >= 0, so the result is between 0 and units.
 */
static int64
units_limit(Numeric factor, int64 units)
{
	Numeric		product = numeric_mul_opt_error(factor, int64_to_numeric(units), NULL);

	return DatumGetInt64(DirectFunctionCall1(numeric_int8,
											 DirectFunctionCall1(numeric_ceil,
																 NumericGetDatum(product))));
}

/*
 * ABC cut-offs over the ascending net revenues of the purchasers, as
 * abc_find_cutoffs() walks them: from the largest positive value down, a
 * group of equal values is A while the revenue before it is under a * total,
 * then B while under b * total.  In units, "before < a * total" is "before <
 * ceil(a * total)".  False when the total does not fit in int64.
 */
static bool
unit_cutoffs(const ScoreState *state, const int64 *monetary, int64 count, UnitModel *model)
{
	int64		total = 0;
	int64		before = 0;
	int64		a_limit;
	int64		b_limit;
	int64		i;

	for (i = count - 1; i >= 0 && monetary[i] > 0; i--)
		if (pg_add_s64_overflow(total, monetary[i], &total))
			return false;
	a_limit = units_limit(state->abc_a, total);
	b_limit = units_limit(state->abc_b, total);

	model->has_a = model->has_b = false;
	i = count - 1;
	while (i >= 0 && monetary[i] > 0)
	{
		int64		value = monetary[i];
		int64		group_end = i;

		while (i >= 0 && monetary[i] == value)
			i--;
		if (before < a_limit)
		{
			model->a_min = value;
			model->has_a = true;
		}
		else if (before < b_limit)
		{
			model->b_min = value;
			model->has_b = true;
		}
		else
			break;
		/* at most total: no overflow */
		before += value * (group_end - i);
	}
	return true;
}

/*
 * The last purchase and frequency of each purchaser among scored[0..count-1],
 * in new arrays; returns the number of purchasers.
 */
static int64
collect_purchasers(const Scored *scored, int64 count, TimestampTz **last_order, int64 **frequency)
{
	int64		purchasers = 0;

	*last_order = palloc_extended(sizeof(TimestampTz) * Max(count, 1), MCXT_ALLOC_HUGE);
	*frequency = palloc_extended(sizeof(int64) * Max(count, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < count; i++)
	{
		const CustomerState *customer = scored[i].state;

		if (customer->purchase_rows > 0)
		{
			(*last_order)[purchasers] = customer->last_purchase;
			(*frequency)[purchasers] = customer_state_frequency(customer);
			purchasers++;
		}
	}
	return purchasers;
}

/*
 * The model of a population whose net revenues are all in units (scored[i]
 * has a counted row); false if the ABC total overflows int64.
 */
static bool
population_unit_model(const ScoreState *state, const Scored *scored, int64 count, UnitModel *model)
{
	TimestampTz *last_order;
	int64	   *frequency;
	int64	   *monetary = palloc_extended(sizeof(int64) * Max(count, 1), MCXT_ALLOC_HUGE);
	int64		purchasers = collect_purchasers(scored, count, &last_order, &frequency);
	int64		n = 0;

	/* only purchasers have a positive net revenue: the ABC values too */
	for (int64 i = 0; i < count; i++)
		if (scored[i].state->purchase_rows > 0)
			monetary[n++] = scored[i].monetary_units.units;
	memset(model, 0, sizeof(UnitModel));
	if (purchasers > 0)
	{
		rfm_breaks_pick_recency_frequency(last_order, frequency, purchasers, state->bins,
										  &model->breaks);
		int64_sort(monetary, purchasers);
		for (int k = 1; k < state->bins; k++)
			model->monetary[k - 1] = monetary[rfm_quantile_index(k, state->bins, purchasers)];
	}
	return unit_cutoffs(state, monetary, purchasers, model);
}

/*
 * The population's break points and ABC cut-offs, from the customers with
 * a counted row (scored[0..count-1]), in numeric.
 */
static void
population_model(const ScoreState *state, const Scored *scored, int64 count,
				 RfmBreaks *breaks, bool *has_breaks, AbcCutoffs *cut)
{
	MemoryContext context = CurrentMemoryContext;
	TimestampTz *last_order;
	int64	   *frequency;
	int64		purchasers = collect_purchasers(scored, count, &last_order, &frequency);
	NumericList monetary = {0};
	NumericList abc_values = {0};

	for (int64 i = 0; i < count; i++)
	{
		if (scored[i].state->purchase_rows > 0)
			numeric_list_append(&monetary, scored[i].monetary, context);
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
 * One customer's scores and class under the unit model.
 */
static void
score_with_units(const UnitModel *model, const Scored *scored, int scores[3], char *class)
{
	const CustomerState *customer = scored->state;
	int64		monetary = scored->monetary_units.units;

	scores[0] = scores[1] = scores[2] = 0;
	if (customer->purchase_rows > 0)
	{
		int64		frequency = customer_state_frequency(customer);

		scores[0] = scores[1] = scores[2] = 1;
		for (int k = 0; k < model->breaks.bins - 1; k++)
		{
			scores[0] += customer->last_purchase > model->breaks.recency[k];
			scores[1] += frequency > model->breaks.frequency[k];
			scores[2] += monetary > model->monetary[k];
		}
	}
	if (monetary > 0 && model->has_a && monetary >= model->a_min)
		*class = 'A';
	else if (monetary > 0 && model->has_b && monetary >= model->b_min)
		*class = 'B';
	else
		*class = 'C';
}

/*
 * Append one scored customer to the result: its id, dates, frequency, net
 * revenue (as units or numeric), scores and class.
 */
static void
write_scored(StringInfo buf, const Scored *scored, const int scores[3], char class,
			 DateADT as_of_date)
{
	const CustomerState *customer = scored->state;

	pq_sendint64(buf, scored->customer_id);
	pq_sendbyte(buf, customer->purchase_rows > 0);
	if (customer->purchase_rows > 0)
	{
		pq_sendint64(buf, customer->first_purchase);
		pq_sendint64(buf, customer->last_purchase);
		/* recency_days as rfm() counts it: dates in the session's TimeZone */
		pq_sendint32(buf, as_of_date - cp_session_date(customer->last_purchase));
	}
	pq_sendint64(buf, customer_state_frequency(customer));
	pq_sendbyte(buf, scored->monetary == NULL);
	if (scored->monetary == NULL)
	{
		pq_sendint64(buf, scored->monetary_units.units);
		pq_sendint32(buf, scored->monetary_units.dscale);
	}
	else
		cp_state_send_numeric(buf, scored->monetary);
	for (int k = 0; k < 3; k++)
		pq_sendbyte(buf, scores[k]);
	pq_sendbyte(buf, class);
}

/*
 * Final: the break points and cut-offs of the whole population, then every
 * customer's scores, as bytea for population_scores().  NULL when no row was
 * aggregated.  When every net revenue is exact in units (nearly always) the
 * model is computed and applied in int64; otherwise, or if the ABC total
 * overflows int64, in numeric, with the code of rfm_breaks()/abc_cutoffs().
 */
Datum
score_population_finalfn(PG_FUNCTION_ARGS)
{
	ScoreState *state;
	Scored	   *scored;
	int64		count = 0;
	bool		all_units = true;
	UnitModel	unit_model;
	RfmBreaks	breaks;
	bool		has_breaks = false;
	AbcCutoffs	cut;
	StringInfoData buf;
	DateADT		as_of_date;

	cp_aggregate_context(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (ScoreState *) PG_GETARG_POINTER(0);
	/* adding the pending rows changes nothing a later call could see */
	population_flush(state->population);

	scored = palloc_extended(sizeof(Scored) * Max(population_size(state->population), 1),
							 MCXT_ALLOC_HUGE);
	for (uint32 i = 0; i < population_size(state->population); i++)
	{
		const PopulationMember *member = population_member(state->population, i);

		if (member->state.rows == 0)
			continue;
		scored[count].customer_id = member->customer_id;
		scored[count].state = &member->state;
		all_units &= scored_set_monetary(&scored[count]);
		count++;
		cp_check_interrupts(i);
	}
	if (all_units)
		all_units = population_unit_model(state, scored, count, &unit_model);
	if (!all_units)
	{
		for (int64 i = 0; i < count; i++)
			if (scored[i].monetary == NULL)
				scored[i].monetary = money_units_to_numeric(scored[i].monetary_units.units,
															scored[i].monetary_units.dscale);
		population_model(state, scored, count, &breaks, &has_breaks, &cut);
	}
	as_of_date = cp_session_date(state->population->as_of);

	pq_begintypsend(&buf);
	/* about 50 bytes per customer: spare the buffer's repeated doubling */
	enlargeStringInfo(&buf, Min(count * 52, (int64) MaxAllocSize / 2));
	pq_sendbyte(&buf, SCORED_VERSION);
	pq_sendint64(&buf, count);
	for (int64 i = 0; i < count; i++)
	{
		int			scores[3] = {0, 0, 0};
		char		class;

		if (all_units)
			score_with_units(&unit_model, &scored[i], scores, &class);
		else
		{
			if (scored[i].state->purchase_rows > 0)
				rfm_breaks_score(&breaks, scored[i].state->last_purchase,
								 customer_state_frequency(scored[i].state), scored[i].monetary,
								 &scores[0], &scores[1], &scores[2]);
			class = abc_class_of(ABC_PARETO, cut.a_min, cut.b_min, scored[i].monetary);
		}
		write_scored(&buf, &scored[i], scores, class, as_of_date);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * A net revenue written by write_scored().
 */
static Numeric
read_monetary(StringInfo buf)
{
	int			in_units = pq_getmsgbyte(buf);
	int64		units;
	int32		dscale;

	if (in_units == 0)
		return cp_state_recv_numeric(buf, "monetary");
	if (in_units != 1)
		cp_state_corrupted("Bad monetary flag.");
	units = pq_getmsgint64(buf);
	dscale = pq_getmsgint(buf, 4);
	if (dscale < 0 || dscale > 0x3FFF)
		cp_state_corrupted("Bad monetary scale.");
	return money_units_to_numeric(units, dscale);
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

	cp_init_materialized_srf(fcinfo);
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
		values[S_MONETARY] = NumericGetDatum(read_monetary(&buf));
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
