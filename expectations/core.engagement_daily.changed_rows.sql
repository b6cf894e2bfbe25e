-- The rows of core.engagement_daily an incremental build rewrote: the gate checks these, not the whole table.
SELECT e.* FROM core.engagement_daily AS e SEMI JOIN meta.changed_engagement USING (canonical_url, platform, day)
