-- The ranking days an incremental build recomputes (empty in a full build, which recomputes all): days
-- with observations from deliveries the base build had not seen, and days the as-of date newly reaches.
-- depends_on: {{ ref('build_deliveries') }}
-- depends_on: {{ ref('stg_rankings') }}
{% if var('incremental_build', false) %}
SELECT ranking_date AS day
FROM {{ ref('stg_rankings') }}
WHERE delivery_id IN getvariable('new_deliveries') AND ranking_date <= getvariable('as_of')
UNION
SELECT ranking_date AS day
FROM {{ ref('stg_rankings') }}
WHERE ranking_date > getvariable('base_as_of') AND ranking_date <= getvariable('as_of')
ORDER BY day
{% else %}
SELECT NULL::DATE AS day WHERE FALSE
{% endif %}
