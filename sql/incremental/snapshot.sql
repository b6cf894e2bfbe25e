-- Incremental build, first step: what the base build saw and the small crawler tables it built, kept aside
-- before the models replace them, so the meta.changed_* models can compare old with new (meta.build_deliveries
-- then lists the deliveries this build reads, and sets new_deliveries). The big tables'
-- replaced rows are kept aside by their own models (temporary replaced_* tables), only for the slices redone.
CREATE OR REPLACE TABLE meta.base_deliveries AS SELECT delivery_id FROM meta.build_deliveries;
CREATE OR REPLACE TABLE meta.base_url_resolution AS SELECT * FROM core.url_resolution;
CREATE OR REPLACE TABLE meta.base_crawled_links AS SELECT * FROM core.crawled_links;
