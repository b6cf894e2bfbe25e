-- Outbound links found in social posts: explicit link fields and URLs in the text.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- delivery_id from the file's name (staging.lake_file_delivery_id).
{{ config(alias='social_links') }}
SELECT platform, post_id, permalink, posted_at, post_date, url, canonical_url, link_kind, is_shortener,
       is_repost, delivery_id
FROM (
    SELECT * REPLACE (staging.lake_file_delivery_id(filename) AS delivery_id)
    FROM {{ source('lake', 'social_links') }}
)
WHERE canonical_url IS NOT NULL
  AND delivery_id IN (SELECT delivery_id FROM {{ ref('stg_ingest_ledger') }})
