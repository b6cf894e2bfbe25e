-- Running count per owned page of distinct non-social referring domains, by the day each was first seen.
CREATE OR REPLACE TABLE core.page_referring_domains_daily AS
WITH first_link_per_domain AS (
    SELECT target_url AS canonical_url, source_domain, min(first_seen) AS day
    FROM core.backlinks
    WHERE NOT is_social AND first_seen IS NOT NULL
    GROUP BY target_url, source_domain
)
SELECT canonical_url, day,
       sum(count(*)) OVER (PARTITION BY canonical_url ORDER BY day)::BIGINT AS referring_domains
FROM first_link_per_domain
GROUP BY canonical_url, day;
