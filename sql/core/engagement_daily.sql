-- Per owned target page, platform and day posted: posts linking it and their latest engagement counts.
-- Counts stay NULL where no export reported them (unknown, not zero).
CREATE OR REPLACE TABLE core.engagement_daily AS
WITH permalinks AS (
    SELECT platform, permalink, min(post_id) AS post_id
    FROM core.social_posts
    WHERE permalink IS NOT NULL
    GROUP BY platform, permalink
),
snapshots AS (
    -- A snapshot is about the post with its id; failing that (no id, or another system's id), the post
    -- with its canonical permalink.
    SELECT s.platform, coalesce(by_id.post_id, by_link.post_id, s.post_id) AS post_id, s.snapshot_date,
           s.delivery_id, s.likes, s.reposts, s.replies, s.impressions, s.clicks, s.views, s.shares
    -- Both joins on equalities only (hash joins): a condition on the first join's result in the second
    -- made DuckDB fall back to a nested-loop join, quadratic in the number of posts.
    FROM staging.engagement_snapshots AS s
    LEFT JOIN (SELECT DISTINCT platform, post_id FROM core.social_posts) AS by_id
        ON by_id.platform = s.platform AND by_id.post_id = s.post_id
    LEFT JOIN permalinks AS by_link ON by_link.platform = s.platform AND by_link.permalink = s.permalink
    WHERE s.snapshot_date <= getvariable('as_of')
),
latest_snapshot AS (
    -- Each count from the latest snapshot that reported it: an archive's likes and an analytics export's
    -- impressions of the same post both survive.
    SELECT platform, post_id,
           arg_max(likes, (snapshot_date, delivery_id)) FILTER (WHERE likes IS NOT NULL) AS likes,
           arg_max(reposts, (snapshot_date, delivery_id)) FILTER (WHERE reposts IS NOT NULL) AS reposts,
           arg_max(replies, (snapshot_date, delivery_id)) FILTER (WHERE replies IS NOT NULL) AS replies,
           arg_max(impressions, (snapshot_date, delivery_id)) FILTER (WHERE impressions IS NOT NULL) AS impressions,
           arg_max(clicks, (snapshot_date, delivery_id)) FILTER (WHERE clicks IS NOT NULL) AS clicks,
           arg_max(views, (snapshot_date, delivery_id)) FILTER (WHERE views IS NOT NULL) AS views,
           arg_max(shares, (snapshot_date, delivery_id)) FILTER (WHERE shares IS NOT NULL) AS shares
    FROM snapshots
    WHERE post_id IS NOT NULL
    GROUP BY platform, post_id
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
       sum(e.clicks) AS clicks,
       sum(e.views) AS views,
       sum(e.shares) AS shares
FROM owned_links AS l
LEFT JOIN latest_snapshot AS e USING (platform, post_id)
GROUP BY l.canonical_url, l.platform, l.post_day;
