/*
 * fuzz_states.c
 *		libFuzzer target: the extension's decoders of serialized aggregate
 *		states (every DESERIALFUNC) and of population_scores(bytea), called
 *		through their fmgr entry points exactly as the server calls them.
 *
 * CP_FUZZ_TARGET names the decoder (see targets[] or run the binary with an
 * unknown name).  Each input is one bytea's payload.  The decoder must
 * either return or raise an ERROR with a user-facing SQLSTATE: a crash, a
 * sanitizer report, FATAL/PANIC or an internal error (XX000, that is
 * elog(ERROR)) fails the run.  With CP_FUZZ_EXPECT_VALID set, any error
 * fails: run.sh first checks so that the seeds decode.
 */
#include "postgres.h"

#include <stdint.h>
#include <stdio.h>

#include "fmgr.h"
#include "nodes/execnodes.h"

#include "pg_shim.h"

extern Datum abc_cutoffs_deserialfn(PG_FUNCTION_ARGS);
extern Datum bgnbd_fit_deserialfn(PG_FUNCTION_ARGS);
extern Datum gamma_gamma_fit_deserialfn(PG_FUNCTION_ARGS);
extern Datum mbgnbd_fit_deserialfn(PG_FUNCTION_ARGS);
extern Datum pareto_nbd_fit_deserialfn(PG_FUNCTION_ARGS);
extern Datum population_scores(PG_FUNCTION_ARGS);
extern Datum profile_deserialfn(PG_FUNCTION_ARGS);
extern Datum rfm_breaks_deserialfn(PG_FUNCTION_ARGS);
extern Datum rfm_deserialfn(PG_FUNCTION_ARGS);
extern Datum score_population_deserialfn(PG_FUNCTION_ARGS);
extern Datum typology_model_deserialfn(PG_FUNCTION_ARGS);
extern Datum xyz_deserialfn(PG_FUNCTION_ARGS);

typedef struct FuzzTarget
{
	const char *name;			/* also the corpus directory's name */
	PGFunction	decode;
	bool		returns_set;
} FuzzTarget;

static const FuzzTarget targets[] = {
	{"abc_cutoffs", abc_cutoffs_deserialfn, false},
	{"bgnbd_fit", bgnbd_fit_deserialfn, false},
	{"customer_profile", profile_deserialfn, false},
	{"gamma_gamma_fit", gamma_gamma_fit_deserialfn, false},
	{"mbgnbd_fit", mbgnbd_fit_deserialfn, false},
	{"pareto_nbd_fit", pareto_nbd_fit_deserialfn, false},
	{"population_scores", population_scores, true},
	{"rfm", rfm_deserialfn, false},
	{"rfm_breaks", rfm_breaks_deserialfn, false},
	{"score_population", score_population_deserialfn, false},
	{"typology_model", typology_model_deserialfn, false},
	{"xyz", xyz_deserialfn, false},
};

static const FuzzTarget *target;
static bool expect_valid;		/* CP_FUZZ_EXPECT_VALID: any error fails */

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pick the target named by CP_FUZZ_TARGET. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *name = getenv("CP_FUZZ_TARGET");

	expect_valid = getenv("CP_FUZZ_EXPECT_VALID") != NULL;

	for (int i = 0; name != NULL && i < (int) lengthof(targets); i++)
		if (strcmp(name, targets[i].name) == 0)
			target = &targets[i];
	if (target == NULL)
	{
		fprintf(stderr, "set CP_FUZZ_TARGET to one of:");
		for (int i = 0; i < (int) lengthof(targets); i++)
			fprintf(stderr, " %s", targets[i].name);
		fprintf(stderr, "\n");
		exit(2);
	}
	return 0;
}

/*
 * Decode one input.  The bytea is allocated to its exact size, so that
 * AddressSanitizer reports a read of even one byte past its end.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sigjmp_buf	jump;
	bytea	   *bytes;
	ReturnSetInfo rsinfo;

	LOCAL_FCINFO(fcinfo, 2);

	if (size > 16 * 1024 * 1024)
		return -1;				/* keep the input out of the corpus */
	if (sigsetjmp(jump, 0) == 0)
	{
		fuzz_error_jump = &jump;
		bytes = palloc(VARHDRSZ + size);
		SET_VARSIZE(bytes, VARHDRSZ + size);
		memcpy(VARDATA(bytes), data, size);

		memset(&rsinfo, 0, sizeof(rsinfo));
		rsinfo.type = T_ReturnSetInfo;
		rsinfo.allowedModes = SFRM_Materialize;
		InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL,
								 target->returns_set ? (Node *) &rsinfo : NULL);
		fcinfo->args[0].value = PointerGetDatum(bytes);
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].value = (Datum) 0;	/* the internal dummy argument */
		fcinfo->args[1].isnull = false;
		(void) target->decode(fcinfo);
	}
	else if (expect_valid)
	{
		/* the seeds are states a server wrote: they must decode */
		fprintf(stderr, "%s: a valid state was rejected: %s: %s\n",
				target->name, fuzz_last_error.message, fuzz_last_error.detail);
		abort();
	}
	else if (fuzz_last_error.sqlerrcode == ERRCODE_INTERNAL_ERROR)
	{
		/* elog(ERROR) is for can't-happen: corrupted bytes must not reach one */
		fprintf(stderr, "%s: internal error on corrupted input: %s (%s:%d)\n",
				target->name, fuzz_last_error.message,
				fuzz_last_error.filename, fuzz_last_error.lineno);
		abort();
	}
	fuzz_error_jump = NULL;
	fuzz_free_input_memory();
	return 0;
}
