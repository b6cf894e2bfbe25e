"""Crash safety (SPEC section 10): killed at any point, a rerun completes and nothing half-written
is ever visible.

Each test runs ``socialrank run`` in a subprocess with ``SOCIALRANK_FAULT=<point>@<n>``, so the
process SIGKILLs itself at a named place in the write path (``pipeline/faults.py``), or kills it
after a random delay. Then: every visible lake file is whole and is the file a clean run writes;
every ledgered delivery has all its data files; the published warehouse is absent, the previous
version or a complete new one, and ``published.json`` names what it holds. A rerun without the
fault must end exactly where a run that never crashed ends (nothing lost, nothing twice).

Ingest and lake points are killed in a first run of the sample world; build, gate and publish
points in a later run (a day later, one more delivery landed) so a previous version is published.
"""

from __future__ import annotations

import datetime as dt
import random
import signal
from pathlib import Path

import pytest

from pipeline import sql_project
from tests.pipeline_runs import (
    FLOAT_DIGITS,
    PROJECT_DIR,
    RUN_DATE,
    Reference,
    Snapshot,
    World,
    build_version,
    copy_world,
    differing,
    files_by_delivery,
    hidden_leftovers,
    lake_listing,
    land_extra_rankings,
    ledger_entries,
    listing_differences,
    manifest_field,
    manifest_version,
    new_world,
    run_killed_after,
    run_ok,
    run_pipeline,
    snapshot,
    table_checksums,
)

NEXT_DATE = RUN_DATE + dt.timedelta(days=1)
KILLED = -signal.SIGKILL
RANDOM_TRIALS = 3
RANDOM_SEED = 20261101


@pytest.fixture(scope="module")
def first(sample_run: Reference) -> Reference:
    """The sample world run once, never crashed (the session's): the reference for first runs and the
    published previous version for later runs."""
    return sample_run


