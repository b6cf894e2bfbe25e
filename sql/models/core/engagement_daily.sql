-- Per owned target page, platform and day posted: posts linking it and their latest engagement counts.
-- Counts stay NULL where no export reported them (unknown, not zero).
-- Incremental: only the groups of meta.changed_engagement are redone (the slice: engagement_daily_slice,
-- sql/macros/incremental_build.sql; meta.rewritten_engagement_daily shows it).
-- depends_on: {{ ref('changed_engagement') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} AS t WHERE {{ engagement_daily_slice(ref('changed_engagement')) }}
{% endif %}") }}
WITH owned_links AS (
    SELECT DISTINCT l.platform, l.post_id, l.canonical_url, l.post_day
    FROM {{ ref('social_links') }} AS l
    {% if is_incremental() %}
    SEMI JOIN {{ ref('changed_engagement') }} AS g
        ON g.canonical_url = l.canonical_url AND g.platform = l.platform AND g.day = l.post_day
    {% endif %}
    WHERE l.is_owned
)
SELECT l.canonical_url, l.platform, l.post_day AS day,
       count(*) AS posts,
       sum(e.likes) AS likes,
       sum(e.reposts) AS reposts,
       sum(e.replies) AS replies,
       sum(e.impressions) AS impressions,
       sum(e.clicks) AS clicks,
       sum(e.views) AS views,
       sum(e.shares) AS shares
FROM owned_links AS l
LEFT JOIN {{ ref('post_engagement') }} AS e USING (platform, post_id)
GROUP BY l.canonical_url, l.platform, l.post_day
