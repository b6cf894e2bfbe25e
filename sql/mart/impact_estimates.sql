-- Causal estimates of a first social link's effect on rankings, one row per platform (and 'any'),
-- outcome, method and horizon. Rows are computed by pipeline.impact from mart.impact_panel and
-- core.first_social_links, then inserted here.
CREATE OR REPLACE TABLE mart.impact_estimates (
    platform VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    horizon VARCHAR NOT NULL,
    estimate DOUBLE,
    std_error DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    p_value DOUBLE,
    treated_units INTEGER NOT NULL,
    control_units INTEGER NOT NULL,
    pretrend_estimate DOUBLE,
    pretrend_p_value DOUBLE,
    pretrend_passed BOOLEAN,
    note VARCHAR
);
