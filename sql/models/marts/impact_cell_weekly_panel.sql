-- The position outcome of the causal estimates, per owned page x query cell and week (Monday to Sunday,
-- site days), over the estimator's window: the last getvariable('impact_window_weeks') complete weeks.
-- Cells, not pages: a page's daily position averaged over whichever queries ranked that day changes when
-- queries enter or leave the top 100 as the page moves, and that churn pulls an effect towards zero. Each
-- cell is compared with itself.
-- Unranked is censored, not missing, where the source says so: a rank tracker (rows without impressions)
-- writes a row for every query it tracked that day, ranked or "not ranked" (staging.rankings keeps those
-- without a position). A day the query was tracked, after the cell's first ranked day in the window, on
-- which the cell has no rank counts as position 101 (days_censored). A day the tracker skipped the query
-- is missing. Search Console reports a query only on days with impressions: a missing day there is
-- unobserved, not unranked. (A tracker export that leaves "not ranked" rows out makes a page that fell
-- out of the top 100 look untracked: export them.)
-- Rebuilt whole every build: it covers only the window, and a cell's first ranked day moves the censoring.
-- Sums of doubles are taken as exact decimals, so the same run gives byte-identical tables.
WITH last_week AS (
    SELECT max(week_start(day)) AS week
    FROM {{ ref('rankings_daily') }}
    WHERE week_start(day) + 6 <= getvariable('as_of')
),
window_rows AS (
    SELECT r.canonical_url, r.query, r.day, r.position, r.impressions
    FROM {{ ref('rankings_daily') }} AS r, last_week AS w
    WHERE is_owned(r.canonical_url)
      AND r.day BETWEEN w.week - 7 * (getvariable('impact_window_weeks') - 1) AND w.week + 6
),
tracked_query_days AS (
    SELECT DISTINCT r.query, r.ranking_date AS day
    FROM {{ ref('stg_rankings') }} AS r, last_week AS w
    WHERE r.impressions IS NULL
      AND r.ranking_date BETWEEN w.week - 7 * (getvariable('impact_window_weeks') - 1) AND w.week + 6
),
tracker_cells AS (
    SELECT canonical_url, query, min(day) AS first_day
    FROM window_rows
    WHERE impressions IS NULL
    GROUP BY canonical_url, query
),
unranked AS (
    SELECT c.canonical_url, c.query, d.day
    FROM tracker_cells AS c
    JOIN tracked_query_days AS d ON d.query = c.query AND d.day > c.first_day
    ANTI JOIN window_rows AS w ON w.canonical_url = c.canonical_url AND w.query = c.query AND w.day = d.day
),
daily AS (
    SELECT canonical_url, query, day, position, impressions, false AS censored FROM window_rows
    UNION ALL
    SELECT canonical_url, query, day, 101.0 AS position, NULL AS impressions, true AS censored FROM unranked
)
SELECT canonical_url, query,
       week_start(day) AS week,
       week_period(week_start(day)) AS period,
       CASE WHEN sum(impressions) > 0
            THEN (sum((position * impressions)::DECIMAL(38, 9)) / sum(impressions))::DOUBLE
            ELSE (sum(position::DECIMAL(38, 9)) / count(*))::DOUBLE END AS position,
       count(*) AS days_observed,
       count(*) FILTER (WHERE censored) AS days_censored,
       sum(impressions) AS impressions
FROM daily
GROUP BY canonical_url, query, week, period
