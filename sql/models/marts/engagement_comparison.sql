-- The engagement claim, as a comparison of sessions (not a difference in differences: who engages is a property
-- of visits, not a change after a link): per platform (and 'any'), the engagement rate (engaged sessions /
-- sessions) of the sessions from the platform minus that of the non-social sessions on the same pages, over the
-- estimator's window (mart.engagement_page_sessions), in percentage points, with a page-clustered 95% interval.
-- Rows are computed by pipeline.impact.engagement and inserted here.
{{ config(materialized='ddl') }}
CREATE TABLE IF NOT EXISTS {{ this }} (
    platform VARCHAR NOT NULL,           -- x, linkedin, ... or 'any' (every social channel)
    method VARCHAR NOT NULL,             -- session_comparison
    estimate DOUBLE,                     -- social minus non-social engagement rate, percentage points; NULL: too few pages
    std_error DOUBLE,                    -- cluster-robust by page (ratio estimators, linearised)
    ci_low DOUBLE,                       -- 95% interval (Student's t with pages - 1 degrees of freedom)
    ci_high DOUBLE,
    social_rate DOUBLE,                  -- engagement rate of the platform's sessions (0..1)
    other_rate DOUBLE,                   -- engagement rate of the same pages' non-social sessions (0..1)
    pages INTEGER NOT NULL,              -- pages compared (sessions on both sides)
    social_sessions BIGINT NOT NULL,
    other_sessions BIGINT NOT NULL,
    note VARCHAR                         -- why there is no estimate
);
