-- The traffic outcomes of the causal estimates (do social links bring visits, does organic search follow, do the
-- page's visitors engage more?): per owned page and week of the estimator's window, from the site's analytics tool
-- (mart.impact_traffic_sites):
--   social_referral_sessions: daily mean sessions from social channels (a platform's, or social_other);
--   organic_sessions: daily mean sessions from organic search;
--   page_engagement_rate: percentage (0-100) of the page's sessions that week that were engaged, over every
--     channel (all_sources aside) whose row gives engaged sessions. Weighted by sessions (the week's engaged
--     sessions over its sessions, not a mean of daily rates): a day with two sessions must not weigh as much as
--     a day with two hundred, and the rate stays the share of the week's visits that engaged.
-- Sessions are a daily mean over the days the tool reported the site that week (by source): a page without rows
-- on such a day had no sessions (analytics tools write no row for what did not happen), 0; a week the tool did
-- not report the site at all is missing (no row), not zero. The engagement rate is missing (no row: UNPIVOT
-- leaves out NULLs) in a week the page had no sessions with engaged sessions reported: a rate of nothing is not
-- 0%. Pages: those of the position panel and any owned page with traffic.
-- Rebuilt whole every build: the window moves and the tool choice with it.
WITH windowed AS (
    SELECT t.canonical_url, url_host(t.canonical_url) AS site, t.day, t.channel, t.sessions, t.engaged_sessions
    FROM {{ ref('traffic_daily') }} AS t
    JOIN {{ ref('impact_traffic_sites') }} AS s ON s.site = url_host(t.canonical_url) AND s.tool = t.tool
    WHERE is_owned(t.canonical_url) AND t.channel <> 'all_sources'
      AND t.day BETWEEN s.window_start AND s.window_end
),
reported_weeks AS (
    SELECT site, week_start(day) AS week, count(DISTINCT day) AS days_reported
    FROM windowed
    GROUP BY ALL
),
pages AS (
    SELECT DISTINCT p.canonical_url
    FROM {{ ref('impact_weekly_panel') }} AS p
    JOIN {{ ref('impact_traffic_sites') }} AS s ON p.week BETWEEN s.window_start AND s.window_end
    WHERE p.outcome = 'position'
    UNION
    SELECT DISTINCT canonical_url FROM windowed
),
sessions AS (
    SELECT canonical_url, week_start(day) AS week,
           sum(sessions) FILTER (WHERE is_social_channel(channel)) AS social_referral_sessions,
           sum(sessions) FILTER (WHERE channel = 'organic') AS organic_sessions,
           -- The rate's sessions: those of the rows giving engaged sessions (sum() skips the others' NULLs).
           sum(sessions) FILTER (WHERE engaged_sessions IS NOT NULL) AS rated_sessions,
           sum(engaged_sessions) AS engaged_sessions
    FROM windowed
    GROUP BY ALL
),
weekly AS (
    SELECT p.canonical_url, r.week, r.days_reported,
           coalesce(s.social_referral_sessions, 0)::DOUBLE / r.days_reported AS social_referral_sessions,
           coalesce(s.organic_sessions, 0)::DOUBLE / r.days_reported AS organic_sessions,
           CASE WHEN s.rated_sessions > 0 THEN 100 * s.engaged_sessions::DOUBLE / s.rated_sessions::DOUBLE END
               AS page_engagement_rate
    FROM pages AS p
    JOIN reported_weeks AS r ON r.site = url_host(p.canonical_url)
    LEFT JOIN sessions AS s ON s.canonical_url = p.canonical_url AND s.week = r.week
)
SELECT canonical_url, outcome, week,
       week_period(week) AS period,
       value, days_reported AS days_observed
FROM (
    UNPIVOT weekly ON social_referral_sessions, organic_sessions, page_engagement_rate
    INTO NAME outcome VALUE value
)
