
# test/t/003_shards.pl: a segmentation over orders sharded on other servers.
#
# Three clusters: a coordinator and two shards.  The coordinator's orders are
# hash-partitioned by customer id into one local partition and two postgres_fdw
# foreign tables, one on each shard; customer_priority is installed on every node
# and listed in the foreign servers' "extensions" option.  With
# enable_partitionwise_aggregate on, the per-customer aggregates
# (customer_profile, xyz) run on the shards: EXPLAIN VERBOSE shows them in the
# remote SQL and each foreign scan returns one row per customer of its shard.
# create_segmentation() over the partitioned table gives exactly the views it
# gives over a local copy of the same orders, with partitionwise aggregation on
# or off; so do refresh_segmentation() and the whole-table path
# score_customers(), which cannot be pushed down and fetches the order rows.
# Also: without as_of, with async_capable, and over a second sharded table with a
# timestamp column, a channel and a margin (all on the shards, same result).
# Bad input: a server that does not list the extension is a warning (same
# result); a shard with another version of the extension or without it, and a
# shard that is down, are errors naming the server; the live segmentation stays
# as it was.
#
# Ports: CP_TAP_PORT (default 56410) and the next two.
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP qw(decode_json);

my $port = $ENV{CP_TAP_PORT} // 56410;

# A node on a given port.  (PostgreSQL 13's compatibility PostgreSQL::Test::Cluster
# reads new(name, port => N) as new(name, host, port): its get_new_node takes it.)
sub node_on_port
{
	my ($name, $p) = @_;
	return PostgreSQL::Test::Cluster->can('get_new_node')
	  ? PostgreSQL::Test::Cluster::get_new_node('PostgreSQL::Test::Cluster', $name, port => $p)
	  : PostgreSQL::Test::Cluster->new($name, port => $p);
}

my $coord = node_on_port('coordinator', $port);
my $shard1 = node_on_port('shard1', $port + 1);
my $shard2 = node_on_port('shard2', $port + 2);
for my $node ($coord, $shard1, $shard2)
{
	$node->init;
	$node->append_conf('postgresql.conf', "max_parallel_workers_per_gather = 0\n");
	$node->start;
}

my $columns = 'order_id bigint, customer_id bigint, ordered_at timestamptz, amount numeric(12,2)';
for my $shard ($shard1, $shard2)
{
	$shard->safe_psql('postgres',
		"CREATE EXTENSION customer_priority; CREATE TABLE orders_shard ($columns);");
}

# 1,200 customers, ~5,000 order lines with order ids (several lines per order),
# refunds and repeated lines, derived from hashes.
my $servers = '';
for my $s ([ 'shard1', $shard1 ], [ 'shard2', $shard2 ])
{
	my ($name, $node) = @$s;
	$servers .= sprintf(
		"CREATE SERVER %s FOREIGN DATA WRAPPER postgres_fdw
		     OPTIONS (host '%s', port '%s', dbname 'postgres', extensions 'customer_priority');
		 CREATE USER MAPPING FOR CURRENT_USER SERVER %s;\n",
		$name, $node->host, $node->port, $name);
}
$coord->safe_psql(
	'postgres', qq{
CREATE EXTENSION customer_priority;
CREATE EXTENSION postgres_fdw;
$servers
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
CREATE TABLE orders ($columns) PARTITION BY HASH (customer_id);
CREATE TABLE orders_p0 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE FOREIGN TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 1)
    SERVER shard1 OPTIONS (table_name 'orders_shard');
CREATE FOREIGN TABLE orders_p2 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 2)
    SERVER shard2 OPTIONS (table_name 'orders_shard');
