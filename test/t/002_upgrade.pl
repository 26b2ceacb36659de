
# test/t/002_upgrade.pl: ALTER EXTENSION customer_priority UPDATE from each
# released version gives what a fresh install of the default version gives.
#
# In one cluster, for each released version V (0.1.0, 0.2.0): database
# "upgraded_V" installs version V (the released install script in upgrade/),
# makes two segmentations (typology, XYZ, multi-criteria ABC,
# customer and order attributes, history with snapshots and a backfill; one owned by
# a non-superuser in a schema with a hostile name, with a grant and a view of the
# user's on it) and a third with the option potential (from 0.2.0 on; made after the
# update from 0.1.0, which has no such option), refreshes, runs ALTER EXTENSION ...
# UPDATE (as the non-superuser that installed it: the extension is trusted) and
# refreshes again.  Database
# "fresh" installs the default version and does the same without the update.  Then
# they must be equal in:
#   (a) the extension: every member object with its definition (functions, aggregates
#       with their support functions, types, tables with columns, constraints,
#       indexes, triggers, configuration-dump flags, views), comments, privileges and
#       initial privileges, the configuration rows;
#   (b) the segmentations' own objects (not members): columns in order with types,
#       comments, owners, grants, view definitions, indexes; and no segmentation
#       object became a member;
#   (c) the rows of every view and history table of the segmentations;
# and in a pg_dump --binary-upgrade --schema-only of the whole database (it dumps the
# member objects too), with OIDs and transaction ids masked.  A difference fails
# with a unified diff.  Also: the update of a database without segmentations (by a
# superuser), and CREATE EXTENSION ... VERSION '0.1.0'.
#
# Rule this enforces (docs/segmentation.md, "pg_dump, upgrades, DROP EXTENSION"):
# every change to src/*.sql needs its counterpart in the upgrade script.
#
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $tempdir = PostgreSQL::Test::Utils::tempdir;
my @olds = ('0.1.0', '0.2.0');

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $new = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'customer_priority'});
for my $old (@olds)
{
	isnt($new, $old, "the default version ($new) is not $old");
	is( $node->safe_psql(
			'postgres', qq{
SELECT path FROM pg_extension_update_paths('customer_priority') WHERE source = '$old' AND target = '$new'}),
		join('--', grep { $_ ge $old } (@olds, $new)),
		"an update path $old -> $new exists, through every released version");
}

# The databases of an update from $old.
sub db_of
{
	my ($kind, $old) = @_;
	(my $v = $old) =~ s/\./_/g;
	return "${kind}_$v";
}

