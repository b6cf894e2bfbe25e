-- Per canonical URL, query and day: position (impression-weighted where several rows aggregate),
-- clicks and impressions. A row delivered twice counts once: the latest delivery wins.
CREATE OR REPLACE TABLE core.rankings_daily AS
WITH ledger AS (
    SELECT delivery_id, max(ingested_at) AS ingested_at FROM staging.ingest_ledger GROUP BY delivery_id
),
observations AS (
    SELECT r.*
    FROM staging.rankings AS r
    LEFT JOIN ledger USING (delivery_id)
    WHERE r.ranking_date <= getvariable('as_of')
    QUALIFY row_number() OVER (
        PARTITION BY r.source, r.query, r.canonical_url, r.ranking_date, r.search_engine, r.device, r.country
        ORDER BY ledger.ingested_at DESC NULLS LAST, r.delivery_id
    ) = 1
)
SELECT canonical_url, query, ranking_date AS day,
       CASE WHEN sum(impressions) > 0
            THEN sum(position * impressions) / sum(impressions)
            ELSE avg(position) END AS position,
       sum(clicks) AS clicks,
       sum(impressions) AS impressions,
       list_sort(list_distinct(list(source))) AS sources,
       count(*) AS observations
FROM observations
GROUP BY canonical_url, query, ranking_date;
