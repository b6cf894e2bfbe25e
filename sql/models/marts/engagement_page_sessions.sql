-- The engagement claim's inputs ("visitors from social platforms engage more"): per owned page and platform (and
-- 'any': every social channel, social_other included), over the estimator's window and from the site's analytics
-- tool (mart.impact_traffic_sites), the sessions and engaged sessions that came from the platform next to those
-- of the page's non-social channels (organic, paid, email, direct, referral, other). Rows whose tool gave no
-- engaged sessions are left out; a page is kept only with sessions on both sides (the comparison is within
-- pages). pipeline.impact.engagement compares the two engagement rates into mart.engagement_comparison.
-- Rebuilt whole every build, like the window.
WITH windowed AS (
    SELECT t.canonical_url, t.channel, t.sessions, t.engaged_sessions
    FROM {{ ref('traffic_daily') }} AS t
    JOIN {{ ref('impact_traffic_sites') }} AS s ON s.site = url_host(t.canonical_url) AND s.tool = t.tool
    WHERE is_owned(t.canonical_url) AND t.channel <> 'all_sources' AND t.engaged_sessions IS NOT NULL
      AND t.day BETWEEN s.window_start AND s.window_end
),
social AS (
    SELECT canonical_url, channel AS platform, sum(sessions) AS sessions, sum(engaged_sessions) AS engaged
    FROM windowed
    WHERE is_social_channel(channel) AND channel <> 'social_other'
    GROUP BY ALL
    UNION ALL
    SELECT canonical_url, 'any' AS platform, sum(sessions), sum(engaged_sessions)
    FROM windowed
    WHERE is_social_channel(channel)
    GROUP BY ALL
),
other AS (
    SELECT canonical_url, sum(sessions) AS sessions, sum(engaged_sessions) AS engaged
    FROM windowed
    WHERE NOT is_social_channel(channel)
    GROUP BY ALL
)
SELECT s.canonical_url, s.platform,
       s.sessions::BIGINT AS social_sessions, s.engaged::BIGINT AS social_engaged_sessions,
       o.sessions::BIGINT AS other_sessions, o.engaged::BIGINT AS other_engaged_sessions
FROM social AS s
JOIN other AS o USING (canonical_url)
WHERE s.sessions > 0 AND o.sessions > 0
