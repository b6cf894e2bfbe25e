-- One row per post (the same post can arrive in several deliveries), dated in the site's time zone.
-- Incremental: only meta.changed_posts are redone, each from all its lake rows; their old rows are kept first
-- (meta.replaced_social_posts: snapshots map to posts by their old permalinks too).
-- depends_on: {{ ref('changed_posts') }}
-- depends_on: {{ ref('replaced_social_posts') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} AS p
USING {{ ref('changed_posts') }} AS c
WHERE p.platform = c.platform AND p.post_id = c.post_id
{% endif %}") }}
SELECT platform, post_id, permalink, posted_at, site_day(posted_at) AS post_day, text, is_repost
FROM {{ ref('stg_social_posts') }}
{% if is_incremental() %}SEMI JOIN {{ ref('changed_posts') }} USING (platform, post_id){% endif %}
WHERE site_day(posted_at) <= getvariable('as_of')
QUALIFY row_number() OVER (PARTITION BY platform, post_id ORDER BY delivery_id) = 1
