-- Incremental builds: the base build's rows of core.first_social_links for meta.changed_link_pages, kept before
-- core.first_social_links replaces them (meta.changed_pages compares them with the new ones). Empty in a full
-- build. The base build's table is read by its name, not ref(): this model runs before the one that rewrites
-- it, which names this one in a depends_on. Dropped at the end of the build.
-- depends_on: {{ ref('changed_link_pages') }}
{% if var('incremental_build', false) %}
SELECT * FROM core.first_social_links
WHERE canonical_url IN (SELECT canonical_url FROM {{ ref('changed_link_pages') }})
{% else %}
SELECT NULL AS nothing_replaced WHERE FALSE
{% endif %}
