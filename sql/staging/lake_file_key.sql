-- A lake file's path below lake/ (<dataset>/<partition>/<file>), the same wherever the data root is: how a
-- build records the crawler files it read (meta.build_crawl_files) and how staging views select them.
CREATE OR REPLACE MACRO staging.lake_file_key(path) AS
    regexp_extract(path, '(^|.*/)lake/(.*)$', 2);
