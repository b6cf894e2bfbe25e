-- Incremental builds: the owned pages linked, before or now, by a post meta.changed_posts redoes; their
-- rows of core.first_social_links are redone. Empty in a full build. Dropped at the end of the build.
-- depends_on: {{ ref('changed_posts') }}
-- depends_on: {{ ref('replaced_social_links') }}
-- depends_on: {{ ref('social_links') }}
{% if var('incremental_build', false) %}
SELECT canonical_url FROM {{ ref('social_links') }} SEMI JOIN {{ ref('changed_posts') }} USING (platform, post_id)
WHERE is_owned
UNION
SELECT canonical_url FROM {{ ref('replaced_social_links') }} WHERE is_owned
{% else %}
SELECT NULL::VARCHAR AS canonical_url WHERE FALSE
{% endif %}
