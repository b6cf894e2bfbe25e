-- The rows of mart.impact_weekly_panel an incremental build rewrote (the weeks holding a changed day): the
-- gate checks these, not the whole table.
SELECT * FROM mart.impact_weekly_panel WHERE week IN (SELECT DISTINCT date_trunc('week', day)::DATE FROM meta.changed_days)