INSERT INTO orders SELECT order_id, customer_id, ordered_at, amount FROM orders_local;
ANALYZE orders_local, orders_p0, orders_p1, orders_p2;
});
is( $coord->safe_psql(
		'postgres', q{
SELECT string_agg(format('%s=%s', p, n), ' ' ORDER BY p)
FROM (SELECT tableoid::regclass::text AS p, count(DISTINCT customer_id) AS n FROM orders GROUP BY 1) s}),
	join(' ',
		map { "orders_p$_=" . $coord->safe_psql('postgres',
			"SELECT count(DISTINCT customer_id) FROM orders_local WHERE satisfies_hash_partition('orders'::regclass, 3, $_, customer_id)") }
		  0 .. 2),
	'the customers are spread over the local partition and both shards');
is($shard1->safe_psql('postgres', 'SELECT count(*) > 0 FROM orders_shard'), 't', 'shard1 holds rows');
is($shard2->safe_psql('postgres', 'SELECT count(*) > 0 FROM orders_shard'), 't', 'shard2 holds rows');

my $options = q{'{"as_of": "2024-09-01", "order_id": "order_id", "time_zone": "Europe/Berlin", "xyz_period": "week"}'};
my $setup = 'SET enable_partitionwise_aggregate = on;';

# The query create_segmentation() runs, for EXPLAIN.
$coord->safe_psql('postgres',
	"SELECT customer_priority.create_segmentation('fdw', 'orders', 'customer_id', 'ordered_at', 'amount', $options)");
my $query = $coord->safe_psql('postgres',
	"SELECT customer_priority.segmentation_customers_query(d) FROM customer_priority.segmentations d WHERE name = 'fdw'");
my $plan = $coord->safe_psql('postgres', "$setup EXPLAIN (VERBOSE, COSTS OFF) $query");
for my $p (1, 2)
{
	like($plan, qr/Relations: Aggregate on \(public\.orders_p$p o_\d\)/,
		"orders_p$p: the per-customer aggregation is a foreign scan");
}
my @remote = $plan =~ /Remote SQL: (.*)/g;
is(scalar(@remote), 2, 'two remote queries');
for my $sql (@remote)
{
	like($sql,
		qr/^SELECT customer_id, customer_priority\.customer_profile\(.*'Europe\/Berlin'::customer_priority\.calendar_name\), customer_priority\.xyz\(.*'week'::customer_priority\.calendar_name, 'Europe\/Berlin'::customer_priority\.calendar_name\), NULL::numeric FROM public\.orders_shard WHERE .* GROUP BY 1$/,
		'the remote SQL computes customer_profile() and xyz() grouped by customer');
}
unlike($plan, qr/Foreign Scan on public\.orders_p/, 'no order rows are fetched');

# Without as_of (as of now()): the same pushdown.
my $live_query = $coord->safe_psql('postgres', q{
SELECT customer_priority.segmentation_customers_query(ROW(d.name, d.schema, d.orders, d.customer_id, d.ordered_at, d.amount,
           d.options - 'as_of', d.created_at, d.refreshed_at, d.generation)::customer_priority.segmentations)
FROM customer_priority.segmentations d WHERE name = 'fdw'});
my @live = ($coord->safe_psql('postgres', "$setup EXPLAIN (VERBOSE, COSTS OFF) $live_query") =~ /Relations: Aggregate on/g);
is(scalar(@live), 2, 'without as_of the aggregation is pushed down too');

# With async_capable the coordinator starts both shards' queries at once
# instead of one after the other (postgres_fdw 14 and later).
SKIP:
{
	skip 'postgres_fdw has async_capable from PostgreSQL 14 on', 1
	  if $coord->safe_psql('postgres', 'SHOW server_version_num') < 140000;
	$coord->safe_psql('postgres',
		"ALTER SERVER shard1 OPTIONS (ADD async_capable 'true'); ALTER SERVER shard2 OPTIONS (ADD async_capable 'true')");
	my $async = $coord->safe_psql('postgres', "$setup EXPLAIN (VERBOSE, COSTS OFF) $query");
	my @async = $async =~ /Async Foreign Scan/g;
	is(scalar(@async), 2, 'async_capable: both aggregating foreign scans are asynchronous');
}

