"""Staggered-adoption difference in differences on any panel: Callaway & Sant'Anna (2021).

The group-time average treatment effects ATT(g, t) (units first treated in period g, at period t) and
their event-study aggregation come from ``diff-diff`` (a maintained implementation that matches R's
``did``), without covariates. Every ATT(g, t) is a clean 2x2 comparison of cohort g with units not
treated by t, so staggered timing and effects that differ by cohort or grow with time do not bias it.

Real panels are not tidy, and this module is built for that:

- **Unbalanced panels.** No unit is dropped for a missing period: each ATT(g, t) compares the units
  observed in both periods it uses (its base period and t). ``diff-diff``'s panel estimator does this
  when a panel is unbalanced (R's ``allow_unbalanced_panel`` would instead switch to the repeated
  cross-section estimator, whose standard errors were about six times larger on these data).
- **Clusters.** Several units may belong to one cluster (page x query cells of one page): standard
  errors are cluster-robust on the influence function (``cluster``).
- **Anticipation.** ``anticipation`` = k periods moves the base period to k periods before the
  recorded treatment, so an effect that starts up to k periods early is measured, not differenced away.
- **Few treated clusters.** With G treated clusters behind an aggregate its variance is scaled by
  G / (G - 1) and its interval and p-value use Student's t with G - 1 degrees of freedom (CR1 with
  t(G - 1)); one treated cluster gives no standard error. ``small_sample=False`` gives the library's
  numbers unchanged.
- **Uniform bands.** The event-study curve carries a simultaneous 95% band: the sup-t critical value
  of the event window's effects, from 10,000 seeded draws of their cluster-robust joint normal
  distribution (Montiel Olea & Plagborg-Moller 2019; the multiplier bootstrap's large-sample equivalent).
- **Pre-trends with power.** Every well-covered pre-treatment event time is tested, not only the nearest
  few: a joint Wald test (Hotelling's T-squared as F(k, G - k) with the correction) and a one-degree-of-
  freedom test for a linear drift, combined by Bonferroni.
- **Sensitivity.** :meth:`StaggeredDid.robust_window` gives Rambachan & Roth's (2023) robust interval
  under relative magnitudes (post-treatment violations of parallel trends at most ``m_bar`` times the
  largest pre-treatment one), from ``moderndid``'s port of R's ``HonestDiD``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger(__name__)

ControlGroup = Literal["never", "notyet"]
BasePeriod = Literal["varying", "universal"]
CONTROL_GROUPS: dict[str, str] = {"never": "never_treated", "notyet": "not_yet_treated"}
ALPHA = 0.05
Z_95 = float(stats.norm.ppf(1 - ALPHA / 2))
BAND_DRAWS = 10_000
BAND_SEED = 20210101
# HonestDiD inverts a test over a grid; 200 points keep each interval under a second.
ROBUST_GRID_POINTS = 200
# Fewer intervals than this are solved in this process: starting the workers costs a few seconds.
ROBUST_PARALLEL_FROM = 6
# Columns of the normalised panel handed to the library.
UNIT, TIME, OUTCOME, COHORT, CLUSTER = "unit", "time", "outcome", "cohort", "cluster"
FloatArray = npt.NDArray[np.float64]


class PanelError(ValueError):
    """The panel cannot be estimated as given; the message says what is wrong and where."""


@dataclass(frozen=True)
class Effect:
    """A point estimate with its standard error; None where the data do not identify it.

    ``degrees_of_freedom`` is None for normal intervals, else Student's t's. ``std_error_did`` is the
    standard error the library reports, before any small-sample correction.
    """

    estimate: float | None
    std_error: float | None
    degrees_of_freedom: int | None = None
    std_error_did: float | None = None

    @property
    def critical_value(self) -> float:
        if self.degrees_of_freedom is None:
            return Z_95
        return float(stats.t.ppf(1 - ALPHA / 2, self.degrees_of_freedom))

    @property
    def ci_low(self) -> float | None:
        if self.estimate is None or self.std_error is None:
            return None
        return self.estimate - self.critical_value * self.std_error

    @property
    def ci_high(self) -> float | None:
        if self.estimate is None or self.std_error is None:
            return None
        return self.estimate + self.critical_value * self.std_error

    @property
    def p_value(self) -> float | None:
        if self.estimate is None or not self.std_error:
            return None
        statistic = abs(self.estimate / self.std_error)
        if self.degrees_of_freedom is None:
            return math.erfc(statistic / math.sqrt(2))
        return float(2 * stats.t.sf(statistic, self.degrees_of_freedom))

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "att": self.estimate,
            "se": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "df": self.degrees_of_freedom,
            "se_did": self.std_error_did,
        }


@dataclass(frozen=True)
class GroupTimeEffect:
    """ATT(g, t) as the library computes it."""

    group: int
    time: int
    effect: Effect


@dataclass(frozen=True)
class EventTimeEffect:
    """The effect at one event time (periods since treatment), with its simultaneous band."""

    label: int
    effect: Effect
    treated_units: int
    treated_clusters: int
    band_low: float | None = None
    band_high: float | None = None


@dataclass(frozen=True)
class CohortEffect:
    """The average effect on one cohort over its post-treatment periods."""

    cohort: int
    effect: Effect
    treated_units: int


@dataclass(frozen=True)
class PretrendTest:
    """Joint Wald test that every pre-treatment event-time effect is zero (parallel pre-trends)."""

    event_times: tuple[int, ...]
    mean_effect: float | None
    statistic: float | None
    p_value: float | None

    @property
    def passed(self) -> bool | None:
        return None if self.p_value is None else self.p_value >= ALPHA


@dataclass(frozen=True)
class RobustInterval:
    """Rambachan & Roth's interval under relative magnitudes ``m_bar`` (None: not identified)."""

    m_bar: float
    low: float | None
    high: float | None

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


