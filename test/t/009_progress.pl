
# test/t/009_progress.pl: the progress NOTICEs of create_segmentation(),
# refresh_segmentation() and backfill_segmentation() with the setting
# customer_priority.progress on, as psql shows them: each NOTICE followed by its
# DETAIL "Elapsed: <seconds> s.", the time since the call started.
#
# sql/progress.sql compares the messages (VERBOSITY terse hides the DETAIL, which
# differs at every run); here each line is matched with a regexp:
#   - every NOTICE has its DETAIL, with seconds to the millisecond;
#   - within a call, the elapsed times never decrease (one start per call, not per
#     phase), and the phases come in the documented order;
#   - the orders are a view that sleeps 0.2 s each time it is read: a phase that
#     read it n times since the call started shows at least 0.2 * n s (a lower bound
#     only, which load cannot break: no upper bound is tested);
#   - with the setting off (the default) the same calls print nothing.
#
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('progress');
$node->init;
$node->start;

# 30 customers, 6 orders each from 2024-01 on; slow_orders sleeps 0.2 s per query reading it.
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION customer_priority;
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO orders
SELECT c, timestamptz '2024-01-01 00:00+00' + c * interval '1 day' + k * interval '1 month', 5 * c + k
FROM generate_series(1, 30) AS c, generate_series(0, 5) AS k;
-- an uncorrelated subquery: an InitPlan, run once per query that reads the view
CREATE FUNCTION slow() RETURNS boolean LANGUAGE sql VOLATILE AS 'SELECT pg_sleep(0.2) IS NOT NULL';
CREATE VIEW slow_orders AS SELECT o.* FROM orders o WHERE (SELECT slow());
});
my $sleep = 0.2;
my $options = q{'{"as_of": "2024-08-01 00:00+00", "time_zone": "UTC"}'};

# Runs one call with customer_priority.progress set to $setting; returns its
# stderr lines and the (message, elapsed seconds) of each NOTICE.
sub progress_of
{
	my ($setting, $sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SET customer_priority.progress = $setting;\n$sql",
		on_error_stop => 1);
	is($ret, 0, "$sql: runs");
	my @lines = grep { $_ ne '' } split /\n/, $stderr;
	my @notices;
	for (my $i = 0; $i < @lines; $i++)
	{
		next unless $lines[$i] =~ /NOTICE:  (.*)$/;
		my $message = $1;
		my ($elapsed) = ($lines[$i + 1] // '') =~ /^DETAIL:  Elapsed: (\d+\.\d{3}) s\.$/;
		push @notices, [ $message, $elapsed ];
	}
	return (\@lines, \@notices);
}

# Checks the NOTICEs of one call: the messages in order, a DETAIL for each, times
# that never decrease, and the lower bounds ($min->[i]: seconds slept before
# phase i ended).
sub check_progress
{
	my ($what, $notices, $expected, $min) = @_;
	note "$what: ", explain $notices;
	is_deeply([ map { $_->[0] } @$notices ], $expected, "$what: the phases in order");
	is(scalar(grep { !defined $_->[1] } @$notices), 0, "$what: each NOTICE has its DETAIL \"Elapsed: <s> s.\"");
	my @late = grep { defined $notices->[$_][1] && defined $notices->[ $_ - 1 ][1]
		  && $notices->[$_][1] < $notices->[ $_ - 1 ][1] } 1 .. $#$notices;
	is(scalar(@late), 0, "$what: the elapsed times never decrease (one start per call)");
	my @short = grep { defined $notices->[$_][1] && $notices->[$_][1] < $min->[$_] } 0 .. $#$min;
	is(scalar(@short), 0, "$what: the time slept reading the orders is counted")
	  or diag explain $notices;
}

my $seg = 'slow';
my ($lines, $notices) = progress_of('on',
	"SELECT customer_priority.create_segmentation('$seg', 'slow_orders', 'customer_id', 'ordered_at', 'amount', $options)");
check_progress(
	'create', $notices,
	[
		qq{segmentation "$seg": create: _customers_a filled, 30 rows},
		qq{segmentation "$seg": create: _segments_a filled, 13 rows},
		qq{segmentation "$seg": create: _profiles_a filled, 0 rows},
		qq{segmentation "$seg": create: _cohorts_a filled, 8 rows},
		qq{segmentation "$seg": create: done},
	],
	[ map { $sleep } 1 .. 5 ]);

($lines, $notices) = progress_of('on', "SELECT customer_priority.refresh_segmentation('$seg')");
check_progress(
	'refresh', $notices,
	[
		qq{segmentation "$seg": refresh: generation b emptied, 0 rows},
		qq{segmentation "$seg": refresh: _customers_b filled, 30 rows},
		qq{segmentation "$seg": refresh: _segments_b filled, 13 rows},
		qq{segmentation "$seg": refresh: _profiles_b filled, 0 rows},
		qq{segmentation "$seg": refresh: _cohorts_b filled, 8 rows},
		qq{segmentation "$seg": refresh: generation b live},
		qq{segmentation "$seg": refresh: done},
	],
	[ 0, map { $sleep } 1 .. 6 ]);

# Each month-end reads the orders once more: month k ends after k reads at least.
($lines, $notices) = progress_of('on',
	"SELECT * FROM customer_priority.backfill_segmentation('$seg', '2024-03-01', '2024-05-01')");
check_progress(
	'backfill', $notices,
	[
		qq{segmentation "$seg": backfill: end of 2024-03 stored (month 1 of 3), 30 rows},
		qq{segmentation "$seg": backfill: end of 2024-04 stored (month 2 of 3), 30 rows},
		qq{segmentation "$seg": backfill: end of 2024-05 stored (month 3 of 3), 30 rows},
		qq{segmentation "$seg": backfill: done},
	],
	[ $sleep, 2 * $sleep, 3 * $sleep, 3 * $sleep ]);

# Off, the default: not a line.
for my $sql ("SELECT customer_priority.refresh_segmentation('$seg')",
	"SELECT customer_priority.refresh_segmentation('$seg', concurrently => false)",
	"SELECT * FROM customer_priority.backfill_segmentation('$seg', '2024-03-01', '2024-04-01')")
{
	($lines, $notices) = progress_of('off', $sql);
	is_deeply($lines, [], "off: $sql prints nothing");
}
($lines, $notices) = progress_of('DEFAULT',
	"SELECT customer_priority.create_segmentation('quiet', 'slow_orders', 'customer_id', 'ordered_at', 'amount', $options)");
is_deeply($lines, [], 'default: create_segmentation() prints nothing');

$node->stop;
done_testing();
