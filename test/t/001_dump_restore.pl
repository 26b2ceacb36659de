
# test/t/001_dump_restore.pl: segmentations survive pg_dump / pg_restore.
#
# The views of a segmentation are ordinary views owned by their creator, over
# two ordinary tables each (generations a and b) for _customers, _segments,
# _profiles and _cohorts; the definitions, with the live generation, are rows of the extension
# configuration table customer_priority.segmentations (pg_extension_config_dump).
# So a dump must bring back, with no extra step and no refresh: the definitions,
# the tables with their rows, unique indexes and comments, the five views of
# each segmentation with the same content, comments and grants;
# refresh_segmentation() (both modes) and drop_segmentation() must work on the
# copy.  Checked for a restore into another database of the same cluster
# (parallel pg_restore) and into a second cluster, plus a plain-format dump
# replayed with psql, and a --no-owner restore by a non-superuser.  Then DROP
# EXTENSION: refused while segmentations exist; CASCADE drops the views and the
# definitions and leaves the generation tables (which depend on nothing of the
# extension) to be dropped by hand.
#
# The history of a segmentation (tables <name>_snapshots and <name>_history, views
# <name>_transitions and <name>_movers) is ordinary too and must come back the
# same; the configuration table customer_priority.segment_actions is dumped whole
# and its edited and added rows must replace the ones CREATE EXTENSION makes.
#
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tempdir = PostgreSQL::Test::Utils::tempdir;

# Identifiers and literals for the SQL built below.
sub qi
{
	my ($s) = @_;
	$s =~ s/"/""/g;
	return qq{"$s"};
}

sub ql
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return qq{'$s'};
}

# The segmentations, with the schema of their views.  "hostile" has quotes,
# spaces and a semicolon in its name and schema, reads a view (in that schema)
# as its orders, and belongs to a non-superuser role.  "live" has no as_of: its
# views are as of their last refresh, so only its size is compared.
my $hostile_schema = 'Bi "Views"; x';
my %schema_of = (
	sales => 'public',
	'Sales "Q1" 2024; --' => $hostile_schema,
	live => 'public');
my $hostile = 'Sales "Q1" 2024; --';
my @fixed = ('sales', $hostile);    # as_of fixed: same content everywhere
my @views = qw(_customers _membership _segments _profiles _cohorts);
my @history = qw(_snapshots _history _transitions _movers);
my @tables = map { my $t = $_; map { "${t}_$_" } qw(a b) } qw(_customers _segments _profiles _cohorts);
my $n_customers = 60;

sub view_name
{
	my ($seg, $suffix) = @_;
	return qi($schema_of{$seg}) . '.' . qi($seg . $suffix);
}

# Settings that make the text of a row independent of the node.
my $stable = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3;";

# "<rows> <md5 of the sorted rows>" of a relation.
sub digest
{
	my ($node, $db, $rel) = @_;
	return $node->safe_psql($db,
		qq{$stable SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text COLLATE "C")), '-') FROM $rel t}
	);
}

# Digests of the views of the fixed segmentations, keyed by view.
sub digests
{
	my ($node, $db) = @_;
	my %d;
	for my $seg (@fixed)
	{
		for my $v (@views, @history)
		{
			my $rel = view_name($seg, $v);
			$d{$rel} = digest($node, $db, $rel);
		}
	}
	$d{'customer_priority.segment_actions'} = digest($node, $db, 'customer_priority.segment_actions');
	return \%d;
}

# The definitions, one line each.
my $definitions_query = qq{$stable
SELECT string_agg(concat_ws(' | ', name, schema, orders::text, customer_id, ordered_at, amount,
                            options::text, created_at, refreshed_at, generation), E'\\n' ORDER BY name)
FROM customer_priority.segmentations};

# The relations of the segmentations: views and generation tables (their
# comments say "segmentation <name>: ...").
my $segmentation_relations = q{c.relkind IN ('v', 'r') AND obj_description(c.oid, 'pg_class') LIKE 'segmentation %'};

