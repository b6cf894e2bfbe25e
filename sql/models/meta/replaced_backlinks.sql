-- Incremental builds: the base build's rows of core.backlinks for the pairs of meta.changed_backlinks, with
-- their row ids (link_row: core.backlinks deletes them by it), kept before core.backlinks replaces them.
-- meta.redone_backlinks merges the new links into them, and meta.changed_domain_days compares old with new.
-- Empty in a full build. The base build's table is read by its name, not ref(): this model runs before the
-- one that rewrites it, which names this one in a depends_on. Dropped at the end of the build.
-- The changed pairs' rows are found by link_key (one integer column read for every row, not two long strings)
-- and fetched by row id; the key itself decides, a hash does not.
-- (Materialized in steps: DuckDB would otherwise join on the URLs first.)
-- depends_on: {{ ref('changed_backlinks') }}
{% if var('incremental_build', false) %}
WITH found AS MATERIALIZED (
    SELECT rowid AS link_row FROM core.backlinks
    WHERE link_key IN (SELECT link_key FROM {{ ref('changed_backlinks') }})
),
fetched AS MATERIALIZED (
    SELECT rowid AS link_row, * FROM core.backlinks WHERE rowid IN (SELECT link_row FROM found)
)
SELECT * FROM fetched SEMI JOIN {{ ref('changed_backlinks') }} USING (source_url, target_url)
{% else %}
SELECT NULL AS nothing_replaced WHERE FALSE
{% endif %}
