-- Outbound links found in social posts: explicit link fields and URLs in the text.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- The delivery id is taken from the file's name (<delivery id>[-<4-digit chunk>].parquet, the same value as
-- inside it): a filter on a constant list of ids then skips other deliveries' files unopened.
CREATE OR REPLACE VIEW staging.social_links AS
SELECT platform, post_id, permalink, posted_at, post_date, url, canonical_url, link_kind, is_shortener,
       is_repost, delivery_id
FROM (
    SELECT * REPLACE (regexp_replace(parse_filename(filename, true), '-[0-9]{4}$', '') AS delivery_id)
    FROM read_parquet('lake/social_links/**/*.parquet', union_by_name = true, filename = true)
)
WHERE canonical_url IS NOT NULL
  AND delivery_id IN (SELECT delivery_id FROM staging.ingest_ledger);
