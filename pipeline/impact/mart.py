"""``mart.impact_estimates`` and ``mart.impact_event_time``: the causal side of the mart (SPEC section 7).

For every outcome (position; clicks, impressions and CTR where a source reports them; referring domains;
social referral and organic sessions and the page's engagement rate where an analytics tool reports them),
every platform with treated pages and ``any``, both treatment definitions and both control groups, the
build estimates Callaway & Sant'Anna group-time effects (:mod:`pipeline.impact.estimator`) and writes

- the event study, event weeks -4..8, relative to week -1 - anticipation (a universal base period, so
  the curve reads "compared with the week before the link"), with pointwise intervals and a
  simultaneous band, into ``mart.impact_event_time``;
- averages over event weeks 0-3, 4-8 and 0-8, with page-clustered standard errors, a joint pre-trend
  test over every estimated pre-treatment week, Holm-adjusted p-values, Rambachan-Roth robust
  intervals (relative magnitudes, M = 1) for the headline design (first link, never-linked controls)
  and a ``finding``, into ``mart.impact_estimates``.

Position is estimated on page x query cells (``mart.impact_cell_weekly_panel``), each cell compared
with itself and clustered by page, so queries entering or leaving the top 100 as a page moves cannot
pull the estimate; clicks, impressions and CTR are page totals (``mart.impact_weekly_panel``), where
queries a page newly ranks for are part of the effect; non-social referring domains
(``mart.impact_link_weekly_panel``) ask whether a social link earns links from other sites; social
referral and organic sessions (``mart.impact_traffic_weekly_panel``, daily means from the site's analytics
tool) whether it brings visits, and whether organic search follows; the page's engagement rate (the same
panel: the percentage of the week's sessions that engaged, missing in a week without such sessions) whether
its visitors engage more once it is linked.

Who is compared with whom, per platform P:

- treated: pages whose treatment day (first link from P; or first day their engagement from P reached
  the threshold) falls inside the panel with a week before it. For one platform, only pages whose
  first social link of all came from P, which is known on the day of that link (no selection on what
  happens later): the estimate is the effect of a first social link arriving on P, together with
  whatever follows it (later links from other platforms included). A page first linked from another
  platform is left out of P's design. For ``any``, every linked page counts, from its first link.
- controls: pages never linked from any platform (``never_treated``); ``not_yet_treated`` adds the
  treated pages of later weeks until their own treatment week.
- pages linked from P without reaching the engagement threshold are neither treated nor controls for
  the engagement definition.

Everything is as of the end of the last complete week in the panel: a link or an engagement milestone
after it is not known yet (a page first linked later is a never-linked page of this panel, as
Callaway & Sant'Anna code units treated after the last period). So a night that completes no week
leaves the inputs, and the estimates, as they were.

A platform or definition with fewer than :data:`MIN_TREATED` treated pages gets a row with a note
instead of numbers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.config import ImpactSettings
from pipeline.project import var

if TYPE_CHECKING:
    import polars as pl

    from pipeline.impact.estimator import ControlGroup, StaggeredDid

log = logging.getLogger(__name__)

METHOD = "callaway_santanna_2021"
HEADLINE_TREATMENT, HEADLINE_CONTROL = "first_link", "never_treated"
# Lower is better for position; higher is better for the others.
LOWER_IS_BETTER = frozenset({"position"})
# Every outcome, in the order designs are estimated, with the unit of its estimates (a change in the outcome).
OUTCOME_UNITS = {
    "position": "positions (negative = higher in results)",
    "clicks": "clicks a day",
    "impressions": "impressions a day",
    "ctr": "clicks per impression",
    "referring_domains": "referring domains",
    "social_referral_sessions": "sessions a day",
    "organic_sessions": "sessions a day",
    "page_engagement_rate": "percentage points",
}
OUTCOME_ORDER = tuple(OUTCOME_UNITS)
ANY = "any"
TREATMENTS = ("first_link", "engagement")
CONTROL_GROUPS: dict[str, ControlGroup] = {"never_treated": "never", "not_yet_treated": "notyet"}
# The event study's weeks around the treatment week are first_event_week..last_event_week of
# sql/dbt_project.yml (SPEC: -28..+56 days), shared with mart.impact_trajectories and the suites.
HORIZONS = (("weeks_0_3", 0, 3), ("weeks_4_8", 4, 8), ("weeks_0_8", 0, 8))
MIN_TREATED = 5
ALPHA = 0.05
# A row's robust problem until it is handed to the solver (never written to the mart).
PENDING_ROBUST = "robust_problem"

# Candidate treated pages per platform and definition, and their treatment day.
TREATMENT_DAYS_SQL = """
WITH engagement AS (
    UNPIVOT (SELECT canonical_url, day, COLUMNS('^cum_engagement_') FROM core.page_social_daily)
    ON COLUMNS('^cum_engagement_')
    INTO NAME counter VALUE engagement
)
SELECT canonical_url, platform, 'first_link' AS treatment, first_day AS treatment_day
FROM window_first_links
UNION ALL
SELECT canonical_url, replace(counter, 'cum_engagement_', '') AS platform, 'engagement' AS treatment,
       min(day) AS treatment_day
