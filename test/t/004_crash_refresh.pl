
# test/t/004_crash_refresh.pl: a backend killed in the middle of
# refresh_segmentation() leaves the last committed result.
#
# A refresh fills the segmentation's other generation of tables and makes it
# live in one transaction.  Here the orders are a view whose rows pass
# through gate(), which waits for an advisory lock the test holds: the
# refresh stops in the middle of filling, after it emptied the other
# generation (DELETE, or TRUNCATE when not concurrently).  The test kills
# that backend with SIGKILL; the postmaster ends every session and restarts
# after crash recovery.  Then, for both modes of refresh_segmentation():
#   - the four views show exactly the rows committed before the crash, and
#     the definition still names the same live generation;
#   - the next refresh works and gives the new result: the rows of a
#     segmentation created from scratch over the same orders.
#
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;

# Orders of 80 customers; two more batches (new customers, and new orders of
# old ones) wait in orders_later, one for the refresh killed in each mode.
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION customer_priority;
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric);
CREATE TABLE orders_later (batch int, LIKE orders);
INSERT INTO orders
SELECT 1 + i % 80, timestamptz '2023-01-01 00:00+00' + (i * 7919 % 700) * interval '1 day',
       1 + i * 104729 % 50000 / 100.0
FROM generate_series(1, 600) AS i;
INSERT INTO orders_later
SELECT b, 40 * b + i % 60, timestamptz '2024-11-01 00:00+00' + (i % 50) * interval '1 day',
       5 + i * 7 * b % 900
FROM generate_series(1, 2) AS b, generate_series(1, 300) AS i;

-- Every order row passes gate(), which waits while the test holds
-- advisory lock 4242 exclusively.
CREATE FUNCTION gate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_lock_shared(4242);
    PERFORM pg_advisory_unlock_shared(4242);
    RETURN true;
END
$$;
CREATE VIEW gated_orders AS SELECT * FROM orders WHERE gate();
});

my @views = qw(_customers _membership _segments _profiles);
my $options = q{'{"as_of": "2025-01-01 00:00+00"}'};
my $stable = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3;";

# The rows of each view of a segmentation, sorted, one string per view.
sub rows_of
{
	my ($seg) = @_;
	my %rows;
	for my $v (@views)
	{
		$rows{$v} = $node->safe_psql('postgres',
			qq{$stable SELECT count(*) || E'\\n' || coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE "C"), '')
			   FROM public."$seg$v" t});
	}
	return \%rows;
}

# The live generation and the time of the last refresh of a segmentation.
sub definition_of
{
	my ($seg) = @_;
	return $node->safe_psql('postgres',
		"SELECT generation::text || ' ' || refreshed_at FROM customer_priority.segmentations WHERE name = '$seg'");
}

my $batch = 0;
for my $concurrently ('true', 'false')
{
	my $seg = "crash_$concurrently";
	$batch++;

	$node->safe_psql('postgres', qq{
SELECT customer_priority.create_segmentation('$seg', 'gated_orders', 'customer_id', 'ordered_at', 'amount', $options);
SELECT customer_priority.refresh_segmentation('$seg', concurrently => $concurrently);
});
	my $committed = rows_of($seg);
	my $definition = definition_of($seg);
	my ($live) = split / /, $definition;
	my $fill = $live eq 'a' ? 'b' : 'a';
	like($committed->{_customers}, qr/^\d+\n\S/, "$seg: customers before the crash");

	# New orders, committed; then a refresh that stops at the gate.
	$node->safe_psql('postgres',
		"INSERT INTO orders SELECT customer_id, ordered_at, amount FROM orders_later WHERE batch = $batch");
	my $locker = $node->background_psql('postgres');
	$locker->query_safe('SELECT pg_advisory_lock(4242)');
	my $refresher = $node->background_psql('postgres', on_error_stop => 0);
	$refresher->query_until(qr/^refreshing$/m,
		"\\echo refreshing\nSELECT customer_priority.refresh_segmentation('$seg', concurrently => $concurrently);\n");

	ok( $node->poll_query_until(
			'postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%refresh_segmentation%'}),
		"$seg: the refresh waits at the gate");
	my $pid = $node->safe_psql('postgres', q{
SELECT pid FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%refresh_segmentation%'});

	# In the middle: it has emptied the other generation (DELETE takes ROW
	# EXCLUSIVE, TRUNCATE ACCESS EXCLUSIVE) and is filling it.
	my $mode = $concurrently eq 'true' ? 'RowExclusiveLock' : 'AccessExclusiveLock';
	is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = $pid AND l.granted AND l.mode = '$mode'
  AND c.relname IN ('${seg}_customers_$fill', '${seg}_segments_$fill', '${seg}_profiles_$fill')}),
		'3', "$seg: the refresh holds $mode on the 3 tables of generation $fill");

	# SIGKILL: the postmaster ends every backend and restarts after recovery.
	my $log_offset = -s $node->logfile;
	kill 'KILL', $pid;
	# (the process kind in the message: "client backend" from PostgreSQL 18 on)
	$node->wait_for_log(qr/(server process|client backend) \(PID $pid\) was terminated by signal 9/, $log_offset);
	$node->wait_for_log(qr/database system is ready to accept connections/, $log_offset);
	ok($node->poll_query_until('postgres', 'SELECT true'), "$seg: the server is back after the crash");
	# Both sessions were ended by the postmaster.
	eval { $refresher->quit; };
	eval { $locker->quit; };

	is(definition_of($seg), $definition, "$seg: after the crash, the same live generation and refresh time");
	my $after = rows_of($seg);
	for my $v (@views)
	{
		is($after->{$v}, $committed->{$v}, "$seg: after the crash, $seg$v shows the committed rows");
	}

	# The next refresh works and gives what a new segmentation of the same
	# orders gives.
	$node->safe_psql('postgres', qq{
SELECT customer_priority.refresh_segmentation('$seg', concurrently => $concurrently);
SELECT customer_priority.create_segmentation('reference', 'orders', 'customer_id', 'ordered_at', 'amount', $options);
});
	my $refreshed = rows_of($seg);
	my $reference = rows_of('reference');
	isnt($refreshed->{_customers}, $committed->{_customers}, "$seg: the new orders change the result");
	for my $v (@views)
	{
		is($refreshed->{$v}, $reference->{$v}, "$seg: the next refresh gives the new result in $seg$v");
	}
	like(definition_of($seg), qr/^$fill /, "$seg: generation $fill is live after the next refresh");
	$node->safe_psql('postgres', "SELECT customer_priority.drop_segmentation('reference')");
}

$node->stop;
done_testing();
