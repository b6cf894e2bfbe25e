-- Incremental build, first step: what the base build saw and the small crawler tables it built, kept aside
-- before the models replace them, so the meta.changed_* models can compare old with new. The big tables'
-- replaced rows are kept aside by their own models (temporary replaced_* tables), only for the slices redone.
CREATE OR REPLACE TABLE meta.base_deliveries AS SELECT delivery_id FROM meta.build_deliveries;
-- As a constant list: staging views take delivery ids from file names, so a filter on this list reads the
-- new deliveries' lake files only.
SET VARIABLE new_deliveries = (
    SELECT coalesce(list(delivery_id ORDER BY delivery_id), [])
    FROM (SELECT delivery_id FROM staging.ingest_ledger EXCEPT SELECT delivery_id FROM meta.base_deliveries)
);
CREATE OR REPLACE TABLE meta.base_url_resolution AS SELECT * FROM core.url_resolution;
CREATE OR REPLACE TABLE meta.base_crawled_links AS SELECT * FROM core.crawled_links;