@dataclass(frozen=True)
class RobustProblem:
    """Rambachan & Roth's test inversion for one window: the event-time estimates (pre-treatment ones
    first), their covariance, and the window's weights over the post-treatment ones."""

    betahat: npt.NDArray[np.float64]
    sigma: npt.NDArray[np.float64]
    pre_periods: int
    post_periods: int
    l_vec: npt.NDArray[np.float64]
    m_bar: float

    @property
    def key(self) -> bytes:
        """Equal for problems whose intervals are equal: every input of the solve, value for value."""
        shape = f"{self.betahat.shape}{self.sigma.shape}{self.l_vec.shape}"
        head = f"{self.pre_periods}/{self.post_periods}/{self.m_bar!r}/{shape}/".encode()
        return head + self.betahat.tobytes() + self.sigma.tobytes() + self.l_vec.tobytes()

    def solve(self) -> RobustInterval:
        from moderndid import didhonest  # heavy (cvxpy): imported when an interval is asked for

        with _quiet_native_stdout(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = didhonest.create_sensitivity_results_rm(
                    self.betahat,
                    self.sigma,
                    self.pre_periods,
                    self.post_periods,
                    m_bar_vec=np.array([self.m_bar]),
                    l_vec=self.l_vec,
                    alpha=ALPHA,
                    grid_points=ROBUST_GRID_POINTS,
                )
            except Exception as failure:  # an infeasible or failed solve: no interval, not a failed build
                log.debug("robust interval not computed: %s", failure)
                return RobustInterval(self.m_bar, None, None)
        row = result.row(0, named=True)
        return RobustInterval(self.m_bar, _finite(row["lb"]), _finite(row["ub"]))


def _solve(problem: RobustProblem) -> RobustInterval:
    return problem.solve()


class RobustSolver:
    """Solves robust intervals as they are handed in, while the caller goes on estimating; ``results``
    returns them in the order handed in, the same numbers as one by one (each solve is seeded).

    Each takes about a second of linear programs, so where :data:`ROBUST_PARALLEL_FROM` or more are
    ``expected`` and there is more than one core, they are solved side by side in worker processes, one
    per core, from the first one handed in: the solving overlaps the caller's estimation instead of
    following it. The workers come from a fork server (a fresh process that imports the solver once,
    started here so that it does so while the caller estimates), not from this process, whose Polars and
    DuckDB thread pools a fork would copy mid-use. A daemonic process (a Celery task) may not start
    workers, and workers that cannot start or die leave the work to this process. Use it as a context
    manager: leaving it stops the workers.
    """

    def __init__(self, expected: int) -> None:
        import multiprocessing

        self._problems: list[RobustProblem] = []  # distinct ones, solved in this order
        self._positions: dict[bytes, int] = {}  # a problem's key: its place in _problems
        self._handed_in: list[int] = []  # every problem handed in: its place in _problems
        self._futures: list[Future[RobustInterval]] = []
        self._pool: ProcessPoolExecutor | None = None
        workers = min(expected, len(os.sched_getaffinity(0)))
        if expected >= ROBUST_PARALLEL_FROM and workers > 1 and not multiprocessing.current_process().daemon:
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import forkserver

            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["pipeline.impact.estimator", "moderndid.didhonest"])
            try:
                forkserver.ensure_running()
            except OSError as failure:
                log.info("robust intervals solved one by one here: no fork server (%s)", failure)
                return
            self._pool = ProcessPoolExecutor(workers, mp_context=context)

    def __enter__(self) -> RobustSolver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def submit(self, problem: RobustProblem) -> None:
        """Hand in one problem; a worker starts on it as soon as one is free. A problem equal to one
        handed in before (a platform whose treated pages are those of ``any``) is not solved again."""
        key = problem.key
        if key in self._positions:
            self._handed_in.append(self._positions[key])
            return
        self._positions[key] = len(self._problems)
        self._handed_in.append(len(self._problems))
        self._problems.append(problem)
        if self._pool is None:
            return
        try:
            self._futures.append(self._pool.submit(_solve, problem))
        except (OSError, RuntimeError) as failure:  # workers that cannot start; a broken pool's submit
            self._give_up(failure)

    def results(self) -> list[RobustInterval]:
        """Every interval handed in, in order, once all are solved."""
        from concurrent.futures.process import BrokenProcessPool

        intervals: list[RobustInterval] = []
        for position, problem in enumerate(self._problems):
            if position < len(self._futures):
                try:
                    intervals.append(self._futures[position].result())
                    continue
                except (OSError, BrokenProcessPool) as failure:
                    del self._futures[position:]
                    self._give_up(failure)
            intervals.append(problem.solve())
        return [intervals[position] for position in self._handed_in]

    def _give_up(self, failure: BaseException) -> None:
        """Stop handing problems to workers; the rest are solved here."""
        log.info("robust intervals solved one by one here: the worker processes failed (%s)", failure)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


