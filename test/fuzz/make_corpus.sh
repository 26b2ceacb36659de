#!/usr/bin/env bash
# test/fuzz/make_corpus.sh: regenerate the seed corpus test/fuzz/corpus/<target>/
# from a real server (run when a state format changes, then commit the files).
#
#   CP_PGBIN=/usr/lib/postgresql/15/bin CP_PORT=54329 bash test/fuzz/make_corpus.sh
#
# Builds and installs the extension, starts a throw-away cluster
# (test/cluster.sh), runs test/fuzz/make_corpus.sql and writes each seed it
# prints to corpus/<target>/<name>. As root, like test/run_tests.sh.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/../cluster.sh"

cp_build_install --quiet
cp_start_cluster
psql -X -q -c 'CREATE EXTENSION customer_priority'
seeds=$(psql -X -q -f - <"$here/make_corpus.sql")
count=0
while read -r target name hex; do
    [ -n "$target" ] || continue
    mkdir -p "$here/corpus/$target"
    printf '%s' "$hex" | perl -ne 'print pack("H*", $_)' >"$here/corpus/$target/$name"
    count=$((count + 1))
done <<<"$seeds"
echo "wrote $count seeds under $here/corpus/"
