-- The ranking days an incremental build recomputes (empty in a full build, which recomputes all): days
-- with observations from deliveries the base build had not seen, and days the as-of date newly reaches.
CREATE OR REPLACE TABLE meta.changed_days AS
{% if incremental %}
WITH new_deliveries AS (
    SELECT delivery_id FROM staging.ingest_ledger
    EXCEPT
    SELECT delivery_id FROM meta.base_deliveries
)
SELECT DISTINCT ranking_date AS day
FROM staging.rankings
WHERE ranking_date <= getvariable('as_of')
  AND (delivery_id IN (SELECT delivery_id FROM new_deliveries) OR ranking_date > getvariable('base_as_of'))
ORDER BY day
{% else %}
SELECT NULL::DATE AS day WHERE FALSE
{% endif %};
