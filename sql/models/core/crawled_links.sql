-- Links to owned pages that the crawler saw on the pages it read (linking pages, social permalinks), with
-- rel flags. Link targets the crawler resolved (a t.co link on a post's page) count as their resolved URL.
-- A flag holds when every link from the page to the target carries it (a page-level meta or X-Robots-Tag
-- nofollow counts as nofollow). Flags and anchor come from the latest fetch of the source page that has
-- the link; a link missing from the page's latest fetch is lost.
WITH page_fetches AS (
    SELECT fetch_id,
           row_number() OVER (PARTITION BY url_canonical ORDER BY fetched_at DESC, fetch_id) AS recency
    FROM {{ ref('stg_crawl_fetches') }}
    WHERE links_extracted AND error IS NULL AND site_day(fetched_at) <= getvariable('as_of')
),
resolved AS (
    SELECT l.*, f.recency, coalesce(r.resolved_url, l.target_canonical) AS target
    FROM {{ ref('stg_crawl_links') }} AS l
    JOIN page_fetches AS f USING (fetch_id)
    LEFT JOIN {{ ref('url_resolution') }} AS r ON r.url = l.target_canonical
    WHERE l.target_canonical IS NOT NULL
),
per_fetch AS (
    SELECT source_canonical AS source_url, target AS target_url, recency,
           any_value(source_domain) AS source_domain,
           arg_min(anchor, position) AS anchor,
           bool_and(nofollow OR page_nofollow) AS nofollow,
           bool_and(ugc) AS ugc,
           bool_and(sponsored) AS sponsored,
           site_day(any_value(fetched_at)) AS day
    FROM resolved
    WHERE is_owned(target) AND NOT is_owned(source_canonical)
    GROUP BY source_canonical, target, recency
)
SELECT source_url, target_url,
       any_value(source_domain) AS source_domain,
       arg_min(anchor, recency) AS anchor,
       arg_min(nofollow, recency) AS nofollow,
       arg_min(ugc, recency) AS ugc,
       arg_min(sponsored, recency) AS sponsored,
       min(day) AS first_seen,
       max(day) AS last_seen,
       min(recency) > 1 AS lost
FROM per_fetch
GROUP BY source_url, target_url
