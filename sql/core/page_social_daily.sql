-- Running totals per owned page of social links (posts linking it) and their engagement
-- (likes + reposts + replies), by platform, on each day something new happened.
-- Incremental: a page's rows depend only on its own engagement rows, so only the pages of the redone
-- engagement groups are redone. The replaced rows are kept aside (a temporary table): meta.changed_pages
-- compares them with the new ones.
{% if incremental %}
CREATE OR REPLACE TEMP TABLE replaced_page_social_daily AS
SELECT * FROM core.page_social_daily
WHERE canonical_url IN (SELECT canonical_url FROM meta.changed_engagement);
DELETE FROM core.page_social_daily
WHERE canonical_url IN (SELECT canonical_url FROM meta.changed_engagement);
INSERT INTO core.page_social_daily BY NAME
{% else %}
CREATE OR REPLACE TABLE core.page_social_daily AS
{% endif %}
WITH new_by_day AS (
    SELECT canonical_url, day,
           sum(posts) AS links_any,
           sum(posts) FILTER (WHERE platform = 'x') AS links_x,
           sum(posts) FILTER (WHERE platform = 'facebook') AS links_facebook,
           sum(posts) FILTER (WHERE platform = 'instagram') AS links_instagram,
           sum(posts) FILTER (WHERE platform = 'linkedin') AS links_linkedin,
           sum(posts) FILTER (WHERE platform = 'reddit') AS links_reddit,
           sum(posts) FILTER (WHERE platform = 'mastodon') AS links_mastodon,
           sum(posts) FILTER (WHERE platform = 'youtube') AS links_youtube,
           sum(posts) FILTER (WHERE platform = 'bluesky') AS links_bluesky,
           sum(posts) FILTER (WHERE platform = 'tiktok') AS links_tiktok,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0)) AS engagement_any,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'x') AS engagement_x,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'facebook') AS engagement_facebook,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'instagram') AS engagement_instagram,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'linkedin') AS engagement_linkedin,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'reddit') AS engagement_reddit,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'mastodon') AS engagement_mastodon,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'youtube') AS engagement_youtube,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'bluesky') AS engagement_bluesky,
           sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0))
               FILTER (WHERE platform = 'tiktok') AS engagement_tiktok
    FROM core.engagement_daily
    {% if incremental %}WHERE canonical_url IN (SELECT canonical_url FROM meta.changed_engagement){% endif %}
    GROUP BY canonical_url, day
)
SELECT canonical_url, day,
       coalesce(sum(links_any) OVER running, 0)::BIGINT AS cum_links_any,
       coalesce(sum(links_x) OVER running, 0)::BIGINT AS cum_links_x,
       coalesce(sum(links_facebook) OVER running, 0)::BIGINT AS cum_links_facebook,
       coalesce(sum(links_instagram) OVER running, 0)::BIGINT AS cum_links_instagram,
       coalesce(sum(links_linkedin) OVER running, 0)::BIGINT AS cum_links_linkedin,
       coalesce(sum(links_reddit) OVER running, 0)::BIGINT AS cum_links_reddit,
       coalesce(sum(links_mastodon) OVER running, 0)::BIGINT AS cum_links_mastodon,
       coalesce(sum(links_youtube) OVER running, 0)::BIGINT AS cum_links_youtube,
       coalesce(sum(links_bluesky) OVER running, 0)::BIGINT AS cum_links_bluesky,
       coalesce(sum(links_tiktok) OVER running, 0)::BIGINT AS cum_links_tiktok,
       coalesce(sum(engagement_any) OVER running, 0)::BIGINT AS cum_engagement_any,
       coalesce(sum(engagement_x) OVER running, 0)::BIGINT AS cum_engagement_x,
       coalesce(sum(engagement_facebook) OVER running, 0)::BIGINT AS cum_engagement_facebook,
       coalesce(sum(engagement_instagram) OVER running, 0)::BIGINT AS cum_engagement_instagram,
       coalesce(sum(engagement_linkedin) OVER running, 0)::BIGINT AS cum_engagement_linkedin,
       coalesce(sum(engagement_reddit) OVER running, 0)::BIGINT AS cum_engagement_reddit,
       coalesce(sum(engagement_mastodon) OVER running, 0)::BIGINT AS cum_engagement_mastodon,
       coalesce(sum(engagement_youtube) OVER running, 0)::BIGINT AS cum_engagement_youtube,
       coalesce(sum(engagement_bluesky) OVER running, 0)::BIGINT AS cum_engagement_bluesky,
       coalesce(sum(engagement_tiktok) OVER running, 0)::BIGINT AS cum_engagement_tiktok
FROM new_by_day
WINDOW running AS (PARTITION BY canonical_url ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
