-- Records that could not be used, with file, place and reason.
CREATE OR REPLACE VIEW staging.quarantined_records AS
SELECT delivery_id, landing_path, member, location, reason, excerpt, quarantined_at, ingest_date
FROM read_parquet('lake/quarantined_records/**/*.parquet', union_by_name = true);
