-- Owned pages whose page-level history (social links and engagement, referring domains, first social
-- link) differs from the base build's, with the first day that differs: an incremental build rebuilds
-- their mart rows from that day on (empty in a full build). Whatever caused the change (a new post, a
-- late engagement snapshot, a redirect the crawler resolved), the difference of old and new shows it.
CREATE OR REPLACE TABLE meta.changed_pages AS
{% if incremental %}
WITH social AS (
    (SELECT * FROM core.page_social_daily EXCEPT ALL SELECT * FROM meta.base_page_social_daily)
    UNION ALL
    (SELECT * FROM meta.base_page_social_daily EXCEPT ALL SELECT * FROM core.page_social_daily)
),
recounted AS (
    SELECT * FROM core.page_referring_domains_daily
    WHERE canonical_url IN (SELECT target_url FROM changed_backlink_targets)
),
domains AS (
    -- Only the recounted pages can differ (their old rows: replaced_referring_domains).
    (SELECT * FROM recounted EXCEPT ALL SELECT * FROM replaced_referring_domains)
    UNION ALL
    (SELECT * FROM replaced_referring_domains EXCEPT ALL SELECT * FROM recounted)
),
first_links AS (
    SELECT canonical_url, first_day FROM core.first_social_links WHERE platform = 'any'
),
firsts AS (
    (SELECT * FROM first_links EXCEPT ALL SELECT * FROM meta.base_first_social_links)
    UNION ALL
    (SELECT * FROM meta.base_first_social_links EXCEPT ALL SELECT * FROM first_links)
)
SELECT canonical_url, min(day) AS from_day
FROM (
    SELECT canonical_url, day FROM social
    UNION ALL
    SELECT canonical_url, day FROM domains
    UNION ALL
    -- The first-link date is on every row of its page, not only on rows from that day on.
    SELECT canonical_url, '-infinity'::DATE AS day FROM firsts
)
GROUP BY canonical_url
ORDER BY canonical_url
{% else %}
SELECT NULL::VARCHAR AS canonical_url, NULL::DATE AS from_day WHERE FALSE
{% endif %};
