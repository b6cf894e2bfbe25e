-- Incremental builds: the owned pages whose referring-domain counts (core.page_referring_domains_daily) are
-- redone, from the first day a domain's first link moved (meta.changed_domain_days) on. Empty in a full build.
-- Dropped at the end of the build.
-- depends_on: {{ ref('changed_domain_days') }}
{% if var('incremental_build', false) %}
SELECT canonical_url, min(least(old_day, new_day)) AS from_day
FROM {{ ref('changed_domain_days') }}
GROUP BY canonical_url
{% else %}
SELECT NULL::VARCHAR AS canonical_url, NULL::DATE AS from_day WHERE FALSE
{% endif %}
