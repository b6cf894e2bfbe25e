-- The (page, platform, day) groups of core.engagement_daily an incremental build redoes (empty in a full
-- build, which does all): the groups holding an owned link, old or new, of a post whose links or engagement
-- were redone. A group's row depends only on its posts' links and engagement, so redoing these is exact.
-- depends_on: {{ ref('changed_engagement_posts') }}
-- depends_on: {{ ref('social_links') }}
-- depends_on: {{ ref('replaced_social_links') }}
{% if var('incremental_build', false) %}
SELECT DISTINCT canonical_url, platform, post_day AS day
FROM (SELECT platform, post_id, canonical_url, post_day, is_owned FROM {{ ref('social_links') }}
      UNION ALL
      SELECT platform, post_id, canonical_url, post_day, is_owned FROM {{ ref('replaced_social_links') }})
SEMI JOIN {{ ref('changed_engagement_posts') }} USING (platform, post_id)
WHERE is_owned
ORDER BY canonical_url, platform, day
{% else %}
SELECT NULL::VARCHAR AS canonical_url, NULL::VARCHAR AS platform, NULL::DATE AS day WHERE FALSE
{% endif %}
