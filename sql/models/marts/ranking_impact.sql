-- The analysts' panel: per canonical URL, query and day, the ranking outcome next to everything
-- social and link-related known about the page on that day (running totals as of that day): social links and
-- engagement from any platform and from each of var('panel_platforms') (sql/dbt_project.yml).
-- Incremental: the rows of meta.changed_days, and of meta.changed_pages from their first changed day on (the
-- slice: redone_rows, sql/macros/incremental_build.sql; meta.rewritten_ranking_impact shows it).
-- Most changed pages change from a changed day on: rows from the first changed day on are picked by a
-- constant filter (row groups of earlier days are skipped), the few pages changed earlier by their URL.
-- depends_on: {{ ref('changed_days') }}
-- depends_on: {{ ref('changed_pages') }}
{{ config(materialized='incremental', pre_hook=[
    "{% if is_incremental() %}
SET VARIABLE redo_from = (SELECT coalesce(min(day), getvariable('as_of') + 1) FROM {{ ref('changed_days') }})
{% endif %}",
    "{% if is_incremental() %}
DELETE FROM {{ this }}
WHERE rowid IN ({{ redone_rows(this, 't.rowid', ref('changed_days'), ref('changed_pages')) }})
{% endif %}"]) }}
{% if is_incremental() %}
WITH redone_rankings AS MATERIALIZED (
    {{ redone_rows(ref('rankings_daily'), 't.*', ref('changed_days'), ref('changed_pages')) }}
),
redone_pages AS (
    SELECT canonical_url, min(day) AS first_day FROM redone_rankings GROUP BY canonical_url
),
-- For each redone page, its running totals from the last row at or before its first redone day on: all the
-- as-of joins below need (instead of sorting whole tables for them).
{%- for name, totals in [('social', ref('page_social_daily')), ('domains', ref('page_referring_domains_daily'))] %}
{{ name }}_from AS (
    SELECT t.canonical_url, max(t.day) AS from_day
    FROM {{ totals }} AS t
    JOIN redone_pages AS p ON p.canonical_url = t.canonical_url AND t.day <= p.first_day
    GROUP BY t.canonical_url
),
{{ name }} AS (
    SELECT t.* FROM {{ totals }} AS t
    JOIN redone_pages AS p USING (canonical_url)
    LEFT JOIN {{ name }}_from AS f USING (canonical_url)
    WHERE t.day >= coalesce(f.from_day, p.first_day)
){{ "," if not loop.last }}
{%- endfor %}
{% endif %}
SELECT r.canonical_url, r.query, r.day,
       r.position, r.clicks, r.impressions,
{%- for kind in ['links', 'engagement'] %}
{%- for platform in ['any'] + var('panel_platforms') %}
       coalesce(s.cum_{{ kind }}_{{ platform }}, 0) AS social_{{ kind }}_{{ platform }},
{%- endfor %}
{%- endfor %}
       coalesce(d.referring_domains, 0) AS referring_domains_nonsocial,
       f.first_day AS first_social_link_date,
       CASE WHEN f.first_day <= r.day THEN date_diff('day', f.first_day, r.day) END
           AS days_since_first_social_link
{% if is_incremental() %}
FROM redone_rankings AS r
ASOF LEFT JOIN social AS s ON r.canonical_url = s.canonical_url AND r.day >= s.day
ASOF LEFT JOIN domains AS d ON r.canonical_url = d.canonical_url AND r.day >= d.day
{% else %}
FROM {{ ref('rankings_daily') }} AS r
ASOF LEFT JOIN {{ ref('page_social_daily') }} AS s ON r.canonical_url = s.canonical_url AND r.day >= s.day
ASOF LEFT JOIN {{ ref('page_referring_domains_daily') }} AS d
    ON r.canonical_url = d.canonical_url AND r.day >= d.day
{% endif %}
LEFT JOIN {{ ref('first_social_links') }} AS f ON f.canonical_url = r.canonical_url AND f.platform = 'any'
