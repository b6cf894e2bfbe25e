-- Owned pages whose page-level history (social links and engagement, referring domains, first social
-- link) differs from the base build's, with the first day that differs: an incremental build rebuilds
-- their mart rows from that day on (empty in a full build). Whatever caused the change (a new post, a
-- late engagement snapshot, a redirect the crawler resolved), the difference of old and new shows it.
-- depends_on: {{ ref('first_social_links') }}
-- depends_on: {{ ref('page_referring_domains_daily') }}
-- depends_on: {{ ref('page_social_daily') }}
-- depends_on: {{ ref('changed_domain_pages') }}
-- depends_on: {{ ref('changed_link_pages') }}
-- depends_on: {{ ref('changed_social_pages') }}
-- depends_on: {{ ref('replaced_first_social_links') }}
-- depends_on: {{ ref('replaced_page_social_daily') }}
-- depends_on: {{ ref('replaced_referring_domains') }}
{% if var('incremental_build', false) %}
WITH redone_social AS (
    SELECT s.* FROM {{ ref('page_social_daily') }} AS s
    JOIN {{ ref('changed_social_pages') }} AS p ON p.canonical_url = s.canonical_url AND s.day >= p.from_day
),
social AS (
    -- Only the redone rows can differ (their old rows: meta.replaced_page_social_daily).
    (SELECT * FROM redone_social EXCEPT ALL SELECT * FROM {{ ref('replaced_page_social_daily') }})
    UNION ALL
    (SELECT * FROM {{ ref('replaced_page_social_daily') }} EXCEPT ALL SELECT * FROM redone_social)
),
recounted AS (
    SELECT d.* FROM {{ ref('page_referring_domains_daily') }} AS d
    JOIN {{ ref('changed_domain_pages') }} AS p ON p.canonical_url = d.canonical_url AND d.day >= p.from_day
),
domains AS (
    -- Only the recounted rows can differ (their old rows: meta.replaced_referring_domains).
    (SELECT * FROM recounted EXCEPT ALL SELECT * FROM {{ ref('replaced_referring_domains') }})
    UNION ALL
    (SELECT * FROM {{ ref('replaced_referring_domains') }} EXCEPT ALL SELECT * FROM recounted)
),
first_links AS (
    SELECT canonical_url, first_day FROM {{ ref('first_social_links') }}
    WHERE platform = 'any' AND canonical_url IN (SELECT canonical_url FROM {{ ref('changed_link_pages') }})
),
replaced_first_links AS (
    SELECT canonical_url, first_day FROM {{ ref('replaced_first_social_links') }} WHERE platform = 'any'
),
firsts AS (
    (SELECT * FROM first_links EXCEPT ALL SELECT * FROM replaced_first_links)
    UNION ALL
    (SELECT * FROM replaced_first_links EXCEPT ALL SELECT * FROM first_links)
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
{% endif %}
