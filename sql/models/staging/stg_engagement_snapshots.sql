-- Engagement counts per post as of a snapshot date (archive generation date or analytics export).
-- post_id is NULL where an export names the post only by its (canonical) permalink.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- delivery_id from the file's name (staging.lake_file_delivery_id).
{{ config(alias='engagement_snapshots') }}
SELECT platform, post_id, permalink, snapshot_date, likes, reposts, replies, impressions, clicks, views, shares,
       delivery_id
FROM (
    SELECT * REPLACE (staging.lake_file_delivery_id(filename) AS delivery_id)
    FROM {{ source('lake', 'engagement_snapshots') }}
)
WHERE delivery_id IN (SELECT delivery_id FROM {{ ref('stg_ingest_ledger') }})
