-- Incremental builds: the base build's rows of core.social_posts for the posts meta.changed_posts redoes,
-- kept before core.social_posts replaces them (meta.changed_engagement_posts maps snapshots to posts by their
-- old permalinks too). Empty in a full build. The base build's table is read by its name, not ref(): this
-- model runs before the one that rewrites it, which names this one in a depends_on. Dropped at the end of
-- the build (the on-run-end hook).
-- depends_on: {{ ref('changed_posts') }}
{% if var('incremental_build', false) %}
SELECT * FROM core.social_posts SEMI JOIN {{ ref('changed_posts') }} USING (platform, post_id)
{% else %}
SELECT NULL AS nothing_replaced WHERE FALSE
{% endif %}
