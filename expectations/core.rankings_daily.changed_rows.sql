-- The rows of core.rankings_daily an incremental build rewrote: the gate checks these, not the whole table.
SELECT * FROM core.rankings_daily WHERE day IN (SELECT day FROM meta.changed_days)
