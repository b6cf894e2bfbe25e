-- Records that could not be used, with file, place and reason.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- delivery_id from the file's name (staging.lake_file_delivery_id).
{{ config(alias='quarantined_records') }}
SELECT delivery_id, landing_path, member, location, reason, excerpt, quarantined_at, ingest_date
FROM (
    SELECT * REPLACE (staging.lake_file_delivery_id(filename) AS delivery_id)
    FROM {{ source('lake', 'quarantined_records') }}
)
WHERE delivery_id IN (SELECT delivery_id FROM {{ ref('stg_ingest_ledger') }})
