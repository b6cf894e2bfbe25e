-- Incremental builds: the base build's rows of core.page_social_daily that meta.changed_social_pages redoes,
-- kept before core.page_social_daily replaces them (meta.changed_pages compares them with the new ones).
-- Empty in a full build. The base build's table is read by its name, not ref(): this model runs before the
-- one that rewrites it, which names this one in a depends_on. Dropped at the end of the build.
-- depends_on: {{ ref('changed_social_pages') }}
{% if var('incremental_build', false) %}
SELECT s.* FROM core.page_social_daily AS s
JOIN {{ ref('changed_social_pages') }} AS p ON p.canonical_url = s.canonical_url AND s.day >= p.from_day
{% else %}
SELECT NULL AS nothing_replaced WHERE FALSE
{% endif %}
