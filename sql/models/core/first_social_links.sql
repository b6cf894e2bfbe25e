-- The treatment: the first day an owned page was linked from each platform, and from any platform.
-- Incremental: only the owned pages linked, before or now, by a redone post are redone
-- (meta.changed_link_pages); their old rows are kept first (meta.replaced_first_social_links: meta.changed_pages
-- compares them with the new ones).
-- depends_on: {{ ref('changed_link_pages') }}
-- depends_on: {{ ref('replaced_first_social_links') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} WHERE canonical_url IN (SELECT canonical_url FROM {{ ref('changed_link_pages') }})
{% endif %}") }}
WITH owned_links AS (
    SELECT * FROM {{ ref('social_links') }}
    WHERE is_owned
    {% if is_incremental() %}AND canonical_url IN (SELECT canonical_url FROM {{ ref('changed_link_pages') }}){% endif %}
)
SELECT canonical_url, platform, min(post_day) AS first_day, count(DISTINCT post_id) AS posts
FROM owned_links
GROUP BY canonical_url, platform
UNION ALL
SELECT canonical_url, 'any' AS platform, min(post_day) AS first_day, count(DISTINCT (platform, post_id)) AS posts
FROM owned_links
GROUP BY canonical_url
