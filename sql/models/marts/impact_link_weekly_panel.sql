-- The natural-links outcome of the causal estimates (does social visibility earn links from other sites?):
-- per owned page and week of the estimator's window, the number of distinct non-social referring domains
-- first seen by the week's last day (core.page_referring_domains_daily), for the pages and weeks of the
-- position panel. A page without any has 0. Social links are not counted: the question is whether they
-- bring others.
-- Rebuilt whole every build: a redone backlink can move a first-seen day anywhere in the window, and the
-- window is small.
WITH last_period AS (
    SELECT max(period) AS period FROM {{ ref('impact_weekly_panel') }} WHERE week + 6 <= getvariable('as_of')
),
weeks AS (
    SELECT DISTINCT p.canonical_url, p.week, p.period
    FROM {{ ref('impact_weekly_panel') }} AS p, last_period AS l
    WHERE p.outcome = 'position' AND p.week + 6 <= getvariable('as_of')
      AND p.period > l.period - getvariable('impact_window_weeks')
)
SELECT w.canonical_url, 'referring_domains' AS outcome, w.week, w.period,
       coalesce(d.referring_domains, 0)::DOUBLE AS value
FROM weeks AS w
ASOF LEFT JOIN {{ ref('page_referring_domains_daily') }} AS d
    ON d.canonical_url = w.canonical_url AND d.day <= w.week + 6
