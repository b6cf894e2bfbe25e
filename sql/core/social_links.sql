-- One row per post and canonical link target, with whether the target is an owned page. Targets the
-- crawler resolved (shorteners, shims, redirects, rel=canonical: core.url_resolution) are their resolved URL.
CREATE OR REPLACE TABLE core.social_links AS
SELECT l.platform, l.post_id, any_value(l.permalink) AS permalink,
       coalesce(r.resolved_url, l.canonical_url) AS canonical_url,
       min(site_day(l.posted_at)) AS post_day, bool_or(l.is_repost) AS is_repost,
       bool_or(l.is_shortener) AS is_shortener,
       is_owned(coalesce(r.resolved_url, l.canonical_url)) AS is_owned
FROM staging.social_links AS l
LEFT JOIN core.url_resolution AS r ON r.url = l.canonical_url
WHERE site_day(l.posted_at) <= getvariable('as_of')
GROUP BY l.platform, l.post_id, coalesce(r.resolved_url, l.canonical_url);