# Catalogue facts of every view and generation table: kind, owner, grants,
# comment of the relation, comments of its columns; then the definitions of the
# tables' indexes.
my $catalog_query = qq{
SELECT string_agg(format('%s.%s kind=%s owner=%s acl=[%s] comment=%s columns=%s described=%s',
                         quote_ident(n.nspname), quote_ident(c.relname), c.relkind, c.relowner::regrole,
                         (SELECT string_agg(format('%s:%s', a.grantee::regrole, a.privilege_type), ','
                                            ORDER BY a.grantee::regrole::text, a.privilege_type)
                          FROM aclexplode(c.relacl) a),
                         md5(obj_description(c.oid, 'pg_class')),
                         (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0),
                         (SELECT md5(string_agg(a.attname || '=' || col_description(c.oid, a.attnum), '|' ORDER BY a.attnum))
                          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0)),
                  E'\\n' ORDER BY n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE $segmentation_relations
UNION ALL
SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\\n' ORDER BY pg_get_indexdef(i.indexrelid))
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE $segmentation_relations};

#------------------------------------------------------------------------------
# Node A: the source.
#------------------------------------------------------------------------------
my $node_a = PostgreSQL::Test::Cluster->new('source');
$node_a->init;
$node_a->start;

# Roles are global: they are created again on node B below.
my $roles_sql = q{
CREATE ROLE cp_owner;
CREATE ROLE cp_bi;
};
$node_a->safe_psql('postgres', $roles_sql . 'CREATE DATABASE shop;');

# The recommended actions as edited in the source (before its refreshes: the
# source's _segments show the edited action of class A).
my $actions_sql = q{
UPDATE customer_priority.segment_actions SET recommended_action = 'Call them personally.'
WHERE dimension = 'abc_class' AND segment = 'A';
INSERT INTO customer_priority.segment_actions VALUES ('rfm_segment', 'Whales "big"; --', 'A key account manager.');
};

my $hostile_orders = qi($hostile_schema) . '.' . qi('Order "Lines"');
my $hostile_options = qq({"schema": "Bi \\"Views\\"; x", "as_of": "2024-11-15 08:00",
      "time_zone": "America/New_York", "bins": 3, "order_attributes": ["channel"],
      "abc_weights": {"revenue": 0.5, "loyalty": 0.5}});

# Orders: 401 rows of 60 customers (each with a purchase in rows 1-60), about
# 1 row in 23 a refund, spread over 2023-2024 (some after the fixed as_of), a
# channel; one row without customer.  people: a region for 55 of them.
$node_a->safe_psql(
	'shop', qq{
CREATE EXTENSION customer_priority;
CREATE TABLE orders (order_id int, customer_id int, ordered_at timestamptz,
                     amount numeric(10,2), channel text);
INSERT INTO orders
SELECT i,
       CASE WHEN i <= $n_customers THEN i ELSE 1 + (hashint4(i) & 2147483647) % $n_customers END,
       timestamptz '2023-01-01 00:00+00'
         + ((hashint4(i + 100000) & 2147483647) % (730 * 86400)) * interval '1 second',
       CASE WHEN i > $n_customers AND i % 23 = 0 THEN -1 ELSE 1 END
         * (1 + (hashint4(i + 200000) & 2147483647) % 30000 / 100.0),
       (ARRAY['web', 'shop', 'phone'])[1 + (hashint4(i + 300000) & 2147483647) % 3]
FROM generate_series(1, 400) AS i;
INSERT INTO orders VALUES (401, NULL, '2024-06-01 10:00+00', 99, 'web');
CREATE TABLE people (id int PRIMARY KEY, region text, referrals int);
INSERT INTO people
SELECT c, (ARRAY['North', 'South', 'East', 'West'])[1 + (hashint4(c + 400000) & 2147483647) % 4],
       (hashint4(c + 500000) & 2147483647) % 3
FROM generate_series(1, $n_customers - 5) AS c;

SELECT customer_priority.create_segmentation('sales', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-12-01 00:00+00", "time_zone": "Europe/Berlin", "order_id": "order_id",
      "customers": "people", "customer_key": "id", "referrals": "referrals",
      "customer_attributes": ["region"]}');
SELECT customer_priority.create_segmentation('live', 'orders', 'customer_id', 'ordered_at', 'amount',
                                             '{"snapshot": true}');
SELECT count(*) FROM customer_priority.backfill_segmentation('sales', '2024-06-01', '2024-11-01');
$actions_sql

CREATE SCHEMA ${\ qi($hostile_schema)} AUTHORIZATION cp_owner;
GRANT SELECT ON orders TO cp_owner;
SET ROLE cp_owner;
CREATE VIEW $hostile_orders AS SELECT * FROM public.orders;
SELECT customer_priority.create_segmentation(${\ ql($hostile)}, ${\ ql($hostile_orders)},
    'customer_id', 'ordered_at', 'amount', ${\ ql($hostile_options)});
SELECT count(*) FROM customer_priority.backfill_segmentation(${\ ql($hostile)}, '2024-06-01', '2024-10-01');
GRANT USAGE ON SCHEMA ${\ qi($hostile_schema)} TO cp_bi;
GRANT SELECT ON ${\ view_name($hostile, '_customers')}, ${\ view_name($hostile, '_segments')} TO cp_bi;
RESET ROLE;

GRANT SELECT ON sales_customers, sales_segments, sales_profiles TO cp_bi;

-- "live" is dumped with generation b live (a was emptied by the concurrent refresh);
-- "sales" with a live and b holding the previous result (a blocking refresh keeps it).
SELECT customer_priority.refresh_segmentation('live');
SELECT customer_priority.refresh_segmentation('sales', true);
SELECT customer_priority.refresh_segmentation('sales', false);
});

# Sanity of the source: every view has rows (_profiles too: attributes are mapped).
my $digests_a = digests($node_a, 'shop');
for my $rel (sort keys %$digests_a)
{
	like($digests_a->{$rel}, qr/^[1-9]\d* [0-9a-f]{32}$/, "source: $rel has rows");
}
is( $node_a->safe_psql('shop', 'SELECT count(*) FROM live_customers'),
	$n_customers, 'source: live_customers has every customer');
my $definitions_a = $node_a->safe_psql('shop', $definitions_query);
# "live" has no fixed as_of: its rows are as of its last refresh.
my $live_as_of_query = "$stable SELECT min(as_of) || ' ' || max(as_of) FROM live_customers";
my $live_as_of_a = $node_a->safe_psql('shop', $live_as_of_query);
my $catalog_a = $node_a->safe_psql('shop', $catalog_query);
note "definitions:\n$definitions_a\nviews:\n$catalog_a";
is( $node_a->safe_psql('shop', 'SELECT count(*) FROM customer_priority.segmentations'),
	3, 'source: three segmentations');
is( $node_a->safe_psql(
		'shop',
		q{SELECT string_agg(name || '=' || generation::text, ' ' ORDER BY name COLLATE "C") FROM customer_priority.segmentations}),
	"$hostile=a live=b sales=a",
	'source: the live generations');
is( $node_a->safe_psql(
		'shop',
		q{SELECT (SELECT count(*) FROM live_customers_a) || ' ' || (SELECT count(*) FROM live_customers_b)
		   || ' ' || ((SELECT count(*) FROM sales_customers_a) = (SELECT count(*) FROM sales_customers))
		   || ' ' || ((SELECT count(*) FROM sales_customers_b) = (SELECT count(*) FROM sales_customers))}),
	"0 $n_customers true true",
	'source: a concurrent refresh emptied the old generation, a blocking one kept it');
is( $node_a->safe_psql(
		'shop',
		"SELECT relowner::regrole FROM pg_class WHERE oid = to_regclass(${\ ql(view_name($hostile, '_customers'))})"
	),
	'cp_owner',
	'source: the hostile segmentation belongs to cp_owner');

#------------------------------------------------------------------------------
# Dumps: custom format for pg_restore, plain format for psql and grep.
#------------------------------------------------------------------------------
my $dump_custom = "$tempdir/shop.dump";
my $dump_plain = "$tempdir/shop.sql";
$node_a->command_ok(
	[ 'pg_dump', '-Fc', '-d', $node_a->connstr('shop'), '-f', $dump_custom ],
	'pg_dump -Fc');
$node_a->command_ok(
	[ 'pg_dump', '-Fp', '-d', $node_a->connstr('shop'), '-f', $dump_plain ],
	'pg_dump -Fp');

# The mechanism: the definitions are dumped as data of the configuration table
# (CREATE EXTENSION makes it empty), the tables as user tables with their rows,
# the views as user views; no REFRESH anywhere.
my $plain = slurp_file($dump_plain);
like(
	$plain,
	qr/^CREATE EXTENSION IF NOT EXISTS customer_priority WITH SCHEMA customer_priority;$/m,
	'plain dump: CREATE EXTENSION');
like(
	$plain,
	qr/^COPY customer_priority\.segmentations \(name, schema, orders, customer_id, ordered_at, amount, options, created_at, refreshed_at, generation\) FROM stdin;\n(?:.*\n){3}\\\.$/m,
	'plain dump: COPY of the three definitions into customer_priority.segmentations');
like(
	$plain,
	qr/^COPY customer_priority\.segment_actions \(dimension, segment, recommended_action\) FROM stdin;$/m,
	'plain dump: COPY of the recommended actions');
like(
	$plain,
	qr/^\Q$hostile\E\t\Q$hostile_schema\E\t\Q$hostile_orders\E\t/m,
	'plain dump: the hostile definition, orders relation schema-qualified');
unlike($plain, qr/^CREATE TABLE customer_priority\./m,
	'plain dump: no CREATE TABLE of the extension\'s own tables');
for my $seg (sort keys %schema_of)
{
	my $dumped = sub {
		my ($suffix) = @_;
		return $schema_of{$seg} eq 'public' ? 'public.' . ($seg . $suffix) : view_name($seg, $suffix);
	};
	for my $t (@tables)
	{
		my $rel = $dumped->($t);
		like($plain, qr/^CREATE TABLE \Q$rel\E \($/m, "plain dump: CREATE TABLE $rel");
		like($plain, qr/^COPY \Q$rel\E \(.*\) FROM stdin;$/m, "plain dump: COPY $rel");
	}
	for my $v (@views)
	{
		my $rel = $dumped->($v);
		like($plain, qr/^CREATE VIEW \Q$rel\E AS$/m, "plain dump: CREATE VIEW $rel");
		# _membership reads the view _customers, the others their two tables
		my @read = $v eq '_membership'
		  ? ('CREATE VIEW ' . $dumped->('_customers') . ' AS')
		  : map { 'CREATE TABLE ' . $dumped->("${v}_$_") . ' (' } qw(a b);
		ok( (grep { index($plain, $_) >= 0 && index($plain, $_) < index($plain, "CREATE VIEW $rel AS") } @read) == 2 - ($v eq '_membership'),
			"plain dump: $rel is created after what it reads");
	}
}
unlike($plain, qr/MATERIALIZED VIEW/, 'plain dump: no materialized view, no REFRESH');
# The inactive generation of "live" was emptied: its COPY has no row.
like($plain, qr/^COPY public\.live_customers_a \(.*\) FROM stdin;\n\\\.$/m,
	'plain dump: the emptied generation is dumped without rows');

#------------------------------------------------------------------------------
# Checks of a restored copy against the source.
#------------------------------------------------------------------------------
sub check_copy
{
	my ($node, $db, $label) = @_;

	is($node->safe_psql($db, $definitions_query), $definitions_a, "$label: same definitions");
	is($node->safe_psql($db, $catalog_query), $catalog_a,
		"$label: same owners, grants, comments and indexes of the views and tables");
	my $d = digests($node, $db);
	is_deeply($d, $digests_a, "$label: every view of the fixed segmentations has the same content");
	is($node->safe_psql($db, 'SELECT count(*) FROM live_customers'),
		$n_customers, "$label: live_customers (restored, no refresh) has every customer");
	is($node->safe_psql($db, $live_as_of_query), $live_as_of_a,
		"$label: live_customers is as of the source's last refresh, not recomputed");

	# The same, spelled out, so that a catalogue broken the same way on both
	# sides cannot pass.
	is( $node->safe_psql(
			$db, qq{
SELECT count(*) FILTER (WHERE i.indisunique)
FROM unnest(ARRAY['sales', ${\ ql($hostile)}, 'live']) AS s(name),
     unnest(ARRAY['_customers_a', '_customers_b', '_segments_a', '_segments_b', '_profiles_a', '_profiles_b',
                  '_cohorts_a', '_cohorts_b']) AS v(suffix)
JOIN pg_index i ON true
WHERE i.indexrelid = to_regclass(format('%I.%I', (SELECT schema FROM customer_priority.segmentations x WHERE x.name = s.name), s.name || v.suffix || '_key'))
  AND i.indrelid = to_regclass(format('%I.%I', (SELECT schema FROM customer_priority.segmentations x WHERE x.name = s.name), s.name || v.suffix))}
		),
		'24',
		"$label: the 24 unique indexes <name>_<view>_<generation>_key");
	is( $node->safe_psql(
			$db, q{
SELECT count(*) FILTER (WHERE obj_description(c.oid, 'pg_class') IS NULL)
     + count(*) FILTER (WHERE EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                                      AND col_description(c.oid, a.attnum) IS NULL)),
       count(*)
FROM pg_class c WHERE c.relkind = 'v' AND c.relname ~ '_(customers|membership|segments|profiles|cohorts)$'}
		),
		'0|15',
		"$label: every view and every column of the 15 views has a comment");
	is( $node->safe_psql(
			$db, q{
SELECT count(*) FILTER (WHERE obj_description(c.oid, 'pg_class') LIKE 'segmentation %: internal storage (generation _) of the view %'),
       count(*)
FROM pg_class c WHERE c.relkind = 'r' AND c.relname ~ '_(customers|segments|profiles|cohorts)_[ab]$'}
		),
		'24|24',
		"$label: the 24 generation tables say they are internal storage");
	is( $node->safe_psql(
			$db, qq{
SELECT string_agg(format('%s=%s', v, has_table_privilege('cp_bi', v, 'SELECT')), ' ' ORDER BY v COLLATE "C")
FROM unnest(ARRAY['sales_customers', 'sales_membership', 'sales_segments', 'sales_profiles',
                  ${\ ql(view_name($hostile, '_customers'))}, ${\ ql(view_name($hostile, '_membership'))}]) AS v}
		),
		join(' ',
			sort("sales_customers=t", "sales_membership=f", "sales_segments=t", "sales_profiles=t",
				view_name($hostile, '_customers') . '=t', view_name($hostile, '_membership') . '=f')),
		"$label: cp_bi reads exactly the views it was granted");
	my ($ret, $out, $err) = $node->psql($db,
		"SET ROLE cp_bi; SELECT count(*) > 0 FROM ${\ view_name($hostile, '_segments')}");
	is($out, 't', "$label: cp_bi reads a granted view of the hostile segmentation");
	($ret, $out, $err) = $node->psql($db, "SET ROLE cp_bi; SELECT count(*) FROM sales_customers_a");
	like($err, qr/permission denied for table sales_customers_a/,
		"$label: cp_bi does not read the generation tables, only the views");

	# Refresh (both modes) recomputes the same content.
	$node->safe_psql($db, "SELECT customer_priority.refresh_segmentation('sales')");
	$node->safe_psql($db,
		"SET ROLE cp_owner; SELECT customer_priority.refresh_segmentation(${\ ql($hostile)}, false)");
	$node->safe_psql($db, "SELECT customer_priority.refresh_segmentation('live')");
	is_deeply(digests($node, $db), $digests_a, "$label: the same content after refresh_segmentation()");
	is( $node->safe_psql(
			$db,
			q{SELECT string_agg(name || '=' || generation::text, ' ' ORDER BY name COLLATE "C") FROM customer_priority.segmentations}),
		"$hostile=b live=a sales=b",
		"$label: each refresh made the other generation live");
	is($node->safe_psql($db, 'SELECT count(*) FROM live_customers'),
		$n_customers, "$label: live_customers after refresh_segmentation()");
	is( $node->safe_psql(
			$db,
			'SELECT count(*) FROM customer_priority.segmentations WHERE refreshed_at > created_at'),
		'3',
		"$label: refreshed_at moved on");
	return;
}

# Everything a DROP EXTENSION ... CASCADE must have removed.  The schema
# customer_priority itself stays (empty): CREATE EXTENSION made it for the
# installer, it is no member of the extension (README, sql/install.sql).  The
# generation tables stay too: they depend on nothing of the extension; they are
# dropped here as docs/segmentation.md says, by their comment.
sub check_nothing_left
{
	my ($node, $db, $label, $tables) = @_;
	is( $node->safe_psql(
			$db, q{
SELECT count(*) FROM pg_class c
WHERE c.relkind = 'r' AND obj_description(c.oid, 'pg_class') LIKE 'segmentation %: internal storage (generation _) of the view %'}
		),
		$tables,
		"$label: DROP EXTENSION CASCADE left the $tables generation tables");
	is( $node->safe_psql(
			$db, q{
SELECT count(*) FROM pg_class c
WHERE c.relkind = 'r' AND obj_description(c.oid, 'pg_class') LIKE 'segmentation %: history: %'}
		),
		$tables / 4,    # eight generation tables, two history tables per segmentation
		"$label: DROP EXTENSION CASCADE left the history tables (two per segmentation) and dropped the history views");
	$node->safe_psql(
		$db, q{
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_class c
             WHERE c.relkind = 'r'
               AND (obj_description(c.oid, 'pg_class') LIKE 'segmentation %: internal storage (generation _) of the view %'
                    OR obj_description(c.oid, 'pg_class') LIKE 'segmentation %: history: %')
    LOOP
        EXECUTE format('DROP TABLE %s', t);
    END LOOP;
END
$$});
	is( $node->safe_psql(
			$db, qq{
SELECT (SELECT count(*) FROM pg_class c
        WHERE c.relkind = 'm'
           OR c.relname IN (SELECT s || v || g || k
                            FROM unnest(ARRAY['sales', ${\ ql($hostile)}, 'live']) s,
                                 unnest(ARRAY['_customers', '_membership', '_segments', '_profiles', '_cohorts',
                                              '_snapshots', '_history', '_transitions', '_movers']) v,
                                 unnest(ARRAY['', '_a', '_b']) g,
                                 unnest(ARRAY['', '_key']) k))
    || ' ' || (SELECT count(*) FROM pg_extension WHERE extname = 'customer_priority')
    || ' ' || (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'customer_priority')
             + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'customer_priority')
             + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'customer_priority')
             + (SELECT count(*) FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE n.nspname = 'customer_priority')
    || ' ' || (SELECT count(*) FROM pg_proc WHERE probin LIKE '%customer_priority%'
                                              OR proname IN ('create_segmentation', 'rfm_segment'))
    || ' ' || (SELECT count(*) FROM pg_type WHERE typname IN ('rfm_metrics', 'customer_profile', 'segmentations'))
    || ' ' || (to_regclass('customer_priority.segmentations') IS NULL)
    || ' ' || (to_regclass('public.orders') IS NOT NULL AND to_regclass('public.people') IS NOT NULL)}
		),
		'0 0 0 0 0 true true',
		"$label: DROP EXTENSION CASCADE (and the tables dropped by hand) left no view, table, index, function, type or configuration table (and kept the user's tables)"
	);
	return;
}

