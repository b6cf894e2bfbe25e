-- Records that could not be used: file, place in the file, reason and a redacted, bounded excerpt.
CREATE OR REPLACE TABLE core.quarantined_records AS
SELECT delivery_id, landing_path, member, location, reason, excerpt, quarantined_at
FROM staging.quarantined_records;
