-- The rows of core.engagement_daily this build rewrote: in an incremental build, the (page, platform, day)
-- groups of meta.changed_engagement (the slice its pre_hook deleted and appended anew: engagement_daily_slice,
-- sql/macros/incremental_build.sql); none in a full build, which wrote every row. An incremental build's gate
-- checks these rows, not the whole table (pipeline/gate.py). A view: nothing to build, and it stays in the
-- published warehouse, where it shows the last build's rewritten rows.
-- depends_on: {{ ref('changed_engagement') }}
{{ config(materialized='view') }}
{% if var('incremental_build', false) %}
SELECT * FROM {{ ref('engagement_daily') }} AS t WHERE {{ engagement_daily_slice(ref('changed_engagement')) }}
{% else %}
SELECT * FROM {{ ref('engagement_daily') }} WHERE FALSE
{% endif %}
