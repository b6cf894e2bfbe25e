-- The rows of mart.ranking_impact an incremental build rewrote: the gate checks these, not the whole table.
SELECT * FROM mart.ranking_impact WHERE day IN (SELECT day FROM meta.changed_days)
UNION
SELECT m.* FROM mart.ranking_impact AS m
JOIN meta.changed_pages AS c ON c.canonical_url = m.canonical_url AND m.day >= c.from_day
