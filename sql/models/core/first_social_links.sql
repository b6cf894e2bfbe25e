-- The treatment: the first day an owned page was linked from each platform, and from any platform.
-- Incremental: only the owned pages linked, before or now, by a redone post are redone (changed_link_pages).
-- The replaced rows are kept aside (a temporary table): meta.changed_pages compares them with the new ones.
-- depends_on: {{ ref('changed_posts') }}
{% if is_incremental() %}
CREATE OR REPLACE TEMP TABLE changed_link_pages AS
SELECT canonical_url FROM {{ ref('social_links') }} SEMI JOIN {{ ref('changed_posts') }} USING (platform, post_id) WHERE is_owned
UNION
SELECT canonical_url FROM replaced_social_links WHERE is_owned;
CREATE OR REPLACE TEMP TABLE replaced_first_social_links AS
SELECT * FROM {{ this }} WHERE canonical_url IN (SELECT canonical_url FROM changed_link_pages);
DELETE FROM {{ this }} WHERE canonical_url IN (SELECT canonical_url FROM changed_link_pages);
INSERT INTO {{ this }} BY NAME
{% else %}
CREATE OR REPLACE TABLE {{ this }} AS
{% endif %}
WITH owned_links AS (
    SELECT * FROM {{ ref('social_links') }}
    WHERE is_owned
    {% if is_incremental() %}AND canonical_url IN (SELECT canonical_url FROM changed_link_pages){% endif %}
)
SELECT canonical_url, platform, min(post_day) AS first_day, count(DISTINCT post_id) AS posts
FROM owned_links
GROUP BY canonical_url, platform
UNION ALL
SELECT canonical_url, 'any' AS platform, min(post_day) AS first_day, count(DISTINCT (platform, post_id)) AS posts
FROM owned_links
GROUP BY canonical_url;
