
# test/t/005_readers_refresh.pl: readers of several views in one transaction,
# while refreshes loop and orders are inserted, never get an error.
#
# pgbench, for each refresh mode in turn: four reader clients, each transaction
# reading _customers, _segments and _membership of one segmentation in one of
# three orders; one client refreshing that segmentation in a loop; one inserting
# orders.  A reader transaction that failed (deadlock 40P01, or any error) fails
# the test; so does a refresher or inserter that stopped.  The blocking mode
# deadlocked readers before the refresh took its locks with
# segmentation_lock_tables() (27 failed reader transactions in 60 s).  The test
# also prints the readers' latency (mean, p99, p99.9, max) of each mode: the
# blocking mode makes readers wait for the refresh, the concurrent one must not.
#
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seconds = $ENV{CP_READERS_SECONDS} || 15;
my $tempdir = PostgreSQL::Test::Utils::tempdir;

my $node = PostgreSQL::Test::Cluster->new('readers');
$node->init;
$node->append_conf('postgresql.conf', "deadlock_timeout = 100ms\nmax_connections = 30\n");
$node->start;

# 3,000 customers, 24,000 order lines; a refresh takes a few hundred milliseconds.
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION customer_priority;
CREATE TABLE orders (order_id bigint, customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO orders
SELECT i, 1 + (hashint4(i) & 2147483647) % 3000,
       timestamptz '2023-01-01 00:00+00' + ((hashint4(i + 7) & 2147483647) % (700 * 86400)) * interval '1 second',
       1 + (hashint4(i + 11) & 2147483647) % 20000 / 100.0
FROM generate_series(1, 24000) AS i;
SELECT customer_priority.create_segmentation('shop', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"order_id": "order_id", "time_zone": "UTC", "as_of": "2025-01-01 00:00+00"}');
});

# The readers' three orders of the views, one script each (pgbench picks one at
# random per transaction).
my @orders = (
	[qw(_customers _segments _membership)],
	[qw(_segments _membership _customers)],
	[qw(_membership _customers _segments)]);
my @reader_files;
for my $i (0 .. $#orders)
{
	my $file = "$tempdir/reader$i.sql";
	open(my $fh, '>', $file) or die "$file: $!";
	print $fh "BEGIN;\n";
	for my $view (@{ $orders[$i] })
	{
		my $filter = $view eq '_membership' ? " WHERE dimension = 'label'" : '';
		print $fh "SELECT count(*) FROM shop$view$filter;\n";
	}
	print $fh "END;\n";
	close($fh);
	push @reader_files, '-f', $file;
}
my $inserter_file = "$tempdir/inserter.sql";
open(my $fh, '>', $inserter_file) or die "$inserter_file: $!";
print $fh q{\set c random(1, 3500)
INSERT INTO orders VALUES (100000 + :c, :c, timestamptz '2024-12-01 00:00+00' + :c * interval '1 minute', 10 + :c % 90);
};
close($fh);

my @connection = ('-h', $node->host, '-p', $node->port, 'postgres');

# "number of failed transactions: N (...)" and the processed count of a pgbench run.
sub counts_of
{
	my ($out) = @_;
	my ($processed) = $out =~ /number of transactions actually processed: (\d+)/;
	my ($failed) = $out =~ /number of failed transactions: (\d+)/;
	return ($processed // 0, $failed // 0);
}

# Latencies in ms of the transactions logged by pgbench -l (prefix readers).
sub latencies_of
{
	my ($prefix) = @_;
	my @ms;
	for my $log (glob("$prefix.*"))
	{
		open(my $lf, '<', $log) or die "$log: $!";
		while (my $line = <$lf>)
		{
			my @f = split ' ', $line;
			# client_id transaction_no time script_no time_epoch time_us [...]
			push @ms, $f[2] / 1000 if @f >= 3 && $f[2] =~ /^\d+$/;
		}
		close($lf);
	}
	return sort { $a <=> $b } @ms;
}

sub percentile
{
	my ($p, @sorted) = @_;
	return 0 unless @sorted;
	my $i = int($p * $#sorted + 0.5);
	return $sorted[$i];
}

for my $concurrently ('false', 'true')
{
	my $mode = $concurrently eq 'true' ? 'concurrent' : 'blocking';
	my $refresh_file = "$tempdir/refresh_$mode.sql";
	open(my $rf, '>', $refresh_file) or die "$refresh_file: $!";
	print $rf "SELECT customer_priority.refresh_segmentation('shop', $concurrently);\n";
	close($rf);

	my ($refresh_out, $refresh_err, $insert_out, $insert_err, $read_out, $read_err) = ('') x 6;
	my $refresher = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '1', '-T', $seconds, '-f', $refresh_file, @connection ],
		'>', \$refresh_out, '2>', \$refresh_err);
	my $inserter = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '1', '-T', $seconds, '-R', '50', '-f', $inserter_file, @connection ],
		'>', \$insert_out, '2>', \$insert_err);
	my $prefix = "$tempdir/readers_$mode";
	IPC::Run::run(
		[
			'pgbench', '-n', '-c', '4', '-j', '2', '-T', $seconds, '-l', "--log-prefix=$prefix",
			@reader_files, @connection
		],
		'>', \$read_out, '2>', \$read_err);
	$refresher->finish;
	$inserter->finish;

	my ($reads, $read_failures) = counts_of($read_out);
	my ($refreshes, $refresh_failures) = counts_of($refresh_out);
	my ($inserts, $insert_failures) = counts_of($insert_out);
	cmp_ok($reads, '>', 0, "$mode: the readers ran ($reads transactions)");
	is($read_failures, 0, "$mode: no reader transaction failed") or diag($read_err);
	unlike($read_err, qr/aborted|deadlock|ERROR/, "$mode: no reader client stopped on an error")
	  or diag($read_err);
	cmp_ok($refreshes, '>', 1, "$mode: the refreshes looped ($refreshes)");
	is($refresh_failures, 0, "$mode: no refresh failed") or diag($refresh_err);
	unlike($refresh_err, qr/aborted|ERROR/, "$mode: the refresher did not stop") or diag($refresh_err);
	cmp_ok($inserts, '>', 0, "$mode: orders were inserted meanwhile ($inserts)");
	unlike($insert_err, qr/aborted|ERROR/, "$mode: the inserter did not stop") or diag($insert_err);

	my @ms = latencies_of($prefix);
	my $mean = 0;
	$mean += $_ for @ms;
	$mean /= @ms if @ms;
	note(sprintf("%s: %d reader transactions, latency mean %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms; %d refreshes",
			$mode, scalar(@ms), $mean, percentile(0.99, @ms), percentile(0.999, @ms), $ms[-1] // 0, $refreshes));
}

# The segmentation is whole after all that: every view agrees with the customers.
is( $node->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) FROM shop_customers) = (SELECT sum(customers) FROM shop_segments WHERE dimension = 'abc_class')
   AND (SELECT count(*) FROM shop_customers) = (SELECT count(*) FROM shop_membership WHERE dimension = 'abc_class')}),
	't', 'the views agree after the runs');

$node->stop;
done_testing();
