"""The estimator on its own: the published reference numbers, the small-sample correction, the event
study on a universal base, recovery of heterogeneous staggered effects, unbalanced panels, clusters,
anticipation, simultaneous bands and robust intervals (with their coverage over many simulated panels, a
running count such as referring domains among them), and clear errors for bad panels."""

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
# The package's aggregations of the same estimates (R ``aggte``): simple, event study, by cohort (the
# cohorts' effects weighted by their sizes).
PUBLISHED_AGGREGATES = {"simple": -0.0400, "dynamic": -0.0772, "group": -0.0310}


def number(value: float | None) -> float:
    """An estimate or bound that must be there."""
    assert value is not None
    return value


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    """The paper's county panel, from the copy moderndid ships (``mpdta_long.pkl.gz``), as published
    with R's ``did``."""
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
        value = number(cells[cell].estimate)
        assert round(value, 4) == published, cell
        assert number(cells[cell].ci_low) < value < number(cells[cell].ci_high)
    last = max(item.label for item in result.dynamic)
    sizes = result.panel.cohort_sizes
    by_group = sum(number(item.effect.estimate) * sizes[item.cohort] for item in result.by_group) / sum(
        sizes.values()
    )
    overall = {
        "simple": number(result.simple.estimate),
        "dynamic": number(result.window(0, last)[0].estimate),
        "group": by_group,
    }
    for name, published in PUBLISHED_AGGREGATES.items():
        assert round(overall[name], 4) == published, name
    assert result.panel.units == 500 and result.panel.treated_units == 191
    assert result.panel.cohort_sizes == {2004: 20, 2006: 40, 2007: 131}
    assert result.panel.unit_periods_missing == 0


def test_small_sample_correction_only_widens_the_aggregates(mpdta: pl.DataFrame) -> None:
    plain = _mpdta_estimate(mpdta, small_sample=False)
    corrected = _mpdta_estimate(mpdta)
    # Without the correction: the library's standard errors and normal intervals, unchanged.
    assert plain.simple.std_error == pytest.approx(number(plain.simple.std_error_did))
    assert plain.simple.degrees_of_freedom is None
    spread = number(plain.simple.ci_high) - number(plain.simple.estimate)
    assert spread == pytest.approx(1.959964 * number(plain.simple.std_error))
    for before, after in zip(plain.dynamic, corrected.dynamic, strict=True):
        units = after.treated_clusters
        assert after.effect.estimate == before.effect.estimate
        assert before.effect.std_error == pytest.approx(number(before.effect.std_error_did))
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
    # Every pre-treatment period resting on at least half the treated units is tested (weeks -7 and -6
    # rest on the last cohort alone), not only the nearest few.
    assert result.pretrend.event_times == (-5, -4, -3, -2) and result.pretrend.passed
    window, clusters, cohorts = result.window(0, 2)
    assert window.estimate == pytest.approx(np.mean([dynamic[e].estimate for e in (0, 1, 2)]))
    assert (clusters, cohorts) == (180, 3)
    not_yet = estimate(
        panel, unit="page", time_column="week", outcome="position", cohort="first_week", control="notyet"
    )
    assert abs(number(not_yet.window(0, 4)[0].estimate) - number(result.window(0, 4)[0].estimate)) < 0.1


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


def test_units_missing_periods_are_kept_and_units_without_a_comparison_left_out() -> None:
    panel, truth = _staggered_panel(np.random.default_rng(5), noise=0.2)
    rng = np.random.default_rng(50)
    gappy = panel.filter(pl.Series(rng.random(panel.height) >= 0.2))  # a fifth of unit-periods missing
    single = gappy.filter(~((pl.col("page") == 299) & (pl.col("week") > 1)))  # seen once: no comparison
    always = single.with_columns(
        pl.when(pl.col("page").is_between(200, 204))
        .then(1)
        .otherwise(pl.col("first_week"))
        .alias("first_week")
    )
    result = estimate(
        always,
        unit="page",
        time_column="week",
        outcome="position",
        cohort="first_week",
        base_period="universal",
    )
    assert result.panel.dropped_treated_before_start == 5
    assert result.panel.dropped_single_period == 1
    assert result.panel.units == 294  # nobody else left out for a missing period
    assert (
        result.panel.unit_periods_missing
        == 294 * 12 - always.filter(~pl.col("page").is_between(200, 204) & (pl.col("page") != 299)).height
    )
    dynamic = {item.label: item.effect for item in result.dynamic}
    for event, effect in truth.items():
        assert number(dynamic[event].ci_low) <= effect <= number(dynamic[event].ci_high), (event, effect)


