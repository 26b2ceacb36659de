# test/t/008_citus.pl: customer_priority on a real Citus cluster.
#
# A coordinator and two workers (Citus 13.2.2, built from ../shared/citus by
# test/run_tests.sh), on TCP loopback.  The extension is created on the coordinator
# only: Citus propagates it to the workers, also to a worker added later, and refuses
# extension DDL on a worker.  The orders are distributed by customer id, and every
# public aggregate and function is run over them and over a local copy on the
# coordinator: the answers are the same (EXCEPT ALL both ways, on the text of each
# row).  Per-customer aggregates (GROUP BY customer_id) run on the workers; a
# segmentation's whole lifecycle (create, refresh in both modes, snapshot, backfill,
# transitions, holdout, drop; option potential; a customers relation distributed and
# colocated, or local on the coordinator) gives the views it gives over the local copy,
# without a warning, and is not stopped by citus.max_intermediate_result_size.  With
# citus.coordinator_aggregation_strategy = 'disabled' the population aggregates over
# the order rows (rfm_breaks, abc_cutoffs, score_population, score_customers) run as
# worker partials combined on the coordinator (EXPLAIN), with the same answers.
#
# Skipped (with the reason) unless citus.so is installed for this PG_CONFIG.
# Ports: CP_CITUS_PORT (default 56420) and the next two.
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
my $pkglibdir = `$pg_config --pkglibdir`;
chomp $pkglibdir;
plan skip_all => "Citus is not installed in $pkglibdir (test/run_tests.sh builds it from ../shared/citus on PostgreSQL 15-17)"
  unless -f "$pkglibdir/citus.so";

