/*
 * segment.c
 *		Named RFM segments: rfm_segment(r, f, m, bins, map) and
 *		rfm_rescale_score(score, bins, scale).
 *
 * A map is a list of rules in customer_priority.rfm_segment_rules: inclusive
 * ranges of R, F, M and FM = round half up((F + M) / 2), tried in priority
 * order.  On first use in a query the map is read once (SPI) and compiled into
 * a scale x scale x scale grid of segment indexes, so each call is a lookup.
 * Scores on a scale other than the map's are rescaled onto it first.
 */
#include "customer_priority.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(rfm_segment);
PG_FUNCTION_INFO_V1(rfm_segment_of_scores);
PG_FUNCTION_INFO_V1(rfm_rescale_score);

#define NO_SEGMENT (-1)

/* A compiled segment map, cached per call site in fn_extra. */
typedef struct SegmentMap
{
	char	   *name;
	int			scale;
	text	   *fallback;		/* NULL: unmatched scores have no segment */
	int			nsegments;
	text	  **segments;
	int16		grid[CP_MAX_BINS][CP_MAX_BINS][CP_MAX_BINS];	/* [r-1][f-1][m-1] */
} SegmentMap;

/* The scores a rule constrains, in the column order of the rules table. */
enum
{
	DIM_R,
	DIM_F,
	DIM_M,
	DIM_FM,
	NDIMS
};

/* One rule row: an inclusive range per dimension. */
typedef struct SegmentRule
{
	int			min[NDIMS];
	int			max[NDIMS];
} SegmentRule;

/*
 * Raise an error unless score is in 1..bins.
 */
static void
check_score(int32 score, int32 bins, const char *name)
{
	if (score < 1 || score > bins)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 1 and %d, not %d", name, bins, score)));
}

/*
 * Map a score 1..bins onto 1..scale, keeping the ends:
 * round half up(1 + (score - 1) * (scale - 1) / (bins - 1)), exactly.
 */
static int
rescale_score(int score, int bins, int scale)
{
	if (bins == scale)
		return score;
	return 1 + ((score - 1) * (scale - 1) * 2 + (bins - 1)) / (2 * (bins - 1));
}

/*
 * Does the rule match the cell (r, f, m)?
 */
static bool
rule_matches(const SegmentRule *rule, int r, int f, int m)
{
	int			score[NDIMS] = {r, f, m, (f + m + 1) / 2};

	for (int d = 0; d < NDIMS; d++)
		if (score[d] < rule->min[d] || score[d] > rule->max[d])
			return false;
	return true;
}

/*
 * Fill the grid: each cell gets the first matching rule's segment.
 */
static void
compile_grid(SegmentMap *map, const SegmentRule *rules)
{
	for (int r = 1; r <= map->scale; r++)
		for (int f = 1; f <= map->scale; f++)
			for (int m = 1; m <= map->scale; m++)
			{
				int16		segment = NO_SEGMENT;

				for (int i = 0; i < map->nsegments; i++)
					if (rule_matches(&rules[i], r, f, m))
					{
						segment = (int16) i;
						break;
					}
				map->grid[r - 1][f - 1][m - 1] = segment;
			}
}

/*
 * Read a map and its rules with SPI and compile it in context.
 */