FROM engagement
WHERE engagement >= $threshold AND day <= getvariable('impact_window_end')
GROUP BY ALL
ORDER BY platform, treatment, canonical_url
"""

# The last day of the last complete week: what the estimates are as of.
WINDOW_END_SQL = """
SET VARIABLE impact_window_end = (
    SELECT max(week) + 6 FROM mart.impact_weekly_panel WHERE week + 6 <= getvariable('as_of')
)
"""

# First links known by the window's end.
WINDOW_FIRST_LINKS_SQL = """
SELECT * FROM core.first_social_links WHERE first_day <= getvariable('impact_window_end')
"""

# The estimator's weeks: complete ones (a week still filling changes nightly), the last $window_weeks.
PANEL_WINDOW_SQL = """
    SELECT canonical_url, outcome, week, period, value FROM mart.impact_weekly_panel
    WHERE week + 6 <= getvariable('as_of')
      AND period > (
          SELECT max(period) FROM mart.impact_weekly_panel WHERE week + 6 <= getvariable('as_of')
      ) - $window_weeks
    UNION ALL
    SELECT canonical_url, outcome, week, period, value FROM mart.impact_link_weekly_panel
    UNION ALL
    SELECT canonical_url, outcome, week, period, value FROM mart.impact_traffic_weekly_panel
"""

# Everything the estimates are computed from, as an order-independent checksum: equal inputs (a night
# that did not complete a week) give equal estimates, so an incremental build keeps the previous ones.
INPUTS_SQL = f"""
SELECT (SELECT count(*) || ':' || coalesce(sum(hash(canonical_url, outcome, period, value)), 0)
        FROM ({PANEL_WINDOW_SQL}))
    || '/' || (SELECT count(*) || ':'
                      || coalesce(sum(hash(canonical_url, platform, treatment, treatment_day)), 0)
               FROM treatment_days)
    || '/' || (SELECT count(*) || ':' || coalesce(sum(hash(canonical_url, platform, first_day)), 0)
               FROM window_first_links)
    || '/' || (SELECT count(*) || ':' || coalesce(sum(hash(canonical_url, query, period, position)), 0)
               FROM mart.impact_cell_weekly_panel)
    || '/' || $window_weeks || '/' || $threshold || '/' || $anticipation
"""

# Pages treated by a platform (and definition) with their cohort, the period of their treatment week.
# For one platform, only pages whose first social link of all came from it (known on the link's day).
TREATED_SQL = """
SELECT t.canonical_url, week_period(week_start(t.treatment_day)) AS cohort
FROM treatment_days AS t
WHERE t.platform = $platform AND t.treatment = $treatment
  AND ($platform = 'any' OR NOT EXISTS (
      SELECT 1 FROM window_first_links AS o
      WHERE o.canonical_url = t.canonical_url AND o.platform NOT IN ($platform, 'any')
        AND o.first_day <= (SELECT f.first_day FROM window_first_links AS f
                            WHERE f.canonical_url = t.canonical_url AND f.platform = $platform)))