#------------------------------------------------------------------------------
# Restore into another database of the same cluster (parallel restore).
#------------------------------------------------------------------------------
$node_a->safe_psql('postgres', 'CREATE DATABASE shop_copy');
$node_a->command_checks_all(
	[ 'pg_restore', '--exit-on-error', '-j', '2', '-d', $node_a->connstr('shop_copy'), $dump_custom ],
	0, [qr/^$/], [qr/^$/],
	'pg_restore -j 2 into another database of the same cluster');
check_copy($node_a, 'shop_copy', 'same cluster');

#------------------------------------------------------------------------------
# Node B: a second cluster; the roles first (pg_dump does not dump them).
#------------------------------------------------------------------------------
my $node_b = PostgreSQL::Test::Cluster->new('target');
$node_b->init;
$node_b->start;
$node_b->safe_psql('postgres', $roles_sql . 'CREATE DATABASE shop; CREATE DATABASE shop_plain;');
$node_b->command_checks_all(
	[ 'pg_restore', '--exit-on-error', '-d', $node_b->connstr('shop'), $dump_custom ],
	0, [qr/^$/], [qr/^$/],
	'pg_restore into a second cluster');
check_copy($node_b, 'shop', 'second cluster');

# The plain dump, replayed with psql, gives the same.
$node_b->command_ok(
	[
		'psql', '-X', '-q', '-o', '/dev/null', '-v', 'ON_ERROR_STOP=1',
		'-d', $node_b->connstr('shop_plain'), '-f', $dump_plain
	],
	'plain dump replayed with psql');
