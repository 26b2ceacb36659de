-- Named RFM segments: maps from (R, F, M) scores to segment names, kept in two tables so
-- users can add their own maps.  C code: src/segment.c.

CREATE TABLE customer_priority.rfm_segment_maps (
    map         text PRIMARY KEY,
    scale       integer NOT NULL CHECK (scale BETWEEN 2 AND 10),
    fallback    text,
    description text
);
COMMENT ON TABLE customer_priority.rfm_segment_maps IS
    'RFM segment maps by name; add rows (and rules) to define your own';
COMMENT ON COLUMN customer_priority.rfm_segment_maps.map IS 'name of the map, passed to rfm_segment()';
COMMENT ON COLUMN customer_priority.rfm_segment_maps.scale IS
    'score scale the rules are written for; scores on another scale are mapped onto it';
COMMENT ON COLUMN customer_priority.rfm_segment_maps.fallback IS
    'segment of customers that no rule matches (NULL: no segment)';
COMMENT ON COLUMN customer_priority.rfm_segment_maps.description IS 'where the map comes from';

CREATE TABLE customer_priority.rfm_segment_rules (
    map      text NOT NULL REFERENCES customer_priority.rfm_segment_maps
                 ON UPDATE CASCADE ON DELETE CASCADE,
    priority integer NOT NULL,
    segment  text NOT NULL,
    r_min    integer NOT NULL DEFAULT 1,
    r_max    integer NOT NULL DEFAULT 10,
    f_min    integer NOT NULL DEFAULT 1,
    f_max    integer NOT NULL DEFAULT 10,
    m_min    integer NOT NULL DEFAULT 1,
    m_max    integer NOT NULL DEFAULT 10,
    fm_min   integer NOT NULL DEFAULT 1,
    fm_max   integer NOT NULL DEFAULT 10,
    PRIMARY KEY (map, priority),
    CHECK (r_min BETWEEN 1 AND 10 AND r_max BETWEEN 1 AND 10 AND r_min <= r_max),
    CHECK (f_min BETWEEN 1 AND 10 AND f_max BETWEEN 1 AND 10 AND f_min <= f_max),
    CHECK (m_min BETWEEN 1 AND 10 AND m_max BETWEEN 1 AND 10 AND m_min <= m_max),
    CHECK (fm_min BETWEEN 1 AND 10 AND fm_max BETWEEN 1 AND 10 AND fm_min <= fm_max)
);
COMMENT ON TABLE customer_priority.rfm_segment_rules IS
    'rules of the RFM segment maps: inclusive score ranges; the matching rule with the lowest priority wins';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.map IS 'the map the rule belongs to';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.priority IS 'rule order: lower is tried first';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.segment IS 'segment name given when the rule matches';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.r_min IS 'lowest recency score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.r_max IS 'highest recency score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.f_min IS 'lowest frequency score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.f_max IS 'highest frequency score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.m_min IS 'lowest monetary score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.m_max IS 'highest monetary score matched';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.fm_min IS
    'lowest FM score matched; FM = (F + M) / 2 rounded half up';
COMMENT ON COLUMN customer_priority.rfm_segment_rules.fm_max IS 'highest FM score matched';

INSERT INTO customer_priority.rfm_segment_maps (map, scale, fallback, description) VALUES
    ('standard', 5, NULL,
     'the widely copied 11-segment map on the recency score R and FM = round half up((F + M) / 2)'),
    ('rfm_package', 5, 'Others',
     'the range rules of the R package rfm: first matching rule wins, unmatched customers are Others');

-- The standard map: every (R, FM) cell of the 5 x 5 grid is covered exactly once.
INSERT INTO customer_priority.rfm_segment_rules (map, priority, segment, r_min, r_max, fm_min, fm_max) VALUES
    ('standard',  1, 'Champions',          5, 5, 4, 5),
    ('standard',  2, 'Champions',          4, 4, 5, 5),
    ('standard',  3, 'Loyal Customers',    5, 5, 3, 3),
    ('standard',  4, 'Loyal Customers',    4, 4, 4, 4),
    ('standard',  5, 'Loyal Customers',    3, 3, 4, 5),
    ('standard',  6, 'Potential Loyalist', 5, 5, 2, 2),
    ('standard',  7, 'Potential Loyalist', 4, 4, 2, 3),
    ('standard',  8, 'Potential Loyalist', 3, 3, 3, 3),
    ('standard',  9, 'New Customers',      5, 5, 1, 1),
    ('standard', 10, 'Promising',          3, 4, 1, 1),
    ('standard', 11, 'Need Attention',     3, 3, 2, 2),
    ('standard', 12, 'Need Attention',     2, 2, 2, 3),
    ('standard', 13, 'About To Sleep',     2, 2, 1, 1),
    ('standard', 14, 'At Risk',            2, 2, 4, 5),
    ('standard', 15, 'At Risk',            1, 1, 3, 3),
    ('standard', 16, 'Can''t Lose Them',   1, 1, 4, 5),
    ('standard', 17, 'Hibernating',        1, 1, 2, 2),
    ('standard', 18, 'Lost',               1, 1, 1, 1);

