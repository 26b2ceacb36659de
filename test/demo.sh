#!/usr/bin/env bash
# test/demo.sh: the README's first command. Builds and installs the extension,
# starts a throw-away cluster, loads the real "Online Retail" data set (541,909
# order lines, see test/data/README.md), creates a segmentation of it (its views)
# and prints from those views the customers and revenue per
# RFM segment, ABC class and primary type with the recommended actions, and the
# countries of two segments; then writes the segmentation's HTML report
# (segmentation_report(), docs/report.md) to shop.html and prints its path. Run as
# root on Debian bookworm:
#
#   bash test/demo.sh

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/cluster.sh
source "$here/cluster.sh"

# The report's file: CP_DEMO_REPORT, default shop.html in the current directory.
report=${CP_DEMO_REPORT:-$PWD/shop.html}

cp_install_deps
cp_build_install --quiet   # make's output only if it fails
cp_start_cluster   # its EXIT trap stops the server even if a step below fails

export PGDATABASE=demo
createdb demo
cp_demo_shop       # test/cluster.sh: the data and the segmentation "shop"

psql -X -q -v ON_ERROR_STOP=1 <<SQL
SET TimeZone = 'UTC';
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

# The report: one HTML page with the charts (docs/report.md), nothing loaded from anywhere.
psql -X -At -v ON_ERROR_STOP=1 -c "SELECT customer_priority.segmentation_report('shop')" > "$report"
echo
echo "the report of the segmentation shop (open it in a browser): $report"

cp_stop_cluster
