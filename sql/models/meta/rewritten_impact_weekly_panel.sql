-- The rows of mart.impact_weekly_panel this build rewrote: in an incremental build, the weeks holding a day of
-- meta.changed_days (the slice its pre_hook deleted and appended anew: impact_weekly_panel_slice,
-- sql/macros/incremental_build.sql); none in a full build, which wrote every row. An incremental build's gate
-- checks these rows, not the whole table (pipeline/gate.py). A view: nothing to build, and it stays in the
-- published warehouse, where it shows the last build's rewritten rows.
-- depends_on: {{ ref('changed_days') }}
{{ config(materialized='view') }}
{% if var('incremental_build', false) %}
SELECT * FROM {{ ref('impact_weekly_panel') }} AS t WHERE {{ impact_weekly_panel_slice(ref('changed_days')) }}
{% else %}
SELECT * FROM {{ ref('impact_weekly_panel') }} WHERE FALSE
{% endif %}
