/*
 * aggregate_state.c
 *		customer_priority.aggregate_state: the SQL-visible transition type of the
 *		population aggregates rfm_breaks(), abc_cutoffs() and score_population()
 *		(not its polymorphic form with order_id: Citus refuses a polymorphic
 *		argument in a worker partial, so that one keeps its internal state and
 *		is aggregated on the coordinator).
 *
 * Why: Citus splits a user-defined aggregate into worker_partial_agg() on the
 * shards and coord_combine_agg() on the coordinator only if its transition type
 * is not a pseudo-type: an internal state makes it bring every order row to the
 * coordinator (docs/scale-out.md).  Citus moves the partial state as text, with
 * the type's output and input functions.
 *
 * The state is the aggregate's own internal state (its C code is unchanged),
 * held by an expanded object (utils/expandeddatum.h) in the aggregate context:
 * the transition function updates it in place and returns the same read/write
 * pointer, so nothing is copied or serialized per row, as array_append() does
 * for arrays.  It is flattened only when a datum must leave the backend (a
 * parallel worker's partial, Citus's output function): the flat form is
 *
 *		varlena header, version byte, kind byte, the aggregate's serialized state
 *
 * (the bytes of its serial function), and its text form is that in hex.  A
 * flat state met as an argument (from a parallel worker, from Citus, or typed
 * by a user) is read by the aggregate's own deserial function, which checks
 * every byte; the input function checks the version, the kind and the hex.
 */
#include "customer_priority.h"

#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(aggregate_state_in);
PG_FUNCTION_INFO_V1(aggregate_state_out);
PG_FUNCTION_INFO_V1(rfm_breaks_state_transfn);
PG_FUNCTION_INFO_V1(rfm_breaks_state_combinefn);
PG_FUNCTION_INFO_V1(rfm_breaks_state_finalfn);
PG_FUNCTION_INFO_V1(abc_cutoffs_state_transfn);
PG_FUNCTION_INFO_V1(abc_cutoffs_state_combinefn);
PG_FUNCTION_INFO_V1(abc_cutoffs_state_finalfn);
PG_FUNCTION_INFO_V1(score_population_state_transfn);
PG_FUNCTION_INFO_V1(score_population_state_combinefn);
PG_FUNCTION_INFO_V1(score_population_state_finalfn);

/* The aggregates' own support functions (breaks.c, abc.c, score_population.c). */
extern Datum rfm_breaks_transfn(PG_FUNCTION_ARGS);
extern Datum rfm_breaks_combinefn(PG_FUNCTION_ARGS);
extern Datum rfm_breaks_serialfn(PG_FUNCTION_ARGS);
extern Datum rfm_breaks_deserialfn(PG_FUNCTION_ARGS);
extern Datum rfm_breaks_finalfn(PG_FUNCTION_ARGS);
extern Datum abc_cutoffs_transfn(PG_FUNCTION_ARGS);
extern Datum abc_cutoffs_combinefn(PG_FUNCTION_ARGS);
extern Datum abc_cutoffs_serialfn(PG_FUNCTION_ARGS);
extern Datum abc_cutoffs_deserialfn(PG_FUNCTION_ARGS);
extern Datum abc_cutoffs_finalfn(PG_FUNCTION_ARGS);
extern Datum score_population_transfn(PG_FUNCTION_ARGS);
extern Datum score_population_combinefn(PG_FUNCTION_ARGS);
extern Datum score_population_serialfn(PG_FUNCTION_ARGS);
extern Datum score_population_deserialfn(PG_FUNCTION_ARGS);
extern Datum score_population_finalfn(PG_FUNCTION_ARGS);

/*
 * Bump on any change of the flat form's header; the kinds' own formats carry
 * their own version bytes.
 */
#define AGGREGATE_STATE_VERSION 1
#define FLAT_HEADER 2			/* version, kind */

/* Which aggregate a state belongs to: the kind byte of the flat form. */
typedef enum StateKind
{
	KIND_RFM_BREAKS = 1,
	KIND_ABC_CUTOFFS = 2,
	KIND_SCORE_POPULATION = 3,
	KIND_END
} StateKind;

