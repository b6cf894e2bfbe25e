-- Ranking observations from every source (rank trackers, Search Console), queries trimmed and lower-cased.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- delivery_id from the file's name (staging.lake_file_delivery_id).
{{ config(alias='rankings') }}
SELECT source, ranking_date, lower(trim(query)) AS query, url, canonical_url, position, clicks, impressions,
       coalesce(search_engine, '') AS search_engine, coalesce(device, '') AS device,
       coalesce(country, '') AS country, search_volume, delivery_id
FROM (
    SELECT * REPLACE (staging.lake_file_delivery_id(filename) AS delivery_id)
    FROM {{ source('lake', 'rankings') }}
)
WHERE delivery_id IN (SELECT delivery_id FROM {{ ref('stg_ingest_ledger') }})