def _cell_panel(
    rng: np.random.Generator,
    *,
    effect: float,
    anticipation: int = 0,
    pages: int = 120,
    periods: int = 20,
    missing: float = 0.2,
    pre_trend: float = 0.0,
) -> pl.DataFrame:
    """Page x query cells as the mart estimates them: 1-4 cells per page, a shock per page and period
    shared by its cells (so errors are clustered by page), cell noise, a fifth of cell-periods missing;
    ``effect`` from ``anticipation`` periods before the cohort on, and ``pre_trend`` per period for
    treated pages before their treatment (a violation of parallel trends)."""
    cells_per_page = rng.integers(1, 5, pages)
    cohort = np.where(rng.random(pages) < 0.4, rng.integers(6, periods - 4, pages), 0)
    page_of = np.repeat(np.arange(pages), cells_per_page)
    cells = len(page_of)
    time = np.arange(1, periods + 1)
    g = cohort[page_of][:, None]
    treated = (g > 0) & (time[None, :] >= g - anticipation)
    drift = np.where((g > 0) & (time[None, :] < g), pre_trend * (time[None, :] - g), 0.0)
    value = (
        rng.uniform(5, 80, cells)[:, None]
        + rng.normal(0, 1.0, (pages, periods))[page_of]
        + rng.normal(0, 1.0, (cells, periods))
        + effect * treated
        + drift
    )
    frame = pl.DataFrame(
        {
            "cell": np.repeat(np.arange(cells), periods),
            "page": np.repeat(page_of, periods),
            "week": np.tile(time, cells),
            "position": value.ravel(),
            "first_week": np.repeat(cohort[page_of], periods),
        }
    )
    return frame.filter(pl.Series(rng.random(frame.height) >= missing))


def _cell_estimate(frame: pl.DataFrame, **options: Any) -> StaggeredDid:
    return estimate(
        frame,
        unit="cell",
        time_column="week",
        outcome="position",
        cohort="first_week",
        base_period="universal",
        min_event=-4,
        max_event=4,
        **options,
    )


def test_clustered_intervals_window_and_band_cover_at_their_nominal_rate() -> None:
    """Over 150 simulated cell panels (clustered errors, a fifth of cell-periods missing): the 0-4 window's
    interval covers the truth in about 95% of them, and so does the simultaneous band cover every
    event time at once; pointwise intervals alone would miss somewhere far more often."""
    replications, effect = 150, -5.0
    window_hits = band_hits = pointwise_hits = pretrend_rejections = 0
    for seed in range(replications):
        result = _cell_estimate(
            _cell_panel(np.random.default_rng(1000 + seed), effect=effect), cluster="page"
        )
        window = result.window(0, 4)[0]
        window_hits += number(window.ci_low) <= effect <= number(window.ci_high)
        pretrend_rejections += result.pretrend.passed is False
        estimated = [item for item in result.dynamic if item.effect.std_error is not None]
        truth = {item.label: effect if item.label >= 0 else 0.0 for item in estimated}
        band_hits += all(number(i.band_low) <= truth[i.label] <= number(i.band_high) for i in estimated)
        pointwise_hits += all(
            number(i.effect.ci_low) <= truth[i.label] <= number(i.effect.ci_high) for i in estimated
        )
    assert 0.90 <= window_hits / replications <= 0.99, window_hits
    assert 0.90 <= band_hits / replications <= 0.99, band_hits
    assert pointwise_hits / replications < 0.85, pointwise_hits
    assert pretrend_rejections / replications <= 0.10, pretrend_rejections  # the test's size


def test_the_pre_trend_test_catches_a_steady_drift() -> None:
    """Treated pages drifting 0.2 positions a week before their link (a tenth of a week's noise): the
    joint-plus-slope test flags it in most of 40 panels."""
    flagged = sum(
        _cell_estimate(
            _cell_panel(np.random.default_rng(2000 + seed), effect=0.0, pre_trend=-0.2), cluster="page"
        ).pretrend.passed
        is False
        for seed in range(40)
    )
    assert flagged >= 32, flagged


def test_clustering_by_page_widens_intervals_when_cells_share_page_shocks() -> None:
    frame = _cell_panel(np.random.default_rng(7), effect=-5.0, missing=0.0)
    by_cell = _cell_estimate(frame, small_sample=False)
    by_page = _cell_estimate(frame, cluster="page", small_sample=False)
    assert by_page.window(0, 4)[0].estimate == pytest.approx(number(by_cell.window(0, 4)[0].estimate))
    assert number(by_page.window(0, 4)[0].std_error) > 1.2 * number(by_cell.window(0, 4)[0].std_error)
    assert by_page.panel.clusters == 120 and by_cell.panel.clusters == by_cell.panel.units


def test_anticipation_measures_an_effect_that_starts_early() -> None:
    frame = _cell_panel(np.random.default_rng(8), effect=-3.0, anticipation=1, missing=0.0)
    naive = _cell_estimate(frame, cluster="page")
    allowed = _cell_estimate(frame, cluster="page", anticipation=1)
    assert allowed.reference_event == -2
    measured, missed = allowed.window(0, 4)[0], naive.window(0, 4)[0]
    assert number(measured.ci_low) <= -3.0 <= number(measured.ci_high)
    # Without it the early start is differenced away: the base week is already treated.
    assert abs(number(missed.estimate)) < 1.0
    assert not number(missed.ci_low) <= -3.0 <= number(missed.ci_high)
    events = {item.label: item for item in allowed.dynamic}
    assert events[-2].effect.estimate == 0 and events[-2].effect.std_error is None
    anticipation_week = events[-1].effect  # shows the effect
    assert number(anticipation_week.ci_low) <= -3.0 <= number(anticipation_week.ci_high)


