-- Per canonical URL, query and day: position (impression-weighted where several rows aggregate),
-- clicks and impressions. A row delivered twice counts once: the latest delivery wins. Ranked rows only:
-- a tracker's "not ranked" rows tell mart.impact_cell_weekly_panel which days a query was tracked.
-- Incremental: a day's rows depend only on that day's observations, so only meta.changed_days are redone
-- (the slice: rankings_daily_slice, sql/macros/incremental_build.sql; meta.rewritten_rankings_daily shows it).
-- Sums of doubles are taken as exact decimals: a float sum depends on the order rows arrive in, and the
-- same run must give byte-identical tables (ordered aggregates would too, but they cannot spill to disk).
-- depends_on: {{ ref('changed_days') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} AS t WHERE {{ rankings_daily_slice(ref('changed_days')) }}
{% endif %}") }}
WITH ledger AS (
    SELECT delivery_id, max(ingested_at) AS ingested_at FROM {{ ref('stg_ingest_ledger') }} GROUP BY delivery_id
),
observations AS (
    SELECT r.*
    FROM {{ ref('stg_rankings') }} AS r
    LEFT JOIN ledger USING (delivery_id)
    WHERE r.ranking_date <= getvariable('as_of') AND r.position IS NOT NULL
    {% if is_incremental() %}AND r.ranking_date IN (SELECT day FROM {{ ref('changed_days') }}){% endif %}
    QUALIFY row_number() OVER (
        PARTITION BY r.source, r.query, r.canonical_url, r.ranking_date, r.search_engine, r.device, r.country
        ORDER BY ledger.ingested_at DESC NULLS LAST, r.delivery_id
    ) = 1
)
SELECT canonical_url, query, ranking_date AS day,
       CASE WHEN sum(impressions) > 0
            THEN (sum((position * impressions)::DECIMAL(38, 9)) / sum(impressions))::DOUBLE
            ELSE (sum(position::DECIMAL(38, 9)) / count(position))::DOUBLE END AS position,
       sum(clicks) AS clicks,
       sum(impressions) AS impressions,
       list_sort(list_distinct(list(source))) AS sources,
       count(*) AS observations
FROM observations
GROUP BY canonical_url, query, ranking_date