# same_text GOT EXPECTED NAME: a test that prints a unified diff on failure.
my $n_diff = 0;
sub same_text
{
	my ($got, $expected, $name) = @_;
	if ($got eq $expected)
	{
		pass($name);
		return 1;
	}
	$n_diff++;
	my $g = "$tempdir/diff$n_diff.upgraded";
	my $e = "$tempdir/diff$n_diff.fresh";
	open(my $fh, '>', $g) or die "$g: $!";
	print $fh "$got\n";
	close($fh);
	open($fh, '>', $e) or die "$e: $!";
	print $fh "$expected\n";
	close($fh);
	my ($out, $err) = run_command([ 'diff', '-u', $e, $g ]);
	my @lines = split /\n/, $out;
	splice(@lines, 300, $#lines, '... (diff cut at 300 lines)') if @lines > 300;
	fail($name);
	diag("--- fresh install, +++ upgraded:\n" . join("\n", @lines));
	return 0;
}

# Roles are global.  cp_installer installs and updates the extension in "upgraded"
# and "fresh"; cp_owner owns one segmentation; cp_bi reads some views.
$node->safe_psql(
	'postgres', q{
CREATE ROLE cp_installer LOGIN;
CREATE ROLE cp_owner LOGIN;
CREATE ROLE cp_bi LOGIN;
CREATE DATABASE fresh;
CREATE DATABASE empty_fresh;
GRANT CREATE ON DATABASE fresh TO cp_installer;
});
for my $old (@olds)
{
	my ($upgraded, $empty) = (db_of('upgraded', $old), db_of('empty_upgraded', $old));
	$node->safe_psql('postgres', qq{CREATE DATABASE $upgraded});
	$node->safe_psql('postgres', qq{CREATE DATABASE $empty});
	$node->safe_psql('postgres', qq{GRANT CREATE ON DATABASE $upgraded TO cp_installer});
}

# Settings that make the text of a row independent of the session.
my $stable = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3;";

my $owned = 'Owned "X"; --';
my $owned_schema = 'Team "X"';
my $owned_options = qq({"schema": "Team \\"X\\"", "as_of": "2024-11-15 08:00", "time_zone": "America/New_York",
  "bins": 3, "segment_map": "rfm_package", "monetary": "average", "xyz_period": "week",
  "abc_weights": {"revenue": 0.5, "loyalty": 0.5}, "typology": {"dormant_days": 200}});

# The same orders, segmentations, grants and refreshes in both databases; $install
# is the CREATE EXTENSION.
sub setup
{
	my ($db, $install) = @_;
	$node->safe_psql(
		$db, qq{
SET ROLE cp_installer;
$install;
UPDATE customer_priority.segment_actions SET recommended_action = 'Call them personally.'
WHERE dimension = 'abc_class' AND segment = 'A';
RESET ROLE;

CREATE TABLE orders (order_id int, customer_id int, ordered_at timestamptz,
                     amount numeric(10,2), channel text);
INSERT INTO orders
SELECT i,
       CASE WHEN i <= 60 THEN i ELSE 1 + (hashint4(i) & 2147483647) % 60 END,
       timestamptz '2023-01-01 00:00+00'
         + ((hashint4(i + 100000) & 2147483647) % (730 * 86400)) * interval '1 second',
       CASE WHEN i > 60 AND i % 23 = 0 THEN -1 ELSE 1 END
         * (1 + (hashint4(i + 200000) & 2147483647) % 30000 / 100.0),
       (ARRAY['web', 'shop', 'phone'])[1 + (hashint4(i + 300000) & 2147483647) % 3]
FROM generate_series(1, 400) AS i;
CREATE TABLE people (id int PRIMARY KEY, region text, referrals int);
INSERT INTO people
SELECT c, (ARRAY['North', 'South', 'East', 'West'])[1 + (hashint4(c + 400000) & 2147483647) % 4],
       (hashint4(c + 500000) & 2147483647) % 3
FROM generate_series(1, 55) AS c;

SELECT customer_priority.create_segmentation('sales', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-12-01 00:00+00", "time_zone": "Europe/Berlin", "order_id": "order_id",
      "customers": "people", "customer_key": "id", "referrals": "referrals",
      "customer_attributes": ["region"], "channel": "channel", "xyz_period": "quarter",
      "snapshot": true}');
SELECT count(*) FROM customer_priority.backfill_segmentation('sales', '2024-06-01', '2024-09-01');
GRANT SELECT ON sales_customers, sales_segments, sales_profiles TO cp_bi;

CREATE SCHEMA ${\ qi($owned_schema)} AUTHORIZATION cp_owner;
GRANT SELECT ON orders TO cp_owner;
SET ROLE cp_owner;
SELECT customer_priority.create_segmentation(${\ ql($owned)}, 'public.orders',
    'customer_id', 'ordered_at', 'amount', ${\ ql($owned_options)});
GRANT USAGE ON SCHEMA ${\ qi($owned_schema)} TO cp_bi;
GRANT SELECT ON ${\ rel($owned, '_customers')}, ${\ rel($owned, '_membership')} TO cp_bi;
CREATE VIEW ${\ qi($owned_schema)}.top AS
    SELECT customer_id, revenue FROM ${\ rel($owned, '_customers')} WHERE abc_class = 'A';
RESET ROLE;

SELECT customer_priority.refresh_segmentation('sales');
SET ROLE cp_owner;
SELECT customer_priority.refresh_segmentation(${\ ql($owned)}, false);
RESET ROLE;
});
	return;
}

# A segmentation with the option potential (0.2.0 on: the update appends its new
# potential columns), refreshed.
sub make_potent
{
	my ($db) = @_;
	$node->safe_psql(
		$db, q{
SET client_min_messages = error;
SELECT customer_priority.create_segmentation('potent', 'orders', 'customer_id', 'ordered_at', 'amount',
    '{"as_of": "2024-12-01 00:00+00", "time_zone": "UTC", "order_id": "order_id",
      "potential": {"unit": "week", "horizon": 26}}');
SELECT customer_priority.refresh_segmentation('potent', false);
});
	return;
}

# The second refresh, after the update in "upgraded": both refresh modes.  (It
# fails when the update left a segmentation's tables behind its queries.)
sub refresh_again
{
	my ($db) = @_;
	my ($ret, $out, $err) = $node->psql(
		$db, qq{
SELECT customer_priority.refresh_segmentation('sales', false);
SELECT customer_priority.refresh_segmentation('potent');
SET ROLE cp_owner;
SELECT customer_priority.refresh_segmentation(${\ ql($owned)});
}, on_error_stop => 1);
	is($ret, 0, "$db: refresh_segmentation() of both segmentations") or diag($err);
	return;
}

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

# A relation of a segmentation, quoted.
sub rel
{
	my ($seg, $suffix) = @_;
	my $schema = $seg eq 'sales' ? 'public' : $owned_schema;
	return qi($schema) . '.' . qi($seg . $suffix);
}

#------------------------------------------------------------------------------
# What is compared.
#------------------------------------------------------------------------------

# (a) The extension: one block per member object, sorted.
my $extension_query = q{
WITH ext AS (SELECT * FROM pg_extension WHERE extname = 'customer_priority'),
members AS (
    SELECT d.classid, d.objid, d.objsubid
    FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
blocks(key, body) AS (
    SELECT 'extension', format('version=%s relocatable=%s owner=%s schema=%s requires=%s config=[%s]',
                               e.extversion, e.extrelocatable, e.extowner::regrole, e.extnamespace::regnamespace,
                               (SELECT string_agg(r.extname, ',' ORDER BY r.extname) FROM pg_depend d
                                JOIN pg_extension r ON r.oid = d.refobjid
                                WHERE d.classid = 'pg_extension'::regclass AND d.objid = e.oid
                                  AND d.refclassid = 'pg_extension'::regclass),
                               (SELECT string_agg(format('%s WHERE %L', c::regclass, w), ', ' ORDER BY c::regclass::text)
                                FROM unnest(e.extconfig, e.extcondition) AS x(c, w)))
    FROM ext e
    UNION ALL
    SELECT 'schema ' || n.nspname, format('owner=%s acl=%s comment=%s', n.nspowner::regrole, n.nspacl,
                                          obj_description(n.oid, 'pg_namespace'))
    FROM pg_namespace n WHERE n.nspname = 'customer_priority'
    UNION ALL
    -- every member with its comment (every class, also those below without details)
    SELECT 'member ' || pg_describe_object(m.classid, m.objid, m.objsubid),
           'comment=' || coalesce(obj_description(m.objid, m.classid::regclass::name), '<none>')
    FROM members m
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure,
           format(E'kind=%s volatile=%s parallel=%s strict=%s secdef=%s leakproof=%s cost=%s rows=%s support=%s config=%s owner=%s acl=%s\n%s',
                  p.prokind, p.provolatile, p.proparallel, p.proisstrict, p.prosecdef, p.proleakproof,
                  p.procost, p.prorows, p.prosupport::regproc, p.proconfig, p.proowner::regrole, p.proacl,
                  CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) ELSE pg_get_function_result(p.oid) END)
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT 'aggregate ' || a.aggfnoid::regprocedure,
           format('kind=%s direct=%s trans=%s final=%s combine=%s serial=%s deserial=%s mtrans=%s minvtrans=%s mfinal=%s finalextra=%s mfinalextra=%s finalmodify=%s mfinalmodify=%s sortop=%s transtype=%s transspace=%s mtranstype=%s mtransspace=%s initval=%s minitval=%s',
                  a.aggkind, a.aggnumdirectargs, nullif(a.aggtransfn::oid, 0)::regprocedure,
                  nullif(a.aggfinalfn::oid, 0)::regprocedure, nullif(a.aggcombinefn::oid, 0)::regprocedure,
                  nullif(a.aggserialfn::oid, 0)::regprocedure, nullif(a.aggdeserialfn::oid, 0)::regprocedure,
                  nullif(a.aggmtransfn::oid, 0)::regprocedure, nullif(a.aggminvtransfn::oid, 0)::regprocedure,
                  nullif(a.aggmfinalfn::oid, 0)::regprocedure, a.aggfinalextra, a.aggmfinalextra,
                  a.aggfinalmodify, a.aggmfinalmodify, nullif(a.aggsortop, 0)::regoperator,
                  a.aggtranstype::regtype, a.aggtransspace, nullif(a.aggmtranstype, 0)::regtype,
                  a.aggmtransspace, a.agginitval, a.aggminitval)
    FROM members m JOIN pg_aggregate a ON m.classid = 'pg_proc'::regclass AND a.aggfnoid = m.objid
    UNION ALL
    SELECT 'type ' || t.oid::regtype,
           format('type=%s len=%s byval=%s category=%s align=%s storage=%s in=%s out=%s receive=%s send=%s owner=%s acl=%s attributes=(%s)',
                  t.typtype, t.typlen, t.typbyval, t.typcategory, t.typalign, t.typstorage,
                  t.typinput, t.typoutput, t.typreceive, t.typsend, t.typowner::regrole, t.typacl,
                  (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
                   FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped))
    FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT 'relation ' || c.oid::regclass,
           format(E'kind=%s owner=%s acl=%s rls=%s options=%s\ncolumns:\n%s\nconstraints: %s\nindexes: %s\ntriggers: %s\nview: %s',
                  c.relkind, c.relowner::regrole, c.relacl, c.relrowsecurity, c.reloptions,
                  (SELECT string_agg(format('  %I %s notnull=%s default=%s acl=%s comment=%s', a.attname,
                                            format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                            pg_get_expr(ad.adbin, ad.adrelid), a.attacl, col_description(c.oid, a.attnum)),
                                     E'\n' ORDER BY a.attnum)
                   FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                  (SELECT string_agg(x.conname || ' ' || pg_get_constraintdef(x.oid), '; ' ORDER BY x.conname)
                   FROM pg_constraint x WHERE x.conrelid = c.oid),
                  (SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY 1) FROM pg_index i WHERE i.indrelid = c.oid),
                  (SELECT string_agg(pg_get_triggerdef(g.oid), '; ' ORDER BY 1) FROM pg_trigger g
                   WHERE g.tgrelid = c.oid AND NOT g.tgisinternal),
                  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT 'initial privileges ' || pg_describe_object(i.classoid, i.objoid, i.objsubid),
           format('%s %s', i.privtype, i.initprivs)
    FROM pg_init_privs i
    WHERE i.privtype = 'e'
)
SELECT string_agg(key || E'\n' || coalesce(body, '<null>'), E'\n\n' ORDER BY key COLLATE "C", body COLLATE "C")
FROM blocks};

# The rows of the extension's own tables (configuration rows above all); created_at
# and refreshed_at of the definitions depend on when they ran.
my $extension_rows_query = qq{$stable
SELECT string_agg(t, E'\\n' ORDER BY t COLLATE "C") FROM (
    SELECT 'rfm_segment_maps ' || x::text FROM customer_priority.rfm_segment_maps x
    UNION ALL SELECT 'rfm_segment_rules ' || x::text FROM customer_priority.rfm_segment_rules x
    UNION ALL SELECT 'segment_actions ' || x::text FROM customer_priority.segment_actions x
    UNION ALL SELECT 'customer_type_actions ' || x::text FROM customer_priority.customer_type_actions x
    UNION ALL SELECT 'segmentations ' || concat_ws(' | ', name, schema, orders::text, customer_id,
                                                  ordered_at, amount, options::text, generation)
              FROM customer_priority.segmentations) AS r(t)};

# (b) Every relation outside the extension's schema and the system's: the
# segmentations' views and tables, the orders, the user's view.
my $generated_query = q{
SELECT string_agg(format(E'%s kind=%s owner=%s acl=%s comment=%s member=%s initprivs=%s\n%s\nindexes: %s\nconstraints: %s\nview: %s',
                         c.oid::regclass, c.relkind, c.relowner::regrole, c.relacl, obj_description(c.oid, 'pg_class'),
                         EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                 AND d.deptype = 'e'),
                         (SELECT string_agg(i.privtype::text || ' ' || i.initprivs::text, ' ') FROM pg_init_privs i
                          WHERE i.classoid = 'pg_class'::regclass AND i.objoid = c.oid),
                         (SELECT string_agg(format('  %I %s notnull=%s default=%s acl=%s comment=%s', a.attname,
                                                   format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                                   pg_get_expr(ad.adbin, ad.adrelid), a.attacl,
                                                   col_description(c.oid, a.attnum)),
                                            E'\n' ORDER BY a.attnum)
                          FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                         (SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY 1) FROM pg_index i WHERE i.indrelid = c.oid),
                         (SELECT string_agg(x.conname || ' ' || pg_get_constraintdef(x.oid), '; ' ORDER BY x.conname)
                          FROM pg_constraint x WHERE x.conrelid = c.oid),
                         CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END),
                  E'\n\n' ORDER BY c.oid::regclass::text COLLATE "C")
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND n.nspname NOT IN ('customer_priority', 'pg_catalog', 'information_schema', 'pg_toast')};

# (c) The rows of every view and history table of the segmentations (taken_at of a
# snapshot is when it was taken), and of the user's view.
sub rows
{
	my ($db) = @_;
	my @from;
	for my $seg ('sales', $owned)
	{
		# _cohorts: from 0.3.0 on (before the update, an old segmentation has none)
		push @from, [ $seg . $_, rel($seg, $_) ]
		  for grep {
			$_ ne '_cohorts'
			  || $node->safe_psql($db, "SELECT to_regclass(${\ ql(rel($seg, $_))}) IS NOT NULL") eq 't'
		  } qw(_customers _membership _segments _profiles _cohorts _transitions _movers _history);
		push @from,
		  [ "${seg}_snapshots", "(SELECT as_of, source, customers FROM ${\ rel($seg, '_snapshots')})" ];
	}
	push @from, [ 'top', qi($owned_schema) . '.top' ];
	my $sql = join("\nUNION ALL\n", map { "SELECT ${\ ql($_->[0])} || ' ' || t::text FROM $_->[1] t" } @from);
	return $node->safe_psql($db,
		"$stable SELECT string_agg(line, E'\\n' ORDER BY line COLLATE \"C\") FROM ($sql) AS r(line)");
}

# A dump of everything, member objects included (--binary-upgrade), with what
# differs between two databases of one cluster masked: OIDs, relfilenodes,
# transaction ids, the dump's random \restrict key.
sub dump_masked
{
	my ($db) = @_;
	my ($out, $err) = run_command(
		[ 'pg_dump', '--binary-upgrade', '--schema-only', '-d', $node->connstr($db) ]);
	die "pg_dump $db: $err" if $err ne '';
	$out =~ s/^\\(un)?restrict .*$/\\$1restrict KEY/mg;
	$out =~ s/'\d+'::pg_catalog\.oid/'OID'::pg_catalog.oid/g;
	$out =~ s/SET relfrozenxid = '\d+', relminmxid = '\d+'/SET relfrozenxid = 'XID', relminmxid = 'MXID'/g;
	$out =~ s/^WHERE oid = '\d+';$/WHERE oid = 'OID';/mg;
	# PostgreSQL 15.14+ (Debian): the WAL position of each column's creation
	$out =~ s/'\{[0-9A-F\/,]*\}'::pg_catalog\.pg_lsn\[\]/'{LSNS}'::pg_catalog.pg_lsn[]/g;
	# the configuration tables, as OIDs, in binary_upgrade_create_empty_extension()
	$out =~ s/'\{\d+(?:,\d+)*\}'/'{OIDS}'/g;
	return $out;
}

# Everything of one database, for a comparison.
sub state_of
{
	my ($db, $with_segmentations) = @_;
	my %state = (
		extension => $node->safe_psql($db, $extension_query),
		extension_rows => $node->safe_psql($db, $extension_rows_query),
		generated => $node->safe_psql($db, $generated_query),
		dump => dump_masked($db));
	$state{rows} = rows($db) if $with_segmentations;
	return \%state;
}

sub compare
{
	my ($got, $expected, $label) = @_;
	same_text($got->{extension}, $expected->{extension},
		"$label: the extension's member objects, definitions, comments and privileges are the same");
	same_text($got->{extension_rows}, $expected->{extension_rows},
		"$label: the rows of the extension's tables (definitions, configuration) are the same");
	same_text($got->{generated}, $expected->{generated},
		"$label: the segmentations' views and tables (columns, types, comments, owners, grants, indexes) are the same");
	same_text($got->{rows}, $expected->{rows}, "$label: every view of the segmentations has the same rows")
	  if exists $got->{rows};
	same_text($got->{dump}, $expected->{dump}, "$label: pg_dump --binary-upgrade --schema-only is the same");
	return;
}

#------------------------------------------------------------------------------
# Upgraded and fresh, with segmentations.
#------------------------------------------------------------------------------
setup('fresh', 'CREATE EXTENSION customer_priority');
make_potent('fresh');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
	$new, "CREATE EXTENSION customer_priority installs $new");
