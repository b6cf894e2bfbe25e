-- The (source, target) pairs of the backlinks table that an incremental build redoes (empty in a full build,
-- which does all). A pair's row depends only on that pair's links, so these are the pairs that can have
-- changed: pairs in deliveries the base build had not seen or newly reached by the as-of date, and pairs
-- whose social or crawler links differ from the base build's.
CREATE OR REPLACE TABLE meta.changed_backlinks AS
{% if incremental %}
WITH social AS (
    SELECT permalink, canonical_url, platform, post_day
    FROM core.social_links
    WHERE is_owned AND permalink IS NOT NULL
),
social_changes AS (
    (SELECT * FROM social EXCEPT ALL SELECT * FROM meta.base_social_backlinks)
    UNION ALL
    (SELECT * FROM meta.base_social_backlinks EXCEPT ALL SELECT * FROM social)
),
crawler_changes AS (
    (SELECT * FROM core.crawled_links EXCEPT ALL SELECT * FROM meta.base_crawled_links)
    UNION ALL
    (SELECT * FROM meta.base_crawled_links EXCEPT ALL SELECT * FROM core.crawled_links)
)
SELECT source_canonical AS source_url, target_canonical AS target_url
FROM staging.backlinks
WHERE (delivery_id NOT IN (SELECT delivery_id FROM meta.base_deliveries)
       OR coalesce(first_seen, snapshot_date) > getvariable('base_as_of'))
  AND coalesce(first_seen, snapshot_date) <= getvariable('as_of')
  AND is_owned(target_canonical)
UNION
SELECT permalink, canonical_url FROM social_changes
UNION
SELECT source_url, target_url FROM crawler_changes
{% else %}
SELECT NULL::VARCHAR AS source_url, NULL::VARCHAR AS target_url WHERE FALSE
{% endif %};