"""

# The estimation sample for a page-level outcome: treated pages with their cohort and never-linked pages
# with cohort 0, each with its weekly outcome.
PAGE_SAMPLE_SQL = f"""
WITH treated AS ({TREATED_SQL}),
panel AS ({PANEL_WINDOW_SQL}),
never_linked AS (
    SELECT DISTINCT canonical_url, 0 AS cohort
    FROM panel
    ANTI JOIN window_first_links USING (canonical_url)
),
units AS (
    SELECT * FROM treated
    UNION ALL
    SELECT * FROM never_linked
)
SELECT u.canonical_url AS unit, u.canonical_url AS page, p.period, p.value, u.cohort
FROM units AS u
JOIN panel AS p ON p.canonical_url = u.canonical_url AND p.outcome = $outcome
ORDER BY u.canonical_url, p.period
"""

# The estimation sample for position: the page x query cells of treated and never-linked pages.
CELL_SAMPLE_SQL = f"""
WITH treated AS ({TREATED_SQL}),
never_linked AS (
    SELECT DISTINCT canonical_url, 0 AS cohort
    FROM mart.impact_cell_weekly_panel
    ANTI JOIN window_first_links USING (canonical_url)
),
units AS (
    SELECT * FROM treated
    UNION ALL
    SELECT * FROM never_linked
)
SELECT c.canonical_url || chr(31) || c.query AS unit, u.canonical_url AS page, c.period,
       c.position AS value, u.cohort
