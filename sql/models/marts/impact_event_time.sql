-- The event study behind mart.impact_estimates: per platform, outcome, treatment definition and
-- control group, the effect in each week from four weeks before the treatment week to eight weeks
-- after it, relative to the week just before it (event week -1, 0 by construction; with anticipation
-- of k weeks, week -1 - k). Rows are computed
-- by pipeline.impact.mart and inserted here.
-- Created if missing: an incremental build keeps the base's rows when the estimator's inputs are unchanged.
{{ config(materialized='ddl') }}
CREATE TABLE IF NOT EXISTS {{ this }} (
    platform VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    treatment VARCHAR NOT NULL,
    control_group VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    event_week INTEGER NOT NULL,         -- weeks since the treatment week (0 = the Monday-Sunday week of the link)
    estimate DOUBLE,                     -- average effect on the pages treated event_week weeks earlier
    std_error DOUBLE,
    ci_low DOUBLE,                       -- pointwise 95% interval
    ci_high DOUBLE,
    band_low DOUBLE,                     -- simultaneous 95% band over the event weeks (sup-t)
    band_high DOUBLE,
    anticipation_weeks INTEGER NOT NULL, -- the reference week is -1 - anticipation_weeks
    treated_units INTEGER NOT NULL,      -- treated pages observed at this event week
    is_reference BOOLEAN NOT NULL        -- the base week every other week is compared with
);
