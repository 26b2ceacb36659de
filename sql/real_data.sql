-- Real data: the R package rfm's example orders and the UCI Online Retail
-- order lines (test/data/README.md).  The C aggregates are checked against an
-- independent plain-SQL implementation of the same contract.
SET TimeZone = 'UTC';
SET search_path = public, customer_priority;

-------------------------------------------------------------------------------
-- The R package rfm's orders: one row per order, text customer keys, dates.
-------------------------------------------------------------------------------
CREATE TABLE rfm_orders (customer_id text, order_date date, revenue numeric);
\copy rfm_orders FROM 'test/data/rfm_data_orders.csv' WITH (FORMAT csv, HEADER)
SELECT count(*) AS orders, count(DISTINCT customer_id) AS customers, sum(revenue) AS revenue,
       min(order_date), max(order_date)
FROM rfm_orders;

-- Per customer, as of the package's analysis date 2006-12-31.
CREATE TABLE rfm_customers AS
SELECT customer_id, (rfm(order_date, revenue, date '2006-12-31')).*
FROM rfm_orders GROUP BY customer_id;

-- Plain SQL gives the same metrics.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE c.frequency = s.orders AND c.monetary = s.revenue
                          AND c.recency_days = date '2006-12-31' - s.last_date) AS same_as_sql
FROM rfm_customers c
JOIN (SELECT customer_id, count(*) AS orders, sum(revenue) AS revenue, max(order_date) AS last_date
      FROM rfm_orders GROUP BY customer_id) s USING (customer_id);

-- Scores against an independent SQL implementation of the contract:
-- b_k = percentile_disc(k/5), score = 1 + #{k : value > b_k}.
CREATE TABLE rfm_scored AS
SELECT customer_id, frequency, (rfm_score(last_order, frequency, monetary, b)).*
FROM rfm_customers, (SELECT rfm_breaks(last_order, frequency, monetary, 5) AS b FROM rfm_customers) p;
WITH q AS (
    SELECT percentile_disc('{0.2,0.4,0.6,0.8}'::float8[]) WITHIN GROUP (ORDER BY last_order) AS r,
           percentile_disc('{0.2,0.4,0.6,0.8}'::float8[]) WITHIN GROUP (ORDER BY frequency) AS f,
           percentile_disc('{0.2,0.4,0.6,0.8}'::float8[]) WITHIN GROUP (ORDER BY monetary) AS m
    FROM rfm_customers),
sql_scores AS (
    SELECT customer_id,
           1 + (SELECT count(*) FROM unnest(q.r) b WHERE last_order > b) AS r,
           1 + (SELECT count(*) FROM unnest(q.f) b WHERE frequency > b) AS f,
           1 + (SELECT count(*) FROM unnest(q.m) b WHERE monetary > b) AS m
    FROM rfm_customers, q)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE s.recency_score = q.r AND s.frequency_score = q.f
                          AND s.monetary_score = q.m) AS same_as_sql
FROM rfm_scored s JOIN sql_scores q USING (customer_id);

-- Ties: NTILE(5) gives customers with the same number of orders different
-- frequency scores; the contract never does.
SELECT frequency, count(*) AS customers,
       array_agg(DISTINCT frequency_score) AS our_scores,
       array_agg(DISTINCT ntile) AS ntile_scores
FROM (SELECT s.*, ntile(5) OVER (ORDER BY frequency, customer_id) AS ntile FROM rfm_scored s) t
GROUP BY frequency ORDER BY frequency;

-- Segment counts with both shipped maps.
SELECT rfm_segment(recency_score, frequency_score, monetary_score) AS segment, count(*) AS customers
FROM rfm_scored GROUP BY 1 ORDER BY 2 DESC, 1;
SELECT rfm_segment(recency_score, frequency_score, monetary_score, 5, 'rfm_package') AS segment,
       count(*) AS customers
FROM rfm_scored GROUP BY 1 ORDER BY 2 DESC, 1;

DROP TABLE rfm_orders, rfm_customers, rfm_scored;

-------------------------------------------------------------------------------
-- UCI Online Retail: order lines, cancellations ("C" invoices with negative
-- quantities), lines without a customer, and a customer who cancelled all.
-------------------------------------------------------------------------------
CREATE TABLE online_retail (invoice_no text, stock_code text, description text, quantity int,
                            invoice_date timestamp, unit_price numeric, customer_id int, country text);
\copy online_retail FROM PROGRAM 'xz -dc test/data/online_retail.csv.xz' WITH (FORMAT csv, HEADER)
SELECT count(*) AS lines, count(DISTINCT invoice_no) AS invoices,
       count(*) FILTER (WHERE customer_id IS NULL) AS lines_without_customer,
       count(*) FILTER (WHERE invoice_no LIKE 'C%') AS cancellation_lines,
       count(DISTINCT customer_id) AS customers