typedef struct KindFunctions
{
	PGFunction	transfn;
	PGFunction	combinefn;
	PGFunction	serialfn;
	PGFunction	deserialfn;
	PGFunction	finalfn;
} KindFunctions;

static const KindFunctions kinds[KIND_END] = {
	[KIND_RFM_BREAKS] = {rfm_breaks_transfn, rfm_breaks_combinefn, rfm_breaks_serialfn,
	rfm_breaks_deserialfn, rfm_breaks_finalfn},
	[KIND_ABC_CUTOFFS] = {abc_cutoffs_transfn, abc_cutoffs_combinefn, abc_cutoffs_serialfn,
	abc_cutoffs_deserialfn, abc_cutoffs_finalfn},
	[KIND_SCORE_POPULATION] = {score_population_transfn, score_population_combinefn,
	score_population_serialfn, score_population_deserialfn, score_population_finalfn},
};

/* The expanded object: the internal state and, once flattened, its bytes. */
typedef struct ExpandedState
{
	ExpandedObjectHeader hdr;
	StateKind	kind;
	void	   *inner;			/* the aggregate's state, in the aggregate context */
	bytea	   *serialized;		/* serial function's result, NULL when stale */
} ExpandedState;

static Size state_get_flat_size(ExpandedObjectHeader *eohptr);
static void state_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods state_methods = {
	state_get_flat_size,
	state_flatten_into
};

/*
 * The serialized inner state, computed once per change, kept in the object's
 * context (get_flat_size and flatten_into come in pairs).
 */
static bytea *
state_serialized(ExpandedState *state)
{
	if (state->serialized == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(state->hdr.eoh_context);

		state->serialized = DatumGetByteaPP(DirectFunctionCall1(kinds[state->kind].serialfn,
																PointerGetDatum(state->inner)));
		MemoryContextSwitchTo(old);
	}
	return state->serialized;
}

static Size
state_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ExpandedState *state = (ExpandedState *) eohptr;

	return VARHDRSZ + FLAT_HEADER + VARSIZE_ANY_EXHDR(state_serialized(state));
}

static void
state_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ExpandedState *state = (ExpandedState *) eohptr;
	bytea	   *serialized = state_serialized(state);
	char	   *data = VARDATA(result);

	Assert(allocated_size == VARHDRSZ + FLAT_HEADER + VARSIZE_ANY_EXHDR(serialized));
	SET_VARSIZE(result, allocated_size);
	data[0] = AGGREGATE_STATE_VERSION;
	data[1] = (char) state->kind;
	memcpy(data + FLAT_HEADER, VARDATA_ANY(serialized), VARSIZE_ANY_EXHDR(serialized));
}

/*
 * Check the header of a flat state: its version, a known kind (this one unless
 * kind is 0) and something after it.
 */
static void
check_flat_header(const char *data, Size len, StateKind kind)
{
	/* every kind's serialized state starts with its own version byte */
	if (len <= FLAT_HEADER)
		cp_state_corrupted("The state ends before the aggregate's serialized state.");
	if (data[0] != AGGREGATE_STATE_VERSION)
		cp_state_corrupted("Unknown state version.");
	if (data[1] <= 0 || data[1] >= KIND_END)
		cp_state_corrupted("Unknown state kind.");
	if (kind != 0 && data[1] != (char) kind)
		cp_state_corrupted("The state belongs to another aggregate.");
}

/*
 * Datum of an expanded object holding inner: state's own object updated, or a
 * new one in a child of the aggregate context (where nodeAgg and Citus keep a
 * read/write expanded state without copying it).
 */
static Datum
state_wrap(FunctionCallInfo fcinfo, ExpandedState *state, StateKind kind, void *inner)
{
	if (state == NULL)
	{
		MemoryContext context = AllocSetContextCreate(cp_aggregate_context(fcinfo),
													  "customer_priority aggregate state",
													  ALLOCSET_SMALL_SIZES);

		state = (ExpandedState *) MemoryContextAllocZero(context, sizeof(ExpandedState));
		EOH_init_header(&state->hdr, &state_methods, context);
		state->kind = kind;
	}
	state->inner = inner;
	if (state->serialized != NULL)
	{
		pfree(state->serialized);
		state->serialized = NULL;
	}
	return EOHPGetRWDatum(&state->hdr);
}