@dataclass(frozen=True)
class PanelSummary:
    """What went into the estimate, and what was left out and why."""

    units: int
    periods: int
    treated_units: int
    never_treated_units: int
    clusters: int
    treated_clusters: int
    cohort_sizes: dict[int, int]
    cohort_clusters: dict[int, int]
    unit_periods_missing: int
    dropped_single_period: int
    dropped_treated_before_start: int
    rows_without_outcome: int


@dataclass
class StaggeredDid:
    """Callaway & Sant'Anna estimates for one panel."""

    control: ControlGroup
    base_period: BasePeriod
    anticipation: int
    small_sample: bool
    panel: PanelSummary
    group_time: list[GroupTimeEffect]
    simple: Effect
    dynamic: list[EventTimeEffect]
    by_group: list[CohortEffect]
    band_critical_value: float | None
    pretrend: PretrendTest
    warnings: list[str]
    # Cluster-robust covariance of the event-time effects in ``dynamic`` as the library reports it,
    # before the small-sample correction (same order; reference period: 0).
    event_covariance: FloatArray = field(repr=False)

    @property
    def reference_event(self) -> int:
        return -1 - self.anticipation

    def window(self, first_event: int, last_event: int) -> tuple[Effect, int, int]:
        """Equal-weight average of the event-time effects from ``first_event`` to ``last_event``.

        Returns the effect, the treated clusters and the cohorts behind it. Event times no cohort was
        observed for (and the reference period) are left out; none at all gives an empty effect.
        """
        columns = self._columns(first_event, last_event)
        if not columns:
            return Effect(None, None), 0, 0
        weights = np.full(len(columns), 1 / len(columns))
        value = float(np.mean([self.dynamic[i].effect.estimate for i in columns]))
        variance = float(weights @ self.event_covariance[np.ix_(columns, columns)] @ weights)
        cohorts = self._cohorts(first_event, last_event)
        clusters = sum(self.panel.cohort_clusters[cohort] for cohort in cohorts)
        return _effect(value, variance, clusters, self.small_sample), clusters, len(cohorts)

    def robust_window(self, first_event: int, last_event: int, m_bar: float = 1.0) -> RobustInterval:
        """Rambachan & Roth's robust interval for the window's average effect, using the estimated
        pre-treatment event times from ``min(dynamic)`` to the reference period as the evidence on
        how far trends can diverge."""
        problem = self.robust_problem(first_event, last_event, m_bar)
        return problem if isinstance(problem, RobustInterval) else problem.solve()

    def robust_problem(
        self, first_event: int, last_event: int, m_bar: float = 1.0
    ) -> RobustProblem | RobustInterval:
        """What :meth:`robust_window` solves (a few small arrays, so it can be solved in another
        process), or the interval itself where no solve is needed."""
        reference = self.reference_event
        usable = [i for i, item in enumerate(self.dynamic) if item.effect.std_error is not None]
        pre = [i for i in usable if self.dynamic[i].label < reference]
        post = [i for i in usable if self.dynamic[i].label > reference]
        target = [i for i in post if first_event <= self.dynamic[i].label <= last_event]
        if not pre and target and self._flat_before():
            # Every pre-treatment week is exactly zero for every unit (social referral sessions before any
            # social link): the allowed drift, M times the largest pre-treatment change, is zero.
            effect = self.window(first_event, last_event)[0]
            return RobustInterval(m_bar, effect.ci_low, effect.ci_high)
        if not pre or not target:
            return RobustInterval(m_bar, None, None)
        order = pre + post
        betahat = np.array([self.dynamic[i].effect.estimate for i in order], dtype=np.float64)
        sigma = self.event_covariance[np.ix_(order, order)]
        clusters = sum(self.panel.cohort_clusters[c] for c in self._cohorts(first_event, last_event))
        if self.small_sample and clusters > 1:
            sigma = sigma * clusters / (clusters - 1)
        l_vec = np.array([1.0 if i in target else 0.0 for i in post]) / len(target)
        return RobustProblem(betahat, sigma, len(pre), len(post), l_vec, m_bar)

    def _flat_before(self) -> bool:
        """Whether the pre-treatment event times are all estimated at exactly zero without variance."""
        pre = [item for item in self.dynamic if item.label < self.reference_event]
        return bool(pre) and all(item.effect.estimate == 0 and item.effect.std_error is None for item in pre)

    def treated_units_in(self, first_event: int, last_event: int) -> int:
        """Treated units (cells, where units are cells) of the cohorts behind a window."""
        return sum(self.panel.cohort_sizes[cohort] for cohort in self._cohorts(first_event, last_event))

    def _columns(self, first_event: int, last_event: int) -> list[int]:
        return [
            i
            for i, item in enumerate(self.dynamic)
            if first_event <= item.label <= last_event and item.effect.std_error is not None
        ]

    def _cohorts(self, first_event: int, last_event: int) -> set[int]:
        """Cohorts with an estimated cell within these event times."""
        return {
            gt.group
            for gt in self.group_time
            if first_event <= gt.time - gt.group <= last_event and gt.effect.estimate is not None
        }


