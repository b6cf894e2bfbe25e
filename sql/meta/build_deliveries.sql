-- The deliveries this build saw: the next incremental build treats every other ledger entry as new.
CREATE OR REPLACE TABLE meta.build_deliveries AS
SELECT DISTINCT delivery_id FROM staging.ingest_ledger ORDER BY delivery_id;