FROM online_retail;

CREATE TABLE retail_customers AS
SELECT customer_id, (rfm(invoice_date, quantity * unit_price, '2011-12-10', invoice_no)).*
FROM online_retail WHERE customer_id IS NOT NULL GROUP BY customer_id;

-- Frequency counts distinct invoices with a purchase line (cancellations are
-- refunds, not orders); monetary is net of cancellations.  Plain SQL agrees.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE c.frequency = s.orders AND c.monetary = s.net
                          AND c.gross = s.gross AND c.returned = s.returned
                          AND c.last_order IS NOT DISTINCT FROM s.last_purchase) AS same_as_sql
FROM retail_customers c
JOIN (SELECT customer_id,
             count(DISTINCT invoice_no) FILTER (WHERE quantity * unit_price > 0) AS orders,
             sum(quantity * unit_price) AS net,
             coalesce(sum(quantity * unit_price) FILTER (WHERE quantity * unit_price > 0), 0) AS gross,
             coalesce(-sum(quantity * unit_price) FILTER (WHERE quantity * unit_price < 0), 0) AS returned,
             max(invoice_date) FILTER (WHERE quantity * unit_price > 0) AS last_purchase
      FROM online_retail WHERE customer_id IS NOT NULL GROUP BY customer_id) s USING (customer_id);

-- Customer 12346 bought 74,215 units and cancelled all of them the same day.
SELECT customer_id, frequency, gross, returned, monetary, recency_days
FROM retail_customers WHERE customer_id = 12346;
-- Customers with cancellations only have no purchase and no scores.
SELECT count(*) FILTER (WHERE frequency = 0) AS without_purchase,
       count(*) FILTER (WHERE monetary < 0) AS negative_net,
       count(*) FILTER (WHERE monetary = 0) AS zero_net
FROM retail_customers;

-- An as_of in the past reproduces the customer base on that day.  (count(m)
-- counts customers with a row by then; "m IS NOT NULL" would be false for
-- any row with a NULL field, as SQL defines it for composites.)
SELECT count(m) AS customers_on_2011_06_30,
       count(*) FILTER (WHERE (m).frequency = 0) AS of_which_only_cancellations,
       sum((m).frequency) AS orders
FROM (SELECT rfm(invoice_date, quantity * unit_price, '2011-06-30 23:59:59', invoice_no) AS m
      FROM online_retail WHERE customer_id IS NOT NULL GROUP BY customer_id) s;
SELECT count(DISTINCT customer_id) AS customers_on_2011_06_30,
       count(DISTINCT invoice_no) FILTER (WHERE quantity * unit_price > 0) AS orders
FROM online_retail WHERE customer_id IS NOT NULL AND invoice_date <= '2011-06-30 23:59:59';

-- The breaks and the segment counts (the README's demo).
SELECT (b).* FROM (SELECT rfm_breaks(last_order, frequency, monetary, 5) AS b FROM retail_customers) p;
SELECT coalesce(rfm_segment(rfm_score(last_order, frequency, monetary, b)), '(no purchase by as_of)') AS segment,
       count(*) AS customers
FROM retail_customers, (SELECT rfm_breaks(last_order, frequency, monetary, 5) AS b FROM retail_customers) p
GROUP BY 1 ORDER BY 2 DESC, 1;

-- Typology on the shop's own calendar (Europe/London): profiles agree with
-- rfm() on orders and money, and the labels are stable.
CREATE TABLE retail_profiles AS
SELECT customer_id,
       customer_profile(invoice_date AT TIME ZONE 'Europe/London', quantity * unit_price, '2011-12-10',
                        invoice_no, NULL, NULL, 'Europe/London') AS p
FROM online_retail WHERE customer_id IS NOT NULL GROUP BY customer_id;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (p).orders = c.frequency AND (p).gross = c.gross
                          AND (p).returned = c.returned AND (p).net_revenue = c.monetary) AS same_as_rfm,
       count(*) FILTER (WHERE (p).gap_cv IS NOT NULL) AS with_irregularity,
       count(*) FILTER (WHERE (p).weekend_share > 0) AS with_weekend_orders
FROM retail_profiles JOIN retail_customers c USING (customer_id);
SELECT (m).customers, (m).royal_min_revenue_per_year, round((m).mean_revenue_per_year, 2) AS mean_rpy,
       round((m).median_gap_cv::numeric, 4) AS median_gap_cv
FROM (SELECT typology_model(p) AS m FROM retail_profiles) s;
SELECT t.primary_type, count(*) AS customers
FROM retail_profiles, (SELECT typology_model(p) AS m FROM retail_profiles) s,
     LATERAL customer_typology(p, m) t
GROUP BY 1 ORDER BY 2 DESC, 1;

DROP TABLE online_retail, retail_customers, retail_profiles;