def estimate(
    panel: pl.DataFrame,
    *,
    unit: str,
    time_column: str,
    outcome: str,
    cohort: str,
    cluster: str | None = None,
    control: ControlGroup = "never",
    base_period: BasePeriod = "varying",
    anticipation: int = 0,
    min_event: int | None = None,
    max_event: int | None = None,
    small_sample: bool = True,
) -> StaggeredDid:
    """Group-time ATTs and their aggregations for a long panel (one row per unit and period).

    ``cohort`` holds the first treated period (0 or null: never treated); ``cluster`` (optional) the
    cluster of each unit for standard errors. ``min_event``/``max_event`` bound the event study, its
    band and the sensitivity analysis; the pre-trend test uses every estimated pre-treatment period and
    the simple aggregation every post-treatment cell.
    ``base_period="varying"`` (the R package's default) compares each pre-treatment period with the one
    before it; ``"universal"`` compares every period with the one just before treatment (minus the
    anticipation), so the event-study curve is relative to that period.
    """
    if anticipation < 0:
        raise PanelError(f"anticipation must be 0 or more periods, got {anticipation}")
    started = time.perf_counter()
    normalised, summary = prepare_panel(
        panel,
        unit=unit,
        time_column=time_column,
        outcome=outcome,
        cohort=cohort,
        cluster=cluster,
        anticipation=anticipation,
    )
    if summary.treated_units == 0:
        raise PanelError(
            "no treated units observed in a period before their treatment"
            + (f" (with {anticipation} period(s) of anticipation)" if anticipation else "")
        )
    if control == "never" and summary.never_treated_units == 0:
        raise PanelError("no never-treated units: use the not-yet-treated control group")
    from diff_diff import CallawaySantAnna  # heavy: imported when an estimate is asked for

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitted = CallawaySantAnna(
                control_group=CONTROL_GROUPS[control],
                anticipation=anticipation,
                estimation_method="reg",
                base_period=base_period,
                cluster=CLUSTER if cluster else None,
                cband=False,
            ).fit(normalised.to_pandas(), outcome=OUTCOME, unit=UNIT, time=TIME, first_treat=COHORT)
            event_study = fitted.aggregate("event_study")
            by_cohort = fitted.aggregate("group").to_dataframe()
        except Exception as failure:  # whatever the library raises, the user gets the reason, not a traceback
            log.debug("diff-diff failed on the panel", exc_info=True)
            raise PanelError(f"the estimator could not use this panel: {failure}") from failure
    group_time = [
        GroupTimeEffect(int(g), int(t), _library_effect(cell["effect"], cell["se"]))
        for (g, t), cell in sorted(fitted.group_time_effects.items())
    ]
    clusters_of = summary.cohort_clusters if cluster else summary.cohort_sizes
    events, covariance = _event_window(event_study)
    every_event: list[EventTimeEffect] = []
    for position, (event, value, library_se) in enumerate(events):
        cohorts = _cohorts_at(group_time, event)
        clusters = sum(clusters_of[c] for c in cohorts)
        effect = _effect(value, covariance[position, position], clusters, small_sample, library_se)
        if event == -1 - anticipation and base_period == "universal":
            effect = Effect(0.0, None)
        every_event.append(
            EventTimeEffect(event, effect, sum(summary.cohort_sizes[c] for c in cohorts), clusters)
        )
    # The pre-trend test uses every estimated pre-treatment period; the curve, its band and the
    # sensitivity analysis the event window.
    pretrend = _pretrend_test(every_event, covariance, small_sample, -1 - anticipation)
    inside = [
        i
        for i, item in enumerate(every_event)
        if (min_event is None or item.label >= min_event) and (max_event is None or item.label <= max_event)
    ]
    dynamic = [every_event[i] for i in inside]
    covariance = covariance[np.ix_(inside, inside)]
    band = _band_critical_value(dynamic, covariance)
    if band is not None:
        dynamic = [_with_band(item, band) for item in dynamic]
    post_cohorts = {gt.group for gt in group_time if gt.time >= gt.group and gt.effect.estimate is not None}
    result = StaggeredDid(
        control=control,
        base_period=base_period,
        anticipation=anticipation,
        small_sample=small_sample,
        panel=summary,
        group_time=group_time,
        simple=_effect(
            fitted.overall_att,
            (_finite(fitted.overall_se) or math.nan) ** 2,
            sum(clusters_of[c] for c in post_cohorts),
            small_sample,
            fitted.overall_se,
        ),
        dynamic=dynamic,
        by_group=[
            CohortEffect(
                int(row["label"]),
                _effect(
                    row["att"],
                    (_finite(row["se"]) or math.nan) ** 2,
                    clusters_of.get(int(row["label"]), 0),
                    small_sample,
                    row["se"],
                ),
                summary.cohort_sizes.get(int(row["label"]), 0),
            )
            for row in by_cohort.to_dict("records")
        ],
        band_critical_value=band,
        pretrend=pretrend,
        warnings=sorted({_first_line(warning.message) for warning in caught}),
        event_covariance=covariance,
    )
    log.debug(
        "estimate: %d units (%d treated in %d cohorts, %d never treated), %d periods, %d ATT(g,t) in %.2fs",
        summary.units,
        summary.treated_units,
        len(summary.cohort_sizes),
        summary.never_treated_units,
        summary.periods,
        len(group_time),
        time.perf_counter() - started,
    )
    return result


