{#- The DuckDB macros every model calls, run by the on-run-start hook of dbt_project.yml before any model:
    the build's helpers, and the two stored in the staging schema that analysts' queries use too.
    DuckDB SQL, not Jinja: each is one CREATE MACRO statement. -#}
{% macro duckdb_macros(temporary=true) %}
-- Build-time helpers (stored for the build, so that every cursor sees them, and dropped at its end; temporary
-- where a test or benchmark defines them). They read the run's parameters as DuckDB variables
-- (sql/macros/run_parameters.sql): as_of (DATE): last day the warehouse covers; site_timezone (VARCHAR);
-- owned_url_pattern (VARCHAR): the owned-site rule, computed once in Python (pipeline/hosts.py,
-- owned_url_pattern) from the configured sites; in an incremental build, base_as_of (DATE): the base build's
-- as_of, and new_deliveries (VARCHAR[]): the ids of deliveries the base build had not seen (meta.build_deliveries;
-- a model that reads it names that model in a depends_on).
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO url_host(u) AS regexp_extract(u, '^https?://\[?([^/:?#\]]+)', 1);

-- A canonical URL is owned when its host is an owned site or a subdomain of one: one regular expression for
-- all sites (a per-site lambda over every URL was the build's hot spot), the same Python and the crawler match.
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO is_owned(u) AS coalesce(regexp_matches(u, getvariable('owned_url_pattern')), FALSE);

CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO site_day(ts) AS CAST(timezone(getvariable('site_timezone'), ts) AS DATE);

-- The instant the site's day d begins: a filter on a timestamp column against it is one constant comparison,
-- which lets DuckDB skip row groups by their statistics (site_day() of every row cannot).
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO site_day_start(d) AS timezone(getvariable('site_timezone'), d::TIMESTAMP);

-- "The value of the latest report" as one sortable key, the report's day first and ties broken by the value:
-- the latest value is then the key's max(), which needs no order among rows and merges as a max does.
-- A day as days since 0001-01-01 (always positive) times the number of value codes, plus the value's code.
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO report_key(d, code, codes) AS (d - DATE '0001-01-01')::BIGINT * codes + code;
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO report_day(key, codes) AS DATE '0001-01-01' + (key // codes)::INTEGER;
-- A flag's code (unknown below false below true) and back.
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO flag_code(b) AS CASE WHEN b THEN 2 WHEN NOT b THEN 1 ELSE 0 END;
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO code_flag(c) AS CASE c WHEN 2 THEN TRUE WHEN 1 THEN FALSE END;
-- A link's three rel flags as one code (of 27) and back.
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO rel_code(nofollow, ugc, sponsored) AS
    flag_code(nofollow) * 9 + flag_code(ugc) * 3 + flag_code(sponsored);
-- A text value of a report: ties broken by the text's hash (a key of fixed size, cheap to aggregate). The
-- warehouse's fingerprint includes the DuckDB release, whose hash() this is.
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO text_report_key(d, value) AS
    report_key(d, (hash(value) % 4294967296)::BIGINT, 4294967296);

-- A traffic channel (core.traffic_daily) that is a social platform's, or social without a known platform: every
-- channel but the non-social ones of var('channels') in sql/dbt_project.yml (tests/test_project_vars.py checks).
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO is_social_channel(c) AS
    c NOT IN ('organic', 'paid', 'email', 'direct', 'referral', 'other', 'all_sources');

-- Weeks run Monday to Sunday in the site's days and are named by their Monday. A week's period numbers it: weeks
-- since Monday 1970-01-05, so consecutive weeks have consecutive periods (the estimator's time axis, and a page's
-- cohort is the period of its treatment week).
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO week_start(d) AS date_trunc('week', d)::DATE;
CREATE OR REPLACE {{ 'TEMP ' if temporary }}MACRO week_period(monday) AS (date_diff('day', DATE '1970-01-05', monday) // 7)::INTEGER;

CREATE SCHEMA IF NOT EXISTS staging;

-- The delivery a lake file holds, from its name: <delivery id>[-<4-digit chunk>].parquet (pipeline/ingest.py
-- names them), the same value as inside it. The staging views of delivered records take delivery_id from it,
-- so a filter on a constant list of ids skips other deliveries' files unopened. Stored in the warehouse (not a
-- build-time macro): analysts' queries of those views use it too.
CREATE OR REPLACE MACRO staging.lake_file_delivery_id(path) AS
    regexp_replace(parse_filename(path, true), '-[0-9]{4}$', '');

-- A lake file's path below lake/ (<dataset>/<partition>/<file>), the same wherever the data root is: how a
-- build records the crawler files it read (meta.build_crawl_files) and how staging views select them.
CREATE OR REPLACE MACRO staging.lake_file_key(path) AS
    regexp_extract(path, '(^|.*/)lake/(.*)$', 2);
{% endmacro %}
