-- Per post: its latest engagement counts, each from the latest snapshot that reported it (an archive's likes
-- and an analytics export's impressions of the same post both survive). A snapshot is about the post with
-- its id; failing that (no id, or another system's id), the post with its canonical permalink; failing
-- that, the id it names.
-- Incremental: only meta.changed_engagement_posts are redone, each from every snapshot that can map to it.
-- depends_on: {{ ref('changed_engagement_posts') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} AS e
USING {{ ref('changed_engagement_posts') }} AS c
WHERE e.platform = c.platform AND e.post_id = c.post_id
{% endif %}") }}
WITH snapshots AS (
    SELECT *
    FROM {{ ref('stg_engagement_snapshots') }}
    WHERE snapshot_date <= getvariable('as_of')
    {% if is_incremental() %}
      -- Every snapshot that can map to a redone post: by its id, or by its permalink.
      AND ((platform, post_id) IN (SELECT (platform, post_id) FROM {{ ref('changed_engagement_posts') }})
           OR (platform, permalink) IN (
               SELECT (p.platform, p.permalink)
               FROM {{ ref('social_posts') }} AS p SEMI JOIN {{ ref('changed_engagement_posts') }} USING (platform, post_id)))
    {% endif %}
),
posts AS (
    SELECT DISTINCT platform, post_id
    FROM {{ ref('social_posts') }}
    {% if is_incremental() %}SEMI JOIN snapshots USING (platform, post_id){% endif %}
),
permalinks AS (
    SELECT platform, permalink, min(post_id) AS post_id
    FROM {{ ref('social_posts') }}
    {% if is_incremental() %}SEMI JOIN snapshots USING (platform, permalink){% endif %}
    WHERE permalink IS NOT NULL
    GROUP BY platform, permalink
),
mapped AS (
    -- Both joins on equalities only (hash joins): a condition on the first join's result in the second
    -- made DuckDB fall back to a nested-loop join, quadratic in the number of posts.
    SELECT s.platform, coalesce(by_id.post_id, by_link.post_id, s.post_id) AS post_id, s.snapshot_date,
           s.delivery_id, s.likes, s.reposts, s.replies, s.impressions, s.clicks, s.views, s.shares
    FROM snapshots AS s
    LEFT JOIN posts AS by_id ON by_id.platform = s.platform AND by_id.post_id = s.post_id
    LEFT JOIN permalinks AS by_link ON by_link.platform = s.platform AND by_link.permalink = s.permalink
)
SELECT platform, post_id,
       arg_max(likes, (snapshot_date, delivery_id)) FILTER (WHERE likes IS NOT NULL) AS likes,
       arg_max(reposts, (snapshot_date, delivery_id)) FILTER (WHERE reposts IS NOT NULL) AS reposts,
       arg_max(replies, (snapshot_date, delivery_id)) FILTER (WHERE replies IS NOT NULL) AS replies,
       arg_max(impressions, (snapshot_date, delivery_id)) FILTER (WHERE impressions IS NOT NULL) AS impressions,
       arg_max(clicks, (snapshot_date, delivery_id)) FILTER (WHERE clicks IS NOT NULL) AS clicks,
       arg_max(views, (snapshot_date, delivery_id)) FILTER (WHERE views IS NOT NULL) AS views,
       arg_max(shares, (snapshot_date, delivery_id)) FILTER (WHERE shares IS NOT NULL) AS shares
FROM mapped
WHERE post_id IS NOT NULL
{% if is_incremental() %}AND (platform, post_id) IN (SELECT (platform, post_id) FROM {{ ref('changed_engagement_posts') }}){% endif %}
GROUP BY platform, post_id