# One row per customer crosses the network: the rows each foreign scan receives
# (those it returns plus those the local filter "orders > 0" removes) are the
# customers of its shard with an order by as_of.
my $analyzed = decode_json($coord->safe_psql('postgres',
	"$setup EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) $query"));
my @fetched;
my @todo = ($analyzed->[0]{Plan});
while (my $n = shift @todo)
{
	push @fetched, $n->{'Actual Rows'} + ($n->{'Rows Removed by Filter'} // 0)
	  if $n->{'Node Type'} eq 'Foreign Scan';
	push @todo, @{ $n->{Plans} // [] };
}
is( join(',', sort { $a <=> $b } @fetched),
	join(',',
		sort { $a <=> $b }
		map { $_->safe_psql('postgres', q{SELECT count(DISTINCT customer_id) FROM orders_shard WHERE ordered_at <= '2024-09-01'}) }
		  ($shard1, $shard2)),
	'each shard sends one row per customer');

# The same segmentation over the local copy, and over the shards without
# partitionwise aggregation (order rows fetched, aggregated on the coordinator).
$coord->safe_psql('postgres',
	"SELECT customer_priority.create_segmentation('loc', 'orders_local', 'customer_id', 'ordered_at', 'amount', $options)");
$coord->safe_psql('postgres',
	"SET enable_partitionwise_aggregate = off;
	 SELECT customer_priority.create_segmentation('fetched', 'orders', 'customer_id', 'ordered_at', 'amount', $options)");

sub differing
{
	my ($a, $b) = @_;
	return $coord->safe_psql(
		'postgres', qq{
SELECT (SELECT count(*) FROM $a)
       || ' ' || (SELECT count(*) FROM (SELECT * FROM $a EXCEPT ALL SELECT * FROM $b) d)
       || ' ' || (SELECT count(*) FROM (SELECT * FROM $b EXCEPT ALL SELECT * FROM $a) d)});
}
# Customers with only refunds, or no order by as_of, have no row.
my $customers = $coord->safe_psql('postgres', 'SELECT count(*) FROM loc_customers');
cmp_ok($customers, '>', 1100, 'most customers have a row');
is(differing('fdw_customers', 'loc_customers'), "$customers 0 0", 'sharded and local _customers are the same');
is(differing('fetched_customers', 'loc_customers'), "$customers 0 0", 'without partitionwise aggregation: the same');
for my $v ('segments', 'profiles')
{
	my ($n) = split / /, differing("fdw_$v", "loc_$v");
	is(differing("fdw_$v", "loc_$v"), "$n 0 0", "sharded and local _$v are the same");
}

# refresh_segmentation() after new orders on a shard and locally.
$coord->safe_psql(
	'postgres', q{
INSERT INTO orders_local VALUES (12, 9000001, '2024-08-30 10:00+00', 70.00), (14, 9000002, '2024-08-31 10:00+00', 20.00);
INSERT INTO orders SELECT order_id, customer_id, ordered_at, amount FROM orders_local WHERE order_id > 9000000;
});
is( $coord->safe_psql('postgres', q{SELECT count(DISTINCT tableoid) FROM orders WHERE order_id > 9000000}),
	'2', 'the new orders went to two partitions');
$coord->safe_psql('postgres',
	"$setup SELECT customer_priority.refresh_segmentation('fdw'), customer_priority.refresh_segmentation('loc')");
is(differing('fdw_customers', 'loc_customers'), "$customers 0 0", 'after a refresh: the same');

# The whole-table path cannot be pushed down (one aggregate over all rows, no
# GROUP BY on the partition key): the order rows are fetched, the result is exact.
my $scores = q{SELECT s.* FROM customer_priority.score_customers('%s', 'customer_id', 'ordered_at', 'amount',
                    as_of => '2024-09-01', order_id_column => 'order_id') s};
is( $coord->safe_psql(
		'postgres', sprintf(q{%s
SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) d}, $setup, sprintf($scores, 'orders'), sprintf($scores, 'orders_local'))),
	'0', 'score_customers over the shards: the same rows');
like(
	$coord->safe_psql(
		'postgres', qq{$setup EXPLAIN (VERBOSE, COSTS OFF)
SELECT customer_priority.score_population(customer_id, ordered_at, amount, '2024-09-01', 5, 0.8, 0.95, order_id) FROM orders}),
	qr/Remote SQL: SELECT order_id, customer_id, ordered_at, amount FROM public\.orders_shard$/m,
	'score_population: order rows are fetched');

# A timestamp column (read with at_time_zone()), a channel (its mode() per
# customer) and a margin: all computed on the shards too, with the same result.
my $columns2 = 'customer_id bigint, order_id bigint, ordered_at timestamp, amount numeric(12,2), channel text, margin numeric(12,2)';
for my $shard ($shard1, $shard2)
{
	$shard->safe_psql('postgres', "CREATE TABLE orders2_shard ($columns2)");
}
$coord->safe_psql(
	'postgres', qq{
CREATE TABLE orders2_local AS
SELECT customer_id, order_id, ordered_at AT TIME ZONE 'America/New_York' AS ordered_at, amount,
       (ARRAY['web', 'shop', 'phone'])[1 + order_id % 3] AS channel, round(amount * 0.3, 2)::numeric(12,2) AS margin
FROM orders_local;
CREATE TABLE orders2 ($columns2) PARTITION BY HASH (customer_id);
CREATE TABLE orders2_p0 PARTITION OF orders2 FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE FOREIGN TABLE orders2_p1 PARTITION OF orders2 FOR VALUES WITH (MODULUS 3, REMAINDER 1)
    SERVER shard1 OPTIONS (table_name 'orders2_shard');
CREATE FOREIGN TABLE orders2_p2 PARTITION OF orders2 FOR VALUES WITH (MODULUS 3, REMAINDER 2)
    SERVER shard2 OPTIONS (table_name 'orders2_shard');
INSERT INTO orders2 SELECT * FROM orders2_local;
ANALYZE orders2_local, orders2_p0, orders2_p1, orders2_p2;
});
my $options2 = q{'{"as_of": "2024-09-01", "order_id": "order_id", "time_zone": "America/New_York",
                   "channel": "channel", "margin": "margin", "abc_weights": {"revenue": 1, "profit": 1}}'};
$coord->safe_psql('postgres',
	"$setup SELECT customer_priority.create_segmentation('ts_fdw', 'orders2', 'customer_id', 'ordered_at', 'amount', $options2),
	               customer_priority.create_segmentation('ts_loc', 'orders2_local', 'customer_id', 'ordered_at', 'amount', $options2)");
my $query2 = $coord->safe_psql('postgres',
	"SELECT customer_priority.segmentation_customers_query(d) FROM customer_priority.segmentations d WHERE name = 'ts_fdw'");
my $plan2 = $coord->safe_psql('postgres', "$setup EXPLAIN (VERBOSE, COSTS OFF) $query2");
my @remote2 = $plan2 =~ /Remote SQL: (.*)/g;
is(scalar(@remote2), 2, 'timestamp column, channel, margin: two remote queries');
for my $sql (@remote2)
{
	like($sql,
		qr/customer_priority\.at_time_zone\('America\/New_York'::customer_priority\.calendar_name, ordered_at\).*sum\(margin::numeric\).*mode\(\) WITHIN GROUP \(ORDER BY channel/,
		'at_time_zone(), sum(margin) and mode() are computed on the shard');
	like($sql, qr/GROUP BY 1$/, 'grouped by customer on the shard');
}
my ($n2) = split / /, differing('ts_loc_customers', 'ts_loc_customers');
cmp_ok($n2, '>', 1100, 'timestamp column: most customers have a row');
is(differing('ts_fdw_customers', 'ts_loc_customers'), "$n2 0 0", 'timestamp column: sharded and local _customers are the same');
my ($p2) = split / /, differing('ts_loc_profiles', 'ts_loc_profiles');
is(differing('ts_fdw_profiles', 'ts_loc_profiles'), "$p2 0 0", 'timestamp column: sharded and local _profiles are the same');

# A server that does not list the extension: a warning (every order row of its
# partition is fetched), and still the same customers.
$coord->safe_psql('postgres', 'ALTER SERVER shard2 OPTIONS (DROP extensions)');
my ($rc, $stdout, $stderr) = $coord->psql('postgres', "$setup SELECT customer_priority.refresh_segmentation('fdw')");
is($rc, 0, 'extensions option missing: the refresh runs');
like($stderr, qr/WARNING:  foreign server "shard2" does not list customer_priority in its "extensions" option/,
	'extensions option missing: a warning names the server');
is(differing('fdw_customers', 'loc_customers'), "$customers 0 0", 'extensions option missing: the same customers');
$coord->safe_psql('postgres', q{ALTER SERVER shard2 OPTIONS (ADD extensions 'customer_priority')});

# Bad input 1: a shard with another version of the extension.
my $version = $shard2->safe_psql('postgres',
	q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'});
$shard2->safe_psql('postgres', q{UPDATE pg_extension SET extversion = '0.0.9' WHERE extname = 'customer_priority'});
my $live = q{SELECT md5(string_agg(c::text, ',' ORDER BY customer_id)) FROM fdw_customers c};
my $before = $coord->safe_psql('postgres', $live);
my ($ret, $out, $err) = $coord->psql('postgres',
	"SELECT customer_priority.create_segmentation('other', 'orders', 'customer_id', 'ordered_at', 'amount', $options)");
isnt($ret, 0, 'another version on a shard: create_segmentation fails');
like($err, qr/ERROR:  customer_priority on foreign server "shard2" is version 0\.0\.9, not \Q$version\E/,
	'the error names the server and both versions');
($ret, $out, $err) = $coord->psql('postgres', "SELECT customer_priority.refresh_segmentation('fdw')");
like($err, qr/foreign server "shard2" is version 0\.0\.9/, 'refresh_segmentation fails too');
$shard2->safe_psql('postgres', "UPDATE pg_extension SET extversion = '$version' WHERE extname = 'customer_priority'");
is($coord->safe_psql('postgres', q{SELECT count(*) FROM customer_priority.segmentations WHERE name = 'other'}),
	'0', 'no segmentation was created');

# Bad input 2: a shard without the extension.
$shard2->safe_psql('postgres', 'DROP EXTENSION customer_priority');
($ret, $out, $err) = $coord->psql('postgres', "SELECT customer_priority.refresh_segmentation('fdw')");
like($err, qr/ERROR:  customer_priority is not installed on foreign server "shard2"/,
	'a shard without the extension: the error names the server');
$shard2->safe_psql('postgres', 'CREATE EXTENSION customer_priority');

# Bad input 3: a shard that is down.
$shard1->stop;
($ret, $out, $err) = $coord->psql('postgres',
	"SELECT customer_priority.create_segmentation('other', 'orders', 'customer_id', 'ordered_at', 'amount', $options)");
isnt($ret, 0, 'a shard down: create_segmentation fails');
like($err, qr/could not connect to server "shard1"/, 'the error names the server');
($ret, $out, $err) = $coord->psql('postgres', "$setup SELECT customer_priority.refresh_segmentation('fdw')");
like($err, qr/could not connect to server "shard1"/, 'refresh_segmentation fails, naming the server');
($ret, $out, $err) = $coord->psql('postgres', "$setup SELECT count(*) FROM ($query) q");
like($err, qr/could not connect to server "shard1"/, 'the query itself fails too: no partial answer');
is($coord->safe_psql('postgres', $live),
	$before, 'the live segmentation is unchanged');
$shard1->start;
$coord->safe_psql('postgres', "$setup SELECT customer_priority.refresh_segmentation('fdw')");
is(differing('fdw_customers', 'loc_customers'), "$customers 0 0", 'shard back: the refresh gives the same customers');

done_testing();
