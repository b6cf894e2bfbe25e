-- The posts (platform, post_id) an incremental build redoes (empty in a full build, which does all): posts
-- with lake rows the base build did not count (from deliveries it had not seen, or dated after its as-of
-- date) and posts linking a URL whose resolution by the crawler changed. A post's rows in core.social_posts
-- and core.social_links depend only on its own lake rows and those resolutions, so redoing these is exact.
-- depends_on: {{ ref('build_deliveries') }}
-- depends_on: {{ ref('stg_social_links') }}
-- depends_on: {{ ref('stg_social_posts') }}
-- depends_on: {{ ref('url_resolution') }}
{% if var('incremental_build', false) %}
WITH changed_resolutions AS (
    (SELECT * FROM {{ ref('url_resolution') }} EXCEPT ALL SELECT * FROM meta.base_url_resolution)
    UNION ALL
    (SELECT * FROM meta.base_url_resolution EXCEPT ALL SELECT * FROM {{ ref('url_resolution') }})
)
SELECT platform, post_id FROM {{ ref('stg_social_posts') }} WHERE delivery_id IN getvariable('new_deliveries')
UNION
SELECT platform, post_id FROM {{ ref('stg_social_links') }} WHERE delivery_id IN getvariable('new_deliveries')
UNION
-- The first condition only lets DuckDB skip row groups by their statistics; the second is the rule.
SELECT platform, post_id FROM {{ ref('stg_social_posts') }}
WHERE posted_at >= site_day_start(getvariable('base_as_of')) AND site_day(posted_at) > getvariable('base_as_of')
UNION
SELECT platform, post_id FROM {{ ref('stg_social_links') }}
WHERE posted_at >= site_day_start(getvariable('base_as_of')) AND site_day(posted_at) > getvariable('base_as_of')
UNION
SELECT platform, post_id FROM {{ ref('stg_social_links') }}
WHERE canonical_url IN (SELECT url FROM changed_resolutions)
ORDER BY platform, post_id
{% else %}
SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS post_id WHERE FALSE
{% endif %}
