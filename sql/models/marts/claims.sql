-- The scorecard: one row per claim of the belief that social links help SEO, per platform with social links and
-- 'any', with the evidence and a verdict. The verdict rule lives here and nowhere else (docs/impact.md, "The
-- claims scorecard"):
--   inconclusive  when there is no estimate or interval (the reason says which data is missing and how to add
--                 it), or, for a difference in differences, when the pre-trend test failed or could not run;
--   supported     when the interval excludes zero in the direction the claim predicts;
--   not supported when the interval excludes zero the other way, or lies within the outcome's negligible band;
--   inconclusive  otherwise (the interval holds zero and effects that would matter).
-- The difference-in-differences claims read mart.impact_estimates' headline design (first link, never-linked
-- controls) over event weeks 0-8 and its Rambachan-Roth robust interval; the engagement claim reads
-- mart.engagement_comparison (sessions compared, a page-clustered interval).
-- A view: it reads the estimate tables the build fills after the models run.
{{ config(materialized='view') }}
WITH definitions (claim_order, claim, outcome, direction, band, band_text, unit, unit_short, subject_any, subject_one,
                  predicate, predicate_past, predicate_not, missing) AS (
    VALUES
    (1, 'referral_traffic', 'social_referral_sessions', 1, 0.1, '0.1 sessions a day', 'sessions a day', 'sessions a day',
     'Social links', 'Links from ', 'bring referral traffic', 'brought referral traffic',
     'did not bring referral traffic',
     'no web-analytics sessions for the owned pages in the window: deliver a GA4, Plausible or Matomo export '
     || 'under landing/traffic/ (or configure [ga4] for fetch-ga4)'),
    (2, 'engagement', 'engagement_rate', 1, 2.0, '2 percentage points', 'percentage points', 'percentage points',
     'Visitors from social platforms', 'Visitors from ', 'engage more than other visitors',
     'engaged more than other visitors', 'did not engage more than other visitors',
     'no web-analytics sessions with engaged sessions for the owned pages in the window: deliver a GA4 export '
     || '(Data API, download or BigQuery export) under landing/traffic/'),
    (3, 'natural_backlinks', 'referring_domains', 1, 0.25, '0.25 referring domains', 'referring domains', 'referring domains',
     'Social links', 'Links from ', 'earn links from other sites', 'earned links from other sites',
     'did not earn links from other sites',
     'no backlink data in the window: deliver a backlink export (Ahrefs, Majestic, Semrush, Moz) under '
     || 'landing/backlinks/'),
    (4, 'rankings', 'position', -1, 1.0, '1 position', 'positions (negative = higher in results)', 'positions',
     'Social links', 'Links from ', 'improve rankings', 'improved rankings', 'did not improve rankings',
     'no rankings in the window: deliver rank-tracker or Search Console exports under landing/rankings/'),
    (5, 'organic_traffic', 'organic_sessions', 1, 0.25, '0.25 sessions a day', 'sessions a day', 'sessions a day',
     'Social links', 'Links from ', 'bring organic search traffic', 'brought organic search traffic',
     'did not bring organic search traffic',
     'no web-analytics sessions for the owned pages in the window: deliver a GA4, Plausible or Matomo export '
     || 'under landing/traffic/ (or configure [ga4] for fetch-ga4)')
),
platforms AS (
    SELECT 'any' AS platform
    UNION
    SELECT DISTINCT platform FROM {{ ref('first_social_links') }}
),
did AS (
    SELECT platform, outcome, 'callaway_santanna_2021' AS method, estimate, robust_ci_low AS interval_low,
           robust_ci_high AS interval_high, 'robust 95% (Rambachan-Roth, M = 1)' AS interval_kind,
           'robust 95%' AS interval_short,
           treated_units AS pages, pretrend_passed, pretrend_p_value, note
    FROM {{ ref('impact_estimates') }}
    WHERE treatment = 'first_link' AND control_group = 'never_treated' AND horizon = 'weeks_0_8'
      AND method = 'callaway_santanna_2021'
),
sessions AS (
    SELECT platform, 'engagement_rate' AS outcome, method, estimate, ci_low AS interval_low,
           ci_high AS interval_high, 'page-clustered 95%' AS interval_kind,
           'page-clustered 95%' AS interval_short, pages,
           true AS pretrend_passed, NULL::DOUBLE AS pretrend_p_value, note
    FROM {{ ref('engagement_comparison') }}
),
evidence AS (
    SELECT * FROM did
    UNION ALL
    SELECT * FROM sessions
),
outcomes_present AS (
    SELECT DISTINCT outcome FROM evidence
),
joined AS (
    SELECT d.*, p.platform,
           CASE WHEN p.platform = 'any' THEN d.subject_any ELSE d.subject_one || p.platform END AS subject,
           e.method, e.estimate, e.interval_low, e.interval_high, e.interval_kind, e.interval_short,
           coalesce(e.pages, 0) AS pages, e.pretrend_passed, e.pretrend_p_value, e.note,
           e.outcome IS NOT NULL AS has_row,
           d.outcome IN (SELECT outcome FROM outcomes_present) AS has_outcome
    FROM definitions AS d
    CROSS JOIN platforms AS p
    LEFT JOIN evidence AS e ON e.outcome = d.outcome AND e.platform = p.platform
),
judged AS (
    SELECT *,
           CASE
               WHEN NOT has_outcome THEN 'inconclusive'
               WHEN NOT has_row OR estimate IS NULL OR interval_low IS NULL OR interval_high IS NULL
                   THEN 'inconclusive'
               WHEN pretrend_passed IS NOT TRUE THEN 'inconclusive'
               WHEN (direction > 0 AND interval_low > 0) OR (direction < 0 AND interval_high < 0) THEN 'supported'
               WHEN (direction > 0 AND interval_high < 0) OR (direction < 0 AND interval_low > 0)
                   THEN 'not supported'
               WHEN interval_low >= -band AND interval_high <= band THEN 'not supported'
               ELSE 'inconclusive'
           END AS verdict,
           CASE
               WHEN NOT has_outcome THEN missing
               WHEN NOT has_row THEN
                   CASE WHEN outcome = 'engagement_rate'
                        THEN 'no page had sessions from ' || platform || ' and other sessions in the window'
                        ELSE 'no page had its first social link from ' || platform || ' within the window'
                   END
               WHEN estimate IS NULL THEN coalesce(note, 'no estimate') || ': more linked pages are needed'
               WHEN interval_low IS NULL OR interval_high IS NULL
                   THEN 'no robust interval could be computed for this estimate'
               WHEN pretrend_passed IS NULL THEN 'the pre-trend test could not run (too few pre-link weeks)'
               WHEN NOT pretrend_passed
                   THEN 'the pre-trend test failed (p = ' || printf('%.3f', pretrend_p_value)
                        || '): linked pages were already moving apart before the link'
               WHEN (direction > 0 AND interval_low > 0) OR (direction < 0 AND interval_high < 0)
                   THEN 'the interval excludes zero in the direction the claim predicts'
               WHEN (direction > 0 AND interval_high < 0) OR (direction < 0 AND interval_low > 0)
                   THEN 'the interval excludes zero in the opposite direction'
               WHEN interval_low >= -band AND interval_high <= band
                   THEN 'the interval lies within the negligible band (' || band_text || ' either way)'
               ELSE 'the interval holds zero and effects beyond the negligible band (' || band_text || ' either way)'
           END AS reason
    FROM joined
)
SELECT claim_order::INTEGER AS claim_order,
       claim,
       platform,
       subject || ' ' || predicate AS statement,
       outcome,
       method,
       estimate,
       interval_low,
       interval_high,
       interval_kind,
       unit,
       pages::INTEGER AS pages,
       verdict,
       reason,
       CASE
           WHEN estimate IS NULL OR interval_low IS NULL OR interval_high IS NULL
               THEN 'Unclear whether ' || lower(subject[1]) || subject[2:] || ' ' || predicate || ': ' || reason || '.'
           ELSE CASE verdict
                    WHEN 'supported' THEN subject || ' ' || predicate_past
                    WHEN 'not supported' THEN subject || ' ' || predicate_not
                    ELSE 'Unclear whether ' || lower(subject[1]) || subject[2:] || ' ' || predicate
                END
                || ': ' || printf('%+.1f', estimate) || ' ' || unit_short || ' (' || interval_short || ': '
                || printf('%+.1f', interval_low) || ' to ' || printf('%+.1f', interval_high) || ', '
                || pages || CASE WHEN pages = 1 THEN ' page' ELSE ' pages' END || ')'
                || CASE WHEN verdict = 'inconclusive' THEN '; ' || reason ELSE '' END || '.'
       END AS sentence
FROM judged
ORDER BY claim_order, platform = 'any' DESC, platform
