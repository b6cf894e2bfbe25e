"""Publication never goes backwards, and writers take turns.

A build records the version published when it began; publish is a compare-and-swap on it, so a stale
build (named, or picked by default) is never published over a newer version. ``check`` and ``publish``
without ``--build`` act on the build the last ``socialrank build`` made, never on a leftover; leftovers
are removed when the next build starts. Ingest and the build -> gate -> publish unit take locks whose
wait is logged and bounded. Every run goes through the ``socialrank`` CLI in its own process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipeline import locks
from tests.pipeline_runs import (
    EXTRA_KEYWORD,
    RUN_DATE,
    CliRun,
    Reference,
    World,
    build_version,
    cli_command,
    cli_env,
    copy_world,
    land_extra_rankings,
    manifest_version,
    run_cli,
    run_ok,
    run_pipeline,
)


@pytest.fixture(scope="module")
def published(sample_run: Reference) -> World:
    """The sample world run once (the session's): tests copy it before changing anything."""
    return sample_run.world


def _extra_rows(world: World) -> int:
    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        row = con.execute(
            "SELECT count(*) FROM core.rankings_daily WHERE query = ?", [EXTRA_KEYWORD]
        ).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def _build(world: World) -> Path:
    built = run_cli(world, "build", "--date", RUN_DATE.isoformat(), "--json")
    assert built.returncode == 0, built.tail()
    return Path(built.summary()["build_path"])


def _assert_no_traceback(run: CliRun) -> None:
    assert "Traceback" not in run.stderr, run.tail(40)


def _publish_newer_version(world: World) -> str:
    """Another run ingests a new delivery and publishes: the version every stale build must not replace."""
    land_extra_rankings(world)
    newer = run_ok(world)
    version = manifest_version(world)
    assert version is not None and _extra_rows(world) == 3
    assert build_version(world.warehouse)[0] == version
    return newer.stderr


def test_a_stale_build_named_on_the_command_line_is_refused(published: World, tmp_path: Path) -> None:
    world = copy_world(published, tmp_path / "world")
    started_from = manifest_version(world)
    stale = _build(world)
    kept = tmp_path / "kept" / stale.name
    kept.parent.mkdir()
    shutil.copy2(stale, kept)  # an operator keeps the build file elsewhere

    newer_log = _publish_newer_version(world)
    newer = manifest_version(world)
    assert newer != started_from
    # The next run's build removed the leftover, saying so.
    assert not stale.exists()
    assert any("removed" in line and stale.name in line for line in newer_log.splitlines()), newer_log

    checked = run_cli(world, "check", "--build", str(kept))
    assert checked.returncode == 0, checked.tail()
    refused = run_cli(world, "publish", "--build", str(kept))
    assert refused.returncode == 1, refused.tail()
    assert f"{stale.name} is stale: it was built from published version {started_from}" in refused.stderr
    assert f"but version {newer} has been published since" in refused.stderr
    _assert_no_traceback(refused)
    assert manifest_version(world) == newer and build_version(world.warehouse)[0] == newer
    assert _extra_rows(world) == 3, "the newer version's delivery is gone from the warehouse"


def test_check_and_publish_by_default_never_take_a_leftover(published: World, tmp_path: Path) -> None:
    world = copy_world(published, tmp_path)
    _build(world)  # `socialrank build` in one terminal...
    _publish_newer_version(world)  # ...while a `socialrank run` publishes a newer version
    newer = manifest_version(world)

    for command in ("check", "publish"):
        refused = run_cli(world, command)
        assert refused.returncode == 2, refused.tail()
        assert "no unpublished build of the current run: run 'socialrank build' first" in refused.stderr
        _assert_no_traceback(refused)
    assert manifest_version(world) == newer and _extra_rows(world) == 3


def test_a_killed_runs_build_is_removed_by_the_next_run(published: World, tmp_path: Path) -> None:
    world = copy_world(published, tmp_path)
    before = manifest_version(world)
    killed = run_pipeline(world, fault="build.done:kill")
    assert killed.returncode != 0
    leftovers = sorted(world.builds.glob("warehouse-*.duckdb"))
    assert len(leftovers) == 1, leftovers

    by_default = run_cli(world, "check")
    assert by_default.returncode == 2 and "no unpublished build of the current run" in by_default.stderr
    assert manifest_version(world) == before

    rerun = run_ok(world)
    said = [line for line in rerun.stderr.splitlines() if "removed" in line and leftovers[0].name in line]
    assert said, rerun.tail()
    assert sorted(world.builds.iterdir()) == []


def test_checking_a_half_written_build_is_a_message(published: World, tmp_path: Path) -> None:
    world = copy_world(published, tmp_path)
    complete = _build(world)
    half = complete.with_name("warehouse-half-written.duckdb")
    half.write_bytes(complete.read_bytes()[: complete.stat().st_size // 2])
    no_info = complete.with_name("warehouse-no-build-info.duckdb")
    con = duckdb.connect(str(no_info))
    con.execute("CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.build_info (version VARCHAR, run_date DATE, as_of DATE)")
    con.close()

    for leftover in (half, no_info):
        checked = run_cli(world, "check", "--build", str(leftover))
        assert checked.returncode == 1, checked.tail()
        assert f"not published: {leftover} is not a finished build" in checked.stderr, checked.tail()
        _assert_no_traceback(checked)


def _with_lock_wait(world: World, seconds: float) -> None:
    with world.config.open("a", encoding="utf-8") as config:
        config.write(f"\n[locks]\nwait_seconds = {seconds}\n")


@pytest.mark.parametrize(
    ("lock", "purpose", "command"),
    [
        (".ingest.lock", "ingest", ("ingest",)),
        ("warehouse/.writer.lock", "warehouse writer", ("build", "--date", RUN_DATE.isoformat())),
        ("warehouse/.writer.lock", "warehouse writer", ("run", "--date", RUN_DATE.isoformat())),
    ],
)
def test_waiting_for_a_lock_is_logged_and_bounded(
    published: World, tmp_path: Path, lock: str, purpose: str, command: tuple[str, ...]
) -> None:
    world = copy_world(published, tmp_path)
    _with_lock_wait(world, 2)
    with locks.held(world.home / lock, "test", 0):
        waited = run_cli(world, *command)
    assert waited.returncode == 3, waited.tail()
    assert f"waiting for the {purpose} lock" in waited.stderr
    assert f"gave up waiting for the {purpose} lock" in waited.stderr
    assert "pid" in waited.stderr and "[locks] wait_seconds" in waited.stderr
    _assert_no_traceback(waited)


def test_two_overlapping_runs_take_turns_and_keep_every_delivery(published: World, tmp_path: Path) -> None:
    """Two `socialrank run` on one data root at once: one ingests and publishes after the other; both
    deliveries landed before they started end up in the published warehouse, and each published
    version started from the one before it."""
    world = copy_world(published, tmp_path)
    land_extra_rankings(world)
    processes = [
        subprocess.Popen(
            cli_command(world, "run", "--date", RUN_DATE.isoformat(), "--json"),
            cwd=world.root,
            env=cli_env(world),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    assert any("waiting for the" in stderr for _, stderr in outputs), "the runs did not overlap"
    summaries = [json.JSONDecoder().raw_decode(stdout.lstrip())[0] for stdout, _ in outputs]
    ingested = sorted(summary["ingest"]["by_status"].get("ingested", 0) for summary in summaries)
    assert ingested == [0, 1], "the delivery was ingested twice, or not at all"
    first, second = sorted(summaries, key=lambda summary: summary["publish"]["version"])
    assert second["build"]["started_from"] == first["publish"]["version"]
    assert manifest_version(world) == second["publish"]["version"]
    assert _extra_rows(world) == 3
