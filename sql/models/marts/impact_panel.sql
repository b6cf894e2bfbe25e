-- Per owned page and day: the outcomes the impact estimator uses, aggregated over the page's queries
-- (position impression-weighted where impressions are known; CTR = clicks / impressions where both are known).
-- Incremental: per day, like core.rankings_daily.
-- Sums of doubles are taken as exact decimals: a float sum depends on the order rows arrive in, and the
-- same run must give byte-identical tables (ordered aggregates would too, but they cannot spill to disk).
-- depends_on: {{ ref('changed_days') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} WHERE day IN (SELECT day FROM {{ ref('changed_days') }})
{% endif %}") }}
SELECT canonical_url, day,
       CASE WHEN sum(impressions) > 0
            THEN (sum((position * impressions)::DECIMAL(38, 9)) / sum(impressions))::DOUBLE
            ELSE (sum(position::DECIMAL(38, 9)) / count(position))::DOUBLE END AS position,
       sum(clicks) AS clicks,
       sum(impressions) AS impressions,
       CASE WHEN sum(impressions) > 0 THEN sum(clicks) / sum(impressions) END AS ctr,
       count(*) AS queries
FROM {{ ref('rankings_daily') }}
WHERE is_owned(canonical_url)
  {% if is_incremental() %}AND day IN (SELECT day FROM {{ ref('changed_days') }}){% endif %}
GROUP BY canonical_url, day
