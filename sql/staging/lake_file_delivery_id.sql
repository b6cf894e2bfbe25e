-- The delivery a lake file holds, from its name: <delivery id>[-<4-digit chunk>].parquet (pipeline/ingest.py
-- names them), the same value as inside it. The staging views of delivered records take delivery_id from it,
-- so a filter on a constant list of ids skips other deliveries' files unopened. Stored in the warehouse (not a
-- build-time macro): analysts' queries of those views use it too.
CREATE OR REPLACE MACRO staging.lake_file_delivery_id(path) AS
    regexp_replace(parse_filename(path, true), '-[0-9]{4}$', '');
