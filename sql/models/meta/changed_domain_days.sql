-- Incremental builds: per owned page and non-social referring domain whose first link day a redone backlink
-- moved (meta.replaced_backlinks: old rows, meta.redone_backlinks: new), the old and the new first day.
-- core.page_referring_domains_daily recounts those pages from the earlier of the two on. Empty in a full
-- build. Dropped at the end of the build.
-- depends_on: {{ ref('backlinks') }}
-- depends_on: {{ ref('changed_backlinks') }}
-- depends_on: {{ ref('redone_backlinks') }}
-- depends_on: {{ ref('replaced_backlinks') }}
{% if var('incremental_build', false) %}
WITH domains AS (
    -- The (page, domain) pairs of the redone links, old or new.
    SELECT DISTINCT target_url, source_domain
    FROM (SELECT target_url, source_domain, is_social, first_seen FROM {{ ref('replaced_backlinks') }}
          UNION ALL
          SELECT target_url, source_domain, is_social, first_seen FROM {{ ref('redone_backlinks') }})
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
    FROM {{ ref('replaced_backlinks') }}
    WHERE NOT is_social AND first_seen IS NOT NULL
    GROUP BY target_url, source_domain
)
SELECT d.target_url AS canonical_url, d.source_domain,
       least(n.kept_day, r.replaced_day) AS old_day, n.new_day
FROM domains AS d
LEFT JOIN now AS n USING (target_url, source_domain)
LEFT JOIN replaced AS r USING (target_url, source_domain)
WHERE least(n.kept_day, r.replaced_day) IS DISTINCT FROM n.new_day
{% else %}
SELECT NULL::VARCHAR AS canonical_url, NULL::VARCHAR AS source_domain, NULL::DATE AS old_day, NULL::DATE AS new_day
WHERE FALSE
{% endif %}
