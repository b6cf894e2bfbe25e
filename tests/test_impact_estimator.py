"""The estimator on its own: the published reference numbers, the small-sample correction, the event
study on a universal base, recovery of heterogeneous staggered effects, and clear errors for bad panels."""

from __future__ import annotations

import importlib.resources
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipeline.impact.estimator import PanelError, StaggeredDid, estimate

# Callaway & Sant'Anna (2021), minimum wage and teen employment (mpdta): lemp by countyreal and year,
# cohort first.treat, no covariates, never-treated controls. Group-time ATTs as published with the R
# ``did`` package (and in moderndid's documentation), rounded to four decimals.
PUBLISHED_ATT = {
    (2004, 2004): -0.0105,
    (2004, 2005): -0.0704,
    (2004, 2006): -0.1373,
    (2004, 2007): -0.1008,
    (2006, 2004): 0.0065,
    (2006, 2005): -0.0028,
    (2006, 2006): -0.0046,
    (2006, 2007): -0.0412,
    (2007, 2004): 0.0305,
    (2007, 2005): -0.0027,
    (2007, 2006): -0.0311,
    (2007, 2007): -0.0261,
}
# The package's aggregations of the same estimates (R ``aggte``): simple, event study, by cohort.
PUBLISHED_AGGREGATES = {"simple": -0.0400, "dynamic": -0.0772, "group": -0.0310}


def number(value: float | None) -> float:
    """An estimate or bound that must be there."""
    assert value is not None
    return value


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    """The paper's county panel, from the copy moderndid ships (``mpdta_long.pkl.gz``)."""
    import moderndid

    assert (importlib.resources.files("moderndid.core.datasets") / "mpdta_long.pkl.gz").is_file()
    panel: pl.DataFrame = moderndid.load_mpdta()
    assert panel.shape[0] == 2500 and panel["countyreal"].n_unique() == 500
    return panel


def _mpdta_estimate(panel: pl.DataFrame, **options: Any) -> StaggeredDid:
    return estimate(
        panel, unit="countyreal", time_column="year", outcome="lemp", cohort="first.treat", **options
    )


def test_reproduces_the_published_group_time_effects(mpdta: pl.DataFrame) -> None:
    result = _mpdta_estimate(mpdta, control="never", base_period="varying")
    cells = {(gt.group, gt.time): gt.effect for gt in result.group_time}
    assert cells.keys() == PUBLISHED_ATT.keys()
    for cell, published in PUBLISHED_ATT.items():
        # Three decimals asked for; the published four hold too.
        value = number(cells[cell].estimate)
        assert abs(value - published) < 0.0005, cell
        assert round(value, 4) == published, cell
        assert number(cells[cell].ci_low) < value < number(cells[cell].ci_high)
    overall = {"simple": result.simple, "dynamic": result.dynamic_overall, "group": result.group_overall}
    for name, published in PUBLISHED_AGGREGATES.items():
        assert round(number(overall[name].estimate), 4) == published, name
    assert result.panel.units == 500 and result.panel.treated_units == 191
    assert result.panel.cohort_sizes == {2004: 20, 2006: 40, 2007: 131}


def test_small_sample_correction_only_widens_the_aggregates(mpdta: pl.DataFrame) -> None:
    plain = _mpdta_estimate(mpdta, small_sample=False)
    corrected = _mpdta_estimate(mpdta)
    # Without the correction: the library's standard errors and normal intervals, unchanged.
    assert plain.simple.std_error == plain.simple.std_error_did and plain.simple.degrees_of_freedom is None
    spread = number(plain.simple.ci_high) - number(plain.simple.estimate)
    assert spread == pytest.approx(1.959964 * number(plain.simple.std_error))
    for before, after in zip(plain.dynamic, corrected.dynamic, strict=True):
        units = after.treated_units
        assert after.effect.estimate == before.effect.estimate
        assert after.effect.std_error == pytest.approx(
            number(before.effect.std_error) * math.sqrt(units / (units - 1))
        )
        assert after.effect.degrees_of_freedom == units - 1
    assert [gt.effect for gt in plain.group_time] == [gt.effect for gt in corrected.group_time]


