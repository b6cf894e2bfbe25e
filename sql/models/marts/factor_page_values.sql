-- The ranking-factor table's inputs, one row per owned page and factor: the factor's value on the page
-- (running social links, engagement, non-social referring domains) and the page's position, both on the
-- latest day each of its queries was ranked, averaged over its queries. Pages, not queries, are the
-- units: on a real site most queries have a single page, so correlating across a query's pages leaves
-- nothing to correlate (pipeline.impact.correlations computes the correlation and its interval).
-- Factors no page has (a platform without any data) are left out.
-- Float aggregates take their rows in a fixed order, so the same run gives byte-identical tables.
WITH latest_day AS (
    SELECT *
    FROM {{ ref('ranking_impact') }}
    QUALIFY day = max(day) OVER (PARTITION BY canonical_url, query)
),
factor_values AS (
    UNPIVOT (
        SELECT canonical_url, query, position, COLUMNS('^(social_links_|social_engagement_|referring_domains_)')
        FROM latest_day
    )
    ON COLUMNS('^(social_links_|social_engagement_|referring_domains_)')
    INTO NAME factor VALUE value
),
present_factors AS (
    SELECT factor FROM factor_values GROUP BY factor HAVING max(value) > 0
)
SELECT canonical_url, factor,
       regexp_extract(factor, '^(social_links|social_engagement|referring_domains)', 1) AS factor_kind,
       CASE WHEN factor LIKE 'social_%' THEN regexp_extract(factor, '_([a-z]+)$', 1) END AS platform,
       avg(value::DOUBLE ORDER BY query) AS value,
       avg(position ORDER BY query) AS position,
       count(*) AS queries
FROM factor_values
SEMI JOIN present_factors USING (factor)
GROUP BY canonical_url, factor