/*
 * The state argument argno: NULL (*inner NULL), an expanded object of this
 * kind (returned), or a flat state, read now by the kind's deserial function
 * (NULL returned, *inner set).
 */
static ExpandedState *
state_argument(FunctionCallInfo fcinfo, int argno, StateKind kind, void **inner)
{
	Datum		value;
	bytea	   *flat;
	bytea	   *serialized;
	Size		len;

	*inner = NULL;
	if (PG_ARGISNULL(argno))
		return NULL;
	value = PG_GETARG_DATUM(argno);
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(value)))
	{
		ExpandedState *state = (ExpandedState *) DatumGetEOHP(value);

		if (state->hdr.eoh_methods != &state_methods)
			elog(ERROR, "expanded object is not a customer_priority aggregate state");
		if (state->kind != kind)
			cp_state_corrupted("The state belongs to another aggregate.");
		*inner = state->inner;
		return state;
	}
	flat = PG_GETARG_BYTEA_PP(argno);
	len = VARSIZE_ANY_EXHDR(flat);
	check_flat_header(VARDATA_ANY(flat), len, kind);
	serialized = (bytea *) palloc(VARHDRSZ + len - FLAT_HEADER);
	SET_VARSIZE(serialized, VARHDRSZ + len - FLAT_HEADER);
	memcpy(VARDATA(serialized), VARDATA_ANY(flat) + FLAT_HEADER, len - FLAT_HEADER);
	{
		LOCAL_FCINFO(call, 2);

		InitFunctionCallInfoData(*call, NULL, 2, InvalidOid, fcinfo->context, NULL);
		call->args[0].value = PointerGetDatum(serialized);
		call->args[0].isnull = false;
		call->args[1].value = (Datum) 0;
		call->args[1].isnull = true;
		*inner = DatumGetPointer(kinds[kind].deserialfn(call));
	}
	pfree(serialized);
	return NULL;
}

/*
 * The support functions take a real type, so SQL can call them directly: that
 * is a user error (0A000), not the can't-happen elog of the inner functions.
 */
static void
check_aggregate_call(FunctionCallInfo fcinfo)
{
	if (!AggCheckCallContext(fcinfo, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate support function called outside an aggregate"),
				 errhint("Call rfm_breaks(), abc_cutoffs() or score_population().")));
}

/*
 * Transition: the kind's transition function on the inner state, called with
 * this fcinfo (its flinfo caches, the order id's type, the aggregate context)
 * and the inner state as argument 0: no copy of the arguments per row.
 */
static Datum
state_transfn(FunctionCallInfo fcinfo, StateKind kind)
{
	void	   *inner;
	ExpandedState *state;
	Datum		result;

	check_aggregate_call(fcinfo);
	state = state_argument(fcinfo, 0, kind, &inner);
	fcinfo->args[0].value = PointerGetDatum(inner);
	fcinfo->args[0].isnull = (inner == NULL);
	result = kinds[kind].transfn(fcinfo);
	if (fcinfo->isnull)
		PG_RETURN_NULL();
	return state_wrap(fcinfo, state, kind, DatumGetPointer(result));
}

/*
 * Combine: the kind's combine function (which copies what it takes from the
 * second state) on the two inner states, likewise.
 */
static Datum
state_combinefn(FunctionCallInfo fcinfo, StateKind kind)
{
	void	   *inner;
	void	   *other;
	ExpandedState *state;
	Datum		result;

	check_aggregate_call(fcinfo);
	state = state_argument(fcinfo, 0, kind, &inner);
	(void) state_argument(fcinfo, 1, kind, &other);
	fcinfo->args[0].value = PointerGetDatum(inner);
	fcinfo->args[0].isnull = (inner == NULL);
	fcinfo->args[1].value = PointerGetDatum(other);
	fcinfo->args[1].isnull = (other == NULL);
	result = kinds[kind].combinefn(fcinfo);
	if (fcinfo->isnull)
		PG_RETURN_NULL();
	return state_wrap(fcinfo, state, kind, DatumGetPointer(result));
}

/*
 * Final: the kind's final function on the inner state (it may sort it:
 * FINALFUNC_MODIFY = READ_WRITE), with the caller's flinfo for its result type.
 */
