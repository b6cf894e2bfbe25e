-- Incremental build, last step: the base build's snapshots and the models' temporary tables are not part of
-- the warehouse.
DROP TABLE meta.base_deliveries;
DROP TABLE meta.base_url_resolution;
DROP TABLE meta.base_crawled_links;
DROP TABLE replaced_social_posts;
DROP TABLE replaced_social_links;
DROP TABLE changed_social_pages;
DROP TABLE replaced_page_social_daily;
DROP TABLE changed_link_pages;
DROP TABLE replaced_first_social_links;
DROP TABLE replaced_backlinks;
DROP TABLE redone_backlinks;
DROP TABLE changed_domain_days;
DROP TABLE changed_domain_pages;
DROP TABLE replaced_referring_domains;
DROP TABLE redone_rankings;
