
# test/t/006_upgrade_hostile.pl: hostile definitions stored at 0.2.0 run nothing
# when a database owner updates the extension, nor in a superuser's refresh after.
#
# At 0.2.0 (the released install script), installed by a non-superuser database
# owner (the extension is trusted), a tenant -- a role owning one schema and its
# tables, nothing more -- stores two definitions through 0.2.0's SECURITY DEFINER
# writers, which did not validate them:
#   - "smuggler": its option customers is text that a regclass cast reads as the
#     tenant's table (an unquoted name is cut at 63 bytes) and that carries SQL
#     after it, which calls the tenant's function evil() through query_to_xml();
#   - "broken": its option potential.horizon is SQL, not a number.
# Both over the tenant's own orders, with the relations of a real segmentation of
# the tenant's.  And "spied", a valid segmentation over a view calling the tenant's
# spy(); and "blocked", a valid one whose relation of 0.3.0 (blocked_cohorts_a) the
# tenant took first with a table of its own.  evil() and spy() log the role they
# run as.
#
# At 0.2.0 a superuser's refresh of "smuggler" runs evil() as the superuser: the
# defect.  Then the database owner runs ALTER EXTENSION customer_priority UPDATE:
#   - nothing of the tenant's runs as a superuser (or at all: the update parses the
#     queries, it runs none), the tenant is no superuser;
#   - "broken" is left as it is, with a warning naming it; "blocked" too (its new
#     relations cannot be created), the update still succeeds; "smuggler" is upgraded
#     from its validated definition, which names the table, not the text; "spied"
#     is upgraded;
#   - a superuser's refresh of each: "smuggler" and "spied" work, computing as the
#     tenant; "broken" fails with 22023, "blocked" names its missing relation;
#     evil() never runs.
#
# Run by test/run_tests.sh (prove, as postgres, on a copy of test/t).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# An SQL literal.
sub ql
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return qq{'$s'};
}

my $node = PostgreSQL::Test::Cluster->new('hostile');
$node->init;
$node->start;

my $new = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'customer_priority'});

