-- Incremental build, last step: the base build's snapshots and the models' temporary tables are not part of
-- the warehouse.
DROP TABLE meta.base_deliveries;
DROP TABLE meta.base_page_social_daily;
DROP TABLE meta.base_first_social_links;
DROP TABLE meta.base_social_backlinks;
DROP TABLE meta.base_crawled_links;
DROP TABLE changed_backlink_targets;
DROP TABLE replaced_referring_domains;
