-- The rows of core.backlinks this build rewrote: in an incremental build, the rows of the pairs of
-- meta.changed_backlinks (the pairs whose old rows meta.replaced_backlinks kept and the table deleted, found the
-- same way: backlinks_slice, sql/macros/incremental_build.sql); none in a full build, which wrote every row. An
-- incremental build's gate checks these rows, not the whole table (pipeline/gate.py). A view: nothing to build,
-- and it stays in the published warehouse, where it shows the last build's rewritten rows.
-- depends_on: {{ ref('changed_backlinks') }}
{{ config(materialized='view') }}
{% if var('incremental_build', false) %}
{{ backlinks_slice(ref('backlinks'), '*', ref('changed_backlinks')) }}
{% else %}
SELECT * FROM {{ ref('backlinks') }} WHERE FALSE
{% endif %}
