"""The robust intervals solved as they are handed in (``estimator.RobustSolver``): in worker processes
where the build may start them, in the building process where it may not (a daemonic one, as a Celery
task is), and the same intervals, in the same order, as solved one by one."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue

import numpy as np
import pytest

from pipeline.impact.estimator import ROBUST_PARALLEL_FROM, RobustInterval, RobustProblem, RobustSolver
from tests.test_impact_estimator import _cell_estimate, _cell_panel


@pytest.fixture(scope="module")
def problems() -> list[RobustProblem]:
    """Enough problems for the workers: three windows of two estimates (with and without a pre-trend)."""
    found: list[RobustProblem] = []
    for seed, pre_trend in ((9, 0.0), (10, -0.4)):
        result = _cell_estimate(
            _cell_panel(np.random.default_rng(seed), effect=-5.0, pre_trend=pre_trend), cluster="page"
        )
        for first, last in ((0, 2), (2, 4), (0, 4)):
            problem = result.robust_problem(first, last)
            assert isinstance(problem, RobustProblem)
            found.append(problem)
    assert len(found) >= ROBUST_PARALLEL_FROM
    return found


@pytest.fixture(scope="module")
def one_by_one(problems: list[RobustProblem]) -> list[RobustInterval]:
    intervals = [problem.solve() for problem in problems]
    assert all(interval.low is not None and interval.high is not None for interval in intervals)
    assert len({(interval.low, interval.high) for interval in intervals}) == len(intervals)
    return intervals


def _solve_all(problems: list[RobustProblem]) -> list[RobustInterval]:
    with RobustSolver(expected=len(problems)) as solver:
        for problem in problems:
            solver.submit(problem)
        return solver.results()


def test_workers_give_the_one_by_one_intervals_in_order(
    problems: list[RobustProblem], one_by_one: list[RobustInterval]
) -> None:
    assert _solve_all(problems) == one_by_one


def test_fewer_than_are_worth_workers_are_solved_here(
    problems: list[RobustProblem], one_by_one: list[RobustInterval]
) -> None:
    assert _solve_all(problems[:2]) == one_by_one[:2]


def _in_a_daemon(problems: list[RobustProblem], out: Queue[list[RobustInterval]]) -> None:
    out.put(_solve_all(problems))


def test_a_daemonic_process_solves_them_itself(
    problems: list[RobustProblem], one_by_one: list[RobustInterval]
) -> None:
    """multiprocessing refuses a daemonic process (a Celery prefork task) children: it solves them itself."""
    context = multiprocessing.get_context("forkserver")
    out: Queue[list[RobustInterval]] = context.Queue()
    daemon = context.Process(target=_in_a_daemon, args=(problems, out), daemon=True)
    daemon.start()
    try:
        assert out.get(timeout=300) == one_by_one
    finally:
        daemon.join(timeout=60)
    assert daemon.exitcode == 0


def test_a_problem_handed_in_again_gets_its_interval_in_its_place(
    problems: list[RobustProblem], one_by_one: list[RobustInterval]
) -> None:
    """A platform whose treated pages are all of ``any``'s hands in ``any``'s problems again: they are
    solved once, and each place gets its interval."""
    again = [problems[0], *problems, problems[3]]
    assert problems[0].key != problems[3].key
    assert _solve_all(again) == [one_by_one[0], *one_by_one, one_by_one[3]]
