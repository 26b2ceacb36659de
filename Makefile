# customer_priority: PGXS build
EXTENSION  = customer_priority
EXTVERSION = 0.3.0
MODULE_big = customer_priority

OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

# The install script is generated from one SQL file per concept (src/*.sql),
# concatenated in dependency order. See README, "Layout".
SQL_SOURCES = src/header.sql src/aggregate_state.sql src/rfm.sql src/segment.sql src/abc.sql src/population.sql src/xyz.sql src/profile.sql src/segmentation_scan.sql src/potential.sql src/mbgnbd.sql src/pareto_nbd.sql src/typology.sql src/shards.sql src/run_as_owner.sql src/progress.sql src/segmentation.sql src/cohorts.sql src/history.sql src/holdout.sql src/upgrade.sql src/privileges.sql src/report.sql
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql
# Released install scripts (frozen, never edited) and the upgrade scripts between
# versions: upgrade/. See README, "Upgrading", and docs/segmentation.md.
DATA = $(wildcard upgrade/$(EXTENSION)--*.sql)

REGRESS    = install rfm breaks segment abc population aggregate_state money xyz profile potential next_purchase mbgnbd pareto_nbd typology segmentation segmentation_scan history progress cohorts report potential_segmentation parallel parallel_population generator real_data privileges security public_surface cancel bad_input numeric_infinity
REGRESS_OPTS = --inputdir=.

# Isolation specs (test/isolation/specs/<name>.spec, expected output in
# test/isolation/expected/<name>.out): `make installcheck` runs them after REGRESS,
# with PGXS's pg_isolation_regress (its --inputdir=. is overridden by ours, the last
# one given), in the database isolation_regression, output in output_iso/.
ISOLATION      = $(sort $(patsubst test/isolation/specs/%.spec,%,$(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
            -DCP_EXTVERSION='"$(EXTVERSION)"'

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
# PostgreSQL 13's server-dev package ships no isolation tester: installcheck then
# runs REGRESS only, and says so (see no-isolation-tester below).
ISOLATION_TESTER = $(abspath $(dir $(PGXS))../test/isolation/pg_isolation_regress)
ifeq ($(wildcard $(ISOLATION_TESTER)),)
ISOLATION =
endif
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES)
	cat $^ > $@

# PGXS tracks no header dependencies: rebuild every object when a header changes
# (a changed struct or enum in a stale object is a silent wrong answer).
$(OBJS): $(wildcard src/*.h)

ifeq ($(wildcard $(ISOLATION_TESTER)),)
installcheck: no-isolation-tester
.PHONY: no-isolation-tester
no-isolation-tester:
	@echo "isolation specs skipped: no $(ISOLATION_TESTER) (PostgreSQL 13's server-dev package ships none)"
endif

# TAP tests (test/t/*.pl), as pgvector runs them: make prove_installcheck
# [PROVE_TESTS=test/t/001_dump_restore.pl] [PROVE_FLAGS=--verbose], against the
# installed extension; each test starts its own clusters. PGXS only defines the
# recipe (prove_installcheck, run by installcheck with TAP_TESTS=1), not this target.
# test/prove.sh gives prove PGXS's environment (PATH, PG_REGRESS, TESTDIR, the
# PostgreSQL::Test modules); as root, which initdb refuses, it runs them as postgres
# on a copy of test/t. The tests' own settings (CP_TAP_PORT, CP_CITUS_PORT,
# CP_OLD_INSTALL, CP_READERS_SECONDS) pass through the environment.
ifeq ($(PROVE),)
PROVE = prove
endif
.PHONY: prove_installcheck
prove_installcheck:
	PROVE='$(PROVE)' PROVE_FLAGS='$(PROVE_FLAGS)' PG_CONFIG='$(PG_CONFIG)' BINDIR='$(bindir)' \
	    PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' PG_TAP_PERL_DIR='$(top_srcdir)/src/test/perl' \
	    bash test/prove.sh $(or $(PROVE_TESTS),$(sort $(wildcard test/t/*.pl)))
