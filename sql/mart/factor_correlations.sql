-- The classic ranking-factor study: for each query, on its latest day, the Spearman correlation across
-- URLs between a factor and position; then the mean over queries, with a normal-approximation 95% interval.
-- Position 1 is best, so a negative correlation means "more of the factor, better rank".
CREATE OR REPLACE TABLE mart.factor_correlations AS
WITH latest_day AS (
    SELECT *
    FROM mart.ranking_impact
    QUALIFY day = max(day) OVER (PARTITION BY query)
),
factor_values AS (
    UNPIVOT (
        SELECT query, position, COLUMNS('^(social_links_|social_engagement_|referring_domains_)')
        FROM latest_day
    )
    ON COLUMNS('^(social_links_|social_engagement_|referring_domains_)')
    INTO NAME factor VALUE value
),
ranked AS (
    SELECT query, factor,
           rank() OVER (PARTITION BY query, factor ORDER BY value)
               + (count(*) OVER (PARTITION BY query, factor, value) - 1) / 2.0 AS value_rank,
           rank() OVER (PARTITION BY query, factor ORDER BY position)
               + (count(*) OVER (PARTITION BY query, factor, position) - 1) / 2.0 AS position_rank
    FROM factor_values
),
per_query AS (
    SELECT query, factor,
           CASE WHEN var_pop(value_rank) > 0 AND var_pop(position_rank) > 0
                THEN corr(value_rank, position_rank) END AS spearman
    FROM ranked
    GROUP BY query, factor
    HAVING count(*) >= 3
),
summary AS (
    SELECT factor,
           avg(spearman) AS mean_spearman,
           stddev_samp(spearman) / sqrt(count(spearman)) AS std_error,
           count(spearman) AS queries,
           count(*) - count(spearman) AS queries_without_variation
    FROM per_query
    GROUP BY factor
)
SELECT factor, mean_spearman, std_error,
       mean_spearman - 1.96 * std_error AS ci_low,
       mean_spearman + 1.96 * std_error AS ci_high,
       queries, queries_without_variation,
       getvariable('as_of') AS as_of
FROM summary;