def test_robust_interval_holds_the_estimate_and_covers_the_truth_under_a_pre_trend() -> None:
    """Under parallel trends the robust interval (relative magnitudes, M = 1) contains the estimate and
    is wider than the 95% interval. With treated pages drifting before treatment and no effect, the
    conventional interval excludes the truth (zero) and the robust one does not."""
    clean = _cell_estimate(_cell_panel(np.random.default_rng(9), effect=-5.0), cluster="page")
    window = clean.window(0, 4)[0]
    robust = clean.robust_window(0, 4)
    assert number(robust.low) < number(window.ci_low) < number(window.estimate)
    assert number(window.estimate) < number(window.ci_high) < number(robust.high)
    drifting = _cell_estimate(
        _cell_panel(np.random.default_rng(10), effect=0.0, pre_trend=-0.4, missing=0.0), cluster="page"
    )
    biased = drifting.window(0, 4)[0]
    assert drifting.pretrend.passed is False
    robust = drifting.robust_window(0, 4)
    assert not number(biased.ci_low) <= 0 <= number(biased.ci_high)
    assert number(robust.low) <= 0 <= number(robust.high) and not robust.excludes_zero


def _referring_domains_panel(
    rng: np.random.Generator, domains_per_week: float, pages: int = 90, weeks: int = 22
) -> tuple[pl.DataFrame, float]:
    """Running counts of referring domains at the end of each week, as ``mart.impact_link_weekly_panel``
    holds them: every page gains domains at its own daily rate (Poisson, 0.05 a day on average), and from
    the day after its first link (a random day of its cohort week; 40% of pages never linked)
    ``domains_per_week / 7`` more a day. Returns the panel and the truth of the 0-8 window: per event week
    the expected extra domains by the week's last day, over the pages seen that long, then the mean over
    the event weeks."""
    days = 7 * weeks
    cohort = np.where(rng.random(pages) < 0.6, rng.integers(6, weeks - 4, pages), 0)
    link_day = np.where(cohort > 0, 7 * (cohort - 1) + rng.integers(0, 7, pages), days)
    own_rate = rng.gamma(1.0, 0.05, pages)
    day = np.arange(days)
    arrivals = rng.poisson(own_rate[:, None] + domains_per_week / 7 * (day[None, :] > link_day[:, None]))
    week_end_count = np.cumsum(arrivals, axis=1)[:, 6::7]
    panel = pl.DataFrame(
        {
            "page": np.repeat(np.arange(pages), weeks),
            "week": np.tile(np.arange(1, weeks + 1), pages),
            "domains": week_end_count.ravel().astype(np.float64),
            "first_week": np.repeat(cohort, weeks),
        }
    )
    by_event_week = []
    for event in range(9):
        seen = (cohort > 0) & (cohort + event <= weeks)
        week_end = 7 * (cohort[seen] - 1 + event) + 6
        by_event_week.append(float(np.mean(domains_per_week / 7 * (week_end - link_day[seen]))))
    return panel, float(np.mean(by_event_week))


def test_a_running_count_outcome_is_covered_at_the_nominal_rate() -> None:
    """Referring domains are a running count: each week's value is the last one plus new arrivals, so its
    noise is serially correlated and grows with the weeks, and an effect of one new domain a week grows
    with every week since the link (4.4 domains over event weeks 0-8). Over 100 simulated panels the 0-8
    window's interval covers the truth in about 95% of them (96) and the estimates are unbiased (mean error
    -0.06); on the first five the robust interval (what the scorecard reads) covers it too."""
    replications, robust_checked = 100, 5
    hits, errors = 0, []
    for seed in range(replications):
        panel, truth = _referring_domains_panel(np.random.default_rng(3000 + seed), domains_per_week=1.0)
        result = estimate(
            panel,
            unit="page",
            time_column="week",
            outcome="domains",
            cohort="first_week",
            cluster="page",
            base_period="universal",
            min_event=-4,
            max_event=8,
        )
        window = result.window(0, 8)[0]
        hits += number(window.ci_low) <= truth <= number(window.ci_high)
        errors.append(number(window.estimate) - truth)
        if seed < robust_checked:
            robust = result.robust_window(0, 8)
            assert number(robust.low) <= truth <= number(robust.high), (seed, truth, robust)
    assert 0.90 <= hits / replications <= 0.99, hits
    assert abs(np.mean(errors)) < 0.1, np.mean(errors)


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


def test_anticipation_beyond_the_data_is_refused() -> None:
    panel, _ = _staggered_panel(np.random.default_rng(6), noise=0.2)
    with pytest.raises(PanelError, match="no treated units observed in a period before their treatment"):
        estimate(
            panel, unit="page", time_column="week", outcome="position", cohort="first_week", anticipation=8
        )
    with pytest.raises(PanelError, match="anticipation must be 0 or more"):
        estimate(
            panel, unit="page", time_column="week", outcome="position", cohort="first_week", anticipation=-1
        )
