-- The (source, target) pairs of the backlinks table that an incremental build redoes (empty in a full build,
-- which does all), from their own links only: pairs with tool rows the base build did not count (from
-- deliveries it had not seen, or newly reached by the as-of date), merged into their row, and pairs whose
-- social or crawler links differ from the base build's (rebuilt: such a link can be gone). link_key as in
-- core.backlinks.
-- depends_on: {{ ref('build_deliveries') }}
-- depends_on: {{ ref('changed_posts') }}
-- depends_on: {{ ref('crawled_links') }}
-- depends_on: {{ ref('social_links') }}
-- depends_on: {{ ref('stg_backlinks') }}
-- depends_on: {{ ref('replaced_social_links') }}
{% if var('incremental_build', false) %}
WITH social AS (
    -- Only the redone posts' links can differ (their old rows: meta.replaced_social_links).
    SELECT permalink, canonical_url, platform, post_day
    FROM {{ ref('social_links') }} SEMI JOIN {{ ref('changed_posts') }} USING (platform, post_id)
    WHERE is_owned AND permalink IS NOT NULL
),
replaced_social AS (
    SELECT permalink, canonical_url, platform, post_day
    FROM {{ ref('replaced_social_links') }}
    WHERE is_owned AND permalink IS NOT NULL
),
social_changes AS (
    (SELECT * FROM social EXCEPT ALL SELECT * FROM replaced_social)
    UNION ALL
    (SELECT * FROM replaced_social EXCEPT ALL SELECT * FROM social)
),
crawler_changes AS (
    (SELECT * FROM {{ ref('crawled_links') }} EXCEPT ALL SELECT * FROM meta.base_crawled_links)
    UNION ALL
    (SELECT * FROM meta.base_crawled_links EXCEPT ALL SELECT * FROM {{ ref('crawled_links') }})
)
SELECT source_url, target_url, bool_or(rebuilt) AS rebuilt, hash(source_url, target_url) AS link_key
FROM (
    SELECT source_canonical AS source_url, target_canonical AS target_url, FALSE AS rebuilt
    FROM {{ ref('stg_backlinks') }}
    WHERE delivery_id IN getvariable('new_deliveries')
      AND coalesce(first_seen, snapshot_date) <= getvariable('as_of')
      AND is_owned(target_canonical)
    UNION ALL
    SELECT source_canonical, target_canonical, FALSE
    FROM {{ ref('stg_backlinks') }}
    WHERE coalesce(first_seen, snapshot_date) > getvariable('base_as_of')
      AND coalesce(first_seen, snapshot_date) <= getvariable('as_of')
      AND is_owned(target_canonical)
    UNION ALL
    SELECT permalink, canonical_url, TRUE FROM social_changes
    UNION ALL
    SELECT source_url, target_url, TRUE FROM crawler_changes
)
GROUP BY source_url, target_url
ORDER BY source_url, target_url
{% else %}
SELECT NULL::VARCHAR AS source_url, NULL::VARCHAR AS target_url, NULL::BOOLEAN AS rebuilt, NULL::UBIGINT AS link_key
WHERE FALSE
{% endif %}