$node->safe_psql(
	'postgres', q{
CREATE ROLE db_owner LOGIN;
CREATE ROLE tenant LOGIN;
CREATE DATABASE shop OWNER db_owner;
});
$node->safe_psql('shop', q{
SET ROLE db_owner;
CREATE EXTENSION customer_priority VERSION '0.2.0';
RESET ROLE;
CREATE SCHEMA t AUTHORIZATION tenant;
CREATE TABLE public.canary (who name, what text, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT ON public.canary TO PUBLIC;
});
is($node->safe_psql('shop', q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
	'0.2.0', 'installed at 0.2.0 by the database owner');

# The tenant's objects and definitions.
my $table63 = 'c' x 63;
my $payload = "t.$table63"
  . q{/**/k0/**/ON/**/false/**/CROSS/**/JOIN/**/LATERAL/**/query_to_xml(concat('SELECT/**/t',chr(46),'evil()'),true,true,'')/**/pw/**/LEFT/**/JOIN/**/(SELECT/**/1/**/AS/**/id)};
$node->safe_psql(
	'shop', qq{
SET ROLE tenant;
CREATE TABLE t.orders (order_id int, customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO t.orders
SELECT i, 1 + i % 9, timestamptz '2024-01-01' + i * interval '4 days', 10 + i % 17 FROM generate_series(1, 80) AS i;
CREATE TABLE t.$table63 (id int, region text);
INSERT INTO t.$table63 SELECT c, 'r' || c % 2 FROM generate_series(1, 9) AS c;
CREATE FUNCTION t.evil() RETURNS int LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO public.canary (who, what) VALUES (current_user, 'evil');
    RETURN 1;
END
\$\$;
CREATE FUNCTION t.spy() RETURNS int LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO public.canary (who, what) VALUES (current_user, 'spy');
    RETURN 0;
END
\$\$;
CREATE VIEW t.orders_v AS SELECT order_id, customer_id, ordered_at, amount + t.spy() AS amount FROM t.orders;
-- real segmentations whose definitions are then swapped for hostile ones
SELECT customer_priority.create_segmentation(name, 't.orders', 'customer_id', 'ordered_at', 'amount',
    '{"schema": "t", "as_of": "2024-09-30", "customers": "t.$table63", "customer_key": "id", "potential": true}')
FROM unnest('{smuggler,broken}'::text[]) AS name;
SELECT customer_priority.create_segmentation('spied', 't.orders_v', 'customer_id', 'ordered_at', 'amount',
    '{"schema": "t", "as_of": "2024-09-30"}');
SELECT customer_priority.create_segmentation('blocked', 't.orders', 'customer_id', 'ordered_at', 'amount',
    '{"schema": "t", "as_of": "2024-09-30"}');
CREATE TABLE t.blocked_cohorts_a (in_the_way int);
-- 0.2.0's writers: the owner may delete its definition and insert another, unchecked
CREATE TEMPORARY TABLE defs AS SELECT * FROM customer_priority.segmentations WHERE name IN ('smuggler', 'broken');
SELECT customer_priority.segmentation_delete(name) FROM defs;
UPDATE defs SET options = options || jsonb_build_object('customers', ${\ ql($payload)}) WHERE name = 'smuggler';
UPDATE defs SET options = jsonb_set(options, '{potential,horizon}', '"52) AS x, t.evil() AS y --"') WHERE name = 'broken';
SELECT customer_priority.segmentation_insert(ROW(d.*)::customer_priority.segmentations) FROM defs d;
});
is( $node->safe_psql('shop',
		q{SELECT count(*) FROM customer_priority.segmentations WHERE options ->> 'customers' LIKE '%query_to_xml%'}),
	'1', '0.2.0 stored the hostile definition as it was given');

# The defect at 0.2.0: a superuser's refresh runs the tenant's code as itself.
my ($ret, $out, $err) = $node->psql('shop', q{SELECT customer_priority.refresh_segmentation('smuggler')});
is( $node->safe_psql('shop', q{SELECT string_agg(DISTINCT who, ',') FROM canary WHERE what = 'evil'}),
	'postgres', '0.2.0: the refresh ran the injected call as the superuser');
$node->safe_psql('shop', 'TRUNCATE canary');

# The update, by the database owner.
($ret, $out, $err) = $node->psql('shop', 'SET ROLE db_owner; ALTER EXTENSION customer_priority UPDATE');
is($ret, 0, 'ALTER EXTENSION customer_priority UPDATE succeeds') or diag($err);
is($node->safe_psql('shop', q{SELECT extversion FROM pg_extension WHERE extname = 'customer_priority'}),
	$new, "the extension is at $new");
like($err, qr/WARNING:  segmentation "broken" in schema "t" is not upgraded: its definition is not valid/,
	'a warning names the definition left as it was');
like($err, qr/DETAIL:  option "potential.horizon" must be a number/, 'and says why');
like($err,
	qr/WARNING:  segmentation "blocked" in schema "t" is not upgraded: its relations of this version \(blocked_cohorts\) could not be created/,
	'a warning names the segmentation whose new relations are taken');
like($err, qr/DETAIL:  relation "blocked_cohorts_a" already exists/, 'and says why');
unlike($err, qr/"smuggler"|"spied"/, 'the others are upgraded without a word');
is($node->safe_psql('shop', q{SELECT count(*) FROM canary WHERE what = 'evil'}),
	'0', 'the update ran no injected call');
is($node->safe_psql('shop', q{SELECT count(*) FROM canary c JOIN pg_roles r ON r.rolname = c.who WHERE r.rolsuper}),
	'0', "nothing of the tenant's ran as a superuser during the update");
is($node->safe_psql('shop', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'tenant'}), 'f',
	'the tenant is no superuser');
like(
	$node->safe_psql('shop',
		q{SELECT pg_get_viewdef('t.smuggler_customers') || pg_get_viewdef('t.spied_customers')}),
	qr/s\.schema = 't'::name/,
	'the views of the upgraded segmentations name their definition by schema');

# A superuser's refreshes after the update compute as the tenant; the hostile
# definitions inject nothing.
$node->safe_psql('shop', 'TRUNCATE canary');
($ret, $out, $err) = $node->psql('shop', q{
SELECT customer_priority.refresh_segmentation('smuggler');
SELECT customer_priority.refresh_segmentation('spied', false);
SELECT customer_priority.snapshot_segmentation('spied', '2024-08-31');
}, on_error_stop => 1);
is($ret, 0, 'a superuser refreshes the upgraded segmentations') or diag($err);
is( $node->safe_psql('shop', q{SELECT string_agg(DISTINCT who || ' ' || what, ',') FROM canary}),
	'tenant spy', "the tenant's code ran as the tenant, and only spy(), not evil()");
is($node->safe_psql('shop', q{SELECT count(*) FROM t.smuggler_customers}),
	'9', "smuggler's customers, one row each (its customers relation is the tenant's table)");
($ret, $out, $err) = $node->psql('shop', q{SELECT customer_priority.refresh_segmentation('broken')});
like($err, qr/option "potential.horizon" must be a number/, 'the refresh of the invalid definition fails with the validation error');
($ret, $out, $err) = $node->psql('shop', q{SELECT customer_priority.refresh_segmentation('blocked')});
like($err, qr/relation t\.blocked_cohorts of segmentation "blocked" is missing/,
	'the refresh of the segmentation left behind names its missing relation');
is($node->safe_psql('shop', q{SELECT count(*) FROM canary WHERE what = 'evil'}),
	'0', 'evil() never ran after the update');

# The hostile text cannot be written again: the definitions are validated where written.
($ret, $out, $err) = $node->psql('shop', qq{
SET ROLE tenant;
SELECT customer_priority.segmentation_delete('t', 'smuggler');
SELECT customer_priority.segmentation_insert(ROW('smuggler', 't', 't.orders'::regclass, 'customer_id', 'ordered_at', 'amount',
    '{"schema": "t", "potential": {"horizon": "1); --"}}'::jsonb, now(), now(), 'a')::customer_priority.segmentations);
}, on_error_stop => 1);
like($err, qr/option "potential.horizon" must be a number/, 'segmentation_insert() refuses a hostile definition at the new version');

$node->stop;
done_testing();
