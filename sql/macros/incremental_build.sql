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

{#- The slices an incremental build redoes of its five gated tables, each written once here: the table's
    pre_hook deletes the slice's old rows with it, and the view meta.rewritten_<table> (sql/models/meta/) selects
    the slice's new rows with it, the rows the gate checks row by row (pipeline/gate.py). A predicate on the
    table's alias `t`, or (where the rows are found in steps) a SELECT of `columns`. No build-time DuckDB macro or
    variable: the views are read after the build. -#}

{#- core.rankings_daily: a day's rows depend only on that day's observations. -#}
{% macro rankings_daily_slice(changed_days) -%}
t.day IN (SELECT day FROM {{ changed_days }})
{%- endmacro %}

{#- mart.impact_weekly_panel: the weeks holding a changed day. week_start() written out: the view reads it after
    the build, which drops its DuckDB macros. -#}
{% macro impact_weekly_panel_slice(changed_days) -%}
t.week IN (SELECT DISTINCT date_trunc('week', day)::DATE FROM {{ changed_days }})
{%- endmacro %}

{#- core.engagement_daily: the (page, platform, day) groups of meta.changed_engagement. -#}
{% macro engagement_daily_slice(changed_engagement) -%}
EXISTS (SELECT 1 FROM {{ changed_engagement }} AS g
        WHERE g.canonical_url = t.canonical_url AND g.platform = t.platform AND g.day = t.day)
{%- endmacro %}

{#- core.backlinks' rows of the (source, target) pairs of `changed_backlinks`: their old rows (meta.replaced_backlinks,
    which core.backlinks deletes by row id) or their new ones. Found by link_key (one integer column read for
    every row, not two long strings) and fetched by row id (rows appended together share row groups); the pair
    itself decides, a hash does not. Materialized in steps: DuckDB would otherwise join on the URLs first. -#}
{% macro backlinks_slice(table, columns, changed_backlinks) %}
WITH found AS MATERIALIZED (
    SELECT rowid AS link_row FROM {{ table }} WHERE link_key IN (SELECT link_key FROM {{ changed_backlinks }})
),
fetched AS MATERIALIZED (
    SELECT {{ columns }} FROM {{ table }} WHERE rowid IN (SELECT link_row FROM found)
)
SELECT * FROM fetched SEMI JOIN {{ changed_backlinks }} USING (source_url, target_url)
{% endmacro %}

{#- mart.ranking_impact's rows an incremental build redoes, of `table` (the rankings, or the mart itself): the days
    of `changed_days`, and the pages of `changed_pages` from their first changed day on. Most changed pages change
    from a changed day on: rows from the first changed day on (`redo_from`: the build's variable, set by the
    mart's pre_hook; a view, read outside the build, computes it) are picked by a constant filter (row groups of
    earlier days are skipped), the few pages changed earlier by their URL. -#}
{% macro redone_rows(table, columns, changed_days, changed_pages, redo_from="getvariable('redo_from')") %}
SELECT {{ columns }} FROM {{ table }} AS t
WHERE t.day >= {{ redo_from }}
  AND (t.day IN (SELECT day FROM {{ changed_days }})
       OR EXISTS (SELECT 1 FROM {{ changed_pages }} AS c WHERE c.canonical_url = t.canonical_url AND t.day >= c.from_day))
UNION
SELECT {{ columns }} FROM {{ table }} AS t
JOIN {{ changed_pages }} AS c ON c.canonical_url = t.canonical_url AND t.day >= c.from_day
WHERE c.from_day < {{ redo_from }}
{% endmacro %}