static SegmentMap *
load_segment_map(const char *name, MemoryContext context)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	SegmentMap *map;
	SegmentRule *rules;
	bool		isnull;
	MemoryContext old;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT scale, fallback FROM customer_priority.rfm_segment_maps"
							  " WHERE map OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read customer_priority.rfm_segment_maps");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("RFM segment map \"%s\" does not exist", name),
				 errhint("The shipped maps are \"standard\" and \"rfm_package\"; "
						 "customer_priority.rfm_segment_maps lists all.")));

	map = (SegmentMap *) MemoryContextAllocZero(context, sizeof(SegmentMap));
	map->name = MemoryContextStrdup(context, name);
	map->scale = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	{
		Datum		fallback = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		old = MemoryContextSwitchTo(context);
		map->fallback = isnull ? NULL : DatumGetTextPCopy(fallback);
		MemoryContextSwitchTo(old);
	}

	if (SPI_execute_with_args("SELECT segment, r_min, r_max, f_min, f_max, m_min, m_max, fm_min, fm_max"
							  " FROM customer_priority.rfm_segment_rules"
							  " WHERE map OPERATOR(pg_catalog.=) $1 ORDER BY priority",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read customer_priority.rfm_segment_rules");
	map->nsegments = (int) SPI_processed;
	map->segments = (text **) MemoryContextAllocZero(context, sizeof(text *) * Max(map->nsegments, 1));
	rules = (SegmentRule *) palloc0(sizeof(SegmentRule) * Max(map->nsegments, 1));
	for (int i = 0; i < map->nsegments; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;

		old = MemoryContextSwitchTo(context);
		map->segments[i] = DatumGetTextPCopy(SPI_getbinval(tuple, tupdesc, 1, &isnull));
		MemoryContextSwitchTo(old);
		/* columns 2.. are r_min, r_max, f_min, f_max, m_min, m_max, fm_min, fm_max */
		for (int d = 0; d < NDIMS; d++)
		{
			rules[i].min[d] = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 2 + 2 * d, &isnull));
			rules[i].max[d] = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 3 + 2 * d, &isnull));
		}
	}
	compile_grid(map, rules);
	SPI_finish();
	return map;
}

/*
 * The segment of scores r, f, m (1..bins) under the map called name, the map
 * compiled once per call site (fn_extra).
 */
static Datum
segment_of(FunctionCallInfo fcinfo, int32 r, int32 f, int32 m, int32 bins, const char *name)
{
	SegmentMap *map = (SegmentMap *) fcinfo->flinfo->fn_extra;
	int16		segment;

	cp_check_bins(bins, "bins");
	check_score(r, bins, "recency_score");
	check_score(f, bins, "frequency_score");
	check_score(m, bins, "monetary_score");

	if (map == NULL || strcmp(map->name, name) != 0)
	{
		map = load_segment_map(name, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = map;
	}
	segment = map->grid[rescale_score(r, bins, map->scale) - 1]
		[rescale_score(f, bins, map->scale) - 1]
		[rescale_score(m, bins, map->scale) - 1];
	if (segment != NO_SEGMENT)
		PG_RETURN_TEXT_P(map->segments[segment]);
	if (map->fallback != NULL)
		PG_RETURN_TEXT_P(map->fallback);
	PG_RETURN_NULL();
}

/*
 * rfm_segment(recency_score, frequency_score, monetary_score, bins, map).
 */
Datum
rfm_segment(PG_FUNCTION_ARGS)
{
	return segment_of(fcinfo, PG_GETARG_INT32(0), PG_GETARG_INT32(1), PG_GETARG_INT32(2),
					  PG_GETARG_INT32(3), text_to_cstring(PG_GETARG_TEXT_PP(4)));
}

/*
 * rfm_segment(scores rfm_scores, map): the same for an rfm_scores value; NULL
 * when one of its fields is.  In C rather than as an SQL wrapper: a wrapper with
 * a pinned search_path is planned and run anew for every row (under
 * debug_parallel_query each run even starts a parallel worker), and an inlined
 * one would evaluate its argument once per field.
 */
Datum
rfm_segment_of_scores(PG_FUNCTION_ARGS)
{
	HeapTupleHeader scores = PG_GETARG_HEAPTUPLEHEADER(0);
	int32		field[4];			/* recency, frequency, monetary scores, bins */

	for (int i = 0; i < 4; i++)
	{
		bool		isnull;
		Datum		value = GetAttributeByNum(scores, i + 1, &isnull);

		if (isnull)
			PG_RETURN_NULL();
		field[i] = DatumGetInt32(value);
	}
	return segment_of(fcinfo, field[0], field[1], field[2], field[3],
					  text_to_cstring(PG_GETARG_TEXT_PP(1)));
}

/*
 * rfm_rescale_score(score, bins, scale): how rfm_segment maps a score onto a
 * map's scale, exposed so users can see and reuse it.
 */
Datum
rfm_rescale_score(PG_FUNCTION_ARGS)
{
	int32		score = PG_GETARG_INT32(0);
	int32		bins = PG_GETARG_INT32(1);
	int32		scale = PG_GETARG_INT32(2);

	cp_check_bins(bins, "bins");
	cp_check_bins(scale, "scale");
	check_score(score, bins, "score");
	PG_RETURN_INT32(rescale_score(score, bins, scale));
}
