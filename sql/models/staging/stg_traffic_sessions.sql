-- Web-analytics sessions per day, landing page, session source and medium, as each tool reported them
-- (pipeline/sources/ga4_report_csv.py, plausible_export.py, matomo_export.py, ...). A NULL dimension is one
-- the tool did not break the sessions down by. Sources, mediums and channel groups are trimmed; placeholders
-- stay as written.
-- Only deliveries with a ledger entry: the entry is written last, so files of an ingest that died are never read.
-- delivery_id from the file's name (staging.lake_file_delivery_id).
{{ config(alias='traffic_sessions') }}
SELECT format, tool, property, traffic_date, landing_page, canonical_url,
       nullif(trim(session_source), '') AS session_source, nullif(trim(session_medium), '') AS session_medium,
       nullif(trim(channel_group), '') AS channel_group, sessions, engaged_sessions,
       average_session_duration, average_engagement_time, bounce_rate, delivery_id
FROM (
    SELECT * REPLACE (staging.lake_file_delivery_id(filename) AS delivery_id)
    FROM {{ source('lake', 'traffic_sessions') }}
)
WHERE delivery_id IN (SELECT delivery_id FROM {{ ref('stg_ingest_ledger') }})
