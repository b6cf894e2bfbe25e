-- Posts from every social export, as landed (UTC timestamps). Paths are relative to the data root.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- delivery_id from the file's name (staging.lake_file_delivery_id).
{{ config(alias='social_posts') }}
SELECT platform, post_id, permalink, posted_at, post_date, text, is_repost, delivery_id, source_file
FROM (
    SELECT * REPLACE (staging.lake_file_delivery_id(filename) AS delivery_id)
    FROM {{ source('lake', 'social_posts') }}
)
WHERE delivery_id IN (SELECT delivery_id FROM {{ ref('stg_ingest_ledger') }})