def prepare_panel(
    panel: pl.DataFrame,
    *,
    unit: str,
    time_column: str,
    outcome: str,
    cohort: str,
    cluster: str | None = None,
    anticipation: int = 0,
) -> tuple[pl.DataFrame, PanelSummary]:
    """The panel in the library's terms: integer unit ids, integer periods, possibly unbalanced.

    Rows without an outcome are dropped and counted; units observed in one period only (nothing to
    compare) and units treated before their first observed period (no period before treatment, or
    before the anticipation window, to compare with) are left out and counted.
    """
    names = [unit, time_column, outcome, cohort] + ([cluster] if cluster else [])
    missing = [name for name in names if name not in panel.columns]
    if missing:
        raise PanelError(
            f"column(s) {', '.join(missing)} not in the panel (it has: {', '.join(panel.columns)})"
        )
    for name in (time_column, outcome, cohort):
        dtype = panel.schema[name]
        if not (dtype.is_numeric() or dtype == pl.Null):
            raise PanelError(f"column {name!r} must be numeric, found {dtype}")
    for name in (time_column, cohort):
        values = panel[name].drop_nulls().cast(pl.Float64)
        fractional = values.filter(values != values.round())
        if fractional.len():
            raise PanelError(f"column {name!r} must hold whole periods, found {fractional[0]}")
    frame = panel.select(
        pl.col(unit).alias(UNIT),
        pl.col(time_column).cast(pl.Int64).alias(TIME),
        pl.col(outcome).cast(pl.Float64).alias(OUTCOME),
        pl.col(cohort).cast(pl.Int64).fill_null(0).alias(COHORT),
        (pl.col(cluster) if cluster else pl.col(unit)).cast(pl.String).alias(CLUSTER),
    )
    for name, column in ((time_column, TIME), (unit, UNIT)):
        if frame[column].null_count():
            raise PanelError(f"column {name!r} has {frame[column].null_count()} empty values")
    duplicates = frame.group_by(UNIT, TIME).len().filter(pl.col("len") > 1)
    if duplicates.height:
        first = duplicates.row(0, named=True)
        raise PanelError(
            f"{duplicates.height} ({unit}, {time_column}) pairs appear more than once, "
            f"e.g. {first[UNIT]!r} at {first[TIME]!r}: aggregate to one row per unit and period first"
        )
    for column, name in ((COHORT, cohort), (CLUSTER, cluster or unit)):
        varying = (
            frame.group_by(UNIT).agg(pl.col(column).n_unique().alias("values")).filter(pl.col("values") > 1)
        )
        if varying.height:
            raise PanelError(
                f"column {name!r} must be constant within a unit; {varying.height} unit(s) have several "
                f"values, e.g. {varying[UNIT][0]!r}"
            )
    without_outcome = pl.col(OUTCOME).is_null() | pl.col(OUTCOME).is_nan()
    rows_without_outcome = frame.filter(without_outcome).height
    frame = frame.filter(~without_outcome)
    periods = frame[TIME].n_unique()
    if periods < 2:
        raise PanelError(f"the panel needs at least two periods with outcomes, found {periods}")
    observed = frame.group_by(UNIT).agg(
        pl.len().alias("periods"),
        pl.col(TIME).min().alias("first"),
        pl.col(COHORT).first(),
        pl.col(CLUSTER).first(),
    )
    comparable = observed.filter(pl.col("periods") >= 2)
    late_enough = comparable.filter((pl.col(COHORT) == 0) | (pl.col(COHORT) - anticipation > pl.col("first")))
    ids = late_enough.select(UNIT).sort(UNIT).with_row_index("unit_id", offset=1)
    frame = (
        frame.join(ids, on=UNIT)
        .select(pl.col("unit_id").cast(pl.Int64).alias(UNIT), TIME, OUTCOME, COHORT, CLUSTER)
        .sort(UNIT, TIME)
    )
    treated = late_enough.filter(pl.col(COHORT) != 0)
    cohort_sizes = Counter(int(value) for value in treated[COHORT].to_list())
    cohort_clusters = {
        int(row[COHORT]): int(row["clusters"])
        for row in treated.group_by(COHORT)
        .agg(pl.col(CLUSTER).n_unique().alias("clusters"))
        .iter_rows(named=True)
    }
    summary = PanelSummary(
        units=late_enough.height,
        periods=periods,
        treated_units=treated.height,
        never_treated_units=late_enough.height - treated.height,
        clusters=late_enough[CLUSTER].n_unique(),
        treated_clusters=treated[CLUSTER].n_unique(),
        cohort_sizes=dict(sorted(cohort_sizes.items())),
        cohort_clusters=dict(sorted(cohort_clusters.items())),
        unit_periods_missing=late_enough.height * periods - frame.height,
        dropped_single_period=observed.height - comparable.height,
        dropped_treated_before_start=comparable.height - late_enough.height,
        rows_without_outcome=rows_without_outcome,
    )
    return frame, summary


