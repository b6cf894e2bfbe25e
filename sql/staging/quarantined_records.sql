-- Records that could not be used, with file, place and reason.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- The delivery id is taken from the file's name (<delivery id>[-<4-digit chunk>].parquet, the same value as
-- inside it): a filter on a constant list of ids then skips other deliveries' files unopened.
CREATE OR REPLACE VIEW staging.quarantined_records AS
SELECT delivery_id, landing_path, member, location, reason, excerpt, quarantined_at, ingest_date
FROM (
    SELECT * REPLACE (regexp_replace(parse_filename(filename, true), '-[0-9]{4}$', '') AS delivery_id)
    FROM read_parquet('lake/quarantined_records/**/*.parquet', union_by_name = true, filename = true)
)
WHERE delivery_id IN (SELECT delivery_id FROM staging.ingest_ledger);