def _staggered_panel(rng: np.random.Generator, noise: float) -> tuple[pl.DataFrame, dict[int, float]]:
    """Cohorts at periods 4, 6 and 8 of 12 whose effects grow with exposure and differ by cohort: the
    case where two-way fixed effects go wrong. Returns the panel and the true effect by event time."""
    units, periods = 300, 12
    cohort = np.select([np.arange(units) < 60, np.arange(units) < 120, np.arange(units) < 180], [4, 6, 8], 0)
    slope = {4: 1.0, 6: 0.5, 8: 0.25}
    level = rng.normal(0, 5, units)
    trend = np.arange(1, periods + 1) * 0.3
    rows = []
    for unit in range(units):
        for period in range(1, periods + 1):
            g = int(cohort[unit])
            effect = slope[g] * (period - g + 1) if g and period >= g else 0.0
            rows.append((unit, period, level[unit] + trend[period - 1] + effect + rng.normal(0, noise), g))
    truth = {}
    sizes = {4: 60, 6: 60, 8: 60}
    for event in range(0, 5):
        cohorts = [g for g in sizes if g + event <= periods]
        truth[event] = sum(slope[g] * (event + 1) * sizes[g] for g in cohorts) / sum(
            sizes[g] for g in cohorts
        )
    return pl.DataFrame(rows, schema=["page", "week", "position", "first_week"], orient="row"), truth


def test_recovers_heterogeneous_staggered_effects() -> None:
    panel, truth = _staggered_panel(np.random.default_rng(3), noise=0.2)
    result = estimate(
        panel,
        unit="page",
        time_column="week",
        outcome="position",
        cohort="first_week",
        base_period="universal",
    )
    dynamic = {item.label: item.effect for item in result.dynamic}
    assert dynamic[-1].estimate == 0 and dynamic[-1].std_error is None  # the reference period
    for event, effect in truth.items():
        assert number(dynamic[event].ci_low) <= effect <= number(dynamic[event].ci_high), (event, effect)
        assert abs(number(dynamic[event].estimate) - effect) < 0.1
    for event in (-4, -3, -2):
        assert abs(number(dynamic[event].estimate)) < 0.1
    assert result.pretrend.event_times == (-7, -6, -5, -4, -3, -2) and result.pretrend.passed
    window, units, cohorts = result.window(0, 2)
    assert window.estimate == pytest.approx(np.mean([dynamic[e].estimate for e in (0, 1, 2)]))
    assert (units, cohorts) == (180, 3)
    not_yet = estimate(
        panel, unit="page", time_column="week", outcome="position", cohort="first_week", control="notyet"
    )
    assert abs(number(not_yet.dynamic_overall.estimate) - number(result.dynamic_overall.estimate)) < 0.1


def test_a_planted_pre_trend_fails_the_test() -> None:
    panel, _ = _staggered_panel(np.random.default_rng(4), noise=0.2)
    # Treated units drift before their treatment: parallel trends do not hold.
    drifted = panel.with_columns(
        pl.when((pl.col("first_week") > 0) & (pl.col("week") < pl.col("first_week")))
        .then(pl.col("position") + 0.3 * pl.col("week"))
        .otherwise(pl.col("position"))
        .alias("position")
    )
    result = estimate(
        drifted,
        unit="page",
        time_column="week",
        outcome="position",
        cohort="first_week",
        base_period="universal",
    )
    assert result.pretrend.p_value is not None and result.pretrend.p_value < 0.001
    assert result.pretrend.passed is False


def test_unbalanced_and_always_treated_units_are_left_out_and_counted() -> None:
    panel, _ = _staggered_panel(np.random.default_rng(5), noise=0.2)
    gappy = panel.filter(~((pl.col("page") < 3) & (pl.col("week") == 5)))
    always = gappy.with_columns(
        pl.when(pl.col("page").is_between(200, 204))
        .then(1)
        .otherwise(pl.col("first_week"))
        .alias("first_week")
    )
    result = estimate(always, unit="page", time_column="week", outcome="position", cohort="first_week")
    assert result.panel.dropped_unbalanced == 3
    assert result.panel.dropped_treated_before_start == 5
    assert result.panel.units == 292


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.rename({"position": "rank"}), r"column\(s\) position not in the panel"),
        (lambda p: p.with_columns(pl.col("week").cast(pl.String)), "column 'week' must be numeric"),
        (lambda p: p.with_columns(pl.col("week") + 0.5), "must hold whole periods"),
        (lambda p: pl.concat([p, p.head(1)]), "appear more than once"),
        (
            lambda p: p.with_columns(
                pl.when((pl.col("page") == 0) & (pl.col("week") == 1))
                .then(6)
                .otherwise(pl.col("first_week"))
                .alias("first_week")
            ),
            "must be constant within a unit",
        ),
        (lambda p: p.filter(pl.col("first_week") > 0), "no never-treated units"),
        (lambda p: p.with_columns(pl.lit(0).alias("first_week")), "no treated units"),
    ],
)
def test_unusable_panels_are_refused_with_the_reason(
    change: Callable[[pl.DataFrame], pl.DataFrame], message: str
) -> None:
    panel, _ = _staggered_panel(np.random.default_rng(6), noise=0.2)
    with pytest.raises(PanelError, match=message):
        estimate(change(panel), unit="page", time_column="week", outcome="position", cohort="first_week")