my $port = $ENV{CP_CITUS_PORT} || 56420;
my @nodes;
for my $i (0 .. 2)
{
	my $node = PostgreSQL::Test::Cluster->new($i == 0 ? 'coordinator' : "worker$i", port => $port + $i);
	$node->init;
	# Citus connects to the other nodes over TCP (127.0.0.1, trust from initdb -A trust);
	# 2PC for writes to several shards; no SSL set-up and no statistics sent home.
	$node->append_conf(
		'postgresql.conf', qq{
listen_addresses = '127.0.0.1'
shared_preload_libraries = 'citus'
max_prepared_transactions = 20
max_parallel_workers_per_gather = 0
citus.node_conninfo = 'sslmode=disable'
citus.enable_statistics_collection = off
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	push @nodes, $node;
}
my ($coord, $worker1, $worker2) = @nodes;

# The extension on the coordinator only, with one worker; the second joins later.
$coord->safe_psql(
	'postgres', qq{
SELECT citus_set_coordinator_host('127.0.0.1', $port);
SELECT citus_add_node('127.0.0.1', ${\ ($port + 1)});
CREATE EXTENSION customer_priority;
});
my $version = $coord->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'});
is($worker1->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
	$version, 'CREATE EXTENSION on the coordinator propagates to the worker');
$coord->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', ${\ ($port + 2)})");
is($worker2->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
	$version, 'a worker added later gets the extension too');
my ($rc, $out, $err) = $worker1->psql('postgres', 'ALTER EXTENSION customer_priority UPDATE');
like($err, qr/operation is not allowed on this node/, 'Citus refuses extension DDL on a worker');

# 1,200 customers, ~5,000 order lines with order ids (several lines per order),
# refunds, as in 003_shards.pl; orders distributed by customer id over 8 shards,
# orders_local the same rows on the coordinator.  customers: distributed and
# colocated; customers_local: a local table on the coordinator.
$coord->safe_psql(
	'postgres', q{
CREATE TABLE orders_local AS
SELECT c::bigint AS customer_id,
       (c * 100 + o)::bigint AS order_id,
       timestamptz '2023-01-01' + (abs(hashint8(c * 100 + o)) % 600) * interval '1 day'
           + (abs(hashint8(c)) % 86400) * interval '1 second' AS ordered_at,
       (CASE WHEN abs(hashint8(c * 7 + o)) % 20 = 0 THEN -1 ELSE 1 END
           * ((abs(hashint8(c * 13 + o + l)) % 10000)::numeric / 100))::numeric(12,2) AS amount
FROM generate_series(1, 1200) c,
     LATERAL generate_series(1, 1 + abs(hashint4(c)) % 5) o,
     LATERAL generate_series(1, 1 + (c + o) % 2) l;
CREATE TABLE orders (LIKE orders_local);
CREATE TABLE customers_local AS
SELECT c::bigint AS customer_id, (ARRAY['North', 'South', 'West'])[1 + c % 3] AS region,
       (abs(hashint8(c * 3)) % 4)::bigint AS referrals
FROM generate_series(1, 1300) c;
CREATE TABLE customers (LIKE customers_local);
SET citus.shard_count = 8;
SELECT create_distributed_table('orders', 'customer_id');
SELECT create_distributed_table('customers', 'customer_id', colocate_with => 'orders');
INSERT INTO orders SELECT * FROM orders_local;
INSERT INTO customers SELECT * FROM customers_local;
ANALYZE orders_local, customers_local;
});
is( $coord->safe_psql(
		'postgres', q{
SELECT count(DISTINCT nodeport) FROM pg_dist_shard JOIN pg_dist_placement USING (shardid)
JOIN pg_dist_node USING (groupid) WHERE logicalrelid = 'orders'::regclass}),
	'2', 'the shards of orders are on both workers');

# same(QUERY): QUERY (with {orders} for the orders relation) over the distributed
# orders and over the local copy: "rows 0 0" when both give
# the same rows (compared as text, EXCEPT ALL both ways).
# (The session's TimeZone is the nodes' own: Citus does not send a SET to the workers.)
my $session = q{SET search_path = public, customer_priority; SET extra_float_digits = 3;};
sub same
{
	my ($query, $setup) = @_;
	(my $dist = $query) =~ s/\{orders\}/orders/g;
	(my $local = $query) =~ s/\{orders\}/orders_local/g;
	return $coord->safe_psql(
		'postgres', qq{$session ${\ ($setup // '')}
CREATE TEMP TABLE d AS SELECT t::text AS r FROM ($dist) t;
CREATE TEMP TABLE l AS SELECT t::text AS r FROM ($local) t;
SELECT (SELECT count(*) FROM l) || ' ' || (SELECT count(*) FROM (TABLE d EXCEPT ALL TABLE l) x)
       || ' ' || (SELECT count(*) FROM (TABLE l EXCEPT ALL TABLE d) x)});
}
sub is_same
{
	my ($query, $name, $setup) = @_;
	my $result = same($query, $setup);
	my ($rows) = split / /, $result;
	cmp_ok($rows, '>', 0, "$name: rows");
	is($result, "$rows 0 0", "$name: distributed = local");
}

my $as_of = q{'2024-09-01'::timestamptz};
# Per customer: every form of rfm(), xyz(), customer_profile().
my %per_customer = (
	rfm => "SELECT customer_id, rfm(ordered_at, amount, $as_of), rfm(ordered_at, amount, $as_of, order_id),
	               rfm(ordered_at, amount, $as_of, order_id, greatest(-amount, 0)) FROM {orders} GROUP BY customer_id",
	xyz => "SELECT customer_id, xyz(ordered_at, amount, $as_of), xyz(ordered_at, amount, $as_of, 'week'),
	               xyz(ordered_at, amount, $as_of, 'month', 'Europe/Berlin'),
	               xyz(ordered_at, amount, $as_of, 'week'::calendar_name, 'Europe/Berlin'::calendar_name)
	        FROM {orders} GROUP BY customer_id",
	customer_profile => "SELECT customer_id, customer_profile(ordered_at, amount, $as_of),
	               customer_profile(ordered_at, amount, $as_of, order_id),
	               customer_profile(ordered_at, amount, $as_of, order_id, greatest(-amount, 0)),
	               customer_profile(ordered_at, amount, $as_of, order_id, NULL, amount * 0.1),
	               customer_profile(ordered_at, amount, $as_of, order_id, NULL, NULL, 'Europe/Berlin'),
	               customer_profile(ordered_at, amount, $as_of, order_id, NULL, NULL, 'Europe/Berlin'::calendar_name)
	        FROM {orders} GROUP BY customer_id");
for my $name (sort keys %per_customer)
{
	is_same($per_customer{$name}, "$name() per customer");
	like($coord->safe_psql('postgres', "$session EXPLAIN (VERBOSE, COSTS OFF) " . $per_customer{$name} =~ s/\{orders\}/orders/gr),
		qr/Query: SELECT .*customer_priority\.$name\(.* GROUP BY customer_id/,
		"$name() per customer runs whole on the workers");
}

# A session's SET is not sent to the workers (citus.propagate_set_commands = none):
# the forms without a time zone use the workers' TimeZone.  Segmentations always
# pass theirs.
is( $coord->safe_psql(
		'postgres', q{SET TimeZone = 'America/New_York';
SELECT string_agg(DISTINCT z, ',')
FROM (SELECT (customer_priority.customer_profile(ordered_at, amount, '2024-09-01')).time_zone AS z
      FROM orders GROUP BY customer_id) s}),
	$worker1->safe_psql('postgres', 'SHOW TimeZone'),
	"a session's TimeZone is not the workers'");

# The population aggregates over one row per customer, and every scalar function
# over them (models from scalar subqueries: Citus subplans).
my $customers = "SELECT customer_id, rfm(ordered_at, amount, $as_of, order_id) AS m,
                        customer_profile(ordered_at, amount, $as_of, order_id) AS p,
                        xyz(ordered_at, amount, $as_of, 'month') AS x
                 FROM {orders} GROUP BY customer_id";
my $summaries = "SELECT customer_id, (m).monetary, (purchase_summary(p, 'week')).* FROM ($customers) c";
is_same("SELECT rfm_breaks((m).last_order, (m).frequency, (m).monetary, 5) FROM ($customers) c", 'rfm_breaks()');
is_same("SELECT abc_cutoffs((m).monetary), abc_cutoffs((m).monetary, 0.7, 0.9),
                abc_cutoffs((m).monetary, 0.2, 0.5, 'share') FROM ($customers) c", 'abc_cutoffs()');
is_same("SELECT typology_model(p), typology_model(p, 1), typology_model(p, 1, '{\"dormant_days\": 200}')
         FROM ($customers) c", 'typology_model()');
is_same("SELECT bgnbd_fit(x, t_x, t_cal) FROM ($summaries) s", 'bgnbd_fit()');
is_same("SELECT gamma_gamma_fit(x, (repeat_spend / x)::float8) FROM ($summaries) s WHERE x > 0 AND repeat_spend > 0",
	'gamma_gamma_fit()');
is_same(
	"SELECT c.customer_id,
	        rfm_score((m).last_order, (m).frequency, (m).monetary,
	                  (SELECT rfm_breaks((m).last_order, (m).frequency, (m).monetary, 5) FROM ($customers) b)),
	        rfm_score((m).last_order, (m).frequency, (m).monetary,
	                  rfm_custom_breaks($as_of, '{30,90,180,365}', '{1,2,3,5}', '{50,100,200,500}')),
	        rfm_segment(rfm_rescale_score(1 + c.customer_id::int % 3, 3, 5), 3, 4, 5, 'standard'),
	        rfm_segment(ROW(2, 3, 4, 5)::rfm_scores, 'standard'),
	        abc_class((m).monetary, (SELECT abc_cutoffs((m).monetary) FROM ($customers) a)),
	        abc_weighted_score(ARRAY[0.1, 0.5], ARRAY[1, 2]::float8[]),
	        bin_score((m).monetary, ARRAY[10, 100, 1000]::numeric[], true),
	        xyz_class((x).cv, 0.5, 1), customer_potential(m),
	        customer_typology(p, (SELECT typology_model(p) FROM ($customers) t), 1, 10, 0),
	        customer_typology(p, (SELECT typology_model(p) FROM ($customers) t), 1, 10, 0, 0.5),
	        at_time_zone('Europe/Berlin', (m).last_order::timestamp)
	 FROM ($customers) c", 'every scalar function per customer');
my $models = "SELECT (SELECT bgnbd_fit(x, t_x, t_cal) FROM ($summaries) s) AS bg,
                     (SELECT gamma_gamma_fit(x, (repeat_spend / x)::float8) FROM ($summaries) s
                      WHERE x > 0 AND repeat_spend > 0) AS gg";
is_same(
	"SELECT s.customer_id, bgnbd_p_alive(bg, x, t_x, t_cal), bgnbd_expected_purchases(bg, 26),
	        bgnbd_expected_purchases(bg, 26, x, t_x, t_cal), bgnbd_p_purchase_within(bg, 4, x, t_x, t_cal),
	        bgnbd_next_purchase_median(bg, x, t_x, t_cal),
	        gamma_gamma_expected_spend(gg, x, (repeat_spend / greatest(x, 1))::float8),
	        customer_clv(bg, gg, x, t_x, t_cal, (repeat_spend / greatest(x, 1))::float8, 52, 0.01)
	 FROM ($summaries) s CROSS JOIN ($models) m", 'the model functions per customer');

# The population aggregates over the order rows, and score_customers() (with the
# default citus.coordinator_aggregation_strategy).
is_same("SELECT rfm_breaks(ordered_at, 1, amount, 5), abc_cutoffs(amount) FROM {orders}", 'population aggregates over orders');
is_same("SELECT s.* FROM population_scores((SELECT score_population(customer_id, ordered_at, amount, $as_of, 5, 0.8, 0.95)
                                            FROM {orders})) s", 'score_population()');
is_same("SELECT s.* FROM population_scores((SELECT score_population(customer_id, ordered_at, amount, $as_of, 5, 0.8, 0.95,
                                                                    order_id) FROM {orders})) s", 'score_population() with order ids');
is_same("SELECT * FROM score_customers('{orders}', 'customer_id', 'ordered_at', 'amount', $as_of, order_id_column => 'order_id')",
	'score_customers()');

# With citus.coordinator_aggregation_strategy = 'disabled' (no aggregate over rows
# fetched to the coordinator): the population aggregates over the order rows and
# score_customers() are split into worker partials, worker_partial_agg() on each shard
# (its state as text, aggregate_state's output function) and coord_combine_agg() on
# the coordinator: one row per shard crosses the network, no order row.
my $disabled = q{SET citus.coordinator_aggregation_strategy = 'disabled';};
is_same("SELECT rfm_breaks(ordered_at, 1, amount, 5), abc_cutoffs(amount), abc_cutoffs(amount, 0.7, 0.9),
                abc_cutoffs(amount, 0.2, 0.5, 'share') FROM {orders}", 'worker partials: rfm_breaks(), abc_cutoffs()', $disabled);
is_same("SELECT s.* FROM population_scores((SELECT score_population(customer_id, ordered_at, amount, $as_of, 5, 0.8, 0.95)
                                            FROM {orders})) s", 'worker partials: score_population()', $disabled);
is_same("SELECT * FROM score_customers('{orders}', 'customer_id', 'ordered_at', 'amount', $as_of)",
	'worker partials: score_customers()', $disabled);
for my $aggregate ("score_population(customer_id, ordered_at, amount, $as_of, 5, 0.8, 0.95)",
	'rfm_breaks(ordered_at, 1, amount, 5)', 'abc_cutoffs(amount)')
{
	my ($name) = $aggregate =~ /^(\w+)/;
	my $partial_plan = $coord->safe_psql('postgres',
		"$session $disabled EXPLAIN (VERBOSE, COSTS OFF) SELECT $aggregate FROM orders");
	like($partial_plan, qr/^Aggregate\n\s+Output: coord_combine_agg\(/, "$name: combined on the coordinator");
	like($partial_plan, qr/Custom Scan \(Citus Adaptive\)\n\s+Output: remote_scan\.\w+\n/,
		"$name: one column, the partial state, from the shards");
	like($partial_plan, qr/Query: SELECT (?:pg_catalog\.)?worker_partial_agg\('customer_priority\.$name\(/,
		"$name: the shards compute partial states");
	like($partial_plan, qr/->  Aggregate\n\s+Output: worker_partial_agg\(.*\n\s+->  Seq Scan on public\.orders_\d+/,
		"$name: each shard aggregates its order rows");
}
# The polymorphic form (order_id anyelement) keeps its internal state: Citus refuses
# a polymorphic argument in a worker partial, so it aggregates on the coordinator
# (same answer, above), and not at all without coordinator aggregation.
($rc, $out, $err) = $coord->psql('postgres',
	"$session $disabled SELECT score_population(customer_id, ordered_at, amount, $as_of, 5, 0.8, 0.95, order_id) FROM orders");
like($err, qr/ERROR:  unsupported aggregate function score_population/,
	'score_population() with order ids: not split into worker partials');

# A segmentation's whole lifecycle: over the distributed orders with the colocated
# customers (cit) and with the local customers (citl), against the local copy (loc).
my $options = q{{"as_of": "2024-09-01", "order_id": "order_id", "time_zone": "Europe/Berlin", "xyz_period": "week",
                 "potential": {"unit": "week", "horizon": 26}, "referrals": "referrals", "customer_attributes": ["region"],
                 "customers": "%s"}};
my %segmentations = (cit => [ 'orders', 'customers' ], citl => [ 'orders', 'customers_local' ],
	loc => [ 'orders_local', 'customers_local' ]);
my %warnings;
for my $name (sort keys %segmentations)
{
	my ($orders, $people) = @{ $segmentations{$name} };
	($rc, $out, $err) = $coord->psql('postgres',
		sprintf(q{SELECT customer_priority.create_segmentation('%s', '%s', 'customer_id', 'ordered_at', 'amount', '%s')},
			$name, $orders, sprintf($options, $people)));
	is($rc, 0, "create_segmentation() $name");
	$warnings{$name} = $err;
}
# (These orders make the BG/NBD fit stop without converging: a warning, on one node too.)
for my $name ('cit', 'citl')
{
	is($warnings{$name}, $warnings{loc}, "create_segmentation() $name: the warnings of one node, no other");
}
unlike($warnings{cit}, qr/only locally/, 'no warning that the views are created only locally');

sub differing
{
	my ($a, $b, $columns) = @_;
	$columns //= '*';
	return $coord->safe_psql(
		'postgres', qq{
SELECT (SELECT count(*) FROM $a)
       || ' ' || (SELECT count(*) FROM (SELECT $columns FROM $a EXCEPT ALL SELECT $columns FROM $b) d)
       || ' ' || (SELECT count(*) FROM (SELECT $columns FROM $b EXCEPT ALL SELECT $columns FROM $a) d)});
}
sub same_views
{
	my ($step, @views) = @_;
	@views = qw(customers segments profiles membership) unless @views;
	for my $v (@views)
	{
		for my $name ('cit', 'citl')
		{
			my ($n) = split / /, differing("loc_$v", "loc_$v");
			cmp_ok($n, '>', 0, "$step: loc_$v has rows");
			is(differing("${name}_$v", "loc_$v"), "$n 0 0", "$step: ${name}_$v = loc_$v");
		}
	}
}
same_views('create');
is( $coord->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE p_alive IS NOT NULL) > 1000
                                         AND count(*) FILTER (WHERE attributes ? 'region') > 1000 FROM cit_customers}),
	't', 'the potential and the customers relation are in cit_customers');

# The per-customer step of the segmentation runs on the shards.
my $query = $coord->safe_psql('postgres',
	q{SELECT customer_priority.segmentation_customers_query(d) FROM customer_priority.segmentations d WHERE name = 'cit'});
my $plan = $coord->safe_psql('postgres', "EXPLAIN (VERBOSE, COSTS OFF) $query");
like($plan, qr/Distributed Subplan.*\n.*Custom Scan \(Citus Adaptive\)/, 'the segmentation query has distributed subplans');
like($plan,
	qr/Query: SELECT .*customer_priority\.customer_profile\(o\.ordered_at.*customer_priority\.xyz\(.*FROM \(public\.orders_\d+ o CROSS JOIN .*GROUP BY o\.customer_id\) g LEFT JOIN public\.customers_\d+ k ON/,
	'customer_profile() and xyz() per customer run on the shards, joined there to the colocated customers');

# citus.max_intermediate_result_size stops the query itself (1,200 customers are
# more than 64 kB), not the segmentation's functions.
my $small = q{SET citus.max_intermediate_result_size = '64kB';};
($rc, $out, $err) = $coord->psql('postgres', "$small SELECT count(*) FROM ($query) q");
like($err, qr/the intermediate result size exceeds citus\.max_intermediate_result_size/,
	'the segmentation query alone exceeds a 64 kB intermediate result');

# New orders (on both workers), then refresh in both modes, snapshots, backfill.
$coord->safe_psql(
	'postgres', q{
INSERT INTO orders_local VALUES (12, 9000001, '2024-08-30 10:00+00', 70.00), (14, 9000002, '2024-08-31 10:00+00', 20.00),
                                (1250, 9000003, '2024-08-31 12:00+00', 45.00);
INSERT INTO orders SELECT * FROM orders_local WHERE order_id > 9000000;
});
for my $mode ('true', 'false')
{
	$coord->safe_psql('postgres',
		"$small SELECT customer_priority.refresh_segmentation(n, $mode) FROM unnest(ARRAY['cit', 'citl', 'loc']) n");
	same_views("refresh (concurrently $mode)");
}
for my $name ('cit', 'citl', 'loc')
{
	$coord->safe_psql(
		'postgres', qq{$small
SELECT customer_priority.snapshot_segmentation('$name');
SELECT customer_priority.snapshot_segmentation('$name', '2024-06-01');
SELECT count(*) FROM customer_priority.backfill_segmentation('$name', '2024-02-01', '2024-04-01');
});
}
same_views('snapshot and backfill', 'history');
for my $name ('cit', 'citl')
{
	is(differing("${name}_snapshots", 'loc_snapshots', 'as_of, source, customers'),
		'5 0 0', "$name: the same five snapshots");
	my $transitions = q{customer_priority.segmentation_transitions('%s', (SELECT min(as_of) FROM loc_snapshots),
	                                                                 (SELECT max(as_of) FROM loc_snapshots))};
	my ($t) = split / /, differing(sprintf($transitions, 'loc'), sprintf($transitions, 'loc'));
	cmp_ok($t, '>', 0, 'segmentation_transitions(): rows');
	is(differing(sprintf($transitions, $name), sprintf($transitions, 'loc')), "$t 0 0",
		"$name: segmentation_transitions() the same");
	# (the expected means and totals are avg() and sum() of float8 over the customers,
	# which arrive from the workers in another order: equal to 12 significant digits)
	my $holdout = q{(SELECT repeat_purchases, model, customers, actual_mean, actual_total,
	                        round(expected_mean::numeric, 12) AS expected_mean, round(expected_total::numeric, 9) AS expected_total
	                 FROM customer_priority.segmentation_holdout('%s', '2024-03-01')) h};
	my ($n) = split / /, differing(sprintf($holdout, 'loc'), sprintf($holdout, 'loc'));
	cmp_ok($n, '>', 0, 'segmentation_holdout(): rows');
	is(differing(sprintf($holdout, $name), sprintf($holdout, 'loc')), "$n 0 0", "$name: segmentation_holdout() the same");
}
($rc, $out, $err) = $coord->psql('postgres',
	"$small SELECT count(*) FROM customer_priority.segmentation_holdout('cit', '2024-03-01')");
is($rc, 0, 'segmentation_holdout() under a 64 kB intermediate result limit');
for my $name ('cit', 'citl', 'loc')
{
	($rc, $out, $err) = $coord->psql('postgres', "SELECT customer_priority.drop_segmentation('$name')");
	is("$rc $err", '0 ', "drop_segmentation() $name: no warning");
}

done_testing();
