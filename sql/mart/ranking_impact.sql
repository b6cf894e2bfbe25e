-- The analysts' panel: per canonical URL, query and day, the ranking outcome next to everything
-- social and link-related known about the page on that day (running totals as of that day).
-- Incremental: the rows of meta.changed_days, and of meta.changed_pages from their first changed day on.
{% if incremental %}
DELETE FROM mart.ranking_impact AS m
WHERE m.day IN (SELECT day FROM meta.changed_days)
   OR EXISTS (SELECT 1 FROM meta.changed_pages AS c WHERE c.canonical_url = m.canonical_url AND m.day >= c.from_day);
INSERT INTO mart.ranking_impact BY NAME
{% else %}
CREATE OR REPLACE TABLE mart.ranking_impact AS
{% endif %}
SELECT r.canonical_url, r.query, r.day,
       r.position, r.clicks, r.impressions,
       coalesce(s.cum_links_any, 0) AS social_links_any,
       coalesce(s.cum_links_x, 0) AS social_links_x,
       coalesce(s.cum_links_facebook, 0) AS social_links_facebook,
       coalesce(s.cum_links_instagram, 0) AS social_links_instagram,
       coalesce(s.cum_links_linkedin, 0) AS social_links_linkedin,
       coalesce(s.cum_links_reddit, 0) AS social_links_reddit,
       coalesce(s.cum_links_mastodon, 0) AS social_links_mastodon,
       coalesce(s.cum_links_youtube, 0) AS social_links_youtube,
       coalesce(s.cum_links_bluesky, 0) AS social_links_bluesky,
       coalesce(s.cum_links_tiktok, 0) AS social_links_tiktok,
       coalesce(s.cum_engagement_any, 0) AS social_engagement_any,
       coalesce(s.cum_engagement_x, 0) AS social_engagement_x,
       coalesce(s.cum_engagement_facebook, 0) AS social_engagement_facebook,
       coalesce(s.cum_engagement_instagram, 0) AS social_engagement_instagram,
       coalesce(s.cum_engagement_linkedin, 0) AS social_engagement_linkedin,
       coalesce(s.cum_engagement_reddit, 0) AS social_engagement_reddit,
       coalesce(s.cum_engagement_mastodon, 0) AS social_engagement_mastodon,
       coalesce(s.cum_engagement_youtube, 0) AS social_engagement_youtube,
       coalesce(s.cum_engagement_bluesky, 0) AS social_engagement_bluesky,
       coalesce(s.cum_engagement_tiktok, 0) AS social_engagement_tiktok,
       coalesce(d.referring_domains, 0) AS referring_domains_nonsocial,
       f.first_day AS first_social_link_date,
       CASE WHEN f.first_day <= r.day THEN date_diff('day', f.first_day, r.day) END
           AS days_since_first_social_link
{% if incremental %}
-- The rows to redo, picked before the joins (a filter on the joined result would join every row first).
FROM (
    SELECT * FROM core.rankings_daily WHERE day IN (SELECT day FROM meta.changed_days)
    UNION
    SELECT r.* FROM core.rankings_daily AS r
    JOIN meta.changed_pages AS c ON c.canonical_url = r.canonical_url AND r.day >= c.from_day
) AS r
{% else %}
FROM core.rankings_daily AS r
{% endif %}
ASOF LEFT JOIN core.page_social_daily AS s ON r.canonical_url = s.canonical_url AND r.day >= s.day
ASOF LEFT JOIN core.page_referring_domains_daily AS d
    ON r.canonical_url = d.canonical_url AND r.day >= d.day
LEFT JOIN core.first_social_links AS f ON f.canonical_url = r.canonical_url AND f.platform = 'any';
