-- The treatment: the first day an owned page was linked from each platform, and from any platform.
CREATE OR REPLACE TABLE core.first_social_links AS
SELECT canonical_url, platform, min(post_day) AS first_day, count(DISTINCT post_id) AS posts
FROM core.social_links
WHERE is_owned
GROUP BY canonical_url, platform
UNION ALL
SELECT canonical_url, 'any' AS platform, min(post_day) AS first_day, count(DISTINCT (platform, post_id)) AS posts
FROM core.social_links
WHERE is_owned
GROUP BY canonical_url;
