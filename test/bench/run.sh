#!/usr/bin/env bash
# test/bench/run.sh: the performance benchmark of issue 6. For each size (in
# orders) it generates an orders table (test/bench/generate_orders.sql), then
# times, each in a fresh session:
#
#   a   the one-pass scan: SELECT count(*), max(ordered_at), sum(amount)
#   b   the idiomatic RFM + ABC SQL (GROUP BY, three NTILE(5), window ABC)
#   c   the extension's composable aggregates: rfm() GROUP BY customer,
#       rfm_breaks(), rfm_score(), abc_cutoffs(), abc_class()
#   d   the extension's whole-table C path: score_customers()
#   e   b as a materialized view: CREATE (+ unique index), REFRESH, REFRESH
#       CONCURRENTLY
#   f   create_segmentation(), refresh_segmentation(false), (true); f0 the refresh
#       with customer_priority.segmentation_scan off (GROUP BY, as 0.2.0 computed
#       it), and f1's breakdown by statement from one more run under auto_explain
#   g   the same segmentation with the option potential (BG/NBD + Gamma-Gamma,
#       weeks, 52 weeks ahead): create_segmentation(), refresh_segmentation(false)
#   h   the potential models alone, on each customer's purchase summary (made
#       once, not timed): h1 bgnbd_fit() + gamma_gamma_fit(), h2 p_alive,
#       expected purchases, expected spend and CLV of every customer;
#       h3 mbgnbd_fit(), h4 MBG/NBD p_alive and expected purchases of every
#       customer (src/mbgnbd.c); h5 pareto_nbd_fit() on the same summaries; h6
#       Pareto/NBD P(alive), expected purchases and P(purchase within 52 weeks)
#       of every customer; h7 their next-purchase medians (src/pareto_nbd.c)
#   i   segmentation_report() of g's segmentation (every chart but the
#       transitions: no snapshots), into a temp table; its size is printed too
#       (the budget of issue 25: under 2 s and 1 MB at 1 M customers)
#
# (a-d as CREATE TEMP TABLE ... AS, so no rows go to the client), the peak
# memory of each, the ratios the issue sets goals for, and checks that c and d
# give the same rows. Ends with the tables again as markdown, for README.
#
#   bash test/bench/run.sh                      # 1 M and 10 M orders
#   bash test/bench/run.sh 100000 1000000       # any sizes
#   BENCH_REPEAT=3 bash test/bench/run.sh       # median of 3 runs per step
#
# Environment:
#   BENCH_SEED    generator seed (default 1)
#   BENCH_REPEAT  runs per step; the table shows the median time and the
#                 highest peak (default 1)
#   BENCH_BUILD   0: measure the extension already installed for CP_PGBIN
#                 instead of building and installing this checkout (default 1)
#   CP_PGBIN, CP_PORT: see test/cluster.sh
#
# Run as root on Debian bookworm, like test/demo.sh: it installs what is
# missing, builds and installs the extension, and starts (and always stops) a
# throw-away cluster with the issue's settings: shared_buffers 1GB, work_mem
# 256MB, max_parallel_workers_per_gather 2, jit off; and, as every cluster of
# test/cluster.sh, fsync off (the refresh times are a little lower than on a
# durable server). No step asserts a time: this prints numbers, it is no test.
#
# Timing: clock_timestamp() before and after the statement, on the server, so
# neither connecting nor psql is counted. A CHECKPOINT before each step keeps
# one step's dirty pages from being written during the next. The data do not
# change between steps, so the refreshes recompute the same result. Other load
# on the machine shows up in the times: the load average is printed per size.
#
# Peak memory: the private memory of the session's backend at its highest
# (VmHWM minus RssShmem of /proc/<pid>/status, read by the backend itself just
# after the statement: shared buffers are not the query's) plus that of its
# parallel workers, which this script samples every 0.1 s while the statement
# runs (their /proc/<pid>/status, the last VmHWM seen; growth in a worker's last
# 0.1 s is missed). A fresh session per measurement makes VmHWM the statement's
# own, plus the ~12 MB of an idle backend (printed as "idle backend").

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/../cluster.sh"

sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
    sizes=(1000000 10000000)
fi
seed=${BENCH_SEED:-1}
repeat=${BENCH_REPEAT:-1}
build=${BENCH_BUILD:-1}
for n in "${sizes[@]}" "$repeat"; do
    if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
        echo "run.sh: sizes and BENCH_REPEAT must be positive whole numbers, not '$n'" >&2
        exit 2
    fi
done
if ! [[ $seed =~ ^-?[0-9]+$ ]]; then
    echo "run.sh: BENCH_SEED must be an integer, not '$seed'" >&2
    exit 2
fi

# The fixed reference time: just after the generator's last possible row
# (2024-12-31 23:59:59 UTC), so no row is after it and no run depends on now().
as_of="timestamptz '2025-01-01 00:00:00+00'"

psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# no "does not exist, skipping" notices from the clean-ups
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

# 1000000 -> "1 M", 100000 -> "100 k"
label() {
    local n=$1
    if (( n % 1000000 == 0 )); then echo "$((n / 1000000)) M"
    elif (( n % 1000 == 0 )); then echo "$((n / 1000)) k"
    else echo "$n"; fi
}

median() { # numbers as arguments
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

max() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# ratio A B: "A/B" as "12.3x", or n/a when either is missing
ratio() {
    if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && awk -v b="$2" 'BEGIN { exit !(b > 0) }'; then
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'
    else
        echo "n/a"
    fi
}

# --- the queries ----------------------------------------------------------------

# b: the conventional RFM recipe (recency = last order, frequency = count(*) of
# the rows, monetary = sum(amount): refunds count as orders and lower the sum),
# NTILE(5) per metric, and the usual window-function ABC (running revenue share
# in descending order: <= 80% A, <= 95% B, else C). Cheaper than what the
# extension computes (no first order, no purchase/refund split), so the ratios
# do not flatter the extension.
idiomatic_sql="
WITH per_customer AS (
    SELECT customer_id,
           max(ordered_at) AS last_order_at,
           count(*) AS frequency,
           sum(amount) AS monetary
    FROM bench_orders
    WHERE ordered_at <= $as_of
    GROUP BY customer_id
), ranked AS (
    SELECT *,
           ntile(5) OVER (ORDER BY last_order_at) AS r_score,
           ntile(5) OVER (ORDER BY frequency) AS f_score,
           ntile(5) OVER (ORDER BY monetary) AS m_score,
           sum(monetary) OVER (ORDER BY monetary DESC ROWS UNBOUNDED PRECEDING)
               / sum(monetary) OVER () AS revenue_share
    FROM per_customer
)
SELECT customer_id, last_order_at,
       ($as_of)::date - last_order_at::date AS recency_days,
       frequency, monetary, r_score, f_score, m_score,
       CASE WHEN revenue_share <= 0.8 THEN 'A' WHEN revenue_share <= 0.95 THEN 'B' ELSE 'C' END AS abc_class
FROM ranked"

# c: README's composable recipe, columns as score_customers() returns them.
composable_sql="
WITH metrics AS (
    SELECT customer_id, customer_priority.rfm(ordered_at, amount, $as_of) AS m
    FROM bench_orders
    GROUP BY customer_id
), breaks AS (
    SELECT customer_priority.rfm_breaks((m).last_order, (m).frequency, (m).monetary, 5) AS b
    FROM metrics
), cutoffs AS (
    SELECT customer_priority.abc_cutoffs((m).monetary, 0.8, 0.95) AS k
    FROM metrics
)
SELECT metrics.customer_id::bigint AS customer_id,
       (m).first_order AS first_order_at, (m).last_order AS last_order_at,
       (m).recency_days, (m).frequency, (m).monetary,
       s.recency_score AS r_score, s.frequency_score AS f_score, s.monetary_score AS m_score,
       customer_priority.abc_class((m).monetary, cutoffs.k) AS abc_class
FROM metrics CROSS JOIN breaks CROSS JOIN cutoffs
LEFT JOIN LATERAL customer_priority.rfm_score((m).last_order, (m).frequency, (m).monetary, breaks.b) AS s ON true"

# d
whole_table_sql="SELECT * FROM customer_priority.score_customers('bench_orders', 'customer_id', 'ordered_at', 'amount', as_of => $as_of)"
# d's inner aggregate (score_customers runs it serially), for EXPLAIN
whole_table_inner_sql="SELECT customer_priority.score_population(customer_id, ordered_at, amount::numeric, $as_of, 5, 0.8, 0.95) FROM bench_orders"

scan_sql="SELECT count(*), max(ordered_at), sum(amount) FROM bench_orders"

# --- measuring ------------------------------------------------------------------

# Background sampler of the parallel workers' memory: every 0.1 s, the private
# peak (VmHWM - RssShmem, kB) of each child of the postmaster that is a
# parallel worker; when $1.stop appears, writes the sum over workers to $1.
# Builtins only in the loop (besides sleep), so it costs next to no CPU.
sample_workers() {
    local out=$1 postmaster=$2 k cmd key val hwm shm total=0 kids=()
    local -A peak=()
    while [ ! -e "$out.stop" ]; do
        kids=()
        { read -r -a kids <"/proc/$postmaster/task/$postmaster/children" || true; } 2>/dev/null
        for k in "${kids[@]}"; do
            # a worker can exit between the listing and the reads
            { cmd=""; read -r -d '' cmd <"/proc/$k/cmdline" || true; } 2>/dev/null
            [[ $cmd == *"parallel worker"* ]] || continue
            hwm=0; shm=0
            while read -r key val _; do
                case $key in
                    VmHWM:) hwm=$val ;;
                    RssShmem:) shm=$val ;;
                esac
            done 2>/dev/null <"/proc/$k/status" || true
            if (( hwm > 0 )); then
                peak[$k]=$(( hwm - shm ))
            fi
        done
        sleep 0.1
    done
    for k in "${!peak[@]}"; do
        total=$(( total + peak[$k] ))
    done
    echo "$total" >"$out"
}

