-- The rows of core.backlinks an incremental build rewrote: the gate checks these, not the whole table.
SELECT b.* FROM core.backlinks AS b SEMI JOIN meta.changed_backlinks AS c USING (source_url, target_url)
