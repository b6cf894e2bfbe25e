-- Which analytics tool speaks for each owned site in the estimator's window (the last
-- getvariable('impact_window_weeks') complete weeks of mart.impact_weekly_panel), and the window's days.
-- Tools count sessions differently (GA4's engaged sessions, Plausible's visits), so a site's traffic outcomes come
-- from one tool only, never a mix or a sum: the tool that reported the site by source (rows other than
-- all_sources) on the most days of the window, ties to the tool named first. The others are listed, not used.
-- Rebuilt whole every build, like the window.
WITH last_period AS (
    SELECT max(period) AS period FROM {{ ref('impact_weekly_panel') }} WHERE week + 6 <= getvariable('as_of')
),
window_days AS (
    SELECT min(p.week) AS window_start, max(p.week) + 6 AS window_end
    FROM {{ ref('impact_weekly_panel') }} AS p, last_period AS l
    WHERE p.outcome = 'position' AND p.week + 6 <= getvariable('as_of')
      AND p.period > l.period - getvariable('impact_window_weeks')
),
reported AS (
    SELECT url_host(t.canonical_url) AS site, t.tool, count(DISTINCT t.day) AS days_reported
    FROM {{ ref('traffic_daily') }} AS t, window_days AS w
    WHERE is_owned(t.canonical_url) AND t.channel <> 'all_sources'
      AND t.day BETWEEN w.window_start AND w.window_end
    GROUP BY ALL
)
SELECT r.site, r.tool, r.days_reported,
       list(r.tool) OVER (PARTITION BY r.site ORDER BY r.days_reported DESC, r.tool
                          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)[2:] AS other_tools,
       w.window_start, w.window_end
FROM reported AS r, window_days AS w
QUALIFY row_number() OVER (PARTITION BY r.site ORDER BY r.days_reported DESC, r.tool) = 1
