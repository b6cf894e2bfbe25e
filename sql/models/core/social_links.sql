-- One row per post and canonical link target, with whether the target is an owned page. Targets the
-- crawler resolved (shorteners, shims, redirects, rel=canonical: core.url_resolution) are their resolved URL.
-- Incremental: only the links of meta.changed_posts are redone, from all their lake rows; their old rows are
-- kept first (meta.replaced_social_links: the engagement, first-link and backlink slices compare old with new).
-- depends_on: {{ ref('changed_posts') }}
-- depends_on: {{ ref('replaced_social_links') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} AS l
USING {{ ref('changed_posts') }} AS c
WHERE l.platform = c.platform AND l.post_id = c.post_id
{% endif %}") }}
SELECT l.platform, l.post_id, min(l.permalink) AS permalink,
       coalesce(r.resolved_url, l.canonical_url) AS canonical_url,
       min(site_day(l.posted_at)) AS post_day, bool_or(l.is_repost) AS is_repost,
       bool_or(l.is_shortener) AS is_shortener,
       is_owned(coalesce(r.resolved_url, l.canonical_url)) AS is_owned
FROM {{ ref('stg_social_links') }} AS l
{% if is_incremental() %}SEMI JOIN {{ ref('changed_posts') }} AS c ON c.platform = l.platform AND c.post_id = l.post_id{% endif %}
LEFT JOIN {{ ref('url_resolution') }} AS r ON r.url = l.canonical_url
WHERE site_day(l.posted_at) <= getvariable('as_of')
GROUP BY l.platform, l.post_id, coalesce(r.resolved_url, l.canonical_url)
