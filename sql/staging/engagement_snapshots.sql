-- Engagement counts per post as of a snapshot date (archive generation date or analytics export).
-- post_id is NULL where an export names the post only by its (canonical) permalink.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- The delivery id is taken from the file's name (<delivery id>[-<4-digit chunk>].parquet, the same value as
-- inside it): a filter on a constant list of ids then skips other deliveries' files unopened.
CREATE OR REPLACE VIEW staging.engagement_snapshots AS
SELECT platform, post_id, permalink, snapshot_date, likes, reposts, replies, impressions, clicks, views, shares,
       delivery_id
FROM (
    SELECT * REPLACE (regexp_replace(parse_filename(filename, true), '-[0-9]{4}$', '') AS delivery_id)
    FROM read_parquet('lake/engagement_snapshots/**/*.parquet', union_by_name = true, filename = true)
)
WHERE delivery_id IN (SELECT delivery_id FROM staging.ingest_ledger);
