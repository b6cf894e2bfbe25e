-- One row per landed delivery, by content hash: the deliveries this build reads (meta.build_deliveries).
{{ config(alias='ingest_ledger') }}
SELECT delivery_id, landing_path, format, size_bytes, status, message, records_read, records_kept,
       records_quarantined, ingested_at, ingest_date
FROM {{ source('lake', 'ingest_ledger') }}
WHERE delivery_id IN (SELECT delivery_id FROM {{ ref('build_deliveries') }})
