"""``mart.impact_estimates`` and ``mart.impact_event_time``: the causal side of the mart (SPEC section 7).

For every outcome the weekly panel holds (position; clicks and impressions where a source reports them),
every platform with treated pages and ``any``, both treatment definitions and both control groups, the
build estimates Callaway & Sant'Anna group-time effects (:mod:`pipeline.impact.estimator`) on the
weekly page panel (``mart.impact_weekly_panel``) and writes

- the event study, event weeks -4..8, relative to week -1 (a universal base period, so the curve reads
  "compared with the week before the link"), into ``mart.impact_event_time``;
- averages over event weeks 0-3, 4-8 and 0-8, with page-clustered standard errors and a joint Wald
  pre-trend test over weeks -4..-2, into ``mart.impact_estimates``.

Who is compared with whom, per platform P:

- treated: pages whose treatment day (first link from P; or first day their engagement from P reached
  the threshold) falls inside the panel with a week before it. For one platform, a page also linked
  from another platform before the end of its event window (treatment day + 62 days) is left out:
  that other platform's effect would be credited to P. For ``any``, every linked page counts, from its
  first link on any platform.
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

if TYPE_CHECKING:
    from pipeline.impact.estimator import ControlGroup, StaggeredDid

log = logging.getLogger(__name__)

METHOD = "callaway_santanna_2021"
ANY = "any"
TREATMENTS = ("first_link", "engagement")
CONTROL_GROUPS: dict[str, ControlGroup] = {"never_treated": "never", "not_yet_treated": "notyet"}
# Event study from four weeks before to eight weeks after the treatment week (SPEC: -28..+56 days).
FIRST_EVENT_WEEK, LAST_EVENT_WEEK = -4, 8
REFERENCE_WEEK = -1
HORIZONS = (("weeks_0_3", 0, 3), ("weeks_4_8", 4, 8), ("weeks_0_8", 0, 8))
# A page linked from another platform before the end of its event window is not a clean case.
WINDOW_DAYS = 7 * LAST_EVENT_WEEK + 6
MIN_TREATED = 5

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
    SELECT * FROM mart.impact_weekly_panel
    WHERE week + 6 <= getvariable('as_of')
      AND period > (
          SELECT max(period) FROM mart.impact_weekly_panel WHERE week + 6 <= getvariable('as_of')
      ) - $window_weeks
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
    || '/' || $window_weeks || '/' || $threshold
"""

