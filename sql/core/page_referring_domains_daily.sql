-- Running count per owned page of distinct non-social referring domains, by the day each was first seen.
-- Incremental: a page's rows depend only on its own links, so only pages whose links changed are redone.
-- The replaced rows are kept aside (a temporary table): the changed-pages model compares them with the new ones.
{% if incremental %}
CREATE OR REPLACE TEMP TABLE replaced_referring_domains AS
SELECT * FROM core.page_referring_domains_daily
WHERE canonical_url IN (SELECT target_url FROM changed_backlink_targets);
DELETE FROM core.page_referring_domains_daily
WHERE canonical_url IN (SELECT target_url FROM changed_backlink_targets);
INSERT INTO core.page_referring_domains_daily BY NAME
{% else %}
CREATE OR REPLACE TABLE core.page_referring_domains_daily AS
{% endif %}
WITH first_link_per_domain AS (
    SELECT target_url AS canonical_url, source_domain, min(first_seen) AS day
    FROM core.backlinks
    WHERE NOT is_social AND first_seen IS NOT NULL
    {% if incremental %}AND target_url IN (SELECT target_url FROM changed_backlink_targets){% endif %}
    GROUP BY target_url, source_domain
)
SELECT canonical_url, day,
       sum(count(*)) OVER (PARTITION BY canonical_url ORDER BY day)::BIGINT AS referring_domains
FROM first_link_per_domain
GROUP BY canonical_url, day;
