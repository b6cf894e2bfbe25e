-- Outlinks of the pages the crawler read, with anchor text and rel tokens (nofollow, ugc, sponsored also
-- as flags).
-- Only the files the build listed when it started (meta.build_crawl_files).
{{ config(alias='crawl_links') }}
SELECT fetch_id, crawl_id, source_url, source_canonical, source_domain, page_url, position, target_url,
       target_canonical, anchor, rel, nofollow, ugc, sponsored, page_nofollow, fetched_at, fetch_date
FROM {{ source('lake', 'crawl_links') }}
WHERE staging.lake_file_key(filename) IN (SELECT lake_file FROM {{ ref('build_crawl_files') }})
