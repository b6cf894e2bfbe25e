-- Per owned page and day: the outcomes the impact estimator uses, aggregated over the page's queries
-- (position impression-weighted where impressions are known).
CREATE OR REPLACE TABLE mart.impact_panel AS
SELECT canonical_url, day,
       CASE WHEN sum(impressions) > 0
            THEN sum(position * impressions) / sum(impressions)
            ELSE avg(position) END AS position,
       sum(clicks) AS clicks,
       sum(impressions) AS impressions,
       count(*) AS queries
FROM core.rankings_daily
WHERE is_owned(canonical_url)
GROUP BY canonical_url, day;