# measure_once SQL [AFTER]: runs SQL in a fresh session, then AFTER (untimed, not
# in the peak). Sets m_secs, m_mb (backend + workers) and m_workers_mb, or
# returns 1 after printing the error.
measure_once() {
    local sql=$1 after=${2:-} out wfile spid rc=0 hwm shm wkb
    psql_q -c CHECKPOINT >/dev/null   # no earlier step's dirty pages written during this one
    wfile=$(mktemp)
    rm -f "$wfile.stop"
    sample_workers "$wfile" "$(head -n 1 "$CP_CLUSTER_DIR/data/postmaster.pid")" &
    spid=$!
    out=$(printf '%s\n' \
        "SELECT clock_timestamp() AS bench_t0 \\gset" \
        "$sql;" \
        "SELECT extract(epoch FROM clock_timestamp() - :'bench_t0'::timestamptz) AS bench_secs \\gset" \
        "SELECT 'memory ' || substring(s FROM 'VmHWM:\\s*(\\d+)') || ' ' || substring(s FROM 'RssShmem:\\s*(\\d+)') FROM pg_read_file('/proc/self/status') AS s;" \
        "\\echo seconds :bench_secs" \
        "$after" | psql_q 2>&1) || rc=$?
    touch "$wfile.stop"
    wait "$spid" || true
    wkb=$(cat "$wfile" 2>/dev/null || echo 0)
    rm -f "$wfile" "$wfile.stop"
    if [ "$rc" -ne 0 ]; then
        printf '    failed:\n%s\n' "$out" | sed 's/^/      /' >&2
        return 1
    fi
    m_secs=$(awk '$1 == "seconds" { printf "%.3f", $2 }' <<<"$out")
    hwm=$(awk '$1 == "memory" { print $2 }' <<<"$out")
    shm=$(awk '$1 == "memory" { print $3 }' <<<"$out")
    if [ -z "$m_secs" ] || [ -z "$hwm" ] || [ -z "$shm" ]; then
        printf '    no time or memory in the output:\n%s\n' "$out" >&2
        return 1
    fi
    m_mb=$(( (hwm - shm + wkb + 512) / 1024 ))
    m_workers_mb=$(( (wkb + 512) / 1024 ))
}

# measure KEY SETUP SQL [AFTER]: BENCH_REPEAT runs of SQL, each after SETUP (in
# its own session, untimed); AFTER only after the first run. Stores the median
# time, the highest peak and the workers' part of it in secs[KEY], mb[KEY] and
# workers_mb[KEY] ("error" if a run failed).
declare -A secs=() mb=() workers_mb=()
measure() {
    local key=$1 setup=$2 sql=$3 after=${4:-} i times=() peaks=() wpeaks=()
    for (( i = 1; i <= repeat; i++ )); do
        if [ -n "$setup" ]; then
            psql_q -c "$setup" >/dev/null
        fi
        if (( i > 1 )); then
            after=""
        fi
        if ! measure_once "$sql" "$after"; then
            secs[$key]=error; mb[$key]=error; workers_mb[$key]=error
            return 0
        fi
        times+=("$m_secs"); peaks+=("$m_mb"); wpeaks+=("$m_workers_mb")
    done
    secs[$key]=$(median "${times[@]}")
    mb[$key]=$(max "${peaks[@]}")
    workers_mb[$key]=$(max "${wpeaks[@]}")
    cp_log "  $key: ${secs[$key]} s, ${mb[$key]} MB (parallel workers: ${workers_mb[$key]} MB)"
}

