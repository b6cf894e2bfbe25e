-- The classic ranking-factor study (the method of the published SEO ranking-factor studies): for each
-- query, on its latest day, the Spearman correlation across the query's URLs between a factor and
-- position (average ranks for ties); then the mean over queries, with a normal-approximation 95%
-- interval from the spread across queries. Position 1 is best, so a negative correlation means "more
-- of the factor, better rank". A query whose URLs all share one value of the factor (or one position)
-- has no correlation and is counted in queries_without_variation. Factors no page has (a platform
-- without any data) are left out. Correlation, not causation: see mart.impact_estimates.
-- Float aggregates take their rows in a fixed order: a sum of doubles depends on it, and the same run
-- must give byte-identical tables.
CREATE OR REPLACE TABLE mart.factor_correlations AS
WITH latest_day AS (
    SELECT *
    FROM mart.ranking_impact
    QUALIFY day = max(day) OVER (PARTITION BY query)
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
),
ranked AS (
    SELECT canonical_url, query, factor,
           rank() OVER (PARTITION BY query, factor ORDER BY value)
               + (count(*) OVER (PARTITION BY query, factor, value) - 1) / 2.0 AS value_rank,
           rank() OVER (PARTITION BY query, factor ORDER BY position)
               + (count(*) OVER (PARTITION BY query, factor, position) - 1) / 2.0 AS position_rank
    FROM factor_values
    SEMI JOIN present_factors USING (factor)
),
per_query AS (
    SELECT query, factor,
           CASE WHEN var_pop(value_rank ORDER BY canonical_url) > 0
                     AND var_pop(position_rank ORDER BY canonical_url) > 0
                THEN corr(value_rank, position_rank ORDER BY canonical_url) END AS spearman
    FROM ranked
    GROUP BY query, factor
    HAVING count(*) >= 3
),
pages AS (
    SELECT r.factor, count(DISTINCT r.canonical_url) AS pages
    FROM ranked AS r
    SEMI JOIN per_query AS q ON q.query = r.query AND q.factor = r.factor
    GROUP BY r.factor
),
summary AS (
    SELECT factor,
           avg(spearman ORDER BY query) AS mean_spearman,
           stddev_samp(spearman ORDER BY query) / sqrt(count(spearman)) AS std_error,
           count(spearman) AS queries,
           count(*) - count(spearman) AS queries_without_variation
    FROM per_query
    GROUP BY factor
)
SELECT factor,
       regexp_extract(factor, '^(social_links|social_engagement|referring_domains)', 1) AS factor_kind,
       CASE WHEN factor LIKE 'social_%' THEN regexp_extract(factor, '_([a-z]+)$', 1) END AS platform,
       mean_spearman, std_error,
       mean_spearman - 1.96 * std_error AS ci_low,
       mean_spearman + 1.96 * std_error AS ci_high,
       queries, queries_without_variation, pages,
       getvariable('as_of') AS as_of
FROM summary
JOIN pages USING (factor);