def _event_window(event_study: object) -> tuple[list[tuple[int, float | None, float | None]], FloatArray]:
    """Every estimated event time with its estimate and library standard error, and their covariance
    (rows and columns in the same order; 0 for the reference period)."""
    index = [int(e) for e in event_study.vcov_index]  # type: ignore[attr-defined]
    vcov = np.asarray(event_study.vcov, dtype=np.float64)  # type: ignore[attr-defined]
    rows = [
        (int(event), _finite(value), _finite(error))
        for event, value, error in zip(
            event_study.event_time,  # type: ignore[attr-defined]
            event_study.att,  # type: ignore[attr-defined]
            event_study.se,  # type: ignore[attr-defined]
            strict=True,
        )
    ]
    rows.sort()
    covariance = np.zeros((len(rows), len(rows)))
    positions = {event: index.index(event) for event, _, _ in rows if event in index}
    for i, (a, _, _) in enumerate(rows):
        for j, (b, _, _) in enumerate(rows):
            if a in positions and b in positions:
                covariance[i, j] = vcov[positions[a], positions[b]]
    return rows, covariance


def _cohorts_at(group_time: list[GroupTimeEffect], event: int) -> set[int]:
    return {gt.group for gt in group_time if gt.time - gt.group == event and gt.effect.estimate is not None}


