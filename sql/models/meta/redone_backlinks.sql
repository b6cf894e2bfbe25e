-- The rows core.backlinks gets from this build: in a full build every pair's (a view, read once), in an
-- incremental one the pairs of meta.changed_backlinks (a table: meta.changed_domain_days reads it too).
-- A pair whose social or crawler links changed is rebuilt from all its links, reading the lake's tool rows
-- only for pairs that have some; every other pair only gained tool rows, which are merged into its old row
-- (meta.replaced_backlinks): each column is a minimum, a maximum or a union (a latest report's value is the
-- maximum of its key), so merging gives what aggregating every row would. Dropped at the end of the build.
-- depends_on: {{ ref('build_deliveries') }}
-- depends_on: {{ ref('changed_backlinks') }}
-- depends_on: {{ ref('replaced_backlinks') }}
{{ config(materialized='table' if var('incremental_build', false) else 'view') }}
WITH
{% if var('incremental_build', false) %}
rebuilt_with_tool_rows AS (
    SELECT source_url, target_url
    FROM {{ ref('changed_backlinks') }} AS c
    JOIN {{ ref('replaced_backlinks') }} AS r USING (source_url, target_url)
    WHERE c.rebuilt AND len(list_filter(r.found_by, f -> f NOT IN ('social_export', 'crawler'))) > 0
),
tool_rows AS (
    -- The tool rows the base build did not count (duplicates are harmless: every column is a minimum, a
    -- maximum, a union or a latest value), and every tool row of rebuilt pairs that had some.
    SELECT * FROM {{ ref('stg_backlinks') }} WHERE delivery_id IN getvariable('new_deliveries')
    UNION ALL
    SELECT * FROM {{ ref('stg_backlinks') }} WHERE coalesce(first_seen, snapshot_date) > getvariable('base_as_of')
    UNION ALL
    SELECT b.* FROM {{ ref('stg_backlinks') }} AS b
    SEMI JOIN rebuilt_with_tool_rows AS r ON r.source_url = b.source_canonical AND r.target_url = b.target_canonical
),
{% endif %}
tool_links AS (
    SELECT source_canonical AS source_url, target_canonical AS target_url, source_domain,
           FALSE AS is_social, NULL::VARCHAR AS platform, tool AS found_by, anchor,
           nofollow, ugc, sponsored,
           coalesce(first_seen, snapshot_date) AS first_seen, coalesce(last_seen, snapshot_date) AS last_seen,
           coalesce(lost, FALSE) AS lost, snapshot_date
    {% if var('incremental_build', false) %}
    FROM tool_rows
    SEMI JOIN {{ ref('changed_backlinks') }} AS c ON c.source_url = source_canonical AND c.target_url = target_canonical
    {% else %}
    FROM {{ ref('stg_backlinks') }}
    {% endif %}
    WHERE is_owned(target_canonical)
      AND NOT is_owned(source_canonical)
      AND coalesce(first_seen, snapshot_date) <= getvariable('as_of')
),
social_links AS (
    SELECT permalink AS source_url, canonical_url AS target_url, url_host(permalink) AS source_domain,
           TRUE AS is_social, platform, 'social_export' AS found_by, NULL::VARCHAR AS anchor,
           NULL::BOOLEAN AS nofollow, NULL::BOOLEAN AS ugc, NULL::BOOLEAN AS sponsored,
           post_day AS first_seen, post_day AS last_seen, FALSE AS lost, post_day AS snapshot_date
    FROM {{ ref('social_links') }}
    WHERE is_owned AND permalink IS NOT NULL
),
crawler_links AS (
    SELECT source_url, target_url, source_domain, FALSE AS is_social, NULL::VARCHAR AS platform,
           'crawler' AS found_by, anchor, nofollow, ugc, sponsored, first_seen, last_seen, lost,
           last_seen AS snapshot_date
    FROM {{ ref('crawled_links') }}
),
all_links AS (
    SELECT * FROM tool_links
    UNION ALL BY NAME
    SELECT * FROM social_links
    UNION ALL BY NAME
    SELECT * FROM crawler_links
),
aggregated AS (
    SELECT source_url, target_url,
           min(source_domain) AS source_domain,
           bool_or(is_social) AS is_social,
           min(platform) AS platform,
           list_sort(list_distinct(list(found_by))) AS found_by,
           arg_max(anchor, text_report_key(snapshot_date, anchor)) FILTER (WHERE anchor IS NOT NULL) AS anchor,
           max(snapshot_date) FILTER (WHERE anchor IS NOT NULL) AS anchor_seen,
           max(report_key(snapshot_date, rel_code(nofollow, ugc, sponsored), 27))
               FILTER (WHERE nofollow IS NOT NULL) AS flags_key,
           min(first_seen) AS first_seen,
           max(last_seen) AS last_seen,
           max(report_key(snapshot_date, lost::INTEGER, 2)) AS lost_key
    FROM all_links
    {% if var('incremental_build', false) %}SEMI JOIN {{ ref('changed_backlinks') }} USING (source_url, target_url){% endif %}
    GROUP BY source_url, target_url
){% if var('incremental_build', false) %},
merged AS (
    -- A merged pair's row is its old row (none for a new pair) combined with the aggregate of what is new;
    -- a rebuilt pair's row is the aggregate of all its links.
    SELECT c.source_url, c.target_url,
           least(o.source_domain, a.source_domain) AS source_domain,
           coalesce(o.is_social, FALSE) OR coalesce(a.is_social, FALSE) AS is_social,
           least(o.platform, a.platform) AS platform,
           list_sort(list_distinct(list_concat(o.found_by, a.found_by))) AS found_by,
           CASE WHEN a.anchor IS NULL THEN o.anchor
                WHEN o.anchor IS NULL THEN a.anchor
                WHEN text_report_key(a.anchor_seen, a.anchor) > text_report_key(o.anchor_seen, o.anchor)
                THEN a.anchor
                ELSE o.anchor END AS anchor,
           greatest(o.anchor_seen, a.anchor_seen) AS anchor_seen,
           greatest(report_key(o.flags_seen, rel_code(o.nofollow, o.ugc, o.sponsored), 27), a.flags_key)
               AS flags_key,
           least(o.first_seen, a.first_seen) AS first_seen,
           greatest(o.last_seen, a.last_seen) AS last_seen,
           greatest(report_key(o.last_reported, o.lost::INTEGER, 2), a.lost_key) AS lost_key
    FROM {{ ref('changed_backlinks') }} AS c
    LEFT JOIN aggregated AS a USING (source_url, target_url)
    LEFT JOIN (SELECT * EXCLUDE (link_row, link_key) FROM {{ ref('replaced_backlinks') }}) AS o
        ON NOT c.rebuilt AND o.source_url = c.source_url AND o.target_url = c.target_url
    WHERE a.source_url IS NOT NULL OR o.source_url IS NOT NULL
){% endif %}
SELECT source_url, target_url, source_domain, is_social, platform, found_by,
       anchor, anchor_seen,
       code_flag(flags_key % 27 // 9) AS nofollow, code_flag(flags_key % 9 // 3) AS ugc,
       code_flag(flags_key % 3) AS sponsored, report_day(flags_key, 27) AS flags_seen,
       first_seen, last_seen, lost_key % 2 = 1 AS lost, report_day(lost_key, 2) AS last_reported,
       hash(source_url, target_url) AS link_key
FROM {% if var('incremental_build', false) %}merged{% else %}aggregated{% endif %}
