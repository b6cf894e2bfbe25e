-- Ranking observations from every source (rank trackers, Search Console), queries trimmed and lower-cased.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- The delivery id is taken from the file's name (<delivery id>[-<4-digit chunk>].parquet, the same value as
-- inside it): a filter on a constant list of ids then skips other deliveries' files unopened.
CREATE OR REPLACE VIEW staging.rankings AS
SELECT source, ranking_date, lower(trim(query)) AS query, url, canonical_url, position, clicks, impressions,
       coalesce(search_engine, '') AS search_engine, coalesce(device, '') AS device,
       coalesce(country, '') AS country, search_volume, delivery_id
FROM (
    SELECT * REPLACE (regexp_replace(parse_filename(filename, true), '-[0-9]{4}$', '') AS delivery_id)
    FROM read_parquet('lake/rankings/**/*.parquet', union_by_name = true, filename = true)
)
WHERE delivery_id IN (SELECT delivery_id FROM staging.ingest_ledger);
