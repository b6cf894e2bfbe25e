-- The deliveries this build reads: every ledger entry in the lake when it starts. The staging views read only
-- these deliveries' files (through staging.ingest_ledger), so a delivery ingested during or after the build
-- belongs to a later build and the published file's staging keeps matching its core tables. The next
-- incremental build treats every other ledger entry as new.
-- An incremental build then records new_deliveries (a post-hook; a run parameter: sql/macros/run_parameters.sql)
-- as a constant list: staging views take delivery ids from file names, so a filter on this list reads the new
-- deliveries' lake files only.
{{ config(post_hook="{% if var('incremental_build', false) %}
UPDATE meta.run_parameters SET new_deliveries = (
    SELECT coalesce(list(delivery_id ORDER BY delivery_id), [])
    FROM (SELECT delivery_id FROM {{ this }} EXCEPT SELECT delivery_id FROM meta.base_deliveries)
)
{% endif %}") }}
SELECT DISTINCT delivery_id
FROM {{ source('lake', 'ingest_ledger') }}
ORDER BY delivery_id
