-- Posts from every social export, as landed (UTC timestamps). Paths are relative to the data root.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
CREATE OR REPLACE VIEW staging.social_posts AS
SELECT platform, post_id, permalink, posted_at, post_date, text, is_repost, delivery_id, source_file
FROM read_parquet('lake/social_posts/**/*.parquet', union_by_name = true)
WHERE delivery_id IN (SELECT delivery_id FROM staging.ingest_ledger);
