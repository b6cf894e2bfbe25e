-- Running count per owned page of distinct non-social referring domains, by the day each was first seen.
-- Incremental: a page's count changes only where a redone link changed the first day of one of its
-- domains, and only from the earlier of the old and the new first day on (meta.changed_domain_pages). Those rows
-- are redone from the rows before (the count so far), the old rows from that day on (what each day added:
-- meta.replaced_referring_domains) and the moved first days (meta.changed_domain_days).
-- depends_on: {{ ref('changed_domain_days') }}
-- depends_on: {{ ref('changed_domain_pages') }}
-- depends_on: {{ ref('replaced_referring_domains') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} AS d
USING {{ ref('changed_domain_pages') }} AS p
WHERE p.canonical_url = d.canonical_url AND d.day >= p.from_day
{% endif %}") }}
{% if is_incremental() %}
WITH counted_before AS (
    SELECT d.canonical_url, arg_max(d.referring_domains, d.day) AS referring_domains
    FROM {{ this }} AS d
    SEMI JOIN {{ ref('changed_domain_pages') }} USING (canonical_url)
    GROUP BY d.canonical_url
),
added AS (
    -- What each old row added to the count, and the moved first days.
    SELECT r.canonical_url, r.day,
           r.referring_domains
           - coalesce(lag(r.referring_domains) OVER (PARTITION BY r.canonical_url ORDER BY r.day),
                      b.referring_domains, 0) AS domains
    FROM {{ ref('replaced_referring_domains') }} AS r
    LEFT JOIN counted_before AS b USING (canonical_url)
    UNION ALL
    SELECT canonical_url, new_day, 1 FROM {{ ref('changed_domain_days') }} WHERE new_day IS NOT NULL
    UNION ALL
    SELECT canonical_url, old_day, -1 FROM {{ ref('changed_domain_days') }} WHERE old_day IS NOT NULL
)
SELECT a.canonical_url, a.day,
       (coalesce(any_value(b.referring_domains), 0)
        + sum(sum(a.domains)) OVER (PARTITION BY a.canonical_url ORDER BY a.day))::BIGINT AS referring_domains
FROM added AS a
LEFT JOIN counted_before AS b USING (canonical_url)
GROUP BY a.canonical_url, a.day
HAVING sum(a.domains) <> 0
{% else %}
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
{% endif %}
