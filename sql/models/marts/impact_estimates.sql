-- Causal estimates of a social treatment's effect on rankings (SPEC sections 6 and 7): one row per
-- platform (and 'any'), outcome, treatment definition, control group, method and horizon. Rows are
-- computed by pipeline.impact.mart (Callaway & Sant'Anna group-time effects) from
-- mart.impact_cell_weekly_panel (position, per page x query cell), mart.impact_weekly_panel (clicks,
-- impressions, CTR, per page), mart.impact_link_weekly_panel (referring domains),
-- mart.impact_traffic_weekly_panel (sessions, engagement rate), core.first_social_links and
-- core.page_social_daily, then inserted here.
-- Created if missing: an incremental build keeps the base's rows when the estimator's inputs are unchanged.
{{ config(materialized='ddl') }}
CREATE TABLE IF NOT EXISTS {{ this }} (
    platform VARCHAR NOT NULL,           -- x, linkedin, ... or 'any' (first link from any platform)
    outcome VARCHAR NOT NULL,            -- position (lower is better), clicks, impressions (daily means), ctr,
                                         -- referring_domains, social_referral_sessions, organic_sessions (daily means),
                                         -- page_engagement_rate (% of the week's sessions engaged; percentage points)
    treatment VARCHAR NOT NULL,          -- first_link | engagement (first day past [impact] engagement_threshold)
    control_group VARCHAR NOT NULL,      -- never_treated | not_yet_treated
    method VARCHAR NOT NULL,             -- callaway_santanna_2021
    horizon VARCHAR NOT NULL,            -- weeks_0_3 | weeks_4_8 | weeks_0_8 (event weeks averaged)
    first_week INTEGER NOT NULL,         -- first event week averaged (0 = the week of the treatment day)
    last_week INTEGER NOT NULL,          -- last event week averaged
    anticipation_weeks INTEGER NOT NULL, -- weeks before the first link an effect may start ([impact] anticipation_weeks)
    estimate DOUBLE,                     -- average effect on the treated over the horizon
    std_error DOUBLE,                    -- clustered by page (influence function)
    ci_low DOUBLE,                       -- 95% interval (Student's t with treated pages - 1 degrees of freedom)
    ci_high DOUBLE,
    p_value DOUBLE,                      -- two-sided, H0: no effect
    p_value_adjusted DOUBLE,             -- Holm-adjusted across platforms (same outcome, treatment, controls, horizon)
    robust_ci_low DOUBLE,                -- Rambachan-Roth 95% interval, relative magnitudes M = 1 (headline design)
    robust_ci_high DOUBLE,
    finding VARCHAR,                     -- improves | worsens | inconclusive | not assessed | not estimated
    treated_units INTEGER NOT NULL,      -- treated pages behind the estimate
    treated_cells INTEGER,               -- treated page x query cells behind it (position; else = pages)
    control_units INTEGER NOT NULL,      -- never-linked pages in the comparison
    cohorts INTEGER NOT NULL,            -- treatment weeks behind the estimate
    pretrend_estimate DOUBLE,            -- mean of the pre-treatment event-time effects tested (0 if trends were parallel)
    pretrend_p_value DOUBLE,             -- joint Wald (Hotelling F) test of every estimated pre-treatment week
    pretrend_weeks INTEGER,              -- pre-treatment weeks in that test
    pretrend_passed BOOLEAN,             -- pretrend_p_value >= 0.05
    note VARCHAR                         -- why there is no estimate, or what to keep in mind
);
