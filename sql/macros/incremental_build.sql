{#- An incremental build's first and last steps, run by the hooks of dbt_project.yml when the build starts
    from a copy of the published warehouse (var('incremental_build')). -#}
{% macro snapshot_base_build() %}
-- Incremental build, first step: what the base build saw and the small crawler tables it built, kept aside
-- before the models replace them, so the meta.changed_* models can compare old with new (meta.build_deliveries
-- then lists the deliveries this build reads, and sets new_deliveries). The big tables' replaced rows are kept
-- by meta.replaced_* models, only for the slices redone.
CREATE OR REPLACE TABLE meta.base_deliveries AS SELECT delivery_id FROM meta.build_deliveries;
CREATE OR REPLACE TABLE meta.base_url_resolution AS SELECT * FROM core.url_resolution;
CREATE OR REPLACE TABLE meta.base_crawled_links AS SELECT * FROM core.crawled_links;
{% endmacro %}

{% macro cleanup_incremental_build() %}
-- Incremental build, last step: the base build's snapshots are not part of the warehouse.
DROP TABLE IF EXISTS meta.base_deliveries;
DROP TABLE IF EXISTS meta.base_url_resolution;
DROP TABLE IF EXISTS meta.base_crawled_links;
{% endmacro %}

{% macro drop_build_scratch(incremental) %}
-- Every build's last step: the meta models that hand an incremental build's slices and replaced rows from one
-- model to the next are not part of the warehouse (in a full build they are empty, and meta.redone_backlinks
-- is a view over the lake). IF EXISTS: a `dbt run --select` of some models builds only some of them.
DROP TABLE IF EXISTS meta.replaced_social_posts;
DROP TABLE IF EXISTS meta.replaced_social_links;
DROP TABLE IF EXISTS meta.changed_link_pages;
DROP TABLE IF EXISTS meta.replaced_first_social_links;
DROP TABLE IF EXISTS meta.changed_social_pages;
DROP TABLE IF EXISTS meta.replaced_page_social_daily;
DROP TABLE IF EXISTS meta.replaced_backlinks;
{% if incremental %}DROP TABLE{% else %}DROP VIEW{% endif %} IF EXISTS meta.redone_backlinks;
DROP TABLE IF EXISTS meta.changed_domain_days;
DROP TABLE IF EXISTS meta.changed_domain_pages;
DROP TABLE IF EXISTS meta.replaced_referring_domains;
{% endmacro %}

{#- mart.ranking_impact's rows an incremental build redoes, of `table` (the rankings, or the mart itself): the days
    of `changed_days`, and the pages of `changed_pages` from their first changed day on. Most changed pages change
    from a changed day on: rows from the first changed day on (the variable redo_from) are picked by a constant
    filter (row groups of earlier days are skipped), the few pages changed earlier by their URL. -#}
{% macro redone_rows(table, columns, changed_days, changed_pages) %}
SELECT {{ columns }} FROM {{ table }} AS t
WHERE t.day >= getvariable('redo_from')
  AND (t.day IN (SELECT day FROM {{ changed_days }})
       OR EXISTS (SELECT 1 FROM {{ changed_pages }} AS c WHERE c.canonical_url = t.canonical_url AND t.day >= c.from_day))
UNION
SELECT {{ columns }} FROM {{ table }} AS t
JOIN {{ changed_pages }} AS c ON c.canonical_url = t.canonical_url AND t.day >= c.from_day
WHERE c.from_day < getvariable('redo_from')
{% endmacro %}
