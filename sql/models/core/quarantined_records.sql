-- Records that could not be used: file, place in the file, reason and a redacted, bounded excerpt.
SELECT delivery_id, landing_path, member, location, reason, excerpt, quarantined_at
FROM {{ ref('stg_quarantined_records') }}
