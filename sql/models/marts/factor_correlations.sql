-- The classic ranking-factor study, on one site: per factor, Spearman's correlation across the owned
-- pages between the factor and position (mart.factor_page_values: each page on its queries' latest
-- days), with a 95% interval from resampling pages (a percentile bootstrap, 999 resamples, seeded; past
-- 2,000 pages Fisher's z with Bonett and Wright's standard error: pipeline.impact.correlations).
-- Position 1 is best, so a negative correlation means "more of the factor, better rank". Rows are
-- computed by pipeline.impact.correlations and inserted here. Correlation, not causation: pages that
-- already rank well get shared more; see mart.impact_estimates.
{{ config(materialized='ddl') }}
CREATE OR REPLACE TABLE {{ this }} (
    factor VARCHAR NOT NULL,             -- social_links_<platform>, social_engagement_<platform>, referring_domains_nonsocial
    factor_kind VARCHAR NOT NULL,        -- social_links | social_engagement | referring_domains
    platform VARCHAR,                    -- for the social factors; 'any' for all platforms
    spearman DOUBLE,                     -- across pages; NULL when the factor or position does not vary
    ci_low DOUBLE,                       -- 95% percentile interval from resampling pages (NULL when under
                                         -- 90% of resamples have a correlation)
    ci_high DOUBLE,
    interval_method VARCHAR,             -- 'page bootstrap' (up to 2,000 pages) or 'fisher z' (Bonett-Wright) beyond
    pages INTEGER NOT NULL,              -- pages correlated
    pages_with_factor INTEGER NOT NULL,  -- of which with a value above zero
    resamples INTEGER NOT NULL,
    as_of DATE NOT NULL
);
