-- Every landed delivery the ledger knows, with what was read, kept and quarantined from it.
SELECT delivery_id, landing_path, format, size_bytes, status, message, records_read, records_kept,
       records_quarantined, ingested_at
FROM {{ ref('stg_ingest_ledger') }}
