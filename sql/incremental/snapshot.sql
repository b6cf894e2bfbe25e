-- Incremental build, first step: the base build's page-level history and delivery set, kept aside before
-- the models replace them, so meta.changed_days and meta.changed_pages can compare old with new.
CREATE OR REPLACE TABLE meta.base_deliveries AS SELECT delivery_id FROM meta.build_deliveries;
CREATE OR REPLACE TABLE meta.base_page_social_daily AS SELECT * FROM core.page_social_daily;
CREATE OR REPLACE TABLE meta.base_page_referring_domains_daily AS SELECT * FROM core.page_referring_domains_daily;
CREATE OR REPLACE TABLE meta.base_first_social_links AS
SELECT canonical_url, first_day FROM core.first_social_links WHERE platform = 'any';
