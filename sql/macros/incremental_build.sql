{#- An incremental build's first and last steps, run by the hooks of dbt_project.yml when the build starts
    from a copy of the published warehouse (var('incremental_build')). -#}
{% macro snapshot_base_build() %}
-- Incremental build, first step: what the base build saw and the small crawler tables it built, kept aside
-- before the models replace them, so the meta.changed_* models can compare old with new (meta.build_deliveries
-- then lists the deliveries this build reads, and sets new_deliveries). The big tables'
-- replaced rows are kept aside by their own models (temporary replaced_* tables), only for the slices redone.
CREATE OR REPLACE TABLE meta.base_deliveries AS SELECT delivery_id FROM meta.build_deliveries;
CREATE OR REPLACE TABLE meta.base_url_resolution AS SELECT * FROM core.url_resolution;
CREATE OR REPLACE TABLE meta.base_crawled_links AS SELECT * FROM core.crawled_links;
{% endmacro %}

{% macro cleanup_incremental_build() %}
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
{% endmacro %}