is($node_b->safe_psql('shop_plain', $definitions_query), $definitions_a, 'plain dump: same definitions');
is_deeply(digests($node_b, 'shop_plain'), $digests_a, 'plain dump: same content of the views');

# drop_segmentation on the copy: its views, indexes and definition go, the
# others stay.
$node_b->safe_psql('shop', "SET ROLE cp_owner; SELECT customer_priority.drop_segmentation(${\ ql($hostile)})");
is( $node_b->safe_psql(
		'shop', qq{
SELECT (SELECT string_agg(relname, ',') FROM pg_class WHERE relnamespace = ${\ ql(qi($hostile_schema))}::regnamespace)
    || ' ' || (SELECT string_agg(name, ',' ORDER BY name) FROM customer_priority.segmentations)
    || ' ' || (SELECT count(*) FROM pg_class c WHERE $segmentation_relations)}
	),
	'Order "Lines" live,sales 34',
	'second cluster: drop_segmentation() removed the views, tables, indexes and definition of one segmentation');

#------------------------------------------------------------------------------
# A restore with --no-owner --no-acl by a non-superuser database owner (as into a
# managed cluster without the original roles): the restored views belong to the
# restoring role, and so do the definitions, since a segmentation's owner is its
# views' owner.  Every definition survives and can be refreshed and dropped.
#------------------------------------------------------------------------------
$node_b->safe_psql('postgres', 'CREATE ROLE restorer LOGIN; CREATE DATABASE shop_noowner OWNER restorer;');
$node_b->command_ok(
	[
		'pg_restore', '--exit-on-error', '--no-owner', '--no-acl',
		'-d', $node_b->connstr('shop_noowner') . ' user=restorer', $dump_custom
	],
	'pg_restore --no-owner --no-acl by a non-superuser');