refresh_again('fresh');
my $fresh = state_of('fresh', 1);
like($fresh->{extension}, qr/^function customer_priority\.create_segmentation\(/m,
	'the comparison sees the functions');
like($fresh->{generated}, qr/^sales_customers_a kind=r/m, 'the comparison sees the generation tables');
like($fresh->{rows}, qr/^sales_movers \(/m, 'the comparison sees the rows of the views, also of the history');
$node->safe_psql('empty_fresh', 'CREATE EXTENSION customer_priority');
my $empty_fresh = state_of('empty_fresh');

for my $old (@olds)
{
	my $db = db_of('upgraded', $old);
	setup($db, "CREATE EXTENSION customer_priority VERSION '$old'");
	# 0.1.0 has no option potential: its segmentation is made after the update
	make_potent($db) if $old ne '0.1.0';
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
		$old, "CREATE EXTENSION customer_priority VERSION '$old'");
	like(rows($db), qr/^sales_customers \(/m, "$old: the segmentations have rows");

	my ($ret, $out, $err) = $node->psql(
		$db,
		'SET client_min_messages = warning; SET ROLE cp_installer; ALTER EXTENSION customer_priority UPDATE');
	is($ret, 0, "$old: ALTER EXTENSION customer_priority UPDATE by the non-superuser that installed it");
	is($err, '', "$old: the update says nothing (no warning)");
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
		$new, "$old: the extension is at $new");
	make_potent($db) if $old eq '0.1.0';
	refresh_again($db);

	compare(state_of($db, 1), $fresh, "$old -> $new");

	# The segmentations still work for their readers and owners after the update.
	($ret, $out, $err) = $node->psql($db,
		"SET ROLE cp_bi; SELECT count(*) > 0 FROM ${\ rel($owned, '_membership')}");
	is($out, 't', "$old: cp_bi still reads a view it was granted");
	($ret, $out, $err) = $node->psql($db, "SET ROLE cp_bi; SELECT count(*) FROM sales_membership");
	like($err, qr/permission denied for view sales_membership/, "$old: and not the others");
	$node->safe_psql($db, "SELECT customer_priority.drop_segmentation('sales')");
	is($node->safe_psql($db, q{SELECT count(*) FROM pg_class WHERE relname LIKE 'sales\_%'}),
		'0', "$old: drop_segmentation() drops every relation of an upgraded segmentation");

	# Without segmentations, by a superuser.
	my $empty = db_of('empty_upgraded', $old);
	$node->safe_psql($empty, "CREATE EXTENSION customer_priority VERSION '$old'");
	($ret, $out, $err) = $node->psql($empty,
		"SET client_min_messages = warning; ALTER EXTENSION customer_priority UPDATE TO '$new'");
	is($ret, 0, "$old: ALTER EXTENSION customer_priority UPDATE without segmentations");
	is($err, '', "$old: the update without segmentations says nothing");
	compare(state_of($empty), $empty_fresh, "$old -> $new without segmentations");

	# And the extension still drops cleanly.
	$node->safe_psql($empty, 'DROP EXTENSION customer_priority');
	is($node->safe_psql($empty, q{SELECT count(*) FROM pg_proc WHERE pronamespace = 'customer_priority'::regnamespace}),
		'0', "$old: DROP EXTENSION after the update leaves no function");
}

$node->stop;
done_testing();
