-- Incremental builds: the base build's rows of core.backlinks for the pairs of meta.changed_backlinks, with
-- their row ids (link_row: core.backlinks deletes them by it), kept before core.backlinks replaces them.
-- meta.redone_backlinks merges the new links into them, and meta.changed_domain_days compares old with new.
-- Empty in a full build. The base build's table is read by its name, not ref(): this model runs before the
-- one that rewrites it, which names this one in a depends_on. Dropped at the end of the build.
-- The pairs' rows are found as meta.rewritten_backlinks finds their new ones (backlinks_slice,
-- sql/macros/incremental_build.sql).
-- depends_on: {{ ref('changed_backlinks') }}
{% if var('incremental_build', false) %}
{{ backlinks_slice('core.backlinks', 'rowid AS link_row, *', ref('changed_backlinks')) }}
{% else %}
SELECT NULL AS nothing_replaced WHERE FALSE
{% endif %}
