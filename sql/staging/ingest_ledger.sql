-- One row per landed delivery, by content hash: the deliveries this build reads (meta.build_deliveries).
CREATE OR REPLACE VIEW staging.ingest_ledger AS
SELECT delivery_id, landing_path, format, size_bytes, status, message, records_read, records_kept,
       records_quarantined, ingested_at, ingest_date
FROM read_parquet('lake/ingest_ledger/**/*.parquet', union_by_name = true)
WHERE delivery_id IN (SELECT delivery_id FROM meta.build_deliveries);