def _band_critical_value(dynamic: list[EventTimeEffect], covariance: FloatArray) -> float | None:
    """The sup-t critical value of a 95% simultaneous band over the estimated event times."""
    columns = [i for i, item in enumerate(dynamic) if item.effect.std_error is not None]
    if not columns:
        return None
    sub = covariance[np.ix_(columns, columns)]
    scale = np.sqrt(np.diag(sub))
    correlation = sub / np.outer(scale, scale)
    draws = np.random.default_rng(BAND_SEED).multivariate_normal(
        np.zeros(len(columns)), correlation, size=BAND_DRAWS, method="eigh"
    )
    return float(np.quantile(np.abs(draws).max(axis=1), 1 - ALPHA))


def _with_band(item: EventTimeEffect, critical_value: float) -> EventTimeEffect:
    effect = item.effect
    if effect.estimate is None or effect.std_error is None:
        return item
    # With few treated clusters the normal sup-t value is widened as t widens the pointwise one.
    widened = critical_value * effect.critical_value / Z_95
    return EventTimeEffect(
        item.label,
        effect,
        item.treated_units,
        item.treated_clusters,
        effect.estimate - widened * effect.std_error,
        effect.estimate + widened * effect.std_error,
    )


def _finite(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if np.isfinite(number) else None


def _library_effect(estimate: object, std_error: object) -> Effect:
    value = _finite(estimate)
    return Effect(value, None if value is None else _finite(std_error))


def _effect(
    estimate: object,
    variance: float,
    treated_clusters: int,
    small_sample: bool,
    std_error_did: object = None,
) -> Effect:
    """An aggregate with its standard error from its (cluster-robust) variance, corrected for few
    treated clusters when ``small_sample``."""
    value = _finite(estimate)
    raw = math.sqrt(variance) if np.isfinite(variance) and variance > 0 else math.nan
    error = raw if np.isfinite(raw) and raw > 1e-12 else None
    if value is None or error is None:
        return Effect(value, None, None, _finite(std_error_did))
    if not small_sample:
        return Effect(value, error, None, _finite(std_error_did))
    if treated_clusters < 2:
        return Effect(value, None, None, _finite(std_error_did))
    scaled = error * math.sqrt(treated_clusters / (treated_clusters - 1))
    return Effect(value, scaled, treated_clusters - 1, _finite(std_error_did))


def _pretrend_test(
    dynamic: list[EventTimeEffect], covariance: FloatArray, small_sample: bool, reference: int
) -> PretrendTest:
    """Two tests of the pre-treatment event times (before the reference period) at once, combined by
    Bonferroni (p = 2 x the smaller p-value): a joint Wald test that they are all zero, and a test that
    they have no linear trend (a GLS slope through them, one degree of freedom: far more power against a
    steady drift, the usual way parallel trends fail). Pre-periods resting on fewer than half the treated
    clusters of the best-covered one (the far ones rest on the few latest cohorts) are left out. With the
    correction the joint test is Hotelling's T-squared as F(k, G - k), G the treated clusters, which
    needs G > k: its pre-periods are taken from the nearest back, as many as keep G - k >= 2; the slope
    uses Student's t with G - 1 degrees of freedom."""
    candidates = [
        i for i, item in enumerate(dynamic) if item.label < reference and item.effect.std_error is not None
    ]
    if not candidates:
        flat = tuple(item.label for item in dynamic if item.label < reference)
        if flat and all(item.effect.estimate == 0 for item in dynamic if item.label < reference):
            # Exactly zero in every pre-treatment week, for every unit: trends were parallel, nothing to test.
            return PretrendTest(flat, 0.0, 0.0, 1.0)
        return PretrendTest((), None, None, None)
    best = max(dynamic[i].treated_clusters for i in candidates)
    covered = sorted(
        (i for i in candidates if 2 * dynamic[i].treated_clusters >= best), key=lambda i: -dynamic[i].label
    )
    joint: list[int] = []
    for i in covered:
        clusters = min(dynamic[j].treated_clusters for j in [*joint, i])
        if small_sample and clusters - (len(joint) + 1) < 2:
            break
        joint.append(i)
    if not joint:
        return PretrendTest((), None, None, None)
    covered.sort(key=lambda i: dynamic[i].label)
    joint.sort(key=lambda i: dynamic[i].label)
    effects = np.array([dynamic[i].effect.estimate for i in covered], dtype=np.float64)
    p_values = [
        _joint_p_value(dynamic, covariance, joint, small_sample),
        _slope_p_value(dynamic, covariance, covered, reference, small_sample),
    ]
    tested = [p for p in p_values if p is not None]
    p_value = min(1.0, 2 * min(tested)) if tested else None
    statistic = _wald(dynamic, covariance, joint)
    return PretrendTest(tuple(dynamic[i].label for i in covered), float(effects.mean()), statistic, p_value)


def _wald(dynamic: list[EventTimeEffect], covariance: FloatArray, columns: list[int]) -> float | None:
    effects = np.array([dynamic[i].effect.estimate for i in columns], dtype=np.float64)
    try:
        return float(effects @ np.linalg.solve(covariance[np.ix_(columns, columns)], effects))
    except np.linalg.LinAlgError:
        return None


def _joint_p_value(
    dynamic: list[EventTimeEffect], covariance: FloatArray, columns: list[int], small_sample: bool
) -> float | None:
    statistic = _wald(dynamic, covariance, columns)
    if statistic is None:
        return None
    tested = len(columns)
    if not small_sample:
        return float(stats.chi2.sf(statistic, tested))
    clusters = min(dynamic[i].treated_clusters for i in columns)
    # Hotelling's T-squared with G clusters: (G - k) / (k (G - 1)) T2 ~ F(k, G - k).
    f_statistic = statistic * (clusters - tested) / (tested * (clusters - 1))
    return float(stats.f.sf(f_statistic, tested, clusters - tested))


def _slope_p_value(
    dynamic: list[EventTimeEffect],
    covariance: FloatArray,
    columns: list[int],
    reference: int,
    small_sample: bool,
) -> float | None:
    """The GLS slope of the pre-period effects on their distance from the reference period (a line
    through the reference's zero), tested against no slope."""
    if len(columns) < 2:
        return None
    effects = np.array([dynamic[i].effect.estimate for i in columns], dtype=np.float64)
    distance = np.array([dynamic[i].label - reference for i in columns], dtype=np.float64)
    try:
        weighted = np.linalg.solve(covariance[np.ix_(columns, columns)], distance)
    except np.linalg.LinAlgError:
        return None
    information = float(distance @ weighted)
    if information <= 0:
        return None
    slope = float(weighted @ effects) / information
    statistic = abs(slope) * math.sqrt(information)
    clusters = min(dynamic[i].treated_clusters for i in columns)
    if not small_sample:
        return math.erfc(statistic / math.sqrt(2))
    if clusters < 2:
        return None
    statistic /= math.sqrt(clusters / (clusters - 1))
    return float(2 * stats.t.sf(statistic, clusters - 1))


def _first_line(message: Warning | str) -> str:
    return str(message).strip().splitlines()[0] if str(message).strip() else ""


@contextlib.contextmanager
def _quiet_native_stdout() -> Iterator[None]:
    """Silence the LP solver's banner, which its C library writes straight to file descriptor 1."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(descriptor)
    try:
        with Path(os.devnull).open("w") as devnull:
            os.dup2(devnull.fileno(), descriptor)
            yield
    finally:
        os.dup2(saved, descriptor)
        os.close(saved)
