-- One row per post (the same post can arrive in several deliveries), dated in the site's time zone.
CREATE OR REPLACE TABLE core.social_posts AS
SELECT platform, post_id, permalink, posted_at, site_day(posted_at) AS post_day, text, is_repost
FROM staging.social_posts
WHERE site_day(posted_at) <= getvariable('as_of')
QUALIFY row_number() OVER (PARTITION BY platform, post_id ORDER BY delivery_id) = 1;
