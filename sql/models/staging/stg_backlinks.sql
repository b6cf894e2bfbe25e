-- Links reported by backlink tools, one row per tool export row.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- delivery_id from the file's name (staging.lake_file_delivery_id).
{{ config(alias='backlinks') }}
SELECT tool, source_url, source_canonical, source_domain, target_url, target_canonical, anchor,
       nofollow, ugc, sponsored, first_seen, last_seen, lost, source_domain_rating, snapshot_date, delivery_id
FROM (
    SELECT * REPLACE (staging.lake_file_delivery_id(filename) AS delivery_id)
    FROM {{ source('lake', 'backlinks') }}
)
WHERE delivery_id IN (SELECT delivery_id FROM {{ ref('stg_ingest_ledger') }})
