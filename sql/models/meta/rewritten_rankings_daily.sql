-- The rows of core.rankings_daily this build rewrote: in an incremental build, the days of meta.changed_days
-- (the slice its pre_hook deleted and appended anew: rankings_daily_slice, sql/macros/incremental_build.sql);
-- none in a full build, which wrote every row. An incremental build's gate checks these rows, not the whole
-- table (pipeline/gate.py: the suite of core.<name> or mart.<name> reads meta.rewritten_<name>). A view: nothing
-- to build, and it stays in the published warehouse, where it shows the last build's rewritten rows.
-- depends_on: {{ ref('changed_days') }}
{{ config(materialized='view') }}
{% if var('incremental_build', false) %}
SELECT * FROM {{ ref('rankings_daily') }} AS t WHERE {{ rankings_daily_slice(ref('changed_days')) }}
{% else %}
SELECT * FROM {{ ref('rankings_daily') }} WHERE FALSE
{% endif %}
