-- Outlinks of the pages the crawler read, with anchor text and rel tokens (nofollow, ugc, sponsored also
-- as flags).
-- Only the files the build listed when it started (meta.build_crawl_files).
CREATE OR REPLACE VIEW staging.crawl_links AS
SELECT fetch_id, crawl_id, source_url, source_canonical, source_domain, page_url, position, target_url,
       target_canonical, anchor, rel, nofollow, ugc, sponsored, page_nofollow, fetched_at, fetch_date
FROM read_parquet('lake/crawl_links/**/*.parquet', union_by_name = true, filename = true)
WHERE staging.lake_file_key(filename) IN (SELECT lake_file FROM meta.build_crawl_files);
