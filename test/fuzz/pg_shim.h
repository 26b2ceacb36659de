/*
 * pg_shim.h
 *		What the fuzz harness needs from pg_shim.c: where ereport(ERROR) jumps
 *		to, the last error, and freeing an input's memory.
 */
#ifndef PG_SHIM_H
#define PG_SHIM_H

#include <setjmp.h>

/* Memory one input may allocate before palloc raises out of memory. */
#define FUZZ_MEMORY_LIMIT (256 * 1024 * 1024)

typedef struct FuzzError
{
	int			sqlerrcode;
	char		message[256];
	char		detail[256];
	const char *filename;
	int			lineno;
} FuzzError;

extern sigjmp_buf *fuzz_error_jump;
extern FuzzError fuzz_last_error;

extern void fuzz_free_input_memory(void);

#endif							/* PG_SHIM_H */