FROM units AS u
JOIN mart.impact_cell_weekly_panel AS c ON c.canonical_url = u.canonical_url
ORDER BY unit, c.period
"""


@dataclass(frozen=True)
class Design:
    outcome: str
    platform: str
    treatment: str
    control_group: str

    @property
    def key(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "outcome": self.outcome,
            "treatment": self.treatment,
            "control_group": self.control_group,
            "method": METHOD,
        }


def write_estimates(con: duckdb.DuckDBPyConnection, settings: ImpactSettings) -> dict[str, int]:
    """Estimate every design the data allow and write the rows; return the two tables' row counts.

    When the inputs equal those of the estimates already in the file (an incremental build on a night
    that completed no week), those estimates are kept.
    """
    started = time.perf_counter()
    con.execute(WINDOW_END_SQL)
    con.execute(f"CREATE OR REPLACE TEMP TABLE window_first_links AS {WINDOW_FIRST_LINKS_SQL}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE treatment_days AS {TREATMENT_DAYS_SQL}",
        {"threshold": settings.engagement_threshold},
    )
    inputs = _inputs_checksum(con, settings)
    kept = con.execute("SELECT checksum FROM meta.impact_inputs").fetchone()
    if kept is not None and kept[0] == inputs:
        con.execute("DROP TABLE treatment_days; DROP TABLE window_first_links")
        log.info("impact: inputs unchanged since the base build; its estimates are kept")
        return {table: _count(con, table) for table in ("mart.impact_estimates", "mart.impact_event_time")}
    designs = _designs(con, settings)
    estimate_rows, event_rows = _estimate_designs(con, designs, settings)
    _adjust_and_conclude(estimate_rows)
    con.execute("DROP TABLE treatment_days; DROP TABLE window_first_links")
    con.execute("DELETE FROM mart.impact_estimates; DELETE FROM mart.impact_event_time")
    counts = {
        "mart.impact_estimates": _insert(con, "mart.impact_estimates", estimate_rows),
        "mart.impact_event_time": _insert(con, "mart.impact_event_time", event_rows),
    }
    con.execute("DELETE FROM meta.impact_inputs; INSERT INTO meta.impact_inputs VALUES (?)", [inputs])
    usable = sum(row["estimate"] is not None for row in estimate_rows)
    log.info(
        "impact: %d designs, %d estimates (%d with a number), %d event-week rows "
        "(%s, engagement threshold %d, anticipation %d weeks) in %.1fs",
        len(designs),
        len(estimate_rows),
        usable,
        len(event_rows),
        METHOD,
        settings.engagement_threshold,
        settings.anticipation_weeks,
        time.perf_counter() - started,
    )
    return counts


def _inputs_checksum(con: duckdb.DuckDBPyConnection, settings: ImpactSettings) -> str:
    row = con.execute(
        INPUTS_SQL,
        {
            "window_weeks": settings.window_weeks,
            "threshold": settings.engagement_threshold,
            "anticipation": settings.anticipation_weeks,
        },
    ).fetchone()
    return str(row[0]) if row else ""


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # one of this module's fixed names
    return int(row[0]) if row else 0


def _designs(con: duckdb.DuckDBPyConnection, settings: ImpactSettings) -> list[Design]:
    present = {
        row[0]
        for row in con.execute(
            f"SELECT outcome FROM ({PANEL_WINDOW_SQL}) GROUP BY outcome",
            {"window_weeks": settings.window_weeks},
        ).fetchall()
    }
    if not _count(con, "mart.impact_cell_weekly_panel"):
        present.discard("position")
    outcomes = [outcome for outcome in OUTCOME_ORDER if outcome in present]
    treated = con.execute(
        "SELECT DISTINCT platform, treatment FROM treatment_days "
        "ORDER BY platform = 'any' DESC, platform, array_position(['first_link', 'engagement'], treatment)"
    ).fetchall()
    return [
        Design(outcome, platform, treatment, control_group)
        for outcome in outcomes
        for platform, treatment in treated
        for control_group in CONTROL_GROUPS
    ]


def design_sample(con: duckdb.DuckDBPyConnection, design: Design, settings: ImpactSettings) -> pl.DataFrame:
    """The estimation sample of one design: ``unit``, ``page``, ``period``, ``value``, ``cohort`` (0: a
    never-linked page). Needs the build's temporary ``window_first_links`` and ``treatment_days``."""
    return con.execute(
        CELL_SAMPLE_SQL if design.outcome == "position" else PAGE_SAMPLE_SQL,
        {"platform": design.platform, "treatment": design.treatment}
        | (
            {}
            if design.outcome == "position"
            else {"outcome": design.outcome, "window_weeks": settings.window_weeks}
        ),
    ).pl()


def estimate_sample(sample: pl.DataFrame, design: Design, settings: ImpactSettings) -> StaggeredDid:
    """Callaway & Sant'Anna on a design's sample as the mart estimates it: units clustered by page, a
    universal base period, the project's event weeks (-4..8), the configured anticipation."""
    from pipeline.impact.estimator import estimate

    return estimate(
        sample,
        unit="unit",
        time_column="period",
        outcome="value",
        cohort="cohort",
        cluster="page",
        control=CONTROL_GROUPS[design.control_group],
        base_period="universal",
        anticipation=settings.anticipation_weeks,
        min_event=var("first_event_week"),
        max_event=var("last_event_week"),
    )


