-- The rows of mart.ranking_impact this build rewrote: in an incremental build, the rows of meta.changed_days and
-- of meta.changed_pages from their first changed day on (the slice its pre_hook deleted and appended anew:
-- redone_rows, sql/macros/incremental_build.sql, here with the first changed day computed, as the build's
-- variable is gone); none in a full build, which wrote every row. Selected by row id, so a row appended twice
-- shows twice. An incremental build's gate checks these rows, not the whole table (pipeline/gate.py). A view:
-- nothing to build, and it stays in the published warehouse, where it shows the last build's rewritten rows.
-- depends_on: {{ ref('changed_days') }}
-- depends_on: {{ ref('changed_pages') }}
{{ config(materialized='view') }}
{% if var('incremental_build', false) %}
SELECT * FROM {{ ref('ranking_impact') }}
WHERE rowid IN (
    {{ redone_rows(ref('ranking_impact'), 't.rowid', ref('changed_days'), ref('changed_pages'),
                   redo_from="(SELECT coalesce(min(day), 'infinity'::DATE) FROM " ~ ref('changed_days') ~ ")") }}
)
{% else %}
SELECT * FROM {{ ref('ranking_impact') }} WHERE FALSE
{% endif %}
