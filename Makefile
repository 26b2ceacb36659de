# customer_priority: PGXS build
EXTENSION  = customer_priority
EXTVERSION = 0.3.0
MODULE_big = customer_priority

OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

# The install script is generated from one SQL file per concept (src/*.sql),
# concatenated in dependency order. See README, "Layout".
SQL_SOURCES = src/header.sql src/aggregate_state.sql src/rfm.sql src/segment.sql src/abc.sql src/population.sql src/xyz.sql src/profile.sql src/potential.sql src/mbgnbd.sql src/pareto_nbd.sql src/typology.sql src/shards.sql src/run_as_owner.sql src/segmentation.sql src/cohorts.sql src/history.sql src/holdout.sql src/upgrade.sql src/privileges.sql src/report.sql
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql
# Released install scripts (frozen, never edited) and the upgrade scripts between
# versions: upgrade/. See README, "Upgrading", and docs/segmentation.md.
DATA = $(wildcard upgrade/$(EXTENSION)--*.sql)

REGRESS    = install rfm breaks segment abc population aggregate_state money xyz profile potential next_purchase mbgnbd pareto_nbd typology segmentation history cohorts report potential_segmentation parallel parallel_population generator real_data privileges security public_surface cancel bad_input numeric_infinity
REGRESS_OPTS = --inputdir=.

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
            -DCP_EXTVERSION='"$(EXTVERSION)"'

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES)
	cat $^ > $@

# PGXS tracks no header dependencies: rebuild every object when a header changes
# (a changed struct or enum in a stale object is a silent wrong answer).
$(OBJS): $(wildcard src/*.h)
