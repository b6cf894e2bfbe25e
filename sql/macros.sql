-- Build-time helpers. Run variables are set by the build with bound parameters:
--   as_of (DATE): last day the warehouse covers; site_timezone (VARCHAR); owned_sites (VARCHAR[]).
CREATE OR REPLACE TEMP MACRO url_host(u) AS regexp_extract(u, '^https?://\[?([^/:?#\]]+)', 1);

CREATE OR REPLACE TEMP MACRO is_owned(u) AS
    len(list_filter(getvariable('owned_sites'), s -> url_host(u) = s OR ends_with(url_host(u), '.' || s))) > 0;

CREATE OR REPLACE TEMP MACRO site_day(ts) AS CAST(timezone(getvariable('site_timezone'), ts) AS DATE);
