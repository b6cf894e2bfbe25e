-- One row per post and canonical link target, with whether the target is an owned page.
CREATE OR REPLACE TABLE core.social_links AS
SELECT platform, post_id, any_value(permalink) AS permalink, canonical_url,
       min(site_day(posted_at)) AS post_day, bool_or(is_repost) AS is_repost,
       bool_or(is_shortener) AS is_shortener, is_owned(canonical_url) AS is_owned
FROM staging.social_links
WHERE site_day(posted_at) <= getvariable('as_of')
GROUP BY platform, post_id, canonical_url;
