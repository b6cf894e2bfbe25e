"""Resource faults: a full disk while writing the lake or building the warehouse, and a landed file
that cannot be read.

A full disk is injected (``SOCIALRANK_FAULT=<point>:enospc`` raises ``OSError(ENOSPC)`` at a named
write) and, where the tests may mount a size-limited tmpfs (as root), real. The run must fail
saying so, leave the published warehouse and the lake as they were (no partial file visible, no
delivery recorded as done or as bad), and a rerun once there is room must finish the job. An
unreadable delivery is skipped with a message while the others are ingested, and is ingested once
it can be read."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from pipeline.faults import FILLER
from tests.conftest import SAMPLE_DELIVERIES
from tests.pipeline_runs import (
    EXTRA_KEYWORD,
    RUN_DATE,
    CliRun,
    Reference,
    Snapshot,
    World,
    build_version,
    copy_world,
    differing,
    hidden_leftovers,
    lake_listing,
    land_extra_rankings,
    ledger_entries,
    listing_differences,
    manifest_version,
    new_world,
    run_cli,
    run_ok,
    run_pipeline,
    snapshot,
)

# A second new delivery beside tests.pipeline_runs.EXTRA_RANKINGS: another keyword, other pages.
MORE_KEYWORD = "sleeping bag temperature ratings"
MORE_RANKINGS = (
    "date,keyword,url,position\n"
    f"2026-10-29,{MORE_KEYWORD},https://example.com/reviews/budget-hiking-boots/,22\n"
    f"2026-10-29,{MORE_KEYWORD},https://example.com/guides/camp-chairs-care-and-repair/,31\n"
)
MORE_RANKINGS_PATH = "rankings/rank_tracker/positions-sleeping-bags.csv"
NO_SPACE = "No space left on device"


def _land_new_deliveries(world: World) -> tuple[Path, Path]:
    more = world.landing / MORE_RANKINGS_PATH
    more.write_text(MORE_RANKINGS, encoding="utf-8")
    return land_extra_rankings(world), more


@pytest.fixture(scope="module")
def published(sample_run: Reference) -> Reference:
    """The sample world run once (the session's): tests copy it before changing anything."""
    return sample_run


@pytest.fixture(scope="module")
def with_new_deliveries(published: Reference, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The published world after two more deliveries landed and a run without any fault."""
    world = copy_world(published.world, tmp_path_factory.mktemp("with_new_deliveries"))
    _land_new_deliveries(world)
    run_ok(world)
    return Reference(world, snapshot(world))


def _ranked_queries(world: World) -> dict[str, int]:
    """Rows of the two new deliveries' keywords in the published warehouse."""
    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT query, count(*) FROM core.rankings_daily WHERE query IN (?, ?) GROUP BY query",
            [EXTRA_KEYWORD, MORE_KEYWORD],
        ).fetchall()
    finally:
        con.close()
    return {str(query): int(count) for query, count in rows}


def _assert_published_unchanged(world: World, published: Snapshot) -> None:
    version, _ = build_version(world.warehouse)
    assert version == published.version, "the published warehouse was replaced"
    assert manifest_version(world) == published.version
    after = snapshot(world)
    assert not differing(after.checksums, published.checksums)


def _assert_no_partial_files(world: World, published: Snapshot) -> None:
    """The lake holds what it held (every file whole), the failed delivery is neither recorded as
    done nor as quarantined, and temporary files stay hidden."""
    listing = lake_listing(world.lake)
    assert listing == published.lake, "\n".join(listing_differences(listing, published.lake))
    assert ledger_entries(world.lake) == published.ledger
    quarantined = list((world.home / "quarantine").glob("files/*"))
    assert not quarantined, f"a delivery was quarantined because the disk was full: {quarantined}"
    strays = [path for path in hidden_leftovers(world.lake) if not path.name.endswith(".inprogress")]
    assert not strays, strays


def _run_out_of_space(world: World, fault: str) -> CliRun:
    failed = run_pipeline(world, fault=fault)
    assert failed.returncode not in (0, -signal.SIGKILL), (
        f"{fault}: exit {failed.returncode}\n{failed.tail()}"
    )
    assert NO_SPACE in failed.stderr, f"the run does not say the disk is full:\n{failed.tail()}"
    return failed


def _assert_reported_as_an_error(failed: CliRun) -> None:
    """An operator reads the log: the failure is an ERROR line that says what ran out, not only
    the last line of a Python traceback."""
    said = [line for line in failed.stderr.splitlines() if "ERROR" in line and NO_SPACE in line]
    assert said, f"no ERROR log line says the disk is full; the run ends with:\n{failed.tail(6)}"


def test_disk_full_during_a_lake_write(
    published: Reference, with_new_deliveries: Reference, tmp_path: Path
) -> None:
    world = copy_world(published.world, tmp_path)
    _land_new_deliveries(world)
    failed = _run_out_of_space(world, "lake.written@1:enospc")

    _assert_published_unchanged(world, published.after)
    _assert_no_partial_files(world, published.after)

    run_ok(world)
    after = snapshot(world)
    assert after.ledger == with_new_deliveries.after.ledger
    assert set(after.ledger.values()) == {"ingested"}
    assert after.lake == with_new_deliveries.after.lake
    assert not differing(after.checksums, with_new_deliveries.after.checksums)
    _assert_reported_as_an_error(failed)


def test_disk_full_during_the_build(
    published: Reference, with_new_deliveries: Reference, tmp_path: Path
) -> None:
    world = copy_world(published.world, tmp_path)
    _land_new_deliveries(world)
    failed = _run_out_of_space(world, "build.model@5:enospc")

    _assert_published_unchanged(world, published.after)
    # The ingest before the build went through; the half-built file is gone.
    assert lake_listing(world.lake) == with_new_deliveries.after.lake
    leftovers = sorted(path.name for path in world.builds.glob("warehouse-*"))
    assert not leftovers, f"the failed build left {leftovers}"

    run_ok(world)
    assert not differing(snapshot(world).checksums, with_new_deliveries.after.checksums)
    _assert_reported_as_an_error(failed)


@contextmanager
def _small_disk(folder: Path, size: str) -> Iterator[None]:
    """Mount a tmpfs of ``size`` on ``folder``: a real full disk (needs root, or is skipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a size-limited tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_really_full_disk_under_the_build(
    published: Reference, with_new_deliveries: Reference, tmp_path: Path
) -> None:
    """The builds folder on a 1 MB file system: the build (or the copy of the published file an
    incremental build starts from) runs out of space for real, in DuckDB or in the copy."""
    world = copy_world(published.world, tmp_path)
    _land_new_deliveries(world)
    with _small_disk(world.builds, "1m"):
        failed = run_pipeline(world)
        leftovers = sorted(path.name for path in world.builds.iterdir())
    assert failed.returncode not in (0, -signal.SIGKILL), failed.tail()
    assert NO_SPACE in failed.stderr, f"the run does not say the disk is full:\n{failed.tail()}"
    _assert_published_unchanged(world, published.after)
    assert not leftovers, f"the failed build left {leftovers} on the full disk"

    run_ok(world)
    assert not differing(snapshot(world).checksums, with_new_deliveries.after.checksums)
    _assert_reported_as_an_error(failed)


def test_a_full_disk_during_the_dbt_run_exits_3(
    published: Reference, with_new_deliveries: Reference, tmp_path: Path
) -> None:
    """The builds folder on a small file system that fills up just before dbt runs the models: DuckDB's
    own write fails inside dbt (its first hook's commit), which keeps only its message. The run still
    exits 3 (environment, not a bug in the SQL) with one ERROR line naming the project file and no
    traceback; nothing published changes; a rerun with room finishes the job."""
    world = copy_world(published.world, tmp_path)
    _land_new_deliveries(world)
    with _small_disk(world.builds, "64m"):
        failed = run_pipeline(world, fault="build.models:fill")
        leftovers = sorted(path.name for path in world.builds.iterdir() if path.name != FILLER)
        (world.builds / FILLER).unlink()
    assert failed.returncode == 3, f"exit {failed.returncode}:\n{failed.tail()}"
    assert "Traceback" not in failed.stderr, failed.tail(40)
    assert NO_SPACE in failed.stderr and "sql/dbt_project.yml" in failed.stderr, failed.tail()
    _assert_published_unchanged(world, published.after)
    assert not leftovers, f"the failed build left {leftovers}"

    run_ok(world)
    assert not differing(snapshot(world).checksums, with_new_deliveries.after.checksums)
    _assert_reported_as_an_error(failed)


def _make_unreadable(path: Path) -> bytes:
    """Make ``path`` unreadable and return its bytes. ``chmod 000`` stops anyone but root; root reads
    through permissions, so there the file becomes a link to one whose reads fail with EIO."""
    content = path.read_bytes()
    if os.geteuid() != 0:
        path.chmod(0)
    else:
        path.unlink()
        path.symlink_to("/proc/self/mem")
    return content


def _make_readable(path: Path, content: bytes) -> None:
    if path.is_symlink():
        path.unlink()
        path.write_bytes(content)
    path.chmod(0o644)


def test_an_unreadable_delivery_is_skipped_then_ingested(
    published: Reference, with_new_deliveries: Reference, tmp_path: Path
) -> None:
    world = copy_world(published.world, tmp_path)
    _, unreadable = _land_new_deliveries(world)
    content = _make_unreadable(unreadable)

    skipping = run_ok(world)
    assert skipping.summary()["ingest"]["by_status"] == {
        "duplicate": SAMPLE_DELIVERIES, "ingested": 1, "unreadable": 1,
    }  # fmt: skip
    relative = unreadable.relative_to(world.landing).as_posix()
    said = [line for line in skipping.stderr.splitlines() if relative in line and "unreadable" in line]
    assert said, f"no message names the unreadable delivery {relative}:\n{skipping.tail()}"
    # The run published a complete new version with the readable delivery and without the other.
    version, _ = build_version(world.warehouse)
    assert version != published.after.version and manifest_version(world) == version
    ledger = ledger_entries(world.lake)
    assert len(ledger) == len(published.after.ledger) + 1 and set(ledger.values()) == {"ingested"}
    assert _ranked_queries(world) == {EXTRA_KEYWORD: 3}

    _make_readable(unreadable, content)
    catching_up = run_ok(world, RUN_DATE)
    assert catching_up.summary()["ingest"]["by_status"] == {"duplicate": SAMPLE_DELIVERIES + 1, "ingested": 1}
    after = snapshot(world)
    assert after.ledger == with_new_deliveries.after.ledger
    assert after.lake == with_new_deliveries.after.lake
    assert not differing(after.checksums, with_new_deliveries.after.checksums)
    assert _ranked_queries(world) == {EXTRA_KEYWORD: 3, MORE_KEYWORD: 2}


def test_a_landed_link_to_nothing_is_reported(tmp_path: Path) -> None:
    """A delivery landed as a symbolic link whose target is gone (an unmounted share, a moved
    download) cannot be read: the run must say it skipped it, not pass over it in silence."""
    world = new_world(tmp_path)
    link = world.landing / "rankings" / "rank_tracker" / "positions-from-share.csv"
    link.symlink_to(tmp_path / "unmounted-share" / "positions.csv")

    result = run_cli(world, "ingest", "--json")
    assert result.returncode == 0, result.tail()
    assert result.summary()["by_status"].get("ingested") == SAMPLE_DELIVERIES
    relative = link.relative_to(world.landing).as_posix()
    assert relative in result.stderr, f"nothing in the log names {relative}:\n{result.tail(10)}"
