-- Every known link to an owned page, from backlink tools, social posts and the crawler's reading of linking
-- pages, deduplicated on canonical source and target. Anchor, rel flags and lost are from the latest report
-- of them (anchor_seen, flags_seen, last_reported; ties broken by value, so the row does not depend on the
-- order rows are read in: the report_key macros); a social link's flags stay NULL until the crawler reads
-- its page. link_key is a 64-bit hash of the pair (the warehouse's fingerprint includes the DuckDB release,
-- whose hash() it is): a pair's row is found by one integer column.
-- The rows are computed by meta.redone_backlinks. Incremental: only the pairs of meta.changed_backlinks are
-- redone; their old rows (meta.replaced_backlinks) are deleted by row id first (the slice: backlinks_slice,
-- sql/macros/incremental_build.sql; meta.rewritten_backlinks shows the new rows).
-- depends_on: {{ ref('replaced_backlinks') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} WHERE rowid IN (SELECT link_row FROM {{ ref('replaced_backlinks') }})
{% endif %}") }}
SELECT * FROM {{ ref('redone_backlinks') }}