is($node_b->safe_psql('shop_noowner', $definitions_query), $definitions_a,
	'--no-owner restore: same definitions');
is_deeply(digests($node_b, 'shop_noowner'), $digests_a, '--no-owner restore: same content of the views');
is( $node_b->safe_psql(
		'shop_noowner',
		"SELECT string_agg(DISTINCT relowner::regrole::text, ',') || ' ' || count(*) FROM pg_class c WHERE $segmentation_relations"),
	'restorer 51',
	'--no-owner restore: the views and tables belong to the restoring role');
is( $node_b->safe_psql('shop_noowner',
		"SET ROLE restorer; SELECT count(*) FROM live_customers"),
	$n_customers, '--no-owner restore: the restoring role reads the views, unrefreshed');
$node_b->safe_psql(
	'shop_noowner', qq{
SET ROLE restorer;
SELECT customer_priority.refresh_segmentation(name) FROM customer_priority.segmentations;
SELECT customer_priority.refresh_segmentation(name, false) FROM customer_priority.segmentations;
SELECT customer_priority.drop_segmentation(${\ ql($hostile)});});
is_deeply(
	{ map { my $rel = view_name('sales', $_); ($rel => digest($node_b, 'shop_noowner', $rel)) } @views },
	{ map { my $rel = view_name('sales', $_); ($rel => $digests_a->{$rel}) } @views },
	'--no-owner restore: the same content after the restoring role refreshed in both modes');
