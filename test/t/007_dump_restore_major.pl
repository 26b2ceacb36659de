
# test/t/007_dump_restore_major.pl: a DBA's way to a newer PostgreSQL major:
# pg_dump of a database with segmentations and history on the old major,
# restored into the new one.
#
# Needs the old major's installation, with this extension installed in it, in
# CP_OLD_INSTALL (test/chroot.sh sets /usr/lib/postgresql/15 in the chroot of
# PostgreSQL 18: a copy of the host's, which run_tests.sh has just installed the
# extension into); skipped, saying so, without it.  The old cluster gets two
# segmentations (one with history: snapshots, a backfill; one of a
# non-superuser, in a schema of its own, with a grant), is dumped (with the old
# major's pg_dump: see below why not the new one's) and restored into the new
# major's cluster with its pg_restore.  Then:
#   - the extension is at the same version, every view and history table of the
#     segmentations has the same rows, grants and comments survive;
#   - refresh_segmentation() in both modes, snapshot_segmentation() and
#     drop_segmentation() work on the new major, and a refresh computes the
#     same rows as on the old one (as_of is fixed).
#
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old_install = $ENV{CP_OLD_INSTALL};
plan skip_all => 'CP_OLD_INSTALL (an older PostgreSQL installation with the extension) is not set; '
  . 'test/chroot.sh 18 sets it'
  unless $old_install && -x "$old_install/bin/postgres";

my $tempdir = PostgreSQL::Test::Utils::tempdir;

my $old = PostgreSQL::Test::Cluster->new('old', install_path => $old_install);
my $new = PostgreSQL::Test::Cluster->new('new');
$_->init for ($old, $new);
$_->start for ($old, $new);
my $old_version = $old->safe_psql('postgres', 'SHOW server_version_num');
my $new_version = $new->safe_psql('postgres', 'SHOW server_version_num');
cmp_ok(int($old_version / 10000), '<', int($new_version / 10000),
	"from PostgreSQL $old_version to $new_version");

# The roles exist in both clusters, as a DBA creates them (pg_dumpall -g) first.
for my $node ($old, $new)
{
	$node->safe_psql('postgres', q{
CREATE ROLE cp_owner LOGIN;
CREATE ROLE cp_bi LOGIN;
CREATE DATABASE shop;
});
}

$old->safe_psql(
	'shop', q{
CREATE EXTENSION customer_priority;
CREATE TABLE orders (order_id int, customer_id int, ordered_at timestamptz, amount numeric(10,2), channel text);
INSERT INTO orders
SELECT i, 1 + (hashint4(i) & 2147483647) % 70,
       timestamptz '2023-01-01 00:00+00' + ((hashint4(i + 1) & 2147483647) % (700 * 86400)) * interval '1 second',
       CASE WHEN i % 19 = 0 THEN -1 ELSE 1 END * (1 + (hashint4(i + 2) & 2147483647) % 20000 / 100.0),
       (ARRAY['web', 'shop'])[1 + i % 2]
FROM generate_series(1, 500) AS i;
SELECT customer_priority.create_segmentation('sales', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-12-01 00:00+00", "time_zone": "Europe/Berlin", "order_id": "order_id",
      "channel": "channel", "snapshot": true}');
SELECT count(*) FROM customer_priority.backfill_segmentation('sales', '2024-08-01', '2024-10-01');
CREATE SCHEMA team AUTHORIZATION cp_owner;
GRANT SELECT ON orders TO cp_owner;
SET ROLE cp_owner;
SELECT customer_priority.create_segmentation('owned', 'public.orders', 'customer_id', 'ordered_at', 'amount',
    '{"schema": "team", "as_of": "2024-11-15 00:00+00", "time_zone": "UTC", "bins": 3}');
GRANT USAGE ON SCHEMA team TO cp_bi;
GRANT SELECT ON team.owned_customers TO cp_bi;
RESET ROLE;
});

