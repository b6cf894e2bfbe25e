-- Running count per owned page of distinct non-social referring domains, by the day each was first seen.
-- Incremental: a page's count changes only where a redone link changed the first day of one of its
-- domains, and only from the earlier of the old and the new first day on. Those rows are redone from the
-- rows before (the count so far), the old rows from that day on (what each day added) and the moved first
-- days; the replaced rows are kept aside (a temporary table) for meta.changed_pages.
-- depends_on: {{ ref('changed_backlinks') }}
{% if is_incremental() %}
CREATE OR REPLACE TEMP TABLE changed_domain_days AS
WITH domains AS (
    -- The (page, domain) pairs of the redone links, old or new.
    SELECT DISTINCT target_url, source_domain
    FROM (SELECT target_url, source_domain, is_social, first_seen FROM replaced_backlinks
          UNION ALL
          SELECT target_url, source_domain, is_social, first_seen FROM redone_backlinks)
    WHERE NOT is_social AND first_seen IS NOT NULL
),
links AS (
    -- Every non-social link of those pairs now, with whether it was redone.
    SELECT b.target_url, b.source_domain, b.first_seen, c.source_url IS NOT NULL AS redone
    FROM {{ ref('backlinks') }} AS b
    SEMI JOIN domains AS d ON d.target_url = b.target_url AND d.source_domain = b.source_domain
    LEFT JOIN {{ ref('changed_backlinks') }} AS c ON c.source_url = b.source_url AND c.target_url = b.target_url
    WHERE NOT b.is_social AND b.first_seen IS NOT NULL
),
now AS (
    SELECT target_url, source_domain, min(first_seen) AS new_day,
           min(first_seen) FILTER (WHERE NOT redone) AS kept_day
    FROM links
    GROUP BY target_url, source_domain
),
replaced AS (
    SELECT target_url, source_domain, min(first_seen) AS replaced_day
    FROM replaced_backlinks
    WHERE NOT is_social AND first_seen IS NOT NULL
    GROUP BY target_url, source_domain
)
SELECT d.target_url AS canonical_url, d.source_domain,
       least(n.kept_day, r.replaced_day) AS old_day, n.new_day
FROM domains AS d
LEFT JOIN now AS n USING (target_url, source_domain)
LEFT JOIN replaced AS r USING (target_url, source_domain)
WHERE least(n.kept_day, r.replaced_day) IS DISTINCT FROM n.new_day;
CREATE OR REPLACE TEMP TABLE changed_domain_pages AS
SELECT canonical_url, min(least(old_day, new_day)) AS from_day
FROM changed_domain_days
GROUP BY canonical_url;
CREATE OR REPLACE TEMP TABLE replaced_referring_domains AS
SELECT d.* FROM {{ this }} AS d
JOIN changed_domain_pages AS p ON p.canonical_url = d.canonical_url AND d.day >= p.from_day;
DELETE FROM {{ this }} AS d
USING changed_domain_pages AS p
WHERE p.canonical_url = d.canonical_url AND d.day >= p.from_day;
INSERT INTO {{ this }} BY NAME
WITH counted_before AS (
    SELECT d.canonical_url, arg_max(d.referring_domains, d.day) AS referring_domains
    FROM {{ this }} AS d
    SEMI JOIN changed_domain_pages USING (canonical_url)
    GROUP BY d.canonical_url
),
added AS (
    -- What each old row added to the count, and the moved first days.
    SELECT r.canonical_url, r.day,
           r.referring_domains
           - coalesce(lag(r.referring_domains) OVER (PARTITION BY r.canonical_url ORDER BY r.day),
                      b.referring_domains, 0) AS domains
    FROM replaced_referring_domains AS r
    LEFT JOIN counted_before AS b USING (canonical_url)
    UNION ALL
    SELECT canonical_url, new_day, 1 FROM changed_domain_days WHERE new_day IS NOT NULL
    UNION ALL
    SELECT canonical_url, old_day, -1 FROM changed_domain_days WHERE old_day IS NOT NULL
)
SELECT a.canonical_url, a.day,
       (coalesce(any_value(b.referring_domains), 0)
        + sum(sum(a.domains)) OVER (PARTITION BY a.canonical_url ORDER BY a.day))::BIGINT AS referring_domains
FROM added AS a
LEFT JOIN counted_before AS b USING (canonical_url)
GROUP BY a.canonical_url, a.day
HAVING sum(a.domains) <> 0
{% else %}
CREATE OR REPLACE TABLE {{ this }} AS
WITH first_link_per_domain AS (
    SELECT target_url AS canonical_url, source_domain, min(first_seen) AS day
    FROM {{ ref('backlinks') }}
    WHERE NOT is_social AND first_seen IS NOT NULL
    GROUP BY target_url, source_domain
)
SELECT canonical_url, day,
       sum(count(*)) OVER (PARTITION BY canonical_url ORDER BY day)::BIGINT AS referring_domains
FROM first_link_per_domain
GROUP BY canonical_url, day
{% endif %};
