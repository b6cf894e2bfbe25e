"""Idempotence (SPEC section 10): the same day run twice gives byte-identical mart contents; the same
delivery twice adds nothing; a backfill of a range of days done twice changes nothing.

Every run is ``socialrank run`` in its own process (as the nightly and an operator's backfill run),
so nothing a process keeps in memory (hash seeds, caches) can make two runs look alike.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DELIVERIES
from tests.pipeline_runs import (
    RUN_DATE,
    CliRun,
    Snapshot,
    World,
    copy_world,
    differing,
    lake_listing,
    ledger_entries,
    listing_differences,
    manifest_field,
    new_world,
    run_cli,
    run_ok,
    snapshot,
    warehouse_schema,
)

BACKFILL = tuple(RUN_DATE - dt.timedelta(days=back) for back in (2, 1, 0))


@dataclass(frozen=True)
class Backfilled:
    world: World
    after: Snapshot
    schema: list[tuple[str, str, str, str]]
    published_as_of: list[str | None]


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Backfilled:
    """The sample world, backfilled once over three days ending on the run date."""
    world = new_world(tmp_path_factory.mktemp("backfilled"))
    as_of: list[str | None] = []
    for day in BACKFILL:
        run_ok(world, day)
        as_of.append(manifest_field(world, "as_of"))
    return Backfilled(world, snapshot(world), warehouse_schema(world.warehouse), as_of)


@pytest.fixture(scope="module")
def same_day_again(backfilled: Backfilled, tmp_path_factory: pytest.TempPathFactory) -> tuple[World, CliRun]:
    """The run date run once more, as the nightly's retry does (an incremental build)."""
    world = copy_world(backfilled.world, tmp_path_factory.mktemp("again"))
    return world, run_ok(world, RUN_DATE)


@pytest.fixture(scope="module")
def same_day_full(backfilled: Backfilled, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The run date run once more with ``--full``: every model rebuilt from the lake."""
    world = copy_world(backfilled.world, tmp_path_factory.mktemp("full"))
    result = run_cli(world, "run", "--date", RUN_DATE.isoformat(), "--full")
    assert result.returncode == 0, result.tail()
    return world


def _land_copies(world: World) -> list[Path]:
    """Each landed delivery once more, byte for byte, under another name (as a re-download lands)."""
    copies = []
    for original in sorted(path for path in world.landing.glob("*/*/*") if path.is_file()):
        copy = original.with_name(f"{original.stem}-again{original.suffix}")
        shutil.copy2(original, copy)
        copies.append(copy)
    return copies


def test_the_backfill_moves_the_published_day_forward(backfilled: Backfilled) -> None:
    assert backfilled.published_as_of == [day.isoformat() for day in BACKFILL]
    assert set(backfilled.after.ledger.values()) == {"ingested"}
    assert len(backfilled.after.ledger) == SAMPLE_DELIVERIES


def test_the_same_day_twice_adds_nothing(
    backfilled: Backfilled, same_day_again: tuple[World, CliRun]
) -> None:
    world, result = same_day_again
    assert result.summary()["ingest"]["by_status"] == {"duplicate": SAMPLE_DELIVERIES}
    again = snapshot(world)
    assert again.version != backfilled.after.version, "the second run published no new version"
    assert again.ledger == backfilled.after.ledger
    assert again.lake == backfilled.after.lake, "\n".join(
        listing_differences(again.lake, backfilled.after.lake)
    )
    assert warehouse_schema(world.warehouse) == backfilled.schema
    changed = differing(again.checksums, backfilled.after.checksums)
    assert not changed, f"tables differ beyond float rounding after the same day ran again: {changed}"


def test_a_full_rebuild_of_the_same_day_gives_the_same_tables(
    backfilled: Backfilled, same_day_full: World
) -> None:
    assert warehouse_schema(same_day_full.warehouse) == backfilled.schema
    changed = differing(snapshot(same_day_full).checksums, backfilled.after.checksums)
    assert not changed, f"a full rebuild differs beyond float rounding from the incremental runs: {changed}"


@pytest.mark.parametrize("build", ["incremental", "full"])
def test_the_same_day_twice_gives_byte_identical_tables(
    backfilled: Backfilled, request: pytest.FixtureRequest, build: str
) -> None:
    world = (
        request.getfixturevalue("same_day_again")[0]
        if build == "incremental"
        else request.getfixturevalue("same_day_full")
    )
    changed = differing(snapshot(world).exact_checksums, backfilled.after.exact_checksums)
    assert not changed, f"the same day run twice ({build} build) gives different bytes in {changed}"


def test_the_same_delivery_landed_again_adds_nothing(backfilled: Backfilled, tmp_path: Path) -> None:
    world = copy_world(backfilled.world, tmp_path)
    copies = _land_copies(world)
    result = run_cli(world, "ingest", "--json")
    assert result.returncode == 0, result.tail()
    assert result.summary()["by_status"] == {"duplicate": SAMPLE_DELIVERIES + len(copies)}
    assert ledger_entries(world.lake) == backfilled.after.ledger
    listing = lake_listing(world.lake)
    assert listing == backfilled.after.lake, "\n".join(listing_differences(listing, backfilled.after.lake))


def test_the_same_bytes_twice_in_one_sweep_are_ingested_once(backfilled: Backfilled, tmp_path: Path) -> None:
    world = new_world(tmp_path)
    copies = _land_copies(world)
    result = run_cli(world, "ingest", "--json")
    assert result.returncode == 0, result.tail()
    assert result.summary()["by_status"] == {"ingested": SAMPLE_DELIVERIES, "duplicate": len(copies)}
    assert ledger_entries(world.lake) == backfilled.after.ledger
    listing = lake_listing(world.lake)
    assert listing == backfilled.after.lake, "\n".join(listing_differences(listing, backfilled.after.lake))


def test_a_backfill_done_twice_changes_nothing(backfilled: Backfilled, tmp_path: Path) -> None:
    world = copy_world(backfilled.world, tmp_path)
    for day in BACKFILL:
        result = run_ok(world, day)
        assert result.summary()["ingest"]["by_status"] == {"duplicate": SAMPLE_DELIVERIES}
        # A backfill of past days rebuilds through the latest published day: never an older view.
        assert manifest_field(world, "as_of") == RUN_DATE.isoformat()
        again = snapshot(world)
        assert again.ledger == backfilled.after.ledger
        assert again.lake == backfilled.after.lake, "\n".join(
            listing_differences(again.lake, backfilled.after.lake)
        )
        changed = differing(again.checksums, backfilled.after.checksums)
        assert not changed, f"rerunning {day} of the backfill changed {changed}"
