-- Where a crawled link really goes: per requested canonical URL, its latest successful fetch as of the run's
-- date, resolved through shorteners, shims, redirects and meta refreshes to the final page, then to that
-- page's rel=canonical when it gives one (conflicting HTML and header canonicals give none).
WITH latest AS (
    SELECT *
    FROM {{ ref('stg_crawl_fetches') }}
    WHERE site_day(fetched_at) <= getvariable('as_of')
      AND error IS NULL AND status BETWEEN 200 AND 299 AND final_canonical IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY url_canonical ORDER BY fetched_at DESC, fetch_id) = 1
)
SELECT url_canonical AS url,
       coalesce(canonical_canonical, final_canonical) AS resolved_url,
       final_canonical AS final_url,
       canonical_canonical AS canonical_url,
       len(redirects) AS hops,
       len(list_filter(redirects, hop -> hop.kind = 'redirect' AND hop.status NOT IN (301, 308))) = 0
           AS permanent,
       noindex,
       site_day(fetched_at) AS fetched_day
FROM latest
