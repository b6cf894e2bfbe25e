-- The rows of core.backlinks an incremental build rewrote: the gate checks these, not the whole table. Found by
-- link_key (one integer column read for every row) and fetched by row id (the rewritten rows were appended
-- together, so only their row groups are read); the pair itself decides, a hash does not. Materialized in
-- steps: DuckDB would otherwise join on the URLs first.
WITH found AS MATERIALIZED (
    SELECT rowid AS link_row FROM core.backlinks WHERE link_key IN (SELECT link_key FROM meta.changed_backlinks)
),
fetched AS MATERIALIZED (
    SELECT * FROM core.backlinks WHERE rowid IN (SELECT link_row FROM found)
)
SELECT * FROM fetched SEMI JOIN meta.changed_backlinks USING (source_url, target_url)