static Datum
state_finalfn(FunctionCallInfo fcinfo, StateKind kind)
{
	void	   *inner;
	Datum		result;

	LOCAL_FCINFO(call, 1);

	check_aggregate_call(fcinfo);
	(void) state_argument(fcinfo, 0, kind, &inner);
	InitFunctionCallInfoData(*call, fcinfo->flinfo, 1, fcinfo->fncollation, fcinfo->context,
							 fcinfo->resultinfo);
	call->args[0].value = PointerGetDatum(inner);
	call->args[0].isnull = (inner == NULL);
	result = kinds[kind].finalfn(call);
	fcinfo->isnull = call->isnull;
	return result;
}

Datum
rfm_breaks_state_transfn(PG_FUNCTION_ARGS)
{
	return state_transfn(fcinfo, KIND_RFM_BREAKS);
}

Datum
rfm_breaks_state_combinefn(PG_FUNCTION_ARGS)
{
	return state_combinefn(fcinfo, KIND_RFM_BREAKS);
}

Datum
rfm_breaks_state_finalfn(PG_FUNCTION_ARGS)
{
	return state_finalfn(fcinfo, KIND_RFM_BREAKS);
}

Datum
abc_cutoffs_state_transfn(PG_FUNCTION_ARGS)
{
	return state_transfn(fcinfo, KIND_ABC_CUTOFFS);
}

Datum
abc_cutoffs_state_combinefn(PG_FUNCTION_ARGS)
{
	return state_combinefn(fcinfo, KIND_ABC_CUTOFFS);
}

Datum
abc_cutoffs_state_finalfn(PG_FUNCTION_ARGS)
{
	return state_finalfn(fcinfo, KIND_ABC_CUTOFFS);
}

Datum
score_population_state_transfn(PG_FUNCTION_ARGS)
{
	return state_transfn(fcinfo, KIND_SCORE_POPULATION);
}

Datum
score_population_state_combinefn(PG_FUNCTION_ARGS)
{
	return state_combinefn(fcinfo, KIND_SCORE_POPULATION);
}

Datum
score_population_state_finalfn(PG_FUNCTION_ARGS)
{
	return state_finalfn(fcinfo, KIND_SCORE_POPULATION);
}

/* Value 0-15 of a hex digit, -1 for any other character. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Text to state: hex digits, two per byte; the header checked here, the rest by
 * the aggregate's deserial function when the state is used.
 */
Datum
aggregate_state_in(PG_FUNCTION_ARGS)
{
	const char *text = PG_GETARG_CSTRING(0);
	Size		digits = strlen(text);
	Size		len = digits / 2;
	bytea	   *result;
	char	   *data;

	if (digits % 2 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid aggregate state: an odd number of hex digits")));
	if (len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("aggregate state too large")));
	result = (bytea *) palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	data = VARDATA(result);
	for (Size i = 0; i < len; i++)
	{
		int			high = hex_value(text[2 * i]);
		int			low = hex_value(text[2 * i + 1]);

		if (high < 0 || low < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid aggregate state: \"%.2s\" is not a hex byte", text + 2 * i)));
		data[i] = (char) (high << 4 | low);
		cp_check_interrupts((int64) i);
	}
	check_flat_header(data, len, 0);
	PG_RETURN_BYTEA_P(result);
}

/*
 * State to text: the flat form (an expanded state is flattened by the
 * detoasting) in lower-case hex.
 */
Datum
aggregate_state_out(PG_FUNCTION_ARGS)
{
	static const char digits[] = "0123456789abcdef";
	bytea	   *state = PG_GETARG_BYTEA_PP(0);
	const unsigned char *data = (const unsigned char *) VARDATA_ANY(state);
	Size		len = VARSIZE_ANY_EXHDR(state);
	char	   *result;

	if (len > (MaxAllocSize - 1) / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("aggregate state too large for its text form")));
	result = palloc(2 * len + 1);
	for (Size i = 0; i < len; i++)
	{
		result[2 * i] = digits[data[i] >> 4];
		result[2 * i + 1] = digits[data[i] & 0x0F];
	}
	result[2 * len] = '\0';
	PG_RETURN_CSTRING(result);
}