is( $node_b->safe_psql(
		'shop_noowner',
		"SELECT string_agg(name, ',' ORDER BY name) || ' ' || bool_and(refreshed_at > created_at) FROM customer_priority.segmentations"),
	'live,sales true',
	'--no-owner restore: the restoring role refreshes and drops the segmentations');

#------------------------------------------------------------------------------
# DROP EXTENSION: refused while segmentations exist; CASCADE removes their views
# and definitions, not their tables.
#------------------------------------------------------------------------------
for my $case ([ $node_b, 'shop', 'second cluster', 16 ], [ $node_a, 'shop', 'source', 24 ])
{
	my ($node, $db, $label, $tables) = @$case;
	my $relations = "SELECT count(*) FROM pg_class c WHERE $segmentation_relations";
	my $views_before = $node->safe_psql($db, $relations);
	my ($ret, $out, $err) = $node->psql($db, 'DROP EXTENSION customer_priority');
	isnt($ret, 0, "$label: DROP EXTENSION without CASCADE fails");
	like(
		$err,
		qr/cannot drop extension customer_priority because other objects depend on it/,
		"$label: ... because of dependent objects");
	like($err, qr/view sales_customers depends on table customer_priority\.segmentations/,
		"$label: ... naming the views");
	is($node->safe_psql($db, $relations), $views_before, "$label: ... and drops nothing");

	$node->safe_psql($db, 'DROP EXTENSION customer_priority CASCADE');
	check_nothing_left($node, $db, $label, $tables);

	$node->safe_psql($db, 'CREATE EXTENSION customer_priority');
	is($node->safe_psql($db, 'SELECT count(*) FROM customer_priority.segmentations'),
		'0', "$label: CREATE EXTENSION again: no segmentations");
}

# The names are free again: the same definition (and the same edits of the
# recommended actions, which DROP EXTENSION dropped) gives the same views.
$node_b->safe_psql(
	'shop', $actions_sql . q{
SELECT customer_priority.create_segmentation('sales', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-12-01 00:00+00", "time_zone": "Europe/Berlin", "order_id": "order_id",
      "customers": "people", "customer_key": "id", "referrals": "referrals",
      "customer_attributes": ["region"]}')});
is_deeply(
	{ map { my $rel = view_name('sales', $_); ($rel => digest($node_b, 'shop', $rel)) } @views },
	{ map { my $rel = view_name('sales', $_); ($rel => $digests_a->{$rel}) } @views },
	'second cluster: create_segmentation() after CREATE EXTENSION again gives the same views');

$node_b->stop;
$node_a->stop;

done_testing();
