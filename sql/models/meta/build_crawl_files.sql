-- The crawler's lake files this build reads, listed when it starts: files a crawl writes later (beside the
-- build, or after it) belong to later builds, so the published file's crawl staging views keep reading exactly
-- what its core tables were built from.
-- Their lake datasets, for dbt's lineage (the files are listed with glob(), not read):
-- depends_on: {{ source('lake', 'crawl_fetches') }}, {{ source('lake', 'crawl_links') }}
SELECT staging.lake_file_key(file) AS lake_file FROM glob('lake/crawl_fetches/**/*.parquet')
UNION ALL
SELECT staging.lake_file_key(file) FROM glob('lake/crawl_links/**/*.parquet')
ORDER BY lake_file
