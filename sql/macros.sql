-- Build-time helpers. Run variables are set by the build with bound parameters:
--   as_of (DATE): last day the warehouse covers; site_timezone (VARCHAR); owned_sites (VARCHAR[]).
CREATE OR REPLACE TEMP MACRO url_host(u) AS regexp_extract(u, '^https?://\[?([^/:?#\]]+)', 1);

-- A URL is owned when its host is an owned site or a subdomain of one. One regular expression for all
-- sites (host, then a delimiter or the end): a per-site lambda over every URL was the build's hot spot.
SET VARIABLE owned_url_pattern = (
    SELECT '^https?://\[?([^/:?#\]]*\.)?(' || string_agg(regexp_escape(site), '|') || ')([/:?#\]]|$)'
    FROM unnest(getvariable('owned_sites')::VARCHAR[]) AS sites(site)
);
CREATE OR REPLACE TEMP MACRO is_owned(u) AS coalesce(regexp_matches(u, getvariable('owned_url_pattern')), FALSE);

CREATE OR REPLACE TEMP MACRO site_day(ts) AS CAST(timezone(getvariable('site_timezone'), ts) AS DATE);