# The estimation sample for one outcome, platform and definition: treated pages with their cohort (the
# period of their treatment week) and never-linked pages with cohort 0, each with its weekly outcome.
SAMPLE_SQL = f"""
WITH treated AS (
    SELECT t.canonical_url,
           (date_diff('day', DATE '1970-01-05', date_trunc('week', t.treatment_day)::DATE) // 7)::INTEGER
               AS cohort
    FROM treatment_days AS t
    WHERE t.platform = $platform AND t.treatment = $treatment
      AND ($platform = 'any' OR NOT EXISTS (
          SELECT 1 FROM window_first_links AS o
          WHERE o.canonical_url = t.canonical_url AND o.platform NOT IN ($platform, 'any')
            AND o.first_day <= t.treatment_day + $window_days))
),
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
SELECT u.canonical_url, p.period, p.value, u.cohort
FROM units AS u
JOIN panel AS p ON p.canonical_url = u.canonical_url AND p.outcome = $outcome
ORDER BY u.canonical_url, p.period
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
    estimate_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for design in designs:
        rows, events = _estimate_design(con, design, settings)
        estimate_rows += rows
        event_rows += events
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
        "(%s, engagement threshold %d) in %.1fs",
        len(designs),
        len(estimate_rows),
        usable,
        len(event_rows),
        METHOD,
        settings.engagement_threshold,
        time.perf_counter() - started,
    )
    return counts


def _inputs_checksum(con: duckdb.DuckDBPyConnection, settings: ImpactSettings) -> str:
    row = con.execute(
        INPUTS_SQL, {"window_weeks": settings.window_weeks, "threshold": settings.engagement_threshold}
    ).fetchone()
    return str(row[0]) if row else ""


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # one of this module's fixed names
    return int(row[0]) if row else 0


def _designs(con: duckdb.DuckDBPyConnection, settings: ImpactSettings) -> list[Design]:
    outcomes = [
        row[0]
        for row in con.execute(
            f"SELECT outcome FROM ({PANEL_WINDOW_SQL}) GROUP BY outcome "
            "ORDER BY array_position(['position', 'clicks', 'impressions'], outcome)",
            {"window_weeks": settings.window_weeks},
        ).fetchall()
    ]
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


def _estimate_design(
    con: duckdb.DuckDBPyConnection, design: Design, settings: ImpactSettings
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # Imported here: polars, scipy and the estimation library are heavy, and DAG files import the pipeline.
    import polars as pl

    from pipeline.impact.estimator import PanelError, estimate

    sample = con.execute(
        SAMPLE_SQL,
        {
            "platform": design.platform,
            "treatment": design.treatment,
            "outcome": design.outcome,
            "window_days": WINDOW_DAYS,
            "window_weeks": settings.window_weeks,
        },
    ).pl()
    treated_pages = sample.filter(pl.col("cohort") != 0)["canonical_url"].n_unique()
    control_pages = sample.filter(pl.col("cohort") == 0)["canonical_url"].n_unique()
    if treated_pages < MIN_TREATED:
        note = f"too few treated pages ({treated_pages}; at least {MIN_TREATED} needed)"
        return _note_rows(design, note, treated_pages, control_pages), []
    try:
        result = estimate(
            sample,
            unit="canonical_url",
            time_column="period",
            outcome="value",
            cohort="cohort",
            control=CONTROL_GROUPS[design.control_group],
            base_period="universal",
            min_event=FIRST_EVENT_WEEK,
            max_event=LAST_EVENT_WEEK,
        )
    except (PanelError, ValueError, ArithmeticError) as failure:
        log.warning("impact: no estimate for %s: %s", design, failure)
        return _note_rows(design, f"not estimable: {failure}", treated_pages, control_pages), []
    if result.panel.treated_units < MIN_TREATED:
        note = (
            f"too few treated pages observed every week ({result.panel.treated_units}; "
            f"at least {MIN_TREATED} needed)"
        )
        return _note_rows(design, note, result.panel.treated_units, result.panel.never_treated_units), []
    for message in result.warnings:
        log.debug("impact: %s: moderndid: %s", design, message)
    return _horizon_rows(design, result), _event_rows(design, result)


def _horizon_rows(design: Design, result: StaggeredDid) -> list[dict[str, Any]]:
    pretrend = result.pretrend
    dropped = result.panel.dropped_unbalanced + result.panel.dropped_treated_before_start
    caveat = (
        f"{dropped} page(s) left out: not observed every week or treated in the first week"
        if dropped
        else None
    )
    rows: list[dict[str, Any]] = []
    for horizon, first_week, last_week in HORIZONS:
        effect, treated_units, cohorts = result.window(first_week, last_week)
        rows.append(
            design.key
            | {
                "horizon": horizon,
                "first_week": first_week,
                "last_week": last_week,
                "estimate": effect.estimate,
                "std_error": effect.std_error,
                "ci_low": effect.ci_low,
                "ci_high": effect.ci_high,
                "p_value": effect.p_value,
                "treated_units": treated_units,
                "control_units": result.panel.never_treated_units,
                "cohorts": cohorts,
                "pretrend_estimate": pretrend.mean_effect,
                "pretrend_p_value": pretrend.p_value,
                "pretrend_passed": pretrend.passed,
                "note": caveat if effect.estimate is not None else "no treated page observed this long",
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
            "treated_units": item.treated_units,
            "is_reference": item.label == REFERENCE_WEEK,
        }
        for item in result.dynamic
    ]


def _note_rows(design: Design, note: str, treated: int, controls: int) -> list[dict[str, Any]]:
    return [
        design.key
        | {
            "horizon": horizon,
            "first_week": first_week,
            "last_week": last_week,
            "estimate": None,
            "std_error": None,
            "ci_low": None,
            "ci_high": None,
            "p_value": None,
            "treated_units": treated,
            "control_units": controls,
            "cohorts": 0,
            "pretrend_estimate": None,
            "pretrend_p_value": None,
            "pretrend_passed": None,
            "note": note,
        }
        for horizon, first_week, last_week in HORIZONS
    ]


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
