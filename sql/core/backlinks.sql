-- Every known link to an owned page, from backlink tools, social posts and the crawler's reading of linking
-- pages, deduplicated on canonical source and target. Rel flags and anchor are the latest known (a social
-- link's flags stay NULL until the crawler reads its page).
-- Incremental: only the pairs of meta.changed_backlinks are redone.
{% if incremental %}
CREATE OR REPLACE TEMP TABLE replaced_backlinks AS
SELECT * FROM core.backlinks SEMI JOIN meta.changed_backlinks USING (source_url, target_url);
DELETE FROM core.backlinks AS b
USING meta.changed_backlinks AS c
WHERE b.source_url = c.source_url AND b.target_url = c.target_url;
INSERT INTO core.backlinks BY NAME
{% else %}
CREATE OR REPLACE TABLE core.backlinks AS
{% endif %}
WITH tool_links AS (
    SELECT source_canonical AS source_url, target_canonical AS target_url, source_domain,
           FALSE AS is_social, NULL::VARCHAR AS platform, tool AS found_by, anchor,
           nofollow, ugc, sponsored,
           coalesce(first_seen, snapshot_date) AS first_seen, coalesce(last_seen, snapshot_date) AS last_seen,
           coalesce(lost, FALSE) AS lost, snapshot_date
    FROM staging.backlinks
    {% if incremental %}
    -- Before the other filters: the few changed pairs, not every tool row, go through them.
    SEMI JOIN meta.changed_backlinks AS c ON c.source_url = source_canonical AND c.target_url = target_canonical
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
    FROM core.social_links
    WHERE is_owned AND permalink IS NOT NULL
),
crawler_links AS (
    SELECT source_url, target_url, source_domain, FALSE AS is_social, NULL::VARCHAR AS platform,
           'crawler' AS found_by, anchor, nofollow, ugc, sponsored, first_seen, last_seen, lost,
           last_seen AS snapshot_date
    FROM core.crawled_links
),
all_links AS (
    SELECT * FROM tool_links
    UNION ALL BY NAME
    SELECT * FROM social_links
    UNION ALL BY NAME
    SELECT * FROM crawler_links
)
SELECT source_url, target_url,
       any_value(source_domain) AS source_domain,
       bool_or(is_social) AS is_social,
       any_value(platform) AS platform,
       list_sort(list_distinct(list(found_by))) AS found_by,
       arg_max(anchor, snapshot_date) FILTER (WHERE anchor IS NOT NULL) AS anchor,
       arg_max(nofollow, snapshot_date) FILTER (WHERE nofollow IS NOT NULL) AS nofollow,
       arg_max(ugc, snapshot_date) FILTER (WHERE ugc IS NOT NULL) AS ugc,
       arg_max(sponsored, snapshot_date) FILTER (WHERE sponsored IS NOT NULL) AS sponsored,
       min(first_seen) AS first_seen,
       max(last_seen) AS last_seen,
       arg_max(lost, snapshot_date) AS lost
FROM all_links
{% if incremental %}SEMI JOIN meta.changed_backlinks USING (source_url, target_url){% endif %}
GROUP BY source_url, target_url;
{% if incremental %}
-- The pages whose links really changed: their referring-domain counts are redone next.
CREATE OR REPLACE TEMP TABLE changed_backlink_targets AS
WITH redone AS (SELECT * FROM core.backlinks SEMI JOIN meta.changed_backlinks USING (source_url, target_url))
SELECT DISTINCT target_url
FROM ((SELECT * FROM redone EXCEPT ALL SELECT * FROM replaced_backlinks)
      UNION ALL
      (SELECT * FROM replaced_backlinks EXCEPT ALL SELECT * FROM redone));
DROP TABLE replaced_backlinks;
{% endif %}
