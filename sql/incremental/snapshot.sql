-- Incremental build, first step: the base build's page-level history, delivery set and social and crawler
-- links, kept aside before the models replace them, so the meta.changed_* models can compare old with new.
CREATE OR REPLACE TABLE meta.base_deliveries AS SELECT delivery_id FROM meta.build_deliveries;
CREATE OR REPLACE TABLE meta.base_page_social_daily AS SELECT * FROM core.page_social_daily;
CREATE OR REPLACE TABLE meta.base_first_social_links AS
SELECT canonical_url, first_day FROM core.first_social_links WHERE platform = 'any';
CREATE OR REPLACE TABLE meta.base_social_backlinks AS
SELECT permalink, canonical_url, platform, post_day FROM core.social_links WHERE is_owned AND permalink IS NOT NULL;
CREATE OR REPLACE TABLE meta.base_crawled_links AS SELECT * FROM core.crawled_links;