my $stable = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3;";
my @relations = (
	(map { "public.sales$_" } qw(_customers _membership _segments _profiles _transitions _movers _history)),
	'(SELECT as_of, source, customers FROM public.sales_snapshots)',
	(map { "team.owned$_" } qw(_customers _membership _segments _profiles)));

# The sorted rows of every relation, one line per row, prefixed by the relation.
sub rows_of
{
	my ($node) = @_;
	my $sql = join("\nUNION ALL\n",
		map { my $r = $_; (my $label = $r) =~ s/ .*//; "SELECT '$label ' || t::text FROM $r t" } @relations);
	return $node->safe_psql('shop',
		"$stable SELECT string_agg(line, E'\\n' ORDER BY line COLLATE \"C\") FROM ($sql) AS x(line)");
}

my $rows_old = rows_of($old);
like($rows_old, qr/^public\.sales_movers /m, 'the old cluster has rows in every view, also of the history');

# Dump, restore with the new major's pg_restore.  The dump is the old major's
# pg_dump's: Debian bookworm's 15.20 keeps an attribute option pg_attver on every
# column, which sid's pg_dump 18.6 copies into the dump and its server then refuses
# ('unrecognized parameter "pg_attver"'); 15's pg_dump leaves it out.
my $dump = "$tempdir/shop.dump";
$old->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $old->connstr('shop') ],
	'pg_dump (old major) of the old cluster');
$new->command_ok([ 'pg_restore', '--exit-on-error', '-d', $new->connstr('shop'), $dump ],
	'pg_restore into the new major');

is( $new->safe_psql('shop', q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
	$old->safe_psql('shop', q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
	'the extension is at the same version');
my $rows_new = rows_of($new);
is($rows_new, $rows_old, 'every view and history table has the same rows on the new major');
is( $new->safe_psql('shop', q{SELECT has_table_privilege('cp_bi', 'team.owned_customers', 'SELECT')
                               AND NOT has_table_privilege('cp_bi', 'team.owned_segments', 'SELECT')}),
	't', 'the grant came along');
is( $new->safe_psql('shop', q{SELECT count(*) FROM pg_attribute a
                               WHERE a.attrelid = 'public.sales_customers'::regclass AND a.attnum > 0
                                 AND col_description(a.attrelid, a.attnum) IS NULL}),
	'0', 'every column of a view is still described');

# The segmentations work on the new major: refreshes (both modes) give the rows
# the old major's views hold (as_of is fixed), a snapshot, a drop.
my ($ret, $out, $err) = $new->psql(
	'shop', q{
SELECT customer_priority.refresh_segmentation('sales');
SELECT customer_priority.refresh_segmentation('sales', false);
SET ROLE cp_owner;
SELECT customer_priority.refresh_segmentation('team.owned');
RESET ROLE;
}, on_error_stop => 1);
is($ret, 0, 'refresh_segmentation() in both modes, also by the owner') or diag($err);
my $after = rows_of($new);
(my $views_old = $rows_old) =~ s/^(?:public\.sales_(?:history|movers|transitions)|\(SELECT) .*\n?//mg;
(my $views_new = $after) =~ s/^(?:public\.sales_(?:history|movers|transitions)|\(SELECT) .*\n?//mg;
is($views_new, $views_old, 'the refreshed views equal the old major\'s');
cmp_ok($new->safe_psql('shop', q{SELECT customer_priority.snapshot_segmentation('sales', '2024-11-01')}),
	'>', 0, 'snapshot_segmentation() computes on the new major');
$new->safe_psql('shop', q{SELECT customer_priority.drop_segmentation('sales'); SELECT customer_priority.drop_segmentation('team.owned')});
is($new->safe_psql('shop', q{SELECT count(*) FROM customer_priority.segmentations}),
	'0', 'drop_segmentation() on the new major');

$_->stop for ($old, $new);
done_testing();
