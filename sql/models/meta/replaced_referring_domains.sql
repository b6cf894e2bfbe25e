-- Incremental builds: the base build's rows of core.page_referring_domains_daily that meta.changed_domain_pages
-- redoes, kept before that model replaces them: it rebuilds the counts from what each old row added, and
-- meta.changed_pages compares old with new. Empty in a full build. The base build's table is read by its
-- name, not ref(): this model runs before the one that rewrites it, which names this one in a depends_on.
-- Dropped at the end of the build.
-- depends_on: {{ ref('changed_domain_pages') }}
{% if var('incremental_build', false) %}
SELECT d.* FROM core.page_referring_domains_daily AS d
JOIN {{ ref('changed_domain_pages') }} AS p ON p.canonical_url = d.canonical_url AND d.day >= p.from_day
{% else %}
SELECT NULL AS nothing_replaced WHERE FALSE
{% endif %}
