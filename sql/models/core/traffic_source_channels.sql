-- Every (session source, medium, channel group) of the traffic exports with the platform or channel it counts
-- as: the one classification rule, applied to the reference the build writes from pipeline/referrals.py
-- (staging.referral_sources; its docstring states the order below) and to the hosts of the ingested Mastodon
-- posts. A source is a host ("t.co", "l.facebook.com"), a referrer URL, or a name ("facebook", "(direct)").
WITH observed AS (
    SELECT DISTINCT session_source, session_medium, channel_group FROM {{ ref('stg_traffic_sessions') }}
),
keyed AS (
    SELECT *,
           lower(session_source) AS source_key,
           regexp_replace(
               lower(coalesce(nullif(url_host(session_source), ''), regexp_extract(session_source, '^[^/?#]+'))),
               '^www\.', ''
           ) AS source_host,
           lower(session_medium) AS medium_key,
           lower(channel_group) AS group_key
    FROM observed
),
social_hosts AS (
    SELECT key AS host, channel FROM {{ source('build', 'referral_sources') }} WHERE kind = 'host'
    UNION
    SELECT DISTINCT regexp_replace(lower(url_host(permalink)), '^www\.', '') AS host, 'mastodon' AS channel
    FROM {{ ref('social_posts') }}
    WHERE platform = 'mastodon' AND url_host(permalink) <> ''
),
-- The most specific host that matches: itself, else its nearest parent domain.
by_host AS (
    SELECT k.session_source, h.channel
    FROM keyed AS k
    JOIN social_hosts AS h ON k.source_host = h.host OR k.source_host LIKE '%.' || h.host
    QUALIFY row_number() OVER (PARTITION BY k.session_source ORDER BY length(h.host) DESC, h.channel) = 1
),
search_hosts AS (
    SELECT DISTINCT k.session_source
    FROM keyed AS k
    JOIN {{ source('build', 'referral_sources') }} AS r
        ON r.kind = 'search'
       AND (k.source_key = r.key OR k.source_host = r.key OR k.source_host LIKE '%.' || r.key)
)
SELECT k.session_source, k.session_medium, k.channel_group,
       CASE
           WHEN k.session_source IS NULL AND k.session_medium IS NULL AND k.channel_group IS NULL
               THEN 'all_sources'
           WHEN medium.channel = 'paid' OR grp.channel = 'paid' THEN 'paid'
           WHEN by_host.channel IS NOT NULL THEN by_host.channel
           WHEN name.channel IS NOT NULL THEN name.channel
           WHEN medium.channel = 'social_other' OR grp.channel = 'social_other' THEN 'social_other'
           WHEN search_hosts.session_source IS NOT NULL OR medium.channel = 'organic' OR grp.channel = 'organic'
               THEN 'organic'
           WHEN medium.channel = 'email' OR grp.channel = 'email' THEN 'email'
           WHEN k.source_key IN ('(direct)', 'direct / none') OR medium.channel = 'direct' OR grp.channel = 'direct'
               THEN 'direct'
           WHEN medium.channel = 'referral' OR grp.channel = 'referral' THEN 'referral'
           ELSE 'other'
       END AS channel
FROM keyed AS k
LEFT JOIN by_host USING (session_source)
LEFT JOIN search_hosts USING (session_source)
LEFT JOIN {{ source('build', 'referral_sources') }} AS name ON name.kind = 'name' AND name.key = k.source_key
LEFT JOIN {{ source('build', 'referral_sources') }} AS medium ON medium.kind = 'medium' AND medium.key = k.medium_key
LEFT JOIN {{ source('build', 'referral_sources') }} AS grp ON grp.kind = 'channel_group' AND grp.key = k.group_key
