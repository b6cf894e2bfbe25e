-- Per canonical landing page, day, channel (a social platform, or social_other, organic, paid, email, direct,
-- referral, other; all_sources where the tool gave a page's sessions without their sources) and analytics
-- tool: sessions, engaged sessions, and the averages and bounce rate weighted by sessions. Tools count
-- sessions differently, so each keeps its own rows. Days are the analytics property's own days.
-- One account of a site's day per tool: a delivery's rows for a day are its whole account of that day, so
-- of the deliveries that report a site (the landing pages' host) on a day, one is kept: the GA4 Data API's
-- (paged to its last row) before a downloaded report of the same sessions, which adding would count twice;
-- among equals the one ingested last (a report downloaded again, over an overlapping range).
-- Averages and rates are NULL unless every row aggregated reported them. Sums of doubles are taken as exact
-- decimals: a float sum depends on the order rows arrive in, and the same run must give identical tables.
WITH ledger AS (
    SELECT delivery_id, max(ingested_at) AS ingested_at FROM {{ ref('stg_ingest_ledger') }} GROUP BY delivery_id
),
latest AS (
    SELECT t.tool, t.site, t.traffic_date, t.delivery_id
    FROM (
        SELECT DISTINCT tool, url_host(canonical_url) AS site, traffic_date, format, delivery_id
        FROM {{ ref('stg_traffic_sessions') }}
        WHERE canonical_url IS NOT NULL
    ) AS t
    LEFT JOIN ledger USING (delivery_id)
    QUALIFY row_number() OVER (
        PARTITION BY t.tool, t.site, t.traffic_date
        ORDER BY t.format = 'ga4_api' DESC, ledger.ingested_at DESC NULLS LAST, t.delivery_id DESC
    ) = 1
),
sessions AS (
    SELECT t.*, c.channel
    FROM {{ ref('stg_traffic_sessions') }} AS t
    SEMI JOIN latest
        ON latest.delivery_id = t.delivery_id AND latest.tool = t.tool
       AND latest.site = url_host(t.canonical_url) AND latest.traffic_date = t.traffic_date
    JOIN {{ ref('traffic_source_channels') }} AS c
        ON c.session_source IS NOT DISTINCT FROM t.session_source
       AND c.session_medium IS NOT DISTINCT FROM t.session_medium
       AND c.channel_group IS NOT DISTINCT FROM t.channel_group
    WHERE t.canonical_url IS NOT NULL AND t.traffic_date <= getvariable('as_of')
)
SELECT canonical_url, traffic_date AS day, channel, tool,
       sum(sessions) AS sessions,
       CASE WHEN count(engaged_sessions) = count(*) THEN sum(engaged_sessions) END AS engaged_sessions,
       CASE WHEN count(average_session_duration) = count(*) AND sum(sessions) > 0
            THEN (sum((average_session_duration * sessions)::DECIMAL(38, 9)) / sum(sessions))::DOUBLE
       END AS average_session_duration,
       CASE WHEN count(average_engagement_time) = count(*) AND sum(sessions) > 0
            THEN (sum((average_engagement_time * sessions)::DECIMAL(38, 9)) / sum(sessions))::DOUBLE
       END AS average_engagement_time,
       CASE WHEN count(bounce_rate) = count(*) AND sum(sessions) > 0
            THEN (sum((bounce_rate * sessions)::DECIMAL(38, 9)) / sum(sessions))::DOUBLE
       END AS bounce_rate,
       count(*) AS observations
FROM sessions
GROUP BY canonical_url, traffic_date, channel, tool
