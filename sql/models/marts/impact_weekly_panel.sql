-- The estimator's panel: per owned page, outcome and week (Monday to Sunday in the site's days), the
-- mean daily value over the days the page was observed. Weeks rather than days: a one-day base period
-- would carry a whole day's noise into every comparison, and 150 daily cohorts of one or two pages give
-- the estimator little to work with. ``period`` numbers the weeks (week_period, sql/macros/duckdb_macros.sql), so a page's
-- cohort is the ``period`` of the week of its first link (pipeline.impact.mart).
-- Incremental: the weeks holding a changed day are redone (the slice: impact_weekly_panel_slice,
-- sql/macros/incremental_build.sql; meta.rewritten_impact_weekly_panel shows it).
-- Sums of doubles are taken as exact decimals: a float sum depends on the order rows arrive in, and the
-- same run must give byte-identical tables (ordered aggregates would too, but they cannot spill to disk).
-- depends_on: {{ ref('changed_days') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} AS t WHERE {{ impact_weekly_panel_slice(ref('changed_days')) }}
{% endif %}") }}
WITH daily AS (
    UNPIVOT (
        SELECT canonical_url, day,
               position::DOUBLE AS position, clicks::DOUBLE AS clicks, impressions::DOUBLE AS impressions,
               ctr::DOUBLE AS ctr
        FROM {{ ref('impact_panel') }}
        {% if is_incremental() %}
        WHERE week_start(day) IN (SELECT week_start(day) FROM {{ ref('changed_days') }})
        {% endif %}
    )
    ON position, clicks, impressions, ctr
    INTO NAME outcome VALUE value
)
SELECT canonical_url, outcome,
       week_start(day) AS week,
       week_period(week_start(day)) AS period,
       (sum(value::DECIMAL(38, 9)) / count(value))::DOUBLE AS value,
       count(*) AS days_observed
FROM daily
GROUP BY canonical_url, outcome, week, period
