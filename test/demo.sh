#!/usr/bin/env bash
# test/demo.sh: the README's first command. Builds and installs the extension,
# starts a throw-away cluster, loads the real "Online Retail" data set (541,909
# order lines, see test/data/README.md) and prints how many customers fall in
# each RFM segment and each primary type (typology) with its recommended action. Run as root on Debian bookworm:
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

\\echo
\\echo 'Customers per RFM segment (Online Retail, as of 2011-12-10, 5 score classes):'
WITH metrics AS (
  SELECT customer_id,
         customer_priority.rfm(invoice_date, quantity * unit_price,
                               timestamptz '2011-12-10', invoice_no) AS m
  FROM online_retail
  WHERE customer_id IS NOT NULL
  GROUP BY customer_id),
breaks AS (
  SELECT customer_priority.rfm_breaks((m).last_order, (m).frequency, (m).monetary, 5) AS b
  FROM metrics),
scored AS (
  SELECT customer_priority.rfm_score((m).last_order, (m).frequency, (m).monetary, b) AS s
  FROM metrics, breaks)
SELECT coalesce(customer_priority.rfm_segment(s), '(no purchase by as_of)') AS segment,
       count(*) AS customers
FROM scored GROUP BY 1 ORDER BY 2 DESC, 1;

\\echo
\\echo 'Customers per primary type, with what to do (typology, shop calendar Europe/London):'
WITH profiles AS (
  SELECT customer_id,
         customer_priority.customer_profile(invoice_date AT TIME ZONE 'Europe/London',
                                            quantity * unit_price, timestamptz '2011-12-10',
                                            invoice_no, NULL, NULL, 'Europe/London') AS p
  FROM online_retail
  WHERE customer_id IS NOT NULL
  GROUP BY customer_id),
model AS (
  SELECT customer_priority.typology_model(p) AS m FROM profiles)
SELECT a.name AS primary_type, count(*) AS customers, a.recommended_action
FROM profiles, model,
     LATERAL customer_priority.customer_typology(p, m) t
     JOIN customer_priority.customer_type_actions a ON a.label = t.primary_type
GROUP BY a.name, a.priority, a.recommended_action ORDER BY a.priority;

SELECT format('loaded %s order lines (%s with a customer id) of %s customers',
              count(*), count(customer_id), count(DISTINCT customer_id)) AS loaded
FROM online_retail \\gset
\\echo :loaded
SQL

cp_stop_cluster
