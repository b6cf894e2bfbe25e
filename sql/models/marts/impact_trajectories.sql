-- Raw rank trajectories around a page's first social link, per platform (and 'any'): the mean weekly
-- position of the linked pages by weeks since the week of their first link (the event weeks of
-- sql/dbt_project.yml, -4..8, as in mart.impact_event_time), next to the mean position of never-linked pages in
-- the same calendar weeks. The pages are those of the causal estimates (for one platform, pages whose first social
-- link of all came from it: pipeline.impact.mart), and only those observed in every one of the event weeks (13),
-- so each line follows one fixed set of pages (linked_pages) and a change of composition cannot pass for a trend.
-- Descriptive, nothing adjusted: the gap between the lines before the link is the confounding
-- (shared pages already ranked differently); only the causal estimates account for it.
-- Float aggregates take their rows in a fixed order: a sum of doubles depends on it, and the same run
-- must give byte-identical tables.
WITH weekly AS (
    SELECT canonical_url, period, value AS position
    FROM {{ ref('impact_weekly_panel') }}
    WHERE outcome = 'position'
),
first_weeks AS (
    SELECT f.canonical_url, f.platform,
           week_period(week_start(f.first_day)) AS cohort
    FROM {{ ref('first_social_links') }} AS f
    WHERE f.platform = 'any' OR NOT EXISTS (
        SELECT 1 FROM {{ ref('first_social_links') }} AS o
        WHERE o.canonical_url = f.canonical_url AND o.platform NOT IN (f.platform, 'any')
          AND o.first_day <= f.first_day)
),
never_linked AS (
    SELECT period, avg(position ORDER BY canonical_url) AS position, count(*) AS pages
    FROM weekly
    ANTI JOIN {{ ref('first_social_links') }} USING (canonical_url)
    GROUP BY period
),
in_window AS (
    SELECT f.platform, w.canonical_url, w.period - f.cohort AS event_week, w.period, w.position
    FROM first_weeks AS f
    JOIN weekly AS w USING (canonical_url)
    WHERE w.period - f.cohort BETWEEN {{ var('first_event_week') }} AND {{ var('last_event_week') }}
),
linked AS (
    SELECT * FROM in_window
    QUALIFY count(*) OVER (PARTITION BY platform, canonical_url) = {{ var('last_event_week') - var('first_event_week') + 1 }}
)
SELECT l.platform, l.event_week,
       avg(l.position ORDER BY l.canonical_url, l.period) AS linked_position,
       avg(n.position ORDER BY l.canonical_url, l.period) AS never_linked_position,
       count(*) AS linked_pages,
       min(n.pages) AS never_linked_pages
FROM linked AS l
LEFT JOIN never_linked AS n USING (period)
GROUP BY l.platform, l.event_week
