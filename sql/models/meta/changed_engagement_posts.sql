-- The posts whose engagement counts an incremental build redoes (empty in a full build, which does all).
-- A post's counts depend on the snapshots that map to it, and a snapshot's post only on the posts with its
-- id or its permalink (core.post_engagement). So these are the posts a snapshot the base build did not
-- count can map to, and those a counted snapshot naming a changed post's id or old or new permalink mapped
-- to before or maps to now: the id it names, and every post, old or new, with its permalink.
-- depends_on: {{ ref('build_deliveries') }}
-- depends_on: {{ ref('changed_posts') }}
-- depends_on: {{ ref('social_posts') }}
-- depends_on: {{ ref('stg_engagement_snapshots') }}
-- depends_on: {{ ref('replaced_social_posts') }}
{% if var('incremental_build', false) %}
WITH touched_permalinks AS (
    SELECT platform, permalink FROM {{ ref('social_posts') }} SEMI JOIN {{ ref('changed_posts') }} USING (platform, post_id)
    UNION
    SELECT platform, permalink FROM {{ ref('replaced_social_posts') }}
),
snapshots AS (
    SELECT platform, post_id, permalink
    FROM {{ ref('stg_engagement_snapshots') }}
    WHERE delivery_id IN getvariable('new_deliveries') AND snapshot_date <= getvariable('as_of')
    UNION
    SELECT platform, post_id, permalink
    FROM {{ ref('stg_engagement_snapshots') }}
    WHERE snapshot_date > getvariable('base_as_of') AND snapshot_date <= getvariable('as_of')
    UNION
    SELECT platform, post_id, permalink
    FROM {{ ref('stg_engagement_snapshots') }}
    WHERE snapshot_date <= getvariable('as_of')
      AND ((platform, post_id) IN (SELECT (platform, post_id) FROM {{ ref('changed_posts') }})
           OR (platform, permalink) IN (SELECT (platform, permalink) FROM touched_permalinks))
)
SELECT platform, post_id FROM snapshots WHERE post_id IS NOT NULL
UNION
SELECT p.platform, p.post_id
FROM (SELECT platform, post_id, permalink FROM {{ ref('social_posts') }}
      UNION ALL
      SELECT platform, post_id, permalink FROM {{ ref('replaced_social_posts') }}) AS p
SEMI JOIN snapshots AS s ON s.platform = p.platform AND s.permalink = p.permalink
UNION
SELECT platform, post_id FROM {{ ref('changed_posts') }}
ORDER BY platform, post_id
{% else %}
SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS post_id WHERE FALSE
{% endif %}
