-- What the crawler fetched: per requested URL, the redirect chain, final URL and status, canonical and
-- robots directives.
-- Only the files the build listed when it started (meta.build_crawl_files).
{{ config(alias='crawl_fetches') }}
SELECT fetch_id, crawl_id, purpose, url, url_canonical, final_url, final_canonical, status, content_type,
       redirects, canonical, canonical_canonical, canonical_html, canonical_header, meta_robots, x_robots_tag,
       noindex, nofollow, robots_allowed, links_extracted, links_found, error, error_kind, truncated,
       not_modified, body_bytes, attempts, elapsed_ms, fetched_at, fetch_date
FROM {{ source('lake', 'crawl_fetches') }}
WHERE staging.lake_file_key(filename) IN (SELECT lake_file FROM {{ ref('build_crawl_files') }})