@pytest.fixture(scope="module")
def later(first: Reference, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The run after ``first``, never crashed: a day later, with one more delivery landed."""
    world = _later_world(first, tmp_path_factory.mktemp("later"))
    result = run_ok(world, NEXT_DATE)
    return Reference(world, snapshot(world, result.seconds))


def _later_world(first: Reference, root: Path) -> World:
    world = copy_world(first.world, root)
    land_extra_rankings(world)
    return world


def _nth(point: str, share: float, reference: Snapshot) -> int:
    """Which visit of ``point`` to kill at: ``share`` of the way through the visits of a clean run."""
    if point.startswith("lake."):
        visits = sum(files for files, _ in reference.lake.values())
    elif point.startswith("ingest."):
        visits = len(reference.ledger)
    elif point == "build.model":
        visits = len(sql_project.load(PROJECT_DIR / "sql").models)
    else:
        visits = 1
    return max(1, round(share * visits))


def _assert_lake_consistent(world: World, reference: Snapshot) -> None:
    """Every visible file is whole and is the file the clean run wrote there; every ledgered
    delivery has all of its files and the clean run's status; temporary files stay hidden."""
    listing = lake_listing(world.lake)
    foreign = {key: entry for key, entry in listing.items() if reference.lake.get(key) != entry}
    assert not foreign, "visible lake files a clean run does not have:\n" + "\n".join(
        listing_differences(foreign, {key: reference.lake.get(key, (0, 0)) for key in foreign})
    )
    ledger = ledger_entries(world.lake)
    mine = files_by_delivery(listing)
    for delivery, status in ledger.items():
        assert status == reference.ledger.get(delivery), f"ledger: {delivery} is {status!r}"
        missing = listing_differences(mine.get(delivery, {}), reference.by_delivery.get(delivery, {}))
        assert not missing, f"ledgered delivery {delivery} lacks data files:\n" + "\n".join(missing)
    strays = [path for path in hidden_leftovers(world.lake) if not path.name.endswith(".inprogress")]
    assert not strays, f"unexpected hidden files in the lake: {strays}"


def _check_published(world: World, previous: Snapshot | None, new: Snapshot) -> str | None:
    """Assert the published warehouse is absent (nothing published yet), the previous version
    untouched, or a complete new version; return what is wrong with ``published.json``, if anything,
    so the caller can check the rest first."""
    if not world.warehouse.exists():
        assert previous is None, "the previously published warehouse is gone"
        return "published.json exists without a warehouse" if world.manifest.exists() else None
    version, run_date = build_version(world.warehouse)
    checksums = table_checksums(world.warehouse, FLOAT_DIGITS)
    if previous is not None and version == previous.version:
        assert not differing(checksums, previous.checksums), "the previous version changed"
    else:
        assert run_date == new.run_date, f"published {version} is neither the previous nor the new run"
        changed = differing(checksums, new.checksums)
        assert not changed, f"published {version} is not a complete build; differing tables: {changed}"
    kept = world.warehouse.with_name("warehouse.previous.duckdb")
    if kept.exists():
        build_version(kept)
    named = manifest_version(world)
    if named != version:
        return f"published.json names version {named}, the published warehouse holds {version}"
    return None


def _assert_same_as(world: World, reference: Snapshot) -> None:
    after = snapshot(world)
    assert after.ledger == reference.ledger
    assert after.lake == reference.lake, "lake differs from a clean run:\n" + "\n".join(
        listing_differences(after.lake, reference.lake)
    )
    changed = differing(after.checksums, reference.checksums)
    assert not changed, f"tables differ from a run that never crashed: {changed}"
    assert manifest_version(world) == after.version


@pytest.mark.parametrize(
    ("point", "share", "rerun"),
    [
        pytest.param("lake.written", 0.0, True, id="lake.written@first"),
        pytest.param("lake.written", 0.5, True, id="lake.written@half"),
        pytest.param("lake.renamed", 0.9, False, id="lake.renamed@late"),
        pytest.param("ingest.data_written", 0.4, True, id="ingest.data_written@2of5"),
        pytest.param("ingest.ledger_written", 0.6, False, id="ingest.ledger_written@3of5"),
    ],
)
def test_killed_during_the_first_ingest(
    first: Reference, tmp_path: Path, point: str, share: float, rerun: bool
) -> None:
    """Some points only check what the kill leaves (a rerun from there is like one from a
    neighbouring point, which does rerun): it keeps the file's time down."""
    world = new_world(tmp_path)
    fault = f"{point}@{_nth(point, share, first.after)}"
    crashed = run_pipeline(world, fault=fault)
    assert crashed.returncode == KILLED, f"{fault}: exit {crashed.returncode}, not SIGKILL:\n{crashed.tail()}"

    _assert_lake_consistent(world, first.after)
    assert _check_published(world, None, first.after) is None
    assert not world.warehouse.exists(), "a warehouse was published by a run killed in its ingest"

    if rerun:
        run_ok(world)
        _assert_same_as(world, first.after)


@pytest.mark.parametrize(
    ("point", "share", "rerun_date"),
    [
        pytest.param("build.model", 0.5, NEXT_DATE, id="build.model@half"),
        # The incremental build's gate, killed while copying its rewritten rows (a half-written side file).
        pytest.param("gate.rewritten_copied", 0.0, NEXT_DATE, id="gate.rewritten_copied"),
        pytest.param("publish.previous_kept", 0.0, NEXT_DATE, id="publish.previous_kept"),
        # Rerun as an operator's backfill of the day before: it must still publish through the
        # newest day analysts have seen (SPEC: a backfill never publishes an older view), here
        # the day of the version the killed run already swapped in.
        pytest.param("publish.swapped", 0.0, RUN_DATE, id="publish.swapped+backfill"),
    ],
)
def test_killed_during_a_later_run(
    first: Reference, later: Reference, tmp_path: Path, point: str, share: float, rerun_date: dt.date
) -> None:
    world = _later_world(first, tmp_path)
    fault = f"{point}@{_nth(point, share, later.after)}"
    crashed = run_pipeline(world, NEXT_DATE, fault=fault)
    assert crashed.returncode == KILLED, f"{fault}: exit {crashed.returncode}, not SIGKILL:\n{crashed.tail()}"

    _assert_lake_consistent(world, later.after)
    manifest_problem = _check_published(world, first.after, later.after)

    # The one window where published.json lags the file: between the swap and the manifest; the
    # next command repairs it from the file's meta.build_info (checked after the rerun).
    assert manifest_problem is None or point == "publish.swapped", manifest_problem
    run_ok(world, rerun_date)
    problems: list[str] = []
    published_as_of = manifest_field(world, "as_of")
    if published_as_of == NEXT_DATE.isoformat():
        _assert_same_as(world, later.after)
    else:  # then the contents differ too; the view's day says why
        problems.append(
            f"the rerun for {rerun_date} published a view as of {published_as_of}; "
            f"analysts had one as of {NEXT_DATE} already"
        )
    assert not problems, "\n".join(problems)


def test_killed_at_random_moments(first: Reference, later: Reference, tmp_path: Path) -> None:
    """Kill the later run after seeded random delays, several times in a row (a crash during the
    recovery of a crash), checking after each; then a clean rerun."""
    world = _later_world(first, tmp_path)
    rng = random.Random(RANDOM_SEED)
    trials: list[str] = []
    for _ in range(RANDOM_TRIALS):
        delay = rng.uniform(0.5, later.after.seconds)
        code = run_killed_after(world, NEXT_DATE, delay)
        trials.append(f"killed after {delay:.1f}s: exit {code}")
        assert code in (0, KILLED), trials
        _assert_lake_consistent(world, later.after)
        # A stale published.json (a kill between swap and manifest) is repaired by the next run.
        _check_published(world, first.after, later.after)

    run_ok(world, NEXT_DATE)
    _assert_same_as(world, later.after)
