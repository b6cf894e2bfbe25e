"""First causal estimates for ``mart.impact_estimates`` (SPEC section 7).

Method (valid under staggered timing, no two-way fixed effects): a Callaway & Sant'Anna style
difference in differences with never-treated controls. A page's *cohort* is the day of its first
social link from the platform. For each treated page, the long difference is its mean outcome in an
event-time window after that day minus its mean in the 28 days before; for each never-treated page
(no social link from any platform), the same difference over the same calendar windows. The cohort's
effect is the treated mean minus the control mean; cohorts are averaged by size. Standard errors
come from the estimator's influence function with each page as its own cluster; the pre-trend test
applies the same estimator to a placebo event four to two weeks before the real one.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

METHOD = "did_never_treated_long_difference"
OUTCOMES = ("position", "clicks", "impressions")
PRE_WINDOW = (-28, -1)
PLACEBO_PRE, PLACEBO_POST = (-28, -15), (-14, -1)
# Fewer treated pages than this give no usable interval: report why instead of a number.
MIN_TREATED = 5
MIN_CONTROLS = 2
ANY = "any"
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    estimate: float | None
    std_error: float | None
    treated_units: int
    control_units: int

    @property
    def interval(self) -> tuple[float | None, float | None]:
        if self.estimate is None or self.std_error is None:
            return None, None
        return self.estimate - Z_95 * self.std_error, self.estimate + Z_95 * self.std_error

    @property
    def p_value(self) -> float | None:
        if self.estimate is None or not self.std_error:
            return None
        return math.erfc(abs(self.estimate / self.std_error) / math.sqrt(2))


class Panel:
    """Outcomes as a pages x days matrix (NaN where unobserved) with prefix sums for window means."""

    def __init__(self, units: list[str], start: dt.date, values: npt.NDArray[np.float64]) -> None:
        self.units = units
        self.index = {unit: i for i, unit in enumerate(units)}
        self.start = start
        observed = ~np.isnan(values)
        zeros = np.zeros((values.shape[0], 1))
        self.sums = np.hstack([zeros, np.cumsum(np.where(observed, values, 0.0), axis=1)])
        self.counts = np.hstack([zeros, np.cumsum(observed, axis=1)])
        self.days = values.shape[1]

    def window_means(self, rows: npt.NDArray[np.int64], first: int, last: int) -> npt.NDArray[np.float64]:
        """Mean outcome of ``rows`` over day offsets ``first..last``; NaN if none observed or out of range."""
        if first < 0 or last >= self.days or first > last:
            return np.full(len(rows), np.nan)
        total = self.sums[rows, last + 1] - self.sums[rows, first]
        count = self.counts[rows, last + 1] - self.counts[rows, first]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def long_difference_did(
    panel: Panel,
    cohorts: dict[str, int],
    controls: list[str],
    pre: tuple[int, int],
    post: tuple[int, int],
) -> Estimate:
    """Cohort-size-weighted ATT of (mean over ``post``) - (mean over ``pre``), event-time windows."""
    control_rows = np.array([panel.index[u] for u in controls], dtype=np.int64)
    by_cohort: dict[int, list[int]] = {}
    for unit, day in cohorts.items():
        by_cohort.setdefault(day, []).append(panel.index[unit])
    treated_diffs: list[tuple[int, npt.NDArray[np.float64]]] = []
    control_diffs: list[tuple[int, npt.NDArray[np.float64]]] = []
    for day, rows in sorted(by_cohort.items()):
        treated_rows = np.array(rows, dtype=np.int64)
        window = (day + pre[0], day + pre[1], day + post[0], day + post[1])
        treated = panel.window_means(treated_rows, window[2], window[3]) - panel.window_means(
            treated_rows, window[0], window[1]
        )
        control = panel.window_means(control_rows, window[2], window[3]) - panel.window_means(
            control_rows, window[0], window[1]
        )
        treated = treated[~np.isnan(treated)]
        if len(treated) == 0 or np.count_nonzero(~np.isnan(control)) < MIN_CONTROLS:
            continue
        treated_diffs.append((day, treated))
        control_diffs.append((day, control))
    n_treated = sum(len(diffs) for _, diffs in treated_diffs)
    if n_treated < MIN_TREATED:
        return Estimate(None, None, n_treated, len(controls))
    estimate = 0.0
    influence_treated: list[float] = []
    influence_control = np.zeros(len(control_rows))
    for (_, treated), (_, control) in zip(treated_diffs, control_diffs, strict=True):
        weight = len(treated) / n_treated
        valid = ~np.isnan(control)
        control_mean = float(control[valid].mean())
        estimate += weight * (float(treated.mean()) - control_mean)
        influence_treated.extend((treated - treated.mean()) / n_treated)
        influence_control[valid] -= weight * (control[valid] - control_mean) / valid.sum()
    variance = float(np.sum(np.square(influence_treated)) + np.sum(np.square(influence_control)))
    return Estimate(estimate, math.sqrt(variance), n_treated, len(control_rows))


HORIZONS: dict[str, tuple[int, int]] = {"days_0_27": (0, 27), "days_28_56": (28, 56), "days_0_56": (0, 56)}


def _load_panel(con: duckdb.DuckDBPyConnection, outcome: str) -> Panel | None:
    # ``outcome`` is one of the fixed OUTCOMES column names, never data.
    rows = con.execute(
        f"SELECT canonical_url, day, {outcome} FROM mart.impact_panel WHERE {outcome} IS NOT NULL"
    ).fetchall()
    if not rows:
        return None
    units = sorted({row[0] for row in rows})
    start = min(row[1] for row in rows)
    days = (max(row[1] for row in rows) - start).days + 1
    values = np.full((len(units), days), np.nan)
    index = {unit: i for i, unit in enumerate(units)}
    for unit, day, value in rows:
        values[index[unit], (day - start).days] = float(value)
    return Panel(units, start, values)


def _clean_cohorts(
    panel: Panel, firsts_by_page: dict[str, dict[str, dt.date]], platform: str, window_end: int
) -> dict[str, int]:
    """Treated pages for ``platform``: day of their first link from it, as an offset into the panel.

    For one platform, a page counts only if no other platform linked it before the end of the event
    window: otherwise the other platform's effect would be credited to this one.
    """
    cohorts = {}
    for url, days in firsts_by_page.items():
        if platform not in days or url not in panel.index:
            continue
        first = days[platform]
        others = [day for other, day in days.items() if other not in (platform, ANY)]
        if platform != ANY and any(day <= first + dt.timedelta(days=window_end) for day in others):
            continue
        cohorts[url] = (first - panel.start).days
    return cohorts


def estimate_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every (platform, outcome, horizon) estimate the data allows, with notes where it does not."""
    firsts_by_page: dict[str, dict[str, dt.date]] = {}
    for url, platform, first_day in con.execute(
        "SELECT canonical_url, platform, first_day FROM core.first_social_links"
    ).fetchall():
        firsts_by_page.setdefault(url, {})[platform] = first_day
    platforms = sorted({platform for days in firsts_by_page.values() for platform in days})
    rows: list[dict[str, Any]] = []
    for outcome in OUTCOMES:
        panel = _load_panel(con, outcome)
        if panel is None:
            continue
        controls = [unit for unit in panel.units if unit not in firsts_by_page]
        for platform in platforms:
            placebo = long_difference_did(
                panel,
                _clean_cohorts(panel, firsts_by_page, platform, PLACEBO_POST[1]),
                controls,
                PLACEBO_PRE,
                PLACEBO_POST,
            )
            for horizon, post in HORIZONS.items():
                cohorts = _clean_cohorts(panel, firsts_by_page, platform, post[1])
                result = long_difference_did(panel, cohorts, controls, PRE_WINDOW, post)
                low, high = result.interval
                note = None
                if result.estimate is None:
                    note = (
                        f"too few units with data around their first link "
                        f"({result.treated_units} treated, {result.control_units} never-treated)"
                    )
                rows.append(
                    {
                        "platform": platform,
                        "outcome": outcome,
                        "method": METHOD,
                        "horizon": horizon,
                        "estimate": result.estimate,
                        "std_error": result.std_error,
                        "ci_low": low,
                        "ci_high": high,
                        "p_value": result.p_value,
                        "treated_units": result.treated_units,
                        "control_units": result.control_units,
                        "pretrend_estimate": placebo.estimate,
                        "pretrend_p_value": placebo.p_value,
                        "pretrend_passed": None if placebo.p_value is None else placebo.p_value >= 0.05,
                        "note": note,
                    }
                )
    return rows


def write_estimates(con: duckdb.DuckDBPyConnection) -> None:
    rows = estimate_rows(con)
    columns = [row[0] for row in con.execute("DESCRIBE mart.impact_estimates").fetchall()]
    if rows:
        con.executemany(
            f"INSERT INTO mart.impact_estimates VALUES ({', '.join('?' for _ in columns)})",
            [[row[column] for column in columns] for row in rows],
        )
    log.info("impact: %d estimates (%s)", len(rows), METHOD)
