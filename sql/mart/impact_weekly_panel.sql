-- The estimator's panel: per owned page, outcome and week (Monday to Sunday in the site's days), the
-- mean daily value over the days the page was observed. Weeks rather than days: a one-day base period
-- would carry a whole day's noise into every comparison, and 150 daily cohorts of one or two pages give
-- the estimator little to work with. ``period`` numbers weeks from Monday 1970-01-05, so a page's
-- cohort is the ``period`` of the week of its first link (pipeline.impact.mart).
CREATE OR REPLACE TABLE mart.impact_weekly_panel AS
WITH daily AS (
    UNPIVOT (
        SELECT canonical_url, day,
               position::DOUBLE AS position, clicks::DOUBLE AS clicks, impressions::DOUBLE AS impressions
        FROM mart.impact_panel
    )
    ON position, clicks, impressions
    INTO NAME outcome VALUE value
)
SELECT canonical_url, outcome,
       date_trunc('week', day)::DATE AS week,
       (date_diff('day', DATE '1970-01-05', date_trunc('week', day)::DATE) // 7)::INTEGER AS period,
       avg(value) AS value,
       count(*) AS days_observed
FROM daily
GROUP BY canonical_url, outcome, week, period;