-- The R package rfm (rfm_segment() defaults), in its order.
INSERT INTO customer_priority.rfm_segment_rules
    (map, priority, segment, r_min, r_max, f_min, f_max, m_min, m_max) VALUES
    ('rfm_package',  1, 'Champions',          5, 5, 5, 5, 5, 5),
    ('rfm_package',  2, 'Potential Loyalist', 3, 5, 3, 5, 2, 5),
    ('rfm_package',  3, 'Loyal Customers',    2, 4, 2, 4, 2, 4),
    ('rfm_package',  4, 'Promising',          3, 4, 1, 3, 3, 5),
    ('rfm_package',  5, 'New Customers',      4, 5, 1, 3, 1, 5),
    ('rfm_package',  6, 'Can''t Lose Them',   1, 2, 3, 4, 4, 5),
    ('rfm_package',  7, 'At Risk',            1, 2, 2, 5, 4, 5),
    ('rfm_package',  8, 'Need Attention',     1, 3, 3, 5, 3, 5),
    ('rfm_package',  9, 'About To Sleep',     2, 3, 1, 3, 1, 4),
    ('rfm_package', 10, 'Lost',               1, 1, 1, 5, 1, 5);

-- pg_dump keeps the maps users add, not the shipped ones (CREATE EXTENSION makes those).
SELECT pg_catalog.pg_extension_config_dump('customer_priority.rfm_segment_maps',
                                           $$WHERE map NOT IN ('standard', 'rfm_package')$$);
SELECT pg_catalog.pg_extension_config_dump('customer_priority.rfm_segment_rules',
                                           $$WHERE map NOT IN ('standard', 'rfm_package')$$);

-- Everyone may read the maps; the role that created the extension may add its own maps
-- and pass that right on.  Shipped maps are protected by a trigger.
GRANT SELECT ON customer_priority.rfm_segment_maps, customer_priority.rfm_segment_rules TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON customer_priority.rfm_segment_maps, customer_priority.rfm_segment_rules
    TO @extowner@ WITH GRANT OPTION;

CREATE FUNCTION customer_priority.rfm_segment_protect_builtin()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND OLD.map IN ('standard', 'rfm_package'))
       OR (TG_OP <> 'DELETE' AND NEW.map IN ('standard', 'rfm_package')) THEN
        RAISE EXCEPTION 'RFM segment map "%" is built in and cannot be changed',
                        CASE WHEN TG_OP = 'INSERT' THEN NEW.map ELSE OLD.map END
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Copy it under a new name and change the copy.';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION customer_priority.rfm_segment_protect_builtin() IS
    'trigger function: the shipped segment maps standard and rfm_package are read-only';

CREATE TRIGGER protect_builtin BEFORE INSERT OR UPDATE OR DELETE
    ON customer_priority.rfm_segment_maps
    FOR EACH ROW EXECUTE FUNCTION customer_priority.rfm_segment_protect_builtin();
CREATE TRIGGER protect_builtin BEFORE INSERT OR UPDATE OR DELETE
    ON customer_priority.rfm_segment_rules
    FOR EACH ROW EXECUTE FUNCTION customer_priority.rfm_segment_protect_builtin();

CREATE FUNCTION customer_priority.rfm_segment(recency_score integer, frequency_score integer,
                                              monetary_score integer, bins integer DEFAULT 5,
                                              map text DEFAULT 'standard')
RETURNS text
AS 'MODULE_PATHNAME', 'rfm_segment'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_segment(integer, integer, integer, integer, text) IS
    'segment name of RFM scores 1..bins under a named map (default: standard)';

CREATE FUNCTION customer_priority.rfm_segment(scores customer_priority.rfm_scores,
                                              map text DEFAULT 'standard')
RETURNS text
AS 'MODULE_PATHNAME', 'rfm_segment_of_scores'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_segment(customer_priority.rfm_scores, text) IS
    'segment name of an rfm_scores value under a named map (default: standard)';

CREATE FUNCTION customer_priority.rfm_rescale_score(score integer, bins integer, scale integer)
RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_rescale_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION customer_priority.rfm_rescale_score(integer, integer, integer) IS
    'maps a score 1..bins onto 1..scale: round half up(1 + (score - 1) * (scale - 1) / (bins - 1))';
