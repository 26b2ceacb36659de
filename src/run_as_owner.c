/*
 * run_as_owner.c
 *		Run a segmentation's generated SQL as the owner of its views.
 *
 * A refresh, a snapshot, a backfill or an upgrade may be started by a role that
 * is not the owner of the segmentation (a superuser's nightly job, the role that
 * runs ALTER EXTENSION ... UPDATE).  What it computes reads the owner's orders
 * relation (maybe a view calling the owner's functions) and writes the owner's
 * tables (maybe with the owner's triggers or index expressions): run with the
 * caller's rights, all of that would run as the caller.  So these functions do
 * what REFRESH MATERIALIZED VIEW does: switch to the owner of a relation, in a
 * security-restricted operation (no SET ROLE, no temporary objects, nothing
 * that outlives the call), with search_path pinned, and run one statement.
 *
 * Only a role that already has the owner's privileges may switch to it (what
 * REFRESH MATERIALIZED VIEW requires too), so these never grant a right the
 * caller did not have.  An error inside needs no cleanup here: the (sub)
 * transaction's abort restores the user id, the security context and the
 * settings, as it does for REFRESH MATERIALIZED VIEW.
 */
#include "customer_priority.h"

#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(execute_as_owner);
PG_FUNCTION_INFO_V1(query_as_owner);
PG_FUNCTION_INFO_V1(query_columns_as_owner);

/* What become_owner() changed, for restore_caller(). */
typedef struct OwnerSwitch
{
	Oid			caller;
	int			caller_context;
	int			guc_level;
} OwnerSwitch;

/*
 * The owner of a relation, or an error: it does not exist, or the current
 * user lacks its owner's privileges.
 */
static Oid
owner_for_caller(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must have the privileges of the owner of %s to compute for it",
						get_rel_name(relid)),
				 errdetail("It belongs to %s.", GetUserNameFromId(owner, false))));
	return owner;
}

/*
 * Act as the owner of relid until restore_caller(): user id, a
 * security-restricted operation, and a search_path of pg_catalog and pg_temp.
 */
static void
become_owner(Oid relid, OwnerSwitch *saved)
{
	Oid			owner = owner_for_caller(relid);

	GetUserIdAndSecContext(&saved->caller, &saved->caller_context);
	SetUserIdAndSecContext(owner, saved->caller_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	saved->guc_level = NewGUCNestLevel();
#if PG_VERSION_NUM >= 170000
	RestrictSearchPath();
#else
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
#endif
}

static void
restore_caller(const OwnerSwitch *saved)
{
	AtEOXact_GUC(false, saved->guc_level);
	SetUserIdAndSecContext(saved->caller, saved->caller_context);
}

/*
 * An SPI result that is an error code: a statement SPI cannot run here (a
 * transaction command, a COPY to the client), said as the user's error.
 */
static void
check_spi_result(int result, const char *what)
{
	if (result < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot run this statement", what),
				 errdetail("SPI returned %s.", SPI_result_code_string(result))));
}

/*
 * execute_as_owner(owned regclass, statement text) RETURNS bigint: runs one
 * statement as the owner of owned; returns the rows it processed.
 */
Datum
execute_as_owner(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *statement = text_to_cstring(PG_GETARG_TEXT_PP(1));
	OwnerSwitch saved;
	uint64		processed;

	become_owner(relid, &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_spi_result(SPI_execute(statement, false, 0), "execute_as_owner");
	processed = SPI_processed;
	SPI_finish();
	restore_caller(&saved);
	PG_RETURN_INT64((int64) processed);
}

/*
 * Raise an error unless the columns of a query are those the caller declared
 * (the column definition list of query_as_owner).
 */
static void
check_columns(TupleDesc got, TupleDesc expected)
{
	if (got->natts != expected->natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("query returns %d columns, the call declares %d", got->natts, expected->natts)));
	for (int i = 0; i < got->natts; i++)
		if (TupleDescAttr(got, i)->atttypid != TupleDescAttr(expected, i)->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %d of the query is %s, the call declares %s", i + 1,
							format_type_be(TupleDescAttr(got, i)->atttypid),
							format_type_be(TupleDescAttr(expected, i)->atttypid))));
}

/*
 * query_as_owner(owned regclass, query text) RETURNS SETOF record: the rows
 * of a query run as the owner of owned, materialized; called with a column
 * definition list.
 */
Datum
query_as_owner(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OwnerSwitch saved;
	int			result;

	cp_init_materialized_srf(fcinfo);
	become_owner(relid, &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	result = SPI_execute(query, true, 0);
	check_spi_result(result, "query_as_owner");
	if (result != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("query_as_owner runs only a query")));
	check_columns(SPI_tuptable->tupdesc, rsinfo->setDesc);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		cp_check_interrupts((int64) i);
		tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
	}
	SPI_finish();
	restore_caller(&saved);
	return (Datum) 0;
}

/*
 * query_columns_as_owner(owned regclass, query text) RETURNS text[]: the
 * columns of a query, each as its quoted name and its type ('"x" integer'),
 * from parse analysis and rewriting as the owner of owned: nothing is planned
 * or run.
 */
Datum
query_columns_as_owner(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	MemoryContext caller_context = CurrentMemoryContext;
	OwnerSwitch saved;
	SPIPlanPtr	plan;
	List	   *sources;
	TupleDesc	desc;
	int			natts;
	Datum	   *columns;
	ArrayType  *result;

	become_owner(relid, &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		check_spi_result(SPI_result < 0 ? SPI_result : SPI_ERROR_ARGUMENT, "query_columns_as_owner");
	sources = SPI_plan_get_plan_sources(plan);
	desc = list_length(sources) == 1 ? ((CachedPlanSource *) linitial(sources))->resultDesc : NULL;
	if (desc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("query_columns_as_owner takes one query")));
	natts = desc->natts;
	columns = (Datum *) MemoryContextAlloc(caller_context, sizeof(Datum) * Max(natts, 1));
	for (int i = 0; i < natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		char	   *column = psprintf("%s %s", quote_identifier(NameStr(a->attname)),
									  format_type_with_typemod(a->atttypid, a->atttypmod));
		MemoryContext old = MemoryContextSwitchTo(caller_context);

		columns[i] = CStringGetTextDatum(column);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	restore_caller(&saved);
	result = construct_array(columns, natts, TEXTOID, -1, false, TYPALIGN_INT);
	PG_RETURN_ARRAYTYPE_P(result);
}
