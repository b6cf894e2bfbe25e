-- Per owned target page, platform and day posted: posts linking it and their latest engagement counts.
-- Counts stay NULL where no export reported them (unknown, not zero).
CREATE OR REPLACE TABLE core.engagement_daily AS
WITH latest_snapshot AS (
    SELECT platform, post_id, likes, reposts, replies, impressions, clicks
    FROM staging.engagement_snapshots
    WHERE snapshot_date <= getvariable('as_of')
    QUALIFY row_number() OVER (PARTITION BY platform, post_id ORDER BY snapshot_date DESC, delivery_id) = 1
),
owned_links AS (
    SELECT DISTINCT platform, post_id, canonical_url, post_day
    FROM core.social_links
    WHERE is_owned
)
SELECT l.canonical_url, l.platform, l.post_day AS day,
       count(*) AS posts,
       sum(e.likes) AS likes,
       sum(e.reposts) AS reposts,
       sum(e.replies) AS replies,
       sum(e.impressions) AS impressions,
       sum(e.clicks) AS clicks
FROM owned_links AS l
LEFT JOIN latest_snapshot AS e USING (platform, post_id)
GROUP BY l.canonical_url, l.platform, l.post_day;