def _estimate_design(
    con: duckdb.DuckDBPyConnection, design: Design, settings: ImpactSettings
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # Imported here: polars, scipy and the estimation libraries are heavy, and DAG files import the pipeline.
    import polars as pl

    from pipeline.impact.estimator import PanelError

    sample = design_sample(con, design, settings)
    treated_pages = sample.filter(pl.col("cohort") != 0)["page"].n_unique()
    control_pages = sample.filter(pl.col("cohort") == 0)["page"].n_unique()
    anticipation = settings.anticipation_weeks
    if treated_pages < MIN_TREATED:
        note = f"too few treated pages ({treated_pages}; at least {MIN_TREATED} needed)"
        return _note_rows(design, note, treated_pages, control_pages, anticipation), []
    try:
        result = estimate_sample(sample, design, settings)
    except (PanelError, ValueError, ArithmeticError) as failure:
        log.warning("impact: no estimate for %s: %s", design, failure)
        note = f"not estimable: {failure}"
        return _note_rows(design, note, treated_pages, control_pages, anticipation), []
    if result.panel.treated_clusters < MIN_TREATED:
        note = (
            f"too few treated pages observed before and after their link ({result.panel.treated_clusters}; "
            f"at least {MIN_TREATED} needed)"
        )
        return _note_rows(design, note, result.panel.treated_clusters, control_pages, anticipation), []
    for message in result.warnings:
        log.debug("impact: %s: estimator: %s", design, message)
    rows = _horizon_rows(design, result, control_pages)
    if all(row["estimate"] is None for row in rows):
        # No comparison had any spread (an outcome every page has at one value, say no referring domains).
        note = "the outcome does not vary between pages or weeks: nothing to estimate"
        return _note_rows(design, note, treated_pages, control_pages, anticipation), []
    return rows, _event_rows(design, result)


def _estimate_designs(
    con: duckdb.DuckDBPyConnection, designs: list[Design], settings: ImpactSettings
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every design's estimate and event-week rows, in design order, robust intervals filled in. The
    intervals (most of the estimator's time) are handed to a :class:`RobustSolver` as each design is
    estimated, so its workers solve them while the next designs are estimated."""
    from pipeline.impact.estimator import RobustSolver

    headline = sum((d.treatment, d.control_group) == (HEADLINE_TREATMENT, HEADLINE_CONTROL) for d in designs)
    estimate_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []
    with RobustSolver(expected=headline * len(HORIZONS)) as robust:
        for design in designs:
            rows, events = _estimate_design(con, design, settings)
            for row in rows:
                problem = row.pop(PENDING_ROBUST, None)
                if problem is not None:
                    robust.submit(problem)
                    waiting.append(row)
            estimate_rows += rows
            event_rows += events
        for row, interval in zip(waiting, robust.results(), strict=True):
            row["robust_ci_low"], row["robust_ci_high"] = interval.low, interval.high
    return estimate_rows, event_rows


def _horizon_rows(design: Design, result: StaggeredDid, control_pages: int) -> list[dict[str, Any]]:
    from pipeline.impact.estimator import RobustInterval, RobustProblem

    pretrend = result.pretrend
    panel = result.panel
    left_out = panel.dropped_single_period + panel.dropped_treated_before_start
    unit_word = "cells" if design.outcome == "position" else "pages"
    caveats = [
        f"{panel.unit_periods_missing} of {panel.units * panel.periods} {unit_word[:-1]}-weeks unobserved "
        "(each comparison uses the units seen in both its weeks)"
        if panel.unit_periods_missing
        else "",
        f"{left_out} {unit_word} left out (seen in one week only, or linked before their first week)"
        if left_out
        else "",
    ]
    headline = (design.treatment, design.control_group) == (HEADLINE_TREATMENT, HEADLINE_CONTROL)
    rows: list[dict[str, Any]] = []
    for horizon, first_week, last_week in HORIZONS:
        effect, treated_pages, cohorts = result.window(first_week, last_week)
        assessed = headline and effect.estimate is not None
        robust = result.robust_problem(first_week, last_week) if assessed else None
        solved = robust if isinstance(robust, RobustInterval) else None
        rows.append(
            design.key
            | {
                "horizon": horizon,
                "first_week": first_week,
                "last_week": last_week,
                "anticipation_weeks": result.anticipation,
                "estimate": effect.estimate,
                "std_error": effect.std_error,
                "ci_low": effect.ci_low,
                "ci_high": effect.ci_high,
                "p_value": effect.p_value,
                "p_value_adjusted": None,
                "robust_ci_low": solved.low if solved else None,
                "robust_ci_high": solved.high if solved else None,
                PENDING_ROBUST: robust if isinstance(robust, RobustProblem) else None,
                "finding": None,
                "treated_units": treated_pages,
                "treated_cells": result.treated_units_in(first_week, last_week),
                "control_units": control_pages,
                "cohorts": cohorts,
                "pretrend_estimate": pretrend.mean_effect,
                "pretrend_p_value": pretrend.p_value,
                "pretrend_weeks": len(pretrend.event_times),
                "pretrend_passed": pretrend.passed,
                "note": "; ".join(c for c in caveats if c) or None
                if effect.estimate is not None
                else "no treated page observed this long",
            }
        )
    return rows


def _event_rows(design: Design, result: StaggeredDid) -> list[dict[str, Any]]:
    return [
        design.key
        | {
            "event_week": item.label,
            "estimate": item.effect.estimate,
            "std_error": item.effect.std_error,
            "ci_low": item.effect.ci_low,
            "ci_high": item.effect.ci_high,
            "band_low": item.band_low,
            "band_high": item.band_high,
            "anticipation_weeks": result.anticipation,
            "treated_units": item.treated_clusters,
            "is_reference": item.label == result.reference_event,
        }
        for item in result.dynamic
    ]


def _note_rows(
    design: Design, note: str, treated: int, controls: int, anticipation: int
) -> list[dict[str, Any]]:
    return [
        design.key
        | {
            "horizon": horizon,
            "first_week": first_week,
            "last_week": last_week,
            "anticipation_weeks": anticipation,
            "estimate": None,
            "std_error": None,
            "ci_low": None,
            "ci_high": None,
            "p_value": None,
            "p_value_adjusted": None,
            "robust_ci_low": None,
            "robust_ci_high": None,
            "finding": None,
            "treated_units": treated,
            "treated_cells": None,
            "control_units": controls,
            "cohorts": 0,
            "pretrend_estimate": None,
            "pretrend_p_value": None,
            "pretrend_weeks": None,
            "pretrend_passed": None,
            "note": note,
        }
        for horizon, first_week, last_week in HORIZONS
    ]


def _adjust_and_conclude(rows: list[dict[str, Any]]) -> None:
    """Holm-adjust the p-values of each family (one outcome, treatment, control group and horizon,
    across platforms) and set each row's ``finding`` (docs/impact.md, "Reading the answer")."""
    families: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if row["p_value"] is not None:
            key = (row["outcome"], row["treatment"], row["control_group"], row["horizon"])
            families.setdefault(key, []).append(row)
    for family in families.values():
        adjusted = holm([row["p_value"] for row in family])
        for row, value in zip(family, adjusted, strict=True):
            row["p_value_adjusted"] = float(value)
    for row in rows:
        row["finding"] = finding(row)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the k-th smallest times the number of
    hypotheses not yet rejected, kept monotone and at most 1. (statsmodels' ``multipletests`` gives the
    same numbers, and a test checks that, but its Holm branch forces a full garbage collection per call:
    0.1 s each with the estimation libraries loaded, five seconds a build.)"""
    import numpy as np

    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return [float(value) for value in adjusted]


def finding(row: dict[str, Any]) -> str:
    """What a row lets one say: an effect needs the Holm-adjusted p-value under 0.05 and the robust
    interval (which allows trends to diverge after the link as much as before it) to exclude zero."""
    if row["estimate"] is None:
        return "not estimated"
    if row["robust_ci_low"] is None or row["robust_ci_high"] is None:
        return "not assessed"
    robust_excludes_zero = row["robust_ci_low"] > 0 or row["robust_ci_high"] < 0
    if not robust_excludes_zero or row["p_value_adjusted"] is None or row["p_value_adjusted"] >= ALPHA:
        return "inconclusive"
    better = row["estimate"] < 0 if row["outcome"] in LOWER_IS_BETTER else row["estimate"] > 0
    return "improves" if better else "worsens"


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` by column name, in one statement; ``table`` is one of this module's fixed names."""
    import pyarrow as pa

    if rows:
        columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
        new_rows = pa.Table.from_pylist([{column: row[column] for column in columns} for row in rows])
        con.register("new_rows", new_rows)
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
        finally:
            con.unregister("new_rows")
    return len(rows)