# breakdown N: where the time of f1 goes, from one more refresh_segmentation('bench',
# false) with auto_explain logging every statement it runs (durations only, no
# ANALYZE): the scan of the orders into the per-customer states (the lines query of
# segmentation_customers(), src/segmentation_scan.c), the rest of the _customers
# statement (composites, break points, cut-offs, typology model, labels, and the write
# of the rows with their index), the _segments, _profiles and _cohorts statements, and
# the rest (definition, TRUNCATE, swap, ANALYZE, comments).  Printed, and kept in
# parts[N:...] for the summary.
declare -A parts=()
breakdown() {
    local n=$1 out
    out=$(printf '%s
' "LOAD 'auto_explain';"         "SET auto_explain.log_min_duration = 0;" "SET auto_explain.log_nested_statements = on;"         "SET auto_explain.log_level = notice;" "SET client_min_messages = notice;"         "SELECT customer_priority.refresh_segmentation('bench', false);" | psql_q 2>&1) || true
    # pairs of "duration: X ms" and the first line of its query text
    read -r scan customers segments profiles cohorts total < <(awk '
        /duration: [0-9.]+ ms/ { match($0, /duration: [0-9.]+/); d = substr($0, RSTART + 10, RLENGTH - 10) / 1000; next }
        /Query Text:/ {
            if ($0 ~ /Query Text: SELECT o\./ && scan == "") scan = d
            else if ($0 ~ /INSERT INTO .*_customers_[ab] /) customers = d
            else if ($0 ~ /INSERT INTO .*_segments_[ab] /) segments = d
            else if ($0 ~ /INSERT INTO .*_profiles_[ab] /) profiles = d
            else if ($0 ~ /INSERT INTO .*_cohorts_[ab] /) cohorts = d
            else if ($0 ~ /Query Text: SELECT customer_priority.refresh_segmentation/) total = d
        }
        function s(x) { return x == "" ? "n/a" : sprintf("%.3f", x) }
        END { print s(scan), s(customers), s(segments), s(profiles), s(cohorts), s(total) }' <<<"$out")
    parts[$n:scan]=$scan
    parts[$n:rest_customers]=$(awk -v a="$customers" -v b="$scan" 'BEGIN { if (b ~ /^[0-9.]+$/) printf "%.3f", a - b; else print "n/a" }')
    parts[$n:segments]=$segments; parts[$n:profiles]=$profiles; parts[$n:cohorts]=$cohorts
    parts[$n:other]=$(awk -v t="$total" -v c="$customers" -v s="$segments" -v p="$profiles" -v h="$cohorts" \
        'BEGIN { printf "%.3f", t - c - s - p - h }')
    parts[$n:total]=$total
    cp_log "  f1 breakdown: scan + per-customer states ${parts[$n:scan]} s; rest of _customers ${parts[$n:rest_customers]} s; _segments $segments s; _profiles $profiles s; _cohorts $cohorts s; other ${parts[$n:other]} s (of $total s)"
}

# --- cluster --------------------------------------------------------------------

if [ "$build" != 0 ]; then
    cp_install_deps
    cp_build_install --quiet
fi
cp_start_cluster   # its EXIT trap stops the server, also when a step fails

# cp_start_cluster takes no settings: ALTER SYSTEM, then a restart
# (shared_buffers needs one).
psql_q -d postgres <<'SQL'
ALTER SYSTEM SET shared_buffers = '1GB';
ALTER SYSTEM SET work_mem = '256MB';
ALTER SYSTEM SET max_parallel_workers_per_gather = 2;
ALTER SYSTEM SET jit = off;
SQL
cp_log "restarting the server with the benchmark's settings"
_cp_as_postgres "$CP_PGBIN/pg_ctl" -D "$CP_CLUSTER_DIR/data" -l "$CP_CLUSTER_DIR/server.log" \
    -w -t 60 restart >/dev/null

export PGDATABASE=bench
createdb bench
psql_q <<'SQL'
ALTER DATABASE bench SET TimeZone = 'UTC';   -- recency in UTC calendar days, like the generator
CREATE EXTENSION customer_priority;
SQL

has_whole_table=$(psql_q -c "SELECT EXISTS (SELECT FROM pg_proc WHERE proname = 'score_customers'
                                AND pronamespace = 'customer_priority'::regnamespace)")
if [ "$has_whole_table" != t ]; then
    cp_log "customer_priority.score_customers() is not installed: step d is n/a"
fi

# --- the machine ----------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
ram_gb=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
pg_version=$(psql_q -c "SHOW server_version")
ext_version=$(psql_q -c "SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'")
commit=$(git -C "$CP_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
# LOAD: the extension's own settings exist once its library is loaded.
settings=$(psql_q -c "LOAD 'customer_priority'" -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                      FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'maintenance_work_mem',
                      'max_parallel_workers_per_gather', 'jit', 'fsync', 'temp_buffers')
                         OR name LIKE 'customer\_priority.%'")
idle_mb=$(psql_q -c "SELECT round((substring(s FROM 'VmHWM:\\s*(\\d+)')::int - substring(s FROM 'RssShmem:\\s*(\\d+)')::int) / 1024.0)
                     FROM pg_read_file('/proc/self/status') AS s")
machine="$(nproc) cores ($cpu), ${ram_gb} GB RAM, PostgreSQL $pg_version, customer_priority $ext_version (checkout $commit)"
if [ "$build" = 0 ]; then
    machine="$machine [BENCH_BUILD=0: the installed build, maybe not this checkout]"
fi
run_info="seed $seed, $repeat run(s) per step (median time, highest peak), idle backend ${idle_mb} MB"
echo "machine: $machine"
echo "settings: $settings"
echo "$run_info"

# --- per size -------------------------------------------------------------------

steps=(a b c d e e1 e2 f f0 f1 f2 g g1 h1 h2 h3 h4 h5 h6 h7 i)
declare -A step_name=(
    [a]="one-pass scan: count, max, sum"
    [b]="idiomatic SQL: GROUP BY + 3 NTILE + window ABC"
    [c]="composable: rfm() GROUP BY + rfm_breaks/abc_cutoffs"
    [d]="whole-table C path: score_customers()"
    [e]="CREATE MATERIALIZED VIEW of b + unique index"
    [e1]="REFRESH MATERIALIZED VIEW (b)"
    [e2]="REFRESH MATERIALIZED VIEW CONCURRENTLY (b)"
    [f]="create_segmentation()"
    [f0]="f1 with GROUP BY (segmentation_scan off, as 0.2.0)"
    [f1]="refresh_segmentation(false)"
    [f2]="refresh_segmentation(true)"
    [g]="create_segmentation() with potential"
    [g1]="refresh_segmentation(false) with potential"
    [h1]="bgnbd_fit() + gamma_gamma_fit() over the customers"
    [h2]="p_alive, expected purchases, spend, CLV per customer"
    [h3]="mbgnbd_fit() over the customers"
    [h4]="MBG/NBD p_alive, expected purchases per customer"
    [h5]="pareto_nbd_fit() over the customers"
    [h6]="Pareto/NBD p_alive, expected purchases, P(purchase)"
    [h7]="Pareto/NBD next-purchase median per customer"
    [i]="segmentation_report() of g's segmentation"
)
declare -A gen_secs=() customers=() refunds=() table_mb=() equal=() ratios=() report_kb=()
ratio_keys=(bd da cd fe f0f1 e2e1 f2f1 g1f1)
declare -A ratio_name=(
    [bd]="idiomatic (b) / C path (d)|>= 8"
    [da]="C path (d) / one-pass scan (a)|<= 3"
    [cd]="composable (c) / C path (d)|"
    [fe]="idiomatic REFRESH (e1) / refresh_segmentation(false) (f1)|>= 3"
    [f0f1]="GROUP BY refresh (f0) / one-scan refresh (f1)|"
    [f2f1]="refresh_segmentation(true) / (false) (f2/f1)|<= 1.3"
    [e2e1]="PostgreSQL: REFRESH CONCURRENTLY / REFRESH (e2/e1)|(issue: ~2.7)"
    [g1f1]="refresh with potential / without (g1/f1)|<= 1.25"
)

for n in "${sizes[@]}"; do
    size=$(label "$n")
    ncust=$(( n / 10 > 0 ? n / 10 : 1 ))
    echo
    echo "=== $size orders ==="
    cp_log "$size orders: generating (seed $seed)"
    psql_q >/dev/null <<'SQL'
DROP TABLE IF EXISTS bench_result_c, bench_result_d;
DROP MATERIALIZED VIEW IF EXISTS bench_idiomatic;
SELECT customer_priority.drop_segmentation(name) FROM customer_priority.segmentations
WHERE name IN ('bench', 'bench_potential');
DROP TABLE IF EXISTS bench_summary, bench_models;
DROP TABLE IF EXISTS bench_mbgnbd;
DROP TABLE IF EXISTS bench_pareto;
SQL
    t0=$(date +%s.%N)
    psql_q -v orders="$n" -v seed="$seed" -f "$here/generate_orders.sql" >/dev/null
    gen_secs[$n]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    read -r rows refund_rows mbytes < <(psql_q -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE amount < 0),
        round(pg_relation_size('bench_orders') / 1048576.0) FROM bench_orders")
    customers[$n]=$ncust; refunds[$n]=$refund_rows; table_mb[$n]=$mbytes
    echo "generated $rows rows ($refund_rows refunds) of $ncust customers in ${gen_secs[$n]} s; table ${mbytes} MB; load average $(cut -d ' ' -f 1-3 /proc/loadavg)"

    # The plans (EXPLAIN without ANALYZE: cheap). d's plan is its inner
    # aggregate, run serially as score_customers() does.
    echo
    echo "EXPLAIN (COSTS OFF) of b:"
    psql_q -c "EXPLAIN (COSTS OFF) CREATE TEMP TABLE result_b AS $idiomatic_sql" | sed 's/^/    /'
    echo "EXPLAIN (COSTS OFF) of c:"
    psql_q -c "EXPLAIN (COSTS OFF) CREATE TEMP TABLE result_c AS $composable_sql" | sed 's/^/    /'
    if [ "$has_whole_table" = t ]; then
        echo "EXPLAIN (COSTS OFF) of d's inner aggregate (serial, as in score_customers):"
        printf '%s\n' "SET max_parallel_workers_per_gather = 0;" "EXPLAIN (COSTS OFF) $whole_table_inner_sql;" |
            psql_q | sed 's/^/    /'
    fi
    echo

    psql_q -c "$scan_sql" >/dev/null   # warm-up: OS cache, visibility map
    cp_log "$size orders: measuring"
    measure "$n:a" "" "$scan_sql"
    measure "$n:b" "" "CREATE TEMP TABLE result_b AS $idiomatic_sql"
    measure "$n:c" "" "CREATE TEMP TABLE result_c AS $composable_sql" \
        "CREATE UNLOGGED TABLE bench_result_c AS TABLE result_c;"
    if [ "$has_whole_table" = t ]; then
        measure "$n:d" "" "CREATE TEMP TABLE result_d AS $whole_table_sql" \
            "CREATE UNLOGGED TABLE bench_result_d AS TABLE result_d;"
    else
        secs[$n:d]="n/a (not installed)"; mb[$n:d]="n/a"; workers_mb[$n:d]="n/a"
    fi
    measure "$n:e" "DROP MATERIALIZED VIEW IF EXISTS bench_idiomatic" \
        "CREATE MATERIALIZED VIEW bench_idiomatic AS $idiomatic_sql; CREATE UNIQUE INDEX ON bench_idiomatic (customer_id)"
    measure "$n:e1" "" "REFRESH MATERIALIZED VIEW bench_idiomatic"
    measure "$n:e2" "" "REFRESH MATERIALIZED VIEW CONCURRENTLY bench_idiomatic"
    measure "$n:f" "SELECT customer_priority.drop_segmentation(name) FROM customer_priority.segmentations WHERE name = 'bench'" \
        "SELECT customer_priority.create_segmentation('bench', 'bench_orders', 'customer_id', 'ordered_at', 'amount', jsonb_build_object('as_of', $as_of))"
    measure "$n:f0" "" "SET customer_priority.segmentation_scan = off; SELECT customer_priority.refresh_segmentation('bench', false)"
    measure "$n:f1" "" "SELECT customer_priority.refresh_segmentation('bench', false)"
    breakdown "$n"
    measure "$n:f2" "" "SELECT customer_priority.refresh_segmentation('bench', true)"
    measure "$n:g" "SELECT customer_priority.drop_segmentation(name) FROM customer_priority.segmentations WHERE name = 'bench_potential'" \
        "SELECT customer_priority.create_segmentation('bench_potential', 'bench_orders', 'customer_id', 'ordered_at', 'amount', jsonb_build_object('as_of', $as_of, 'potential', true))"
    measure "$n:g1" "" "SELECT customer_priority.refresh_segmentation('bench_potential', false)"
    psql_q >/dev/null -c "CREATE UNLOGGED TABLE bench_summary AS
        SELECT customer_id, customer_priority.purchase_summary(
                   customer_priority.customer_profile(ordered_at, amount, $as_of), 'week') AS s
        FROM bench_orders GROUP BY customer_id"
    measure "$n:h1" "DROP TABLE IF EXISTS bench_models" \
        "CREATE TEMP TABLE models AS
         SELECT customer_priority.bgnbd_fit((s).x, (s).t_x, (s).t_cal) AS bg,
                customer_priority.gamma_gamma_fit((s).x, (s).repeat_spend::float8) AS gg
         FROM bench_summary" \
        "CREATE UNLOGGED TABLE bench_models AS TABLE models;"
    measure "$n:h2" "" "CREATE TEMP TABLE scores AS
        SELECT c.customer_id,
               customer_priority.bgnbd_p_alive(m.bg, (c.s).x, (c.s).t_x, (c.s).t_cal) AS p_alive,
               customer_priority.bgnbd_expected_purchases(m.bg, 52, (c.s).x, (c.s).t_x, (c.s).t_cal) AS expected_purchases,
               customer_priority.gamma_gamma_expected_spend(m.gg, (c.s).x, (c.s).repeat_spend::float8) AS expected_spend,
               customer_priority.customer_clv(m.bg, m.gg, (c.s).x, (c.s).t_x, (c.s).t_cal,
                                              (c.s).repeat_spend::float8, 52) AS clv
        FROM bench_summary c CROSS JOIN bench_models m"
    # MBG/NBD (src/mbgnbd.c) on the same summaries
    measure "$n:h3" "DROP TABLE IF EXISTS bench_mbgnbd" \
        "CREATE TEMP TABLE mbgnbd AS
         SELECT customer_priority.mbgnbd_fit((s).x, (s).t_x, (s).t_cal) AS m FROM bench_summary" \
        "CREATE UNLOGGED TABLE bench_mbgnbd AS TABLE mbgnbd;"
    measure "$n:h4" "" "CREATE TEMP TABLE mbgnbd_scores AS
        SELECT c.customer_id,
               customer_priority.mbgnbd_p_alive(m.m, (c.s).x, (c.s).t_x, (c.s).t_cal) AS p_alive,
               customer_priority.mbgnbd_expected_purchases(m.m, 52, (c.s).x, (c.s).t_x, (c.s).t_cal) AS expected_purchases
        FROM bench_summary c CROSS JOIN bench_mbgnbd m"
    # Pareto/NBD (src/pareto_nbd.c) on the same summaries
    measure "$n:h5" "DROP TABLE IF EXISTS bench_pareto" \
        "CREATE TEMP TABLE pareto AS
         SELECT customer_priority.pareto_nbd_fit((s).x, (s).t_x, (s).t_cal) AS pn FROM bench_summary" \
        "CREATE UNLOGGED TABLE bench_pareto AS TABLE pareto;"
    measure "$n:h6" "" "CREATE TEMP TABLE pareto_scores AS
        SELECT c.customer_id,
               customer_priority.pareto_nbd_p_alive(m.pn, (c.s).x, (c.s).t_x, (c.s).t_cal) AS p_alive,
               customer_priority.pareto_nbd_expected_purchases(m.pn, 52, (c.s).x, (c.s).t_x, (c.s).t_cal) AS expected_purchases,
               customer_priority.pareto_nbd_p_purchase_within(m.pn, 52, (c.s).x, (c.s).t_x, (c.s).t_cal) AS p_purchase
        FROM bench_summary c CROSS JOIN bench_pareto m"
    measure "$n:h7" "" "CREATE TEMP TABLE pareto_medians AS
        SELECT c.customer_id,
               customer_priority.pareto_nbd_next_purchase_median(m.pn, (c.s).x, (c.s).t_x, (c.s).t_cal) AS median
        FROM bench_summary c CROSS JOIN bench_pareto m"
    measure "$n:i" "" "CREATE TEMP TABLE report AS SELECT customer_priority.segmentation_report('bench_potential') AS html"
    report_kb[$n]=$(psql_q -c "SELECT round(octet_length(customer_priority.segmentation_report('bench_potential')) / 1024.0)" 2>/dev/null ||
        echo error)

    # c and d must be the same rows: EXCEPT ALL both ways.
    if [ "$has_whole_table" = t ] && [ "${secs[$n:c]}" != error ] && [ "${secs[$n:d]}" != error ]; then
        read -r c_only d_only c_rows < <(psql_q -F ' ' -c "SELECT
            (SELECT count(*) FROM (TABLE bench_result_c EXCEPT ALL TABLE bench_result_d) x),
            (SELECT count(*) FROM (TABLE bench_result_d EXCEPT ALL TABLE bench_result_c) x),
            (SELECT count(*) FROM bench_result_c)")
        if [ "$c_only" = 0 ] && [ "$d_only" = 0 ]; then
            equal[$n]="c = d: identical ($c_rows rows; EXCEPT ALL both ways: 0 rows)"
        else
            equal[$n]="c <> d: $c_only rows only in c, $d_only only in d (of $c_rows)"
        fi
    else
        equal[$n]="c = d: not checked (d n/a or failed)"
    fi
    if [ "${secs[$n:c]}" != error ]; then
        got=$(psql_q -c "SELECT count(*) FROM bench_result_c")
        if [ "$got" != "$ncust" ]; then
            equal[$n]="${equal[$n]}; WARNING: c has $got customers, expected $ncust"
        fi
        # the shape of the data, from c's result (cheap: one row per customer)
        psql_q -c "SELECT format('customers: %s%% one purchase; purchases per customer: median %s, 90th percentile %s, 99th %s, max %s; class A: %s%% of the customers',
                       round(100.0 * count(*) FILTER (WHERE frequency = 1) / count(*), 1),
                       percentile_disc(0.5) WITHIN GROUP (ORDER BY frequency),
                       percentile_disc(0.9) WITHIN GROUP (ORDER BY frequency),
                       percentile_disc(0.99) WITHIN GROUP (ORDER BY frequency),
                       max(frequency),
                       round(100.0 * count(*) FILTER (WHERE abc_class = 'A') / count(*), 1))
                   FROM bench_result_c"
    fi

    ratios[$n:bd]=$(ratio "${secs[$n:b]}" "${secs[$n:d]}")
    ratios[$n:da]=$(ratio "${secs[$n:d]}" "${secs[$n:a]}")
    ratios[$n:cd]=$(ratio "${secs[$n:c]}" "${secs[$n:d]}")
    ratios[$n:fe]=$(ratio "${secs[$n:e1]}" "${secs[$n:f1]}")
    ratios[$n:f0f1]=$(ratio "${secs[$n:f0]}" "${secs[$n:f1]}")
    ratios[$n:f2f1]=$(ratio "${secs[$n:f2]}" "${secs[$n:f1]}")
    ratios[$n:e2e1]=$(ratio "${secs[$n:e2]}" "${secs[$n:e1]}")
    ratios[$n:g1f1]=$(ratio "${secs[$n:g1]}" "${secs[$n:f1]}")

    echo "--- $size orders ($rows rows, $ncust customers, $refund_rows refunds; generated in ${gen_secs[$n]} s) ---"
    printf '%-3s %-55s %12s %10s %14s\n' "" "step" "seconds" "peak MB" "of it workers"
    for s in "${steps[@]}"; do
        printf '%-3s %-55s %12s %10s %14s\n' "$s" "${step_name[$s]}" "${secs[$n:$s]}" "${mb[$n:$s]}" \
            "${workers_mb[$n:$s]}"
    done
    printf '%-59s %12s   %s\n' "ratio" "value" "goal"
    for r in "${ratio_keys[@]}"; do
        printf '%-59s %12s   %s\n' "${ratio_name[$r]%|*}" "${ratios[$n:$r]}" "${ratio_name[$r]#*|}"
    done
    echo "f1 breakdown: scan + per-customer states ${parts[$n:scan]} s; rest of _customers ${parts[$n:rest_customers]} s; _segments ${parts[$n:segments]} s; _profiles ${parts[$n:profiles]} s; _cohorts ${parts[$n:cohorts]} s; other ${parts[$n:other]} s (of ${parts[$n:total]} s)"
    echo "${equal[$n]}"
    echo "segmentation_report() (i): ${report_kb[$n]} kB of HTML"
    echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
done

# --- markdown -------------------------------------------------------------------

echo
echo "Markdown:"
echo
echo "Machine: $machine; $settings; $run_info."
echo
header="| step |"; rule="|---|"
for n in "${sizes[@]}"; do
    header="$header $(label "$n") orders: s | peak MB |"; rule="$rule---:|---:|"
done
echo "$header"
echo "$rule"
for s in "${steps[@]}"; do
    line="| $s. ${step_name[$s]} |"
    for n in "${sizes[@]}"; do
        line="$line ${secs[$n:$s]} | ${mb[$n:$s]} |"
    done
    echo "$line"
done
echo
header="| ratio | goal |"; rule="|---|---|"
for n in "${sizes[@]}"; do
    header="$header $(label "$n") |"; rule="$rule---:|"
done
echo "$header"
echo "$rule"
for r in "${ratio_keys[@]}"; do
    line="| ${ratio_name[$r]%|*} | ${ratio_name[$r]#*|} |"
    for n in "${sizes[@]}"; do
        line="$line ${ratios[$n:$r]} |"
    done
    echo "$line"
done
echo
# f1's breakdown, and the cost per million orders of a, d, e1 and f1 (linearity)
part_keys=(scan rest_customers segments profiles cohorts other total)
declare -A part_name=(
    [scan]="scan of the orders into the per-customer states"
    [rest_customers]="rest of _customers: composites, population steps, labels, write"
    [segments]="_segments" [profiles]="_profiles" [cohorts]="_cohorts"
    [other]="other: definition, TRUNCATE, swap, ANALYZE, comments"
    [total]="f1 (one more run, with auto_explain)"
)
header="| f1 breakdown |"; rule="|---|"
for n in "${sizes[@]}"; do
    header="$header $(label "$n") orders: s |"; rule="$rule---:|"
done
echo "$header"
echo "$rule"
for k in "${part_keys[@]}"; do
    line="| ${part_name[$k]} |"
    for n in "${sizes[@]}"; do
        line="$line ${parts[$n:$k]} |"
    done
    echo "$line"
done
echo
header="| seconds per million orders |"; rule="|---|"
for n in "${sizes[@]}"; do
    header="$header $(label "$n") |"; rule="$rule---:|"
done
echo "$header"
echo "$rule"
for s in a d e1 f1; do
    line="| $s. ${step_name[$s]} |"
    for n in "${sizes[@]}"; do
        line="$line $(awk -v t="${secs[$n:$s]}" -v n="$n" 'BEGIN { if (t ~ /^[0-9.]+$/) printf "%.3f", t / (n / 1000000); else print "n/a" }') |"
    done
    echo "$line"
done
echo
echo "Seconds: server-side, $repeat run(s) per step, median; each step in a fresh session, the data unchanged between steps. Peak MB: private memory (VmHWM - RssShmem) of the session's backend plus its parallel workers', shared buffers not counted, including the ${idle_mb} MB of an idle backend."
echo
for n in "${sizes[@]}"; do
    echo "- $(label "$n") orders, ${customers[$n]} customers (${refunds[$n]} refunds, table ${table_mb[$n]} MB, generated in ${gen_secs[$n]} s): ${equal[$n]}; the report (i): ${report_kb[$n]} kB"
done

cp_stop_cluster
