#!/usr/bin/env bash
# test/demo.sh: the README's first command. Builds and installs the extension,
# starts a throw-away cluster, loads the real "Online Retail" data set (541,909
# order lines, see test/data/README.md), creates a segmentation of it (four
# materialized views) and prints from those views the customers and revenue per
# RFM segment, ABC class and primary type with the recommended actions, and the
# countries of two segments. Run as root on Debian bookworm:
#
#   bash test/demo.sh

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/cluster.sh"

data=$CP_ROOT/test/data/online_retail.csv.xz
if [ ! -r "$data" ]; then
    echo "demo.sh: $data is missing" >&2
    exit 1
fi

cp_install_deps
cp_build_install --quiet   # make's output only if it fails
cp_start_cluster   # its EXIT trap stops the server even if a step below fails

export PGDATABASE=demo
createdb demo

# \copy ... FROM PROGRAM runs xz on the client side (as us), so the server never
# reads the checkout. The path goes inside an SQL string literal: double any '.
data_sql=${data//\'/\'\'}

# -X: ignore ~/.psqlrc; ON_ERROR_STOP: fail on the first error; -q: only results.
psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION customer_priority;
SET TimeZone = 'UTC';

CREATE TABLE online_retail (invoice_no text, stock_code text, description text,
  quantity int, invoice_date timestamp, unit_price numeric, customer_id int, country text);
\\copy online_retail FROM PROGRAM 'xz -dc ${data_sql}' WITH (FORMAT csv, HEADER)
ANALYZE online_retail;

-- The order lines as the segmentation reads them: the amount of a line is
-- quantity * unit_price; cancellations (negative quantities) are refunds.
CREATE VIEW order_lines AS
SELECT invoice_no, customer_id, invoice_date, quantity * unit_price AS amount, country
FROM online_retail;

-- One call: four views (shop_customers, shop_membership, shop_segments, shop_profiles).
-- invoice_date is the shop's local time (London). potential: BG/NBD and Gamma-Gamma,
-- each customer's expected purchases and value in the next 52 weeks.
SELECT customer_priority.create_segmentation('shop', 'order_lines', 'customer_id', 'invoice_date', 'amount',
    '{"as_of": "2011-12-10", "time_zone": "Europe/London", "order_id": "invoice_no",
      "order_attributes": ["country"], "potential": true}') IS NULL AS created \\gset

\\echo
\\echo 'shop_segments: customers and revenue per RFM segment (Online Retail, as of 2011-12-10):'
SELECT segment, customers, round(100 * customer_share, 1) AS "% customers",
       round(100 * revenue_share, 1) AS "% revenue", avg_recency_days, avg_frequency, avg_monetary
FROM shop_segments WHERE dimension = 'rfm_segment' ORDER BY revenue DESC;

\\echo
\\echo 'shop_segments: ABC classes and primary types (typology), with what to do:'
SELECT dimension, segment, customers, round(100 * revenue_share, 1) AS "% revenue", recommended_action
FROM shop_segments WHERE dimension IN ('abc_class', 'primary_type')
ORDER BY dimension, revenue DESC;

\\echo
\\echo 'shop_profiles: where the Champions and the at-risk customers live (top 3 countries):'
SELECT dimension, segment, value AS country, customers, round(100 * share, 1) AS "% of segment"
FROM (SELECT *, row_number() OVER (PARTITION BY dimension, segment ORDER BY customers DESC, value) AS n
      FROM shop_profiles
      WHERE attribute = 'country'
        AND (dimension, segment) IN (('rfm_segment', 'Champions'), ('lifecycle_stage', 'at_risk'))) p
WHERE n <= 3 ORDER BY dimension DESC, segment, customers DESC;

\\echo
\\echo 'shop_customers: at-risk customers to win back first (highest expected revenue in the next 52 weeks):'
SELECT customer_id, recency_days, frequency, revenue, round(p_alive::numeric, 2) AS p_alive,
       round(expected_purchases::numeric, 1) AS "purchases next 52 weeks", round(clv::numeric) AS clv
FROM shop_customers WHERE 'at_risk_high_clv' = ANY (labels)
ORDER BY clv DESC LIMIT 5;

SELECT format('loaded %s order lines (%s with a customer id) of %s customers',
              count(*), count(customer_id), count(DISTINCT customer_id)) AS loaded
FROM online_retail \\gset
\\echo :loaded
SQL

cp_stop_cluster
