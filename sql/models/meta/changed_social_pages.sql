-- Incremental builds: the owned pages whose social running totals (core.page_social_daily) are redone, from
-- the first day of their redone engagement groups (meta.changed_engagement) on. Empty in a full build.
-- Dropped at the end of the build.
-- depends_on: {{ ref('changed_engagement') }}
{% if var('incremental_build', false) %}
SELECT canonical_url, min(day) AS from_day FROM {{ ref('changed_engagement') }} GROUP BY canonical_url
{% else %}
SELECT NULL::VARCHAR AS canonical_url, NULL::DATE AS from_day WHERE FALSE
{% endif %}
