-- Running totals per owned page of social links (posts linking it) and their engagement
-- (likes + reposts + replies), by platform, on each day something new happened.
-- Incremental: a page's totals change only from the first day of its redone engagement groups on. Those
-- rows (meta.changed_social_pages) are redone from the page's totals the day before and its engagement rows
-- from that day on; their old rows are kept first (meta.replaced_page_social_daily) for meta.changed_pages.
-- A column pair per platform of var('panel_platforms') (sql/dbt_project.yml); `any` counts every platform.
-- depends_on: {{ ref('changed_social_pages') }}
-- depends_on: {{ ref('replaced_page_social_daily') }}
{{ config(materialized='incremental', pre_hook="{% if is_incremental() %}
DELETE FROM {{ this }} AS s
USING {{ ref('changed_social_pages') }} AS p
WHERE p.canonical_url = s.canonical_url AND s.day >= p.from_day
{% endif %}") }}
{% set platforms = var('panel_platforms') %}
WITH new_by_day AS (
    SELECT e.canonical_url, e.day,
           sum(e.posts) AS links_any,
{%- for platform in platforms %}
           sum(e.posts) FILTER (WHERE e.platform = '{{ platform }}') AS links_{{ platform }},
{%- endfor %}
           sum(coalesce(e.likes, 0) + coalesce(e.reposts, 0) + coalesce(e.replies, 0)) AS engagement_any,
{%- for platform in platforms %}
           sum(coalesce(e.likes, 0) + coalesce(e.reposts, 0) + coalesce(e.replies, 0))
               FILTER (WHERE e.platform = '{{ platform }}') AS engagement_{{ platform }}{{ "," if not loop.last }}
{%- endfor %}
    FROM {{ ref('engagement_daily') }} AS e
    {% if is_incremental() %}
    JOIN {{ ref('changed_social_pages') }} AS p ON p.canonical_url = e.canonical_url AND e.day >= p.from_day
    {% endif %}
    GROUP BY e.canonical_url, e.day
){% if is_incremental() %},
totals_before AS (
    -- A redone page's last row before its first redone day: its totals so far.
    SELECT * FROM {{ this }}
    SEMI JOIN {{ ref('changed_social_pages') }} USING (canonical_url)
    QUALIFY row_number() OVER (PARTITION BY canonical_url ORDER BY day DESC) = 1
){% endif %}
SELECT n.canonical_url, n.day,
{%- for kind in ['links', 'engagement'] %}
{%- for platform in ['any'] + platforms %}
       (coalesce(sum(n.{{ kind }}_{{ platform }}) OVER running, 0)
        {%- if is_incremental() %} + coalesce(b.cum_{{ kind }}_{{ platform }}, 0){% endif %})::BIGINT
           AS cum_{{ kind }}_{{ platform }}{{ "," if not (loop.last and kind == 'engagement') }}
{%- endfor %}
{%- endfor %}
FROM new_by_day AS n
{% if is_incremental() %}LEFT JOIN totals_before AS b USING (canonical_url){% endif %}
WINDOW running AS (PARTITION BY n.canonical_url ORDER BY n.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
